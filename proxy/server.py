"""The asyncio TCP server: accept, read → frame → session, write, drain. Protocol logic lives in ``Session``.

The startup phase (SSLRequest, then StartupMessage or CancelRequest) is read inline, because an accepted
SSLRequest switches the stream to TLS (``StreamWriter.start_tls``) before anything else is read. After
that each connection runs two tasks: a reader that frames bytes into messages and queues them, and a
processor that hands them to the session in order. Reading on while a query runs is what lets the server
notice a client that disconnected mid-query and cancel its query at once.

Limits, as PostgreSQL's: a connection must finish its startup and authentication within
``authentication_timeout`` (else it is dropped without a word); every accepted connection, authenticated
or not, counts against ``max_connections`` (53300 beyond); ``idle_session_timeout`` and the session's own
``idle_in_transaction_session_timeout`` end idle sessions with FATAL 57P05 / 25P03.

Shutdown (SIGTERM) is PostgreSQL's fast shutdown: stop accepting, send every session FATAL 57P01,
interrupt its query, wait for the engine to let go of every cursor, then return; nothing is left running.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import ssl
import time
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any

from proxy.audit import AuditLog
from proxy.catalog import Catalog
from proxy.errors import SqlError, TooManyConnections
from proxy.result_cache import ResultCache
from proxy.scheduler import Scheduler, SchedulerConfig, lower_priority
from proxy.session import ServerContext, Session, SessionState
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


@dataclass
class _Connection:
    """What shutdown needs of one accepted connection."""

    session: Session
    output: _StreamOutput
    accepted_at: float


SHUTDOWN_MESSAGE = "terminating connection due to administrator command"


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
        authentication_timeout: float = 60,
        audit_log: str | None = None,
        scheduler: SchedulerConfig | None = None,
        result_cache: ResultCache | None = None,
        listen_socket: socket.socket | None = None,
        peers: Any = None,
        observer: Any = None,  # proxy.ops.observe.Observer: metrics and server-log hooks
    ) -> None:
        self.host, self.port = host, port
        self.max_connections = max_connections
        self.max_message_size = max_message_size
        self.ssl_context = ssl_context
        self.tls_required = tls_required
        self.idle_session_timeout = idle_session_timeout
        self.authentication_timeout = authentication_timeout
        config = scheduler or SchedulerConfig(light_threads=worker_threads)
        self.scheduler = Scheduler(config)
        self._listen_socket = listen_socket
        self.peers = peers  # proxy.workers.Peers: the other worker processes (cancel requests, connection counts)
        # one backend for every lens, or a backend per lens name (lens-proxy.yaml)
        backends = dict(backend) if isinstance(backend, dict) else {name: backend for name in lenses}
        for b in set(backends.values()):  # the engine's own workers run at the heavy lane's priority
            lower_priority(getattr(b, "worker_threads", ()), config.heavy_nice)
        self.context = ServerContext(
            lenses=lenses,
            backends=backends,
            run_blocking=self._run_blocking,
            scheduler=self.scheduler,
            engine_settings=frozenset().union(*(getattr(b, "setting_names", frozenset()) for b in backends.values())),
            catalog=Catalog(lenses, backend=backends),
            auth_method=auth_method,
            users=users or {},
            audit=AuditLog(audit_log) if audit_log else None,
        )
        if result_cache is not None:
            self.context.results = result_cache
        self.context.stats.sources += [self.context.plans, self.context.results, self.scheduler]
        if observer is not None:
            self.context.ops = observer
        self._server: asyncio.base_events.Server | None = None
        self._control: asyncio.base_events.Server | None = None
        if peers is not None:
            self.context.worker = peers.index
            self.context.forward_cancel = peers.forward_cancel
        self._connections: dict[asyncio.Task[None], _Connection] = {}
        self._closing = False

    def reload(self) -> None:
        """SIGHUP: forget compiled plans and kept results (the lenses or the data may have changed).
        Operations (issue 13) extends this with reloading the lenses themselves."""
        self.context.plans.clear()
        self.context.results.clear()
        log.info("reload: plan and result caches cleared")

    def _publish(self) -> None:
        if self.peers is not None:
            self.peers.publish(len(self._connections))

    def _connection_count(self) -> int:
        """Connections of the whole server: every worker's (max_connections holds across workers)."""
        return self.peers.total() if self.peers is not None else len(self._connections)

    def _run_blocking(self, fn: Any, *args: Any) -> Future[Any]:
        return self.scheduler.submit("light", fn, *args)

    async def start(self) -> None:
        if self._listen_socket is not None:  # a worker: the supervisor's socket, shared with the others
            self._server = await asyncio.start_server(self._client, sock=self._listen_socket, limit=1 << 20)
        else:
            self._server = await asyncio.start_server(self._client, self.host, self.port, limit=1 << 20)
        if self.peers is not None:  # where other workers send cancel requests for this worker's sessions
            self._control = await asyncio.start_unix_server(self._client, str(self.peers.control_path(self.peers.index)))
        sock = self._server.sockets[0]
        self.port = sock.getsockname()[1]
        log.info("lens-proxy listening on %s:%d serving %s", self.host, self.port, ", ".join(self.context.lenses))

    async def serve_forever(self) -> None:
        assert self._server is not None
        async with self._server:
            await self._server.serve_forever()

    async def close(self) -> None:
        """Fast shutdown: every session gets FATAL 57P01, its query is interrupted, and this returns once
        no engine call is running (so the backend can be closed)."""
        self._closing = True
        if self._server is not None:
            self._server.close()
        if self._control is not None:
            self._control.close()
        for task, conn in list(self._connections.items()):
            if conn.session.state in (SessionState.READY, SessionState.SKIP_TO_SYNC):
                conn.output.write(m.error_response(m.error_fields("FATAL", "57P01", SHUTDOWN_MESSAGE)))
                conn.output.flush()
            conn.session.cancel()
            task.cancel()
        if self._connections:
            await asyncio.gather(*self._connections, return_exceptions=True)
        await asyncio.to_thread(self.scheduler.shutdown, True)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        peer = str(writer.get_extra_info("peername"))
        output = _StreamOutput(writer)
        session = Session(self.context, output, peer)
        self._connections[task] = _Connection(session, output, time.monotonic())
        self._publish()
        self.context.ops.connection_opened()
        queue: asyncio.Queue[object] = asyncio.Queue()
        framing = MessageReader(max_message_size=self.max_message_size)
        reading: asyncio.Task[None] | None = None
        try:
            if self._closing:
                return
            try:
                first = await asyncio.wait_for(self._startup_phase(reader, writer, framing, peer),
                                               self.authentication_timeout)
            except asyncio.TimeoutError:
                log.info("connection %s: no startup packet within authentication_timeout", peer)
                return
            if first is None:
                return
            for msg in first:
                queue.put_nowait(msg)
            reading = asyncio.create_task(self._read(reader, queue, session, framing))
            await self._process(queue, session, self._connections[task].accepted_at)
        except (ConnectionError, OSError, asyncio.IncompleteReadError):
            pass  # the client went away (reset mid-stream, TLS torn down): nothing to report
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("connection %s failed", peer)
        finally:
            if reading is not None:
                reading.cancel()
            try:
                await session.aclose()
            finally:
                closed = self._connections.pop(task, None)
                self._publish()
                self.context.ops.connection_closed(session, time.monotonic() - closed.accepted_at if closed else 0.0)
                try:
                    output.flush()
                    writer.close()
                    await asyncio.wait_for(writer.wait_closed(), 1)
                except (ConnectionError, asyncio.TimeoutError, asyncio.CancelledError, OSError, RuntimeError):
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
                if isinstance(msg, m.StartupMessage) and self._connection_count() > self.max_connections:
                    # every accepted connection counts, authenticated or not (as PostgreSQL counts backends)
                    err = TooManyConnections("sorry, too many clients already")
                    self.context.ops.connection_refused(err.sqlstate, peer, err.message)
                    writer.write(m.error_response(m.error_fields("FATAL", err.sqlstate, err.message)))
                    await writer.drain()
                    return None
                if isinstance(msg, m.StartupMessage) and self.tls_required and not encrypted:
                    user, database = msg.params.get("user", ""), msg.params.get("database") or msg.params.get("user", "")
                    host = peer.strip("()").split(",")[0].strip("'")
                    text = f'no pg_hba.conf entry for host "{host}", user "{user}", database "{database}", no encryption'
                    self.context.ops.connection_refused("28000", peer, text)
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

    def _wait_limit(self, session: Session, accepted_at: float) -> tuple[float, str, str] | None:
        """How long the next message may take, and the FATAL to send when it does not come."""
        if session.state in (SessionState.STARTUP, SessionState.AUTHENTICATING):
            return max(0.0, accepted_at + self.authentication_timeout - time.monotonic()), "", ""
        if session.idle and self.idle_session_timeout > 0:
            return self.idle_session_timeout, "57P05", "terminating connection due to idle-session timeout"
        in_transaction_ms = session.idle_in_transaction_timeout_ms
        if in_transaction_ms > 0:
            return in_transaction_ms / 1000, "25P03", "terminating connection due to idle-in-transaction timeout"
        return None

    async def _process(self, queue: asyncio.Queue[object], session: Session, accepted_at: float) -> None:
        while True:
            limit = self._wait_limit(session, accepted_at)
            if limit is None:
                msg = await queue.get()
            else:
                try:
                    msg = await asyncio.wait_for(queue.get(), limit[0])
                except asyncio.TimeoutError:
                    if limit[1]:  # an authenticating client is dropped without a word, as PostgreSQL does
                        session.out.write(m.error_response(m.error_fields("FATAL", limit[1], limit[2])))
                        await session.out.drain()
                    return
            if msg is _EOF:
                return
            if isinstance(msg, SqlError):  # framing failed: FATAL, then close
                session.out.write(m.error_response(m.error_fields("FATAL", msg.sqlstate, msg.message)))
                await session.out.drain()
                return
            keep = await session.handle(msg)
            if not keep or queue.empty() or isinstance(msg, m.Sync | m.Flush):
                await session.out.drain()
            if not keep:
                return
