"""PostgreSQL v3 wire protocol, sans-IO: message codecs, stream framing, type mapping, Arrow encoding.

- :mod:`proxy.wire.messages`: frontend message decoding, backend message encoders, ProtocolViolation.
- :mod:`proxy.wire.framing`: :class:`~proxy.wire.framing.MessageReader` splits a byte stream.
- :mod:`proxy.wire.types`: PostgreSQL type OIDs and the Arrow -> PostgreSQL type mapping.
- :mod:`proxy.wire.encode`: Arrow record batches -> DataRow messages (text format), vectorised.
"""
