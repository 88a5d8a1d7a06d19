"""Splitting the client's byte stream into protocol messages (sans-IO).

A connection starts in the *startup phase*: packets are untagged (int32 length including itself, then the
payload). Once a StartupMessage has been read the reader switches to *tagged* messages (one tag byte,
int32 length including itself but not the tag, payload). SSLRequest/GSSENCRequest keep the reader in the
startup phase because the client sends its StartupMessage next.

A tagged message whose frame is sound but whose body does not decode (a Bind with a bad format code, a
Parse whose string is not UTF-8) does not end the connection: the frame boundaries are intact, so the reader
returns a :class:`MalformedMessage` in its place and reads on, and the session answers it with an ERROR
(08P01, or 22023 for a format code) as PostgreSQL does. A bad length prefix, a malformed startup packet
or an unknown message type cannot be recovered from: those raise :class:`ProtocolViolation` (FATAL).

TLS note: after an SSLRequest a server that *accepts* encryption must make sure no plaintext bytes were
pipelined behind the request (CVE-2021-23214): check that the SSLRequest was the last message returned by
:meth:`MessageReader.feed` and that :attr:`MessageReader.buffered` is 0 before starting the handshake.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

from proxy.wire.messages import (
    FrontendMessage,
    ProtocolViolation,
    StartupMessage,
    UnknownMessage,
    decode_frontend,
    decode_startup,
)

__all__ = ["MessageReader", "MalformedMessage", "DEFAULT_MAX_MESSAGE_SIZE", "MAX_STARTUP_PACKET_LENGTH"]

DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024
MAX_STARTUP_PACKET_LENGTH = 10000  # as in PostgreSQL's backend (pqcomm.h)

_I32 = struct.Struct("!i")
# Compact the buffer when the consumed prefix is at least this large (and more than half the buffer).
_COMPACT_THRESHOLD = 64 * 1024


@dataclass(frozen=True, slots=True)
class MalformedMessage:
    """A soundly framed message whose body did not decode: ``tag`` says which, ``reason`` why."""

    tag: bytes
    reason: str


class MessageReader:
    """Incremental frontend message reader: ``feed`` bytes as they arrive, get whole messages back.

    Partial frames stay buffered until the rest arrives. A length prefix that is negative, too small or
    larger than ``max_message_size`` raises :class:`ProtocolViolation` as soon as the prefix is seen,
    before any of the body is buffered. After a ProtocolViolation the reader is unusable; the server
    closes the connection.
    """

    __slots__ = ("_buf", "_pos", "_tagged", "max_message_size")

    def __init__(self, max_message_size: int = DEFAULT_MAX_MESSAGE_SIZE) -> None:
        self.max_message_size = max_message_size
        self._buf = bytearray()
        self._pos = 0
        self._tagged = False

    @property
    def tagged(self) -> bool:
        """True once the reader expects tagged (post-startup) messages."""
        return self._tagged

    @property
    def buffered(self) -> int:
        """Number of received bytes not yet returned as messages (an incomplete frame)."""
        return len(self._buf) - self._pos

    def start_tagged(self) -> None:
        """Switch to tagged messages explicitly (``feed`` also does this after a StartupMessage)."""
        self._tagged = True

    def feed(self, data: bytes) -> list[FrontendMessage | MalformedMessage]:
        """Buffer ``data`` and return every complete message now available, in order."""
        buf = self._buf
        if data:
            buf += data
        out: list[FrontendMessage | MalformedMessage] = []
        pos = self._pos
        end = len(buf)
        try:
            while True:
                if self._tagged:
                    if end - pos < 5:
                        break
                    (length,) = _I32.unpack_from(buf, pos + 1)
                    if length < 4 or length > self.max_message_size:
                        raise ProtocolViolation(f"invalid message length {length}")
                    stop = pos + 1 + length
                    if stop > end:
                        break
                    tag = bytes(buf[pos : pos + 1])
                    try:
                        msg = decode_frontend(tag, bytes(buf[pos + 5 : stop]))
                    except ProtocolViolation as e:
                        msg = MalformedMessage(tag, str(e))
                    if isinstance(msg, UnknownMessage):
                        raise ProtocolViolation(f"invalid frontend message type {tag[0]}")
                    out.append(msg)
                    pos = stop
                else:
                    if end - pos < 4:
                        break
                    (length,) = _I32.unpack_from(buf, pos)
                    if length < 8 or length > min(self.max_message_size, MAX_STARTUP_PACKET_LENGTH):
                        raise ProtocolViolation(f"invalid length of startup packet: {length}")
                    stop = pos + length
                    if stop > end:
                        break
                    msg = decode_startup(bytes(buf[pos + 4 : stop]))
                    pos = stop
                    out.append(msg)
                    # SSLRequest/GSSENCRequest: the StartupMessage follows, so stay in startup phase
                    # (as after a CancelRequest, after which the client sends nothing more).
                    if isinstance(msg, StartupMessage):
                        self._tagged = True
        finally:
            self._pos = pos
        # Drop consumed bytes: always when everything was consumed (cheap), otherwise only when the
        # consumed prefix dominates, so a burst of small messages costs O(n) overall, not O(n^2).
        if pos == end:
            buf.clear()
            self._pos = 0
        elif pos >= _COMPACT_THRESHOLD and pos * 2 >= end:
            del buf[:pos]
            self._pos = 0
        return out
