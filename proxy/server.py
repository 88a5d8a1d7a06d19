"""The asyncio TCP server: accept, read → frame → session, write, drain. Protocol logic lives in ``Session``.

The startup phase (SSLRequest, then StartupMessage or CancelRequest) is read inline, because an accepted
SSLRequest switches the stream to TLS (``StreamWriter.start_tls``) before anything else is read. After
that each connection runs two tasks: a reader that frames bytes into messages and queues them, and a
processor that hands them to the session in order. Reading on while a query runs is what lets the server
notice a client that disconnected mid-query and cancel its query at once.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from proxy.catalog import Catalog
from proxy.errors import SqlError, TooManyConnections
from proxy.session import ServerContext, Session
from proxy.wire import messages as m
from proxy.wire.framing import MessageReader
from rewriter.lens import Lens

log = logging.getLogger("lens_proxy.server")
_EOF = object()


class _StreamOutput:
    """Backend messages are gathered and sent in one write when the session drains (after each batch of
    rows, and when no further client message is waiting), rather than one syscall per message: a simple
    query's five messages cost one send, as Postgres's own output buffer does."""

    FLUSH_AT = 256 * 1024

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer
        self._buffer: list[bytes] = []
        self._size = 0

    def write(self, data: bytes) -> None:
        self._buffer.append(data)
        self._size += len(data)
        if self._size >= self.FLUSH_AT:
            self.flush()

    def flush(self) -> None:
        if self._buffer and not self._writer.is_closing():
            self._writer.write(b"".join(self._buffer))
        self._buffer.clear()
        self._size = 0

    async def drain(self) -> None:
        self.flush()
        await self._writer.drain()


class LensProxyServer:
    def __init__(
        self,
        lenses: dict[str, Lens],
        backend: Any,  # proxy.backends.base.Backend, or {lens name: Backend}
        *,
        host: str = "127.0.0.1",
        port: int = 5433,
        max_connections: int = 100,
        worker_threads: int = 16,
        max_message_size: int = 64 * 1024 * 1024,
        ssl_context: ssl.SSLContext | None = None,
        tls_required: bool = False,
        auth_method: str = "trust",
        users: dict[str, Any] | None = None,
        idle_session_timeout: float = 0,
    ) -> None:
        self.host, self.port = host, port
        self.max_connections = max_connections
        self.max_message_size = max_message_size
        self.ssl_context = ssl_context
        self.tls_required = tls_required
        self.idle_session_timeout = idle_session_timeout
        self._pool = ThreadPoolExecutor(max_workers=worker_threads, thread_name_prefix="lens-query")
        # one backend for every lens, or a backend per lens name (lens-proxy.yaml)
        backends = dict(backend) if isinstance(backend, dict) else {name: backend for name in lenses}
        self.context = ServerContext(
            lenses=lenses,
            backends=backends,
            run_blocking=self._run_blocking,
            engine_settings=frozenset().union(*(getattr(b, "setting_names", frozenset()) for b in backends.values())),
            catalog=Catalog(lenses, backend=backends),
            auth_method=auth_method,
            users=users or {},
        )
        self._server: asyncio.base_events.Server | None = None
        self._connections: set[asyncio.Task[None]] = set()

    async def _run_blocking(self, fn: Any, *args: Any) -> Any:
        return await asyncio.get_running_loop().run_in_executor(self._pool, fn, *args)

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._client, self.host, self.port, limit=1 << 20)
        sock = self._server.sockets[0]
        self.port = sock.getsockname()[1]
        log.info("lens-proxy listening on %s:%d serving %s", self.host, self.port, ", ".join(self.context.lenses))

    async def serve_forever(self) -> None:
        assert self._server is not None
        async with self._server:
            await self._server.serve_forever()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for session in list(self.context.sessions.values()):
            session.cancel()
        for task in list(self._connections):
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections.add(task)
        peer = str(writer.get_extra_info("peername"))
        session = Session(self.context, _StreamOutput(writer), peer)
        queue: asyncio.Queue[object] = asyncio.Queue()
        framing = MessageReader(max_message_size=self.max_message_size)
        reading: asyncio.Task[None] | None = None
        try:
            first = await self._startup_phase(reader, writer, framing, peer)
            if first is None:
                return
            for msg in first:
                queue.put_nowait(msg)
            reading = asyncio.create_task(self._read(reader, queue, session, framing))
            await self._process(queue, session, writer)
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("connection %s failed", peer)
        finally:
            if reading is not None:
                reading.cancel()
            session.close()
            self._connections.discard(task)
            try:
                writer.close()
                await asyncio.wait_for(writer.wait_closed(), 1)
            except (ConnectionError, asyncio.TimeoutError, asyncio.CancelledError, OSError):
                pass

    async def _startup_phase(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, framing: MessageReader, peer: str
    ) -> list[object] | None:
        """Read until a StartupMessage or CancelRequest, answering SSLRequest/GSSENCRequest on the way (and
        switching to TLS when configured). Returns the messages for the session, None to hang up."""
        encrypted = False
        while True:
            data = await reader.read(1 << 16)
            if not data:
                return None
            try:
                msgs = framing.feed(data)
            except m.ProtocolViolation as e:
                writer.write(m.error_response(m.error_fields("FATAL", "08P01", str(e))))
                await writer.drain()
                return None
            for i, msg in enumerate(msgs):
                if isinstance(msg, m.SSLRequest | m.GSSENCRequest):
                    accept = isinstance(msg, m.SSLRequest) and self.ssl_context is not None and not encrypted
                    if accept and (i != len(msgs) - 1 or framing.buffered):
                        # CVE-2021-23214: bytes sent before the handshake must not be read as if encrypted
                        err = "received unencrypted data after SSL request"
                        writer.write(m.error_response(m.error_fields("FATAL", "08P01", err)))
                        await writer.drain()
                        return None
                    writer.write(m.ssl_response(accept))
                    await writer.drain()
                    if accept:
                        await writer.start_tls(self.ssl_context)
                        encrypted = True
                    continue
                if isinstance(msg, m.StartupMessage) and self.tls_required and not encrypted:
                    user, database = msg.params.get("user", ""), msg.params.get("database") or msg.params.get("user", "")
                    host = peer.strip("()").split(",")[0].strip("'")
                    text = f'no pg_hba.conf entry for host "{host}", user "{user}", database "{database}", no encryption'
                    writer.write(m.error_response(m.error_fields("FATAL", "28000", text)))
                    await writer.drain()
                    return None
                return msgs[i:]

    async def _read(
        self, reader: asyncio.StreamReader, queue: asyncio.Queue[object], session: Session, framing: MessageReader
    ) -> None:
        try:
            while True:
                data = await reader.read(1 << 16)
                if not data:
                    break
                try:
                    for msg in framing.feed(data):
                        queue.put_nowait(msg)
                except m.ProtocolViolation as e:
                    queue.put_nowait(SqlError(str(e), sqlstate="08P01", severity="FATAL"))
                    break
        except (ConnectionError, OSError):
            pass
        finally:
            session.cancel()  # the client is gone: stop its query
            queue.put_nowait(_EOF)

    async def _process(self, queue: asyncio.Queue[object], session: Session, writer: asyncio.StreamWriter) -> None:
        while True:
            if self.idle_session_timeout > 0 and session.idle:
                try:
                    msg = await asyncio.wait_for(queue.get(), self.idle_session_timeout)
                except asyncio.TimeoutError:
                    text = "terminating connection due to idle-session timeout"
                    writer.write(m.error_response(m.error_fields("FATAL", "57P05", text)))
                    await writer.drain()
                    return
            else:
                msg = await queue.get()
            if msg is _EOF:
                return
            if isinstance(msg, SqlError):  # framing failed: FATAL, then close
                writer.write(m.error_response(m.error_fields("FATAL", msg.sqlstate, msg.message)))
                await writer.drain()
                return
            if isinstance(msg, m.StartupMessage) and len(self.context.sessions) >= self.max_connections:
                err = TooManyConnections("sorry, too many clients already")
                writer.write(m.error_response(m.error_fields("FATAL", err.sqlstate, err.message)))
                await writer.drain()
                return
            keep = await session.handle(msg)
            if not keep or queue.empty() or isinstance(msg, m.Sync | m.Flush):
                await session.out.drain()
            if not keep:
                return
