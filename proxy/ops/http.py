"""The HTTP side port: ``/metrics``, ``/healthz``, ``/readyz`` and the data dictionary at ``/``.

A deliberately small HTTP/1.1 server on the same event loop as the wire protocol (no framework: four
GET routes, one response per connection). Whatever costs CPU (rendering the exposition or the dictionary,
checking a password) runs in a thread of its own, never on the loop and never in the query workers. Heads
are limited in size and time; at most ``MAX_CONNECTIONS`` HTTP clients are served at once.

Who sees the dictionary: with password authentication on the wire (``--auth password|md5|scram-sha-256``),
HTTP Basic against the same users file (a wrong password and an unknown user alike get 401); with
``trust``, the user named in a Basic header is believed as the wire protocol believes a startup packet,
and without one the viewer is ``anonymous`` (``/login`` asks the browser for a name). ``/metrics`` and the
probes are unauthenticated, as probes are: bind the side port to an interface only operators reach.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import hmac
import json
import logging
import secrets
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlsplit

log = logging.getLogger("lens_proxy.http")
MAX_HEAD = 16 * 1024
HEAD_TIMEOUT = 10.0
MAX_CONNECTIONS = 32
AUTH_CACHE_SECONDS = 60.0
ANONYMOUS = "anonymous"
REASONS = {200: "OK", 302: "Found", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found",
           405: "Method Not Allowed", 431: "Request Header Fields Too Large", 500: "Internal Server Error",
           503: "Service Unavailable"}
_SECURITY_HEADERS = (("X-Content-Type-Options", "nosniff"), ("Referrer-Policy", "no-referrer"),
                     ("X-Frame-Options", "DENY"), ("Cache-Control", "no-store"))


@dataclass(frozen=True)
class Request:
    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]
    client: str


@dataclass
class Response:
    status: int
    body: bytes
    content_type: str = "text/plain; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


def text(status: int, body: str) -> Response:
    return Response(status, body.encode())


def as_json(status: int, payload: Any) -> Response:
    return Response(status, (json.dumps(payload, indent=2, sort_keys=True) + "\n").encode(), "application/json")


class BasicAuth:
    """HTTP Basic against the users file (``proxy.auth.UserEntry``: SCRAM verifier, or md5 hash)."""

    def __init__(self, method: str, users: dict[str, Any], secret: bytes) -> None:
        self.method = method
        self.users = users
        self._secret = secret
        self._verified: dict[tuple[str, bytes], float] = {}  # (user, keyed hash of the password) -> until

    @property
    def required(self) -> bool:
        return self.method != "trust"

    @staticmethod
    def credentials(request: Request) -> tuple[str, str] | None:
        header = request.headers.get("authorization", "")
        scheme, _, value = header.partition(" ")
        if scheme.lower() != "basic" or not value:
            return None
        try:
            decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None
        user, sep, password = decoded.partition(":")
        return (user, password) if sep and user else None

    def check(self, user: str, password: str) -> bool:
        """Blocking (PBKDF2): run in a thread. A verified (user, password) is remembered for a minute, as a
        keyed hash, so a browser's repeated requests do not each pay the key derivation."""
        key = (user, hmac.new(self._secret, password.encode(), "sha256").digest())
        now = time.monotonic()
        if self._verified.get(key, 0) > now:
            return True
        entry = self.users.get(user)
        ok = False
        if entry is not None and entry.scram is not None:
            ok = entry.scram.check(password)
        elif entry is not None and entry.md5:
            ok = hmac.compare_digest(entry.md5, "md5" + hashlib.md5((password + user).encode()).hexdigest())
        else:  # unknown user: spend the same work, then fail
            hashlib.pbkdf2_hmac("sha256", password.encode(), self._secret[:16], 4096)
        if ok:
            if len(self._verified) > 1024:
                self._verified.clear()
            self._verified[key] = now + AUTH_CACHE_SECONDS
        return ok


Handler = Callable[[Request], Awaitable[Response]]


class HttpSide:
    """The side port's server. ``routes``: path -> async handler."""

    def __init__(self, routes: dict[str, Handler], *, host: str, port: int, reuse_port: bool = False,
                 sock: socket.socket | None = None) -> None:
        self.routes = routes
        self.host, self.port = host, port
        self.reuse_port = reuse_port
        self.sock = sock
        self._server: asyncio.base_events.Server | None = None
        self._slots = asyncio.Semaphore(MAX_CONNECTIONS)
        self._tasks: set[asyncio.Task[Any]] = set()

    async def start(self) -> None:
        if self.sock is not None:
            self._server = await asyncio.start_server(self._client, sock=self.sock, limit=MAX_HEAD)
        else:
            self._server = await asyncio.start_server(self._client, self.host, self.port, limit=MAX_HEAD,
                                                      reuse_port=self.reuse_port or None)
        self.port = self._server.sockets[0].getsockname()[1]

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            if self._slots.locked():
                await self._send(writer, text(503, "too many HTTP clients\n"), head_only=False)
                return
            async with self._slots:
                await self._serve_one(reader, writer)
        except (ConnectionError, asyncio.CancelledError, OSError):
            pass
        finally:
            if task is not None:
                self._tasks.discard(task)
            try:
                writer.close()
                await asyncio.wait_for(writer.wait_closed(), 1)
            except (ConnectionError, asyncio.TimeoutError, asyncio.CancelledError, OSError, RuntimeError):
                pass

    async def _serve_one(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
        except asyncio.LimitOverrunError:
            await self._send(writer, text(431, "request head too large\n"), head_only=False)
            return
        except (asyncio.IncompleteReadError, asyncio.TimeoutError):
            return
        peer = writer.get_extra_info("peername")
        request = _parse(head, f"{peer[0]}:{peer[1]}" if isinstance(peer, tuple) else str(peer))
        if request is None:
            await self._send(writer, text(400, "malformed request\n"), head_only=False)
            return
        if request.method not in ("GET", "HEAD"):
            response = text(405, "only GET and HEAD\n")
            response.headers += (("Allow", "GET, HEAD"),)
        else:
            handler = self.routes.get(request.path)
            if handler is None:
                response = text(404, "not found\n")
            else:
                try:
                    response = await handler(request)
                except Exception:
                    log.exception("HTTP %s failed", request.path)
                    response = text(500, "internal error\n")
        await self._send(writer, response, head_only=request.method == "HEAD")

    @staticmethod
    async def _send(writer: asyncio.StreamWriter, response: Response, *, head_only: bool) -> None:
        reason = REASONS.get(response.status, "")
        lines = [f"HTTP/1.1 {response.status} {reason}", f"Content-Type: {response.content_type}",
                 f"Content-Length: {len(response.body)}", "Connection: close"]
        lines += [f"{k}: {v}" for k, v in (*_SECURITY_HEADERS, *response.headers)]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        if not head_only:
            writer.write(response.body)
        await writer.drain()


def _parse(head: bytes, client: str) -> Request | None:
    try:
        lines = head.decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ")
    except ValueError:
        return None
    if not version.startswith("HTTP/1.") or not target.startswith("/"):
        return None
    headers: dict[str, str] = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip() or name != name.strip():
            return None
        headers[name.lower()] = value.strip()
    parts = urlsplit(target)
    return Request(method, parts.path, parse_qs(parts.query), headers, client)


def new_secret() -> bytes:
    return secrets.token_bytes(32)
