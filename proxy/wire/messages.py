"""PostgreSQL v3 wire protocol messages: frontend decoding and backend encoding (sans-IO).

Everything here is a pure function over ``bytes``: no sockets, no state. Framing (splitting a byte
stream into messages) lives in :mod:`proxy.wire.framing`; this module only sees one message at a time.

Frontend
    ``decode_startup(payload)`` decodes an untagged startup-phase packet, ``decode_frontend(tag, payload)``
    a tagged one. ``payload`` never includes the tag or the int32 length prefix. Malformed payloads raise
    :class:`ProtocolViolation` (SQLSTATE 08P01).

Backend
    One function per message, each returning the complete message (tag + int32 length + body) as
    ``bytes``. Strings are encoded as UTF-8 (the proxy always reports ``client_encoding`` UTF8).

Reference: https://www.postgresql.org/docs/current/protocol-message-formats.html
"""

from __future__ import annotations

import struct
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = [
    # errors
    "ProtocolViolation",
    # protocol codes
    "PROTOCOL_3_0",
    "SSL_REQUEST_CODE",
    "GSSENC_REQUEST_CODE",
    "CANCEL_REQUEST_CODE",
    # frontend tags
    "QUERY",
    "PARSE",
    "BIND",
    "DESCRIBE",
    "EXECUTE",
    "SYNC",
    "FLUSH",
    "CLOSE",
    "TERMINATE",
    "PASSWORD",
    "COPY_DATA",
    "COPY_DONE",
    "COPY_FAIL",
    "FUNCTION_CALL",
    # frontend messages
    "StartupMessage",
    "SSLRequest",
    "GSSENCRequest",
    "CancelRequest",
    "Query",
    "Parse",
    "Bind",
    "Describe",
    "Execute",
    "Sync",
    "Flush",
    "Close",
    "Terminate",
    "PasswordMessage",
    "CopyData",
    "CopyDone",
    "CopyFail",
    "FunctionCall",
    "UnknownMessage",
    "StartupPacket",
    "FrontendMessage",
    "decode_startup",
    "decode_frontend",
    "parse_sasl_initial_response",
    "parse_cleartext_password",
    # backend
    "FieldDescription",
    "TEXT_FORMAT",
    "BINARY_FORMAT",
    "TRANSACTION_IDLE",
    "TRANSACTION_IN_BLOCK",
    "TRANSACTION_FAILED",
    "error_fields",
    "authentication_ok",
    "authentication_cleartext_password",
    "authentication_md5_password",
    "authentication_sasl",
    "authentication_sasl_continue",
    "authentication_sasl_final",
    "parameter_status",
    "backend_key_data",
    "ready_for_query",
    "row_description",
    "data_row",
    "command_complete",
    "empty_query_response",
    "error_response",
    "notice_response",
    "parse_complete",
    "bind_complete",
    "close_complete",
    "no_data",
    "parameter_description",
    "portal_suspended",
    "copy_out_response",
    "copy_data",
    "copy_done",
    "ssl_response",
    "negotiate_protocol_version",
]


class ProtocolViolation(Exception):
    """The client sent bytes that are not a valid protocol message (SQLSTATE 08P01).

    The connection cannot be trusted after this: the server sends a FATAL ErrorResponse and closes.
    """

    sqlstate = "08P01"
    severity = "FATAL"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


# ---------------------------------------------------------------------------------------------------------
# Protocol codes (the int32 after the length in an untagged startup-phase packet)
# ---------------------------------------------------------------------------------------------------------

PROTOCOL_3_0 = 196608  # (3 << 16) | 0
SSL_REQUEST_CODE = 80877103  # (1234 << 16) | 5679
GSSENC_REQUEST_CODE = 80877104  # (1234 << 16) | 5680
CANCEL_REQUEST_CODE = 80877102  # (1234 << 16) | 5678

# ---------------------------------------------------------------------------------------------------------
# Frontend tags
# ---------------------------------------------------------------------------------------------------------

QUERY = b"Q"
PARSE = b"P"
BIND = b"B"
DESCRIBE = b"D"
EXECUTE = b"E"
SYNC = b"S"
FLUSH = b"H"
CLOSE = b"C"
TERMINATE = b"X"
PASSWORD = b"p"  # PasswordMessage, SASLInitialResponse, SASLResponse, GSSResponse
COPY_DATA = b"d"
COPY_DONE = b"c"
COPY_FAIL = b"f"
FUNCTION_CALL = b"F"

# ---------------------------------------------------------------------------------------------------------
# Backend tags and small constants
# ---------------------------------------------------------------------------------------------------------

_AUTHENTICATION = b"R"
_PARAMETER_STATUS = b"S"
_BACKEND_KEY_DATA = b"K"
_READY_FOR_QUERY = b"Z"
_ROW_DESCRIPTION = b"T"
_DATA_ROW = b"D"
_COMMAND_COMPLETE = b"C"
_EMPTY_QUERY_RESPONSE = b"I"
_ERROR_RESPONSE = b"E"
_NOTICE_RESPONSE = b"N"
_PARSE_COMPLETE = b"1"
_BIND_COMPLETE = b"2"
_CLOSE_COMPLETE = b"3"
_NO_DATA = b"n"
_PARAMETER_DESCRIPTION = b"t"
_PORTAL_SUSPENDED = b"s"
_COPY_OUT_RESPONSE = b"H"
_COPY_DATA = b"d"
_COPY_DONE = b"c"
_NEGOTIATE_PROTOCOL_VERSION = b"v"

_AUTH_OK = 0
_AUTH_CLEARTEXT_PASSWORD = 3
_AUTH_MD5_PASSWORD = 5
_AUTH_SASL = 10
_AUTH_SASL_CONTINUE = 11
_AUTH_SASL_FINAL = 12

TEXT_FORMAT = 0
BINARY_FORMAT = 1

TRANSACTION_IDLE = b"I"
TRANSACTION_IN_BLOCK = b"T"
TRANSACTION_FAILED = b"E"

_I16 = struct.Struct("!h")
_I32 = struct.Struct("!i")
_U32 = struct.Struct("!I")
_I32_I32 = struct.Struct("!ii")
_HEADER = struct.Struct("!ci")  # tag + length
_FIELD = struct.Struct("!IhIhih")  # table oid, attnum, type oid, typlen, typmod, format

# ---------------------------------------------------------------------------------------------------------
# Frontend messages
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StartupMessage:
    """StartupMessage. ``protocol`` is the requested version, e.g. 196608 for 3.0 (3.x minors are decoded
    too, so the server can answer with NegotiateProtocolVersion). ``params`` keeps the client's order;
    keys starting with ``_pq_.`` are protocol extensions."""

    protocol: int
    params: dict[str, str]

    @property
    def major(self) -> int:
        return self.protocol >> 16

    @property
    def minor(self) -> int:
        return self.protocol & 0xFFFF


@dataclass(frozen=True, slots=True)
class SSLRequest:
    pass


@dataclass(frozen=True, slots=True)
class GSSENCRequest:
    pass


@dataclass(frozen=True, slots=True)
class CancelRequest:
    pid: int
    secret: int


@dataclass(frozen=True, slots=True)
class Query:
    sql: str


@dataclass(frozen=True, slots=True)
class Parse:
    statement: str
    query: str
    param_types: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class Bind:
    """Bind. ``param_formats`` is as sent: empty (all text), one code (applies to all) or one per param;
    ``params`` holds raw values with ``None`` for SQL NULL. ``result_formats`` likewise."""

    portal: str
    statement: str
    param_formats: tuple[int, ...]
    params: tuple[bytes | None, ...]
    result_formats: tuple[int, ...]

    def param_format(self, i: int) -> int:
        """The format code (0 text, 1 binary) of parameter ``i`` after applying the protocol's rules."""
        if not self.param_formats:
            return TEXT_FORMAT
        if len(self.param_formats) == 1:
            return self.param_formats[0]
        return self.param_formats[i]

    def result_format(self, i: int) -> int:
        """The format code of result column ``i`` after applying the protocol's rules."""
        if not self.result_formats:
            return TEXT_FORMAT
        if len(self.result_formats) == 1:
            return self.result_formats[0]
        return self.result_formats[i]


@dataclass(frozen=True, slots=True)
class Describe:
    kind: str  # "S" statement or "P" portal
    name: str


@dataclass(frozen=True, slots=True)
class Execute:
    portal: str
    max_rows: int  # 0 = no limit


@dataclass(frozen=True, slots=True)
class Sync:
    pass


@dataclass(frozen=True, slots=True)
class Flush:
    pass


@dataclass(frozen=True, slots=True)
class Close:
    kind: str  # "S" statement or "P" portal
    name: str


@dataclass(frozen=True, slots=True)
class Terminate:
    pass


@dataclass(frozen=True, slots=True)
class PasswordMessage:
    """Tag ``p``: PasswordMessage, SASLInitialResponse or SASLResponse; which one depends on the
    authentication request the server sent. Decode with :func:`parse_cleartext_password` or
    :func:`parse_sasl_initial_response`; a SASLResponse is just ``data``."""

    data: bytes


@dataclass(frozen=True, slots=True)
class CopyData:
    data: bytes


@dataclass(frozen=True, slots=True)
class CopyDone:
    pass


@dataclass(frozen=True, slots=True)
class CopyFail:
    message: str


@dataclass(frozen=True, slots=True)
class FunctionCall:
    raw: bytes


@dataclass(frozen=True, slots=True)
class UnknownMessage:
    tag: bytes
    payload: bytes


StartupPacket = StartupMessage | SSLRequest | GSSENCRequest | CancelRequest
FrontendMessage = (
    StartupMessage
    | SSLRequest
    | GSSENCRequest
    | CancelRequest
    | Query
    | Parse
    | Bind
    | Describe
    | Execute
    | Sync
    | Flush
    | Close
    | Terminate
    | PasswordMessage
    | CopyData
    | CopyDone
    | CopyFail
    | FunctionCall
    | UnknownMessage
)


class _Cursor:
    """Sequential reader over one message payload; every read is bounds-checked."""

    __slots__ = ("buf", "pos", "what")

    def __init__(self, buf: bytes, what: str) -> None:
        self.buf = buf
        self.pos = 0
        self.what = what

    def _fail(self, why: str) -> ProtocolViolation:
        return ProtocolViolation(f"invalid {self.what} message: {why}")

    def cstring(self) -> str:
        end = self.buf.find(b"\x00", self.pos)
        if end < 0:
            raise self._fail("unterminated string")
        raw = self.buf[self.pos : end]
        self.pos = end + 1
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            raise self._fail("invalid UTF-8 in string") from None

    def byte(self) -> int:
        if self.pos >= len(self.buf):
            raise self._fail("truncated")
        b = self.buf[self.pos]
        self.pos += 1
        return b

    def int16(self) -> int:
        if self.pos + 2 > len(self.buf):
            raise self._fail("truncated")
        (v,) = _I16.unpack_from(self.buf, self.pos)
        self.pos += 2
        return v

    def int32(self) -> int:
        if self.pos + 4 > len(self.buf):
            raise self._fail("truncated")
        (v,) = _I32.unpack_from(self.buf, self.pos)
        self.pos += 4
        return v

    def uint32(self) -> int:
        if self.pos + 4 > len(self.buf):
            raise self._fail("truncated")
        (v,) = _U32.unpack_from(self.buf, self.pos)
        self.pos += 4
        return v

    def count(self) -> int:
        n = self.int16()
        if n < 0:
            raise self._fail("negative count")
        return n

    def take(self, n: int) -> bytes:
        if n < 0 or self.pos + n > len(self.buf):
            raise self._fail("truncated")
        v = self.buf[self.pos : self.pos + n]
        self.pos += n
        return v

    def rest(self) -> bytes:
        v = self.buf[self.pos :]
        self.pos = len(self.buf)
        return v

    def end(self) -> None:
        if self.pos != len(self.buf):
            raise self._fail(f"{len(self.buf) - self.pos} unexpected trailing bytes")


def decode_startup(payload: bytes) -> StartupPacket:
    """Decode an untagged startup-phase packet (``payload`` excludes the int32 length prefix)."""
    payload = bytes(payload)
    if len(payload) < 4:
        raise ProtocolViolation("invalid startup packet: too short")
    (code,) = _I32.unpack_from(payload, 0)
    if code == SSL_REQUEST_CODE or code == GSSENC_REQUEST_CODE:
        if len(payload) != 4:
            raise ProtocolViolation("invalid encryption request packet length")
        return SSLRequest() if code == SSL_REQUEST_CODE else GSSENCRequest()
    if code == CANCEL_REQUEST_CODE:
        if len(payload) != 12:
            raise ProtocolViolation("invalid cancel request packet length")
        pid, secret = _I32_I32.unpack_from(payload, 4)
        return CancelRequest(pid, secret)
    if code >> 16 != 3:
        raise ProtocolViolation(
            f"unsupported frontend protocol {code >> 16}.{code & 0xFFFF}: server supports 3.0"
        )
    cur = _Cursor(payload, "startup packet")
    cur.pos = 4
    params: dict[str, str] = {}
    while True:
        if cur.pos >= len(payload):
            raise ProtocolViolation("invalid startup packet layout: expected terminator as last byte")
        if payload[cur.pos] == 0:
            cur.pos += 1
            break
        name = cur.cstring()
        value = cur.cstring()
        params[name] = value
    cur.end()
    return StartupMessage(code, params)


def _decode_query(p: bytes) -> Query:
    cur = _Cursor(p, "Query")
    sql = cur.cstring()
    cur.end()
    return Query(sql)


def _decode_parse(p: bytes) -> Parse:
    cur = _Cursor(p, "Parse")
    statement = cur.cstring()
    query = cur.cstring()
    n = cur.count()
    types = tuple(cur.uint32() for _ in range(n))
    cur.end()
    return Parse(statement, query, types)


def _decode_bind(p: bytes) -> Bind:
    cur = _Cursor(p, "Bind")
    portal = cur.cstring()
    statement = cur.cstring()
    param_formats = tuple(cur.int16() for _ in range(cur.count()))
    nparams = cur.count()
    params: list[bytes | None] = []
    for _ in range(nparams):
        n = cur.int32()
        if n == -1:
            params.append(None)
        elif n < 0:
            raise ProtocolViolation(f"invalid Bind message: parameter length {n}")
        else:
            params.append(cur.take(n))
    result_formats = tuple(cur.int16() for _ in range(cur.count()))
    cur.end()
    for f in (*param_formats, *result_formats):
        if f not in (TEXT_FORMAT, BINARY_FORMAT):
            raise ProtocolViolation(f"unsupported format code: {f}")
    if len(param_formats) > 1 and len(param_formats) != nparams:
        raise ProtocolViolation(
            f"bind message has {len(param_formats)} parameter formats but {nparams} parameters"
        )
    return Bind(portal, statement, param_formats, tuple(params), result_formats)


def _decode_kind_name(p: bytes, what: str) -> tuple[str, str]:
    cur = _Cursor(p, what)
    kind = chr(cur.byte())
    if kind not in ("S", "P"):
        raise ProtocolViolation(f"invalid {what} message subtype {kind!r}")
    name = cur.cstring()
    cur.end()
    return kind, name


def _decode_describe(p: bytes) -> Describe:
    return Describe(*_decode_kind_name(p, "Describe"))


def _decode_close(p: bytes) -> Close:
    return Close(*_decode_kind_name(p, "Close"))


def _decode_execute(p: bytes) -> Execute:
    cur = _Cursor(p, "Execute")
    portal = cur.cstring()
    max_rows = cur.int32()
    cur.end()
    return Execute(portal, max_rows)


def _decode_copy_fail(p: bytes) -> CopyFail:
    cur = _Cursor(p, "CopyFail")
    msg = cur.cstring()
    cur.end()
    return CopyFail(msg)


def _empty(cls, what: str):
    instance = cls()

    def decode(p: bytes):
        if p:
            raise ProtocolViolation(f"invalid {what} message: {len(p)} unexpected bytes")
        return instance

    return decode


_DECODERS = {
    QUERY: _decode_query,
    PARSE: _decode_parse,
    BIND: _decode_bind,
    DESCRIBE: _decode_describe,
    EXECUTE: _decode_execute,
    SYNC: _empty(Sync, "Sync"),
    FLUSH: _empty(Flush, "Flush"),
    CLOSE: _decode_close,
    TERMINATE: _empty(Terminate, "Terminate"),
    PASSWORD: PasswordMessage,
    COPY_DATA: CopyData,
    COPY_DONE: _empty(CopyDone, "CopyDone"),
    COPY_FAIL: _decode_copy_fail,
    FUNCTION_CALL: FunctionCall,
}


def decode_frontend(tag: bytes, payload: bytes) -> FrontendMessage:
    """Decode one tagged frontend message (``payload`` excludes tag and length).

    Unknown tags decode to :class:`UnknownMessage` (the server answers those with an error)."""
    tag = bytes(tag)
    payload = bytes(payload)
    decoder = _DECODERS.get(tag)
    if decoder is None:
        return UnknownMessage(tag, payload)
    return decoder(payload)


def parse_sasl_initial_response(msg: PasswordMessage | bytes) -> tuple[str, bytes | None]:
    """Split a SASLInitialResponse into ``(mechanism, initial client response)``; the response is
    ``None`` when the client sent length -1."""
    data = msg.data if isinstance(msg, PasswordMessage) else bytes(msg)
    cur = _Cursor(data, "SASLInitialResponse")
    mechanism = cur.cstring()
    n = cur.int32()
    if n == -1:
        response = None
    elif n < 0:
        raise ProtocolViolation(f"invalid SASLInitialResponse message: length {n}")
    else:
        response = cur.take(n)
    cur.end()
    return mechanism, response


def parse_cleartext_password(msg: PasswordMessage | bytes) -> str:
    """The password of a PasswordMessage (also the ``md5...`` hash string for MD5 auth)."""
    data = msg.data if isinstance(msg, PasswordMessage) else bytes(msg)
    cur = _Cursor(data, "PasswordMessage")
    password = cur.cstring()
    cur.end()
    return password


# ---------------------------------------------------------------------------------------------------------
# Backend messages
# ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class FieldDescription:
    """One RowDescription field, in wire order. Defaults describe an unnamed-table text column."""

    name: str
    table_oid: int = 0
    column_attnum: int = 0
    type_oid: int = 25  # text
    type_size: int = -1
    type_modifier: int = -1
    format: int = TEXT_FORMAT


def _msg(tag: bytes, body: bytes = b"") -> bytes:
    return _HEADER.pack(tag, len(body) + 4) + body


def _cstr(s: str) -> bytes:
    raw = s.encode("utf-8")
    if b"\x00" in raw:
        raise ValueError(f"string for the wire contains a NUL byte: {s!r}")
    return raw + b"\x00"


def _auth(code: int, extra: bytes = b"") -> bytes:
    return _msg(_AUTHENTICATION, _I32.pack(code) + extra)


def authentication_ok() -> bytes:
    return _auth(_AUTH_OK)


def authentication_cleartext_password() -> bytes:
    return _auth(_AUTH_CLEARTEXT_PASSWORD)


def authentication_md5_password(salt: bytes) -> bytes:
    if len(salt) != 4:
        raise ValueError("MD5 salt must be 4 bytes")
    return _auth(_AUTH_MD5_PASSWORD, bytes(salt))


def authentication_sasl(mechanisms: Sequence[str]) -> bytes:
    return _auth(_AUTH_SASL, b"".join(_cstr(m) for m in mechanisms) + b"\x00")


def authentication_sasl_continue(data: bytes) -> bytes:
    return _auth(_AUTH_SASL_CONTINUE, bytes(data))


def authentication_sasl_final(data: bytes) -> bytes:
    return _auth(_AUTH_SASL_FINAL, bytes(data))


def parameter_status(name: str, value: str) -> bytes:
    return _msg(_PARAMETER_STATUS, _cstr(name) + _cstr(value))


def backend_key_data(pid: int, secret: int) -> bytes:
    return _msg(_BACKEND_KEY_DATA, _I32_I32.pack(pid, secret))


_READY = {s: _msg(_READY_FOR_QUERY, s) for s in (TRANSACTION_IDLE, TRANSACTION_IN_BLOCK, TRANSACTION_FAILED)}


def ready_for_query(status: bytes = TRANSACTION_IDLE) -> bytes:
    """ReadyForQuery; ``status`` is b"I" (idle), b"T" (in a transaction block) or b"E" (failed block)."""
    try:
        return _READY[bytes(status)]
    except KeyError:
        raise ValueError(f"invalid transaction status {status!r}") from None


def row_description(fields: Sequence[FieldDescription]) -> bytes:
    parts = [_I16.pack(len(fields))]
    for f in fields:
        parts.append(_cstr(f.name))
        parts.append(
            _FIELD.pack(f.table_oid, f.column_attnum, f.type_oid, f.type_size, f.type_modifier, f.format)
        )
    return _msg(_ROW_DESCRIPTION, b"".join(parts))


_NULL_VALUE = _I32.pack(-1)


def data_row(values: Sequence[bytes | None]) -> bytes:
    """One DataRow from already-encoded column values (``None`` = NULL)."""
    parts = [_I16.pack(len(values))]
    for v in values:
        if v is None:
            parts.append(_NULL_VALUE)
        else:
            parts.append(_I32.pack(len(v)))
            parts.append(bytes(v))
    return _msg(_DATA_ROW, b"".join(parts))


def command_complete(tag: str) -> bytes:
    """CommandComplete, e.g. ``command_complete("SELECT 3")``."""
    return _msg(_COMMAND_COMPLETE, _cstr(tag))


def empty_query_response() -> bytes:
    return _msg(_EMPTY_QUERY_RESPONSE)


def error_fields(
    severity: str,
    sqlstate: str,
    message: str,
    detail: str | None = None,
    hint: str | None = None,
    position: int | None = None,
) -> dict[str, str]:
    """Fields for :func:`error_response`/:func:`notice_response`: S, V (non-localised severity), C, M,
    then D, H, P (1-based character position in the query) when given."""
    fields = {"S": severity, "V": severity, "C": sqlstate, "M": message}
    if detail is not None:
        fields["D"] = detail
    if hint is not None:
        fields["H"] = hint
    if position is not None:
        fields["P"] = str(position)
    return fields


def _fields_body(fields: Mapping[str, str]) -> bytes:
    parts = []
    for code, value in fields.items():
        if len(code) != 1:
            raise ValueError(f"error field code must be one character: {code!r}")
        # NUL would end the field early and desynchronise the client; error texts may carry user input.
        parts.append(code.encode("ascii") + str(value).replace("\x00", "").encode("utf-8") + b"\x00")
    parts.append(b"\x00")
    return b"".join(parts)


def error_response(fields: Mapping[str, str]) -> bytes:
    """ErrorResponse; ``fields`` keyed by one-letter codes (S, V, C, M, D, H, P, ...), written in order."""
    return _msg(_ERROR_RESPONSE, _fields_body(fields))


def notice_response(fields: Mapping[str, str]) -> bytes:
    """NoticeResponse; same field layout as :func:`error_response`."""
    return _msg(_NOTICE_RESPONSE, _fields_body(fields))


_PARSE_COMPLETE_MSG = _msg(_PARSE_COMPLETE)
_BIND_COMPLETE_MSG = _msg(_BIND_COMPLETE)
_CLOSE_COMPLETE_MSG = _msg(_CLOSE_COMPLETE)
_NO_DATA_MSG = _msg(_NO_DATA)
_PORTAL_SUSPENDED_MSG = _msg(_PORTAL_SUSPENDED)
_COPY_DONE_MSG = _msg(_COPY_DONE)


def parse_complete() -> bytes:
    return _PARSE_COMPLETE_MSG


def bind_complete() -> bytes:
    return _BIND_COMPLETE_MSG


def close_complete() -> bytes:
    return _CLOSE_COMPLETE_MSG


def no_data() -> bytes:
    return _NO_DATA_MSG


def parameter_description(oids: Sequence[int]) -> bytes:
    return _msg(_PARAMETER_DESCRIPTION, _I16.pack(len(oids)) + b"".join(_U32.pack(o) for o in oids))


def portal_suspended() -> bytes:
    return _PORTAL_SUSPENDED_MSG


def copy_out_response(format: int, column_formats: Sequence[int]) -> bytes:
    body = bytes([format]) + _I16.pack(len(column_formats)) + b"".join(_I16.pack(f) for f in column_formats)
    return _msg(_COPY_OUT_RESPONSE, body)


def copy_data(data: bytes) -> bytes:
    return _msg(_COPY_DATA, bytes(data))


def copy_done() -> bytes:
    return _COPY_DONE_MSG


def ssl_response(accept: bool) -> bytes:
    """The single-byte answer to SSLRequest/GSSENCRequest: b"S" to proceed with TLS, b"N" to refuse."""
    return b"S" if accept else b"N"


def negotiate_protocol_version(newest_minor: int, unrecognized_options: Sequence[str] = ()) -> bytes:
    """NegotiateProtocolVersion: the newest 3.x minor the server supports and the ``_pq_.`` startup
    options it did not recognise."""
    body = _I32.pack(newest_minor) + _I32.pack(len(unrecognized_options))
    body += b"".join(_cstr(o) for o in unrecognized_options)
    return _msg(_NEGOTIATE_PROTOCOL_VERSION, body)
