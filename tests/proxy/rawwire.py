"""A raw PostgreSQL v3 protocol client for tests that need to send exactly the bytes they mean: malformed
messages, odd orders, binary parameters out of range, a startup packet and nothing more.

It talks to lens-proxy and to the real PostgreSQL alike, so the same bytes can be sent to both and the
answers compared (PostgreSQL is the oracle). Drivers (psycopg, asyncpg …) are for everything else.
"""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Sequence
from dataclasses import dataclass

PROTOCOL_3_0 = 196608
CANCEL_REQUEST_CODE = 80877102


@dataclass(frozen=True)
class Message:
    tag: bytes
    body: bytes

    @property
    def error(self) -> dict[str, str]:
        """The fields of an ErrorResponse/NoticeResponse by code (``C`` SQLSTATE, ``M`` message …)."""
        out = {}
        for part in self.body.split(b"\0"):
            if part:
                out[chr(part[0])] = part[1:].decode("utf-8", "replace")
        return out


def frame(tag: bytes, body: bytes = b"") -> bytes:
    return tag + struct.pack("!i", len(body) + 4) + body


def cstr(text: str | bytes) -> bytes:
    return (text.encode() if isinstance(text, str) else text) + b"\0"


def startup_packet(params: dict[str, str], protocol: int = PROTOCOL_3_0) -> bytes:
    body = struct.pack("!i", protocol) + b"".join(cstr(k) + cstr(v) for k, v in params.items()) + b"\0"
    return struct.pack("!i", len(body) + 4) + body


def cancel_packet(pid: int, secret: int) -> bytes:
    return struct.pack("!iiii", 16, CANCEL_REQUEST_CODE, pid, secret)


def query(sql: str | bytes) -> bytes:
    return frame(b"Q", cstr(sql))


def parse(sql: str | bytes, name: str = "", oids: Sequence[int] = ()) -> bytes:
    return frame(b"P", cstr(name) + cstr(sql) + struct.pack("!h", len(oids)) + b"".join(struct.pack("!I", o) for o in oids))


def bind(values: Sequence[bytes | None] = (), formats: Sequence[int] = (), result_formats: Sequence[int] = (),
         portal: str = "", statement: str = "") -> bytes:
    body = cstr(portal) + cstr(statement) + struct.pack("!h", len(formats)) + b"".join(struct.pack("!h", f) for f in formats)
    body += struct.pack("!h", len(values))
    for v in values:
        body += struct.pack("!i", -1) if v is None else struct.pack("!i", len(v)) + v
    body += struct.pack("!h", len(result_formats)) + b"".join(struct.pack("!h", f) for f in result_formats)
    return frame(b"B", body)


def describe(kind: bytes = b"P", name: str = "") -> bytes:
    return frame(b"D", kind + cstr(name))


def execute(portal: str = "", max_rows: int = 0) -> bytes:
    return frame(b"E", cstr(portal) + struct.pack("!i", max_rows))


def sync() -> bytes:
    return frame(b"S")


def flush() -> bytes:
    return frame(b"H")


def terminate() -> bytes:
    return frame(b"X")


class RawConnection:
    """One socket speaking the protocol by hand. Reads are bounded by ``timeout`` seconds."""

    def __init__(self, host: str, port: int, timeout: float = 10) -> None:
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.timeout = timeout
        self._buf = b""
        self.pid = self.secret = 0
        self.closed = False

    def close(self) -> None:
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> RawConnection:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def _fill(self, deadline: float) -> bool:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError("no complete message from the server in time")
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            self.closed = True
            return False
        self._buf += chunk
        return True

    def read_message(self, timeout: float | None = None) -> Message | None:
        """The next message, or None once the server closed the connection."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while True:
            if len(self._buf) >= 5:
                (length,) = struct.unpack_from("!i", self._buf, 1)
                if len(self._buf) >= 1 + length:
                    msg = Message(self._buf[:1], self._buf[5 : 1 + length])
                    self._buf = self._buf[1 + length :]
                    if msg.tag == b"K":
                        self.pid, self.secret = struct.unpack("!ii", msg.body)
                    return msg
            if not self._fill(deadline):
                return None

    def read_byte(self, timeout: float | None = None) -> bytes:
        """One raw byte (the answer to an SSLRequest), or b'' when the server closed."""
        deadline = time.monotonic() + (self.timeout if timeout is None else timeout)
        while not self._buf:
            if not self._fill(deadline):
                return b""
        out, self._buf = self._buf[:1], self._buf[1:]
        return out

    def until_ready(self, timeout: float | None = None) -> list[Message]:
        """Messages up to and including ReadyForQuery, or up to the server closing the connection."""
        out = []
        while True:
            msg = self.read_message(timeout)
            if msg is None:
                return out
            out.append(msg)
            if msg.tag == b"Z":
                return out

    def startup(self, user: str = "analyst", database: str = "customer_360", **params: str) -> list[Message]:
        self.send(startup_packet({"user": user, "database": database, **params}))
        return self.until_ready()

    def simple(self, sql: str) -> list[Message]:
        self.send(query(sql))
        return self.until_ready()


def errors(messages: Sequence[Message]) -> list[dict[str, str]]:
    return [m.error for m in messages if m.tag == b"E"]


def sqlstates(messages: Sequence[Message]) -> list[str]:
    return [e.get("C", "") for e in errors(messages)]


def data_rows(messages: Sequence[Message]) -> list[list[bytes | None]]:
    """The values of every DataRow, raw."""
    rows = []
    for m in messages:
        if m.tag != b"D":
            continue
        (n,) = struct.unpack_from("!h", m.body, 0)
        pos, row = 2, []
        for _ in range(n):
            (size,) = struct.unpack_from("!i", m.body, pos)
            pos += 4
            if size < 0:
                row.append(None)
            else:
                row.append(m.body[pos : pos + size])
                pos += size
        rows.append(row)
    return rows
