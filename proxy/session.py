"""One client connection's state machine: startup, authentication, simple and extended query, cursors,
COPY out, transaction status, settings.

It never touches a socket: the server feeds it decoded frontend messages and gives it an ``Output`` to write
backend messages to (and to await for back-pressure while a result streams). Everything the engine does runs
in the server's thread pool, so a slow query here never stalls another session.

States (``SessionState``): STARTUP until a StartupMessage is accepted, AUTHENTICATING while a password
exchange runs, then READY; any error while processing an extended-query message moves the session to
SKIP_TO_SYNC, where messages are discarded until Sync (as Postgres does); CLOSED after Terminate or a
FATAL error.

Portals and cursors are the same thing, as in Postgres: ``DECLARE c CURSOR FOR ...`` creates portal ``c``
(Describe P and FETCH both find it). A named portal streams from its own engine cursor, so other queries
of the session can run while it is open without ending its stream.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import dataclasses
import enum
import logging
import secrets
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import pyarrow as pa
import sqlglot

from proxy.audit import AuditLog, sql_hash
from proxy.auth import Authenticator
from proxy.backends.base import next_batch
from proxy.catalog import CatalogContext
from proxy.commands import SessionCommands
from proxy.cursors import CursorCommands, fetch_args
from proxy.errors import (
    FeatureNotSupported,
    InFailedTransaction,
    InvalidCatalogName,
    ProtocolViolationError,
    QueryCanceled,
    SqlError,
    internal_error,
)
from proxy.ops.observe import NO_TRACE, Observer, QueryTrace
from proxy.pgtypes_sql import infer_param_types
from proxy.plans import Plan, PlanCache
from proxy.portals import Portal, PreparedStatement, _Transaction, row_description
from proxy.query_path import QueryPath
from proxy.result_cache import ResultCache
from proxy.result_types import declare
from proxy.router import Kind, Statement, split, statement_error
from proxy.settings import SERVER_VERSION, SessionSettings
from proxy.statement_facts import check_parameter_numbers
from proxy.stats import ServerStats
from proxy.wire import messages as m
from proxy.wire import types as pgtypes
from proxy.wire.framing import MalformedMessage
from proxy.wire.params import decode_param
from proxy.workers import WORKER_BITS
from rewriter.lens import Lens
from rewriter.policy import Access, Identity, NoAccess, lens_view, resolve_access

log = logging.getLogger("lens_proxy.session")
T = TypeVar("T")


class Output(Protocol):
    def write(self, data: bytes) -> None: ...

    async def drain(self) -> None: ...


class SessionState(enum.Enum):
    STARTUP = "startup"
    AUTHENTICATING = "authenticating"
    READY = "ready"
    SKIP_TO_SYNC = "skip_to_sync"
    CLOSED = "closed"


_TRANSITIONS = {
    SessionState.STARTUP: {SessionState.AUTHENTICATING, SessionState.READY, SessionState.CLOSED},
    SessionState.AUTHENTICATING: {SessionState.READY, SessionState.CLOSED},
    SessionState.READY: {SessionState.SKIP_TO_SYNC, SessionState.CLOSED, SessionState.READY},
    SessionState.SKIP_TO_SYNC: {SessionState.READY, SessionState.CLOSED, SessionState.SKIP_TO_SYNC},
    SessionState.CLOSED: {SessionState.CLOSED},
}


@dataclass
class ServerContext:
    """What every session shares: the served lenses, each lens's backend, the thread pool, the running sessions."""

    lenses: dict[str, Lens]
    backends: dict[str, Any]  # lens name -> proxy.backends.base.Backend
    run_blocking: Callable[..., Any]  # (fn, *args) -> concurrent.futures.Future, run in the server's thread pool
    scheduler: Any = None  # proxy.scheduler.Scheduler: engine work in lanes (else run_blocking)
    worker: int = 0  # this process's number among the server's workers (in each session's pid)
    forward_cancel: Any = None  # async (packet, pid): a CancelRequest for another worker's session
    catalog: Any = None  # proxy.catalog.Catalog
    sessions: dict[int, Session] = field(default_factory=dict)
    engine_settings: frozenset[str] = frozenset()
    started_at: float = field(default_factory=time.time)
    version: str = "lens-proxy"
    auth_method: str = "trust"
    users: dict[str, Any] = field(default_factory=dict)  # user -> proxy.auth.UserEntry
    auth_secret: bytes = field(default_factory=lambda: secrets.token_bytes(32))
    access_cache: dict[tuple[str, Identity], Access] = field(default_factory=dict)  # (lens, identity) -> Access
    audit: AuditLog | None = None  # the query log (--audit-log), off by default
    view_cache: dict[tuple[str, str], Lens] = field(default_factory=dict)  # (lens, policy) -> lens as it shows
    plans: PlanCache = field(default_factory=PlanCache)  # statement shapes -> compiled plans (proxy.plans)
    results: ResultCache = field(default_factory=ResultCache)  # whole results by query, parameters, data version
    stats: ServerStats = field(default_factory=ServerStats)  # counters for the metrics (proxy.stats)
    ops: Observer = field(default_factory=Observer)  # metrics and server-log hooks (proxy.ops)


class Session(QueryPath, CursorCommands, SessionCommands):
    def __init__(self, server: ServerContext, out: Output, peer: str = "") -> None:
        self.server = server
        self.out = out
        self.peer = peer
        self.state = SessionState.STARTUP
        # the low bits name the worker process, so a CancelRequest reaching another worker finds its way
        self.pid = (secrets.randbelow(2**24) + 1) << WORKER_BITS | server.worker
        self.secret = secrets.randbits(31)
        self.user = ""
        self.database = ""
        self.lens: Lens | None = None
        self.settings = SessionSettings()
        self.tx = _Transaction()
        self.statements: dict[str, PreparedStatement] = {}
        self.portals: dict[str, Portal] = {}
        self._cursor: Any = None
        self._catalog_cursor: Any = None
        self._running = False
        self._shared_reader: pa.RecordBatchReader | None = None  # the open result on self.cursor
        self._auth: Authenticator | None = None
        self._startup_params: dict[str, str] = {}
        self._startup_minor = 0
        self._startup_unknown: list[str] = []
        self._last_rows = 0  # rows and engine SQL of the statement running, for the audit log
        self._last_sql: str | None = None
        self._inflight: set[concurrent.futures.Future[Any]] = set()
        self._lane = "light"  # the scheduler lane of the statement running (proxy.scheduler)
        self.trace: QueryTrace = NO_TRACE  # the running statement's stages, for proxy.ops

    # -- plumbing -------------------------------------------------------------------------------------

    def _set_state(self, new: SessionState) -> None:
        if new not in _TRANSITIONS[self.state]:
            raise AssertionError(f"illegal session transition {self.state} -> {new}")
        self.state = new

    @property
    def backend(self) -> Any:
        """The backend serving this session's lens (proxy.backends.base.Backend)."""
        return self.server.backends[self.lens.name if self.lens is not None else self.database]

    @property
    def cursor(self) -> Any:
        if self._cursor is None:
            self._cursor = self.backend.cursor()
        return self._cursor

    async def _blocking(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn`` in the server's thread pool. The call is remembered until it has finished, even when
        the awaiting task is cancelled, so closing the session can wait for the engine to let go."""
        scheduler = self.server.scheduler
        future = scheduler.submit(self._lane, fn, *args) if scheduler is not None else self.server.run_blocking(fn, *args)
        self._inflight.add(future)
        future.add_done_callback(self._inflight.discard)
        return await asyncio.wrap_future(future)

    async def _settle(self, timeout: float = 10) -> None:
        """Wait (bounded) until no engine call of this session is still running in a worker thread."""
        pending = [asyncio.wrap_future(f) for f in list(self._inflight)]
        if not pending:
            return
        done, late = await asyncio.wait(pending, timeout=timeout)
        for future in done:  # the outcome belongs to a statement already answered: retrieve it, drop it
            if not future.cancelled() and future.exception() is None:
                self._close_result(future.result())
        for future in late:
            future.cancel()

    @property
    def catalog_cursor(self) -> Any:
        if self._catalog_cursor is None or self._catalog_cursor.catalog is not self.server.catalog:
            self._catalog_cursor = self.server.catalog.cursor()  # (a reload swaps the catalog: proxy.ops.reload)
        return self._catalog_cursor

    def catalog_context(self) -> CatalogContext:
        access = self.access() if self.lens is not None else None
        if access is None or access.unrestricted:
            return CatalogContext(self.database, self.user, self.pid, self.settings, SERVER_VERSION)
        key = (self.database, access.fingerprint)
        view = self.server.view_cache.get(key)
        if view is None:
            view = self.server.view_cache[key] = lens_view(self.lens, access)
        return CatalogContext(self.database, self.user, self.pid, self.settings, SERVER_VERSION,
                              view=view, view_key=access.fingerprint)

    @property
    def idle(self) -> bool:
        """Ready, outside a transaction block, nothing running: what idle_session_timeout measures."""
        return self.state is SessionState.READY and self.tx.status == b"I" and not self._running

    @property
    def idle_in_transaction_timeout_ms(self) -> int:
        """idle_in_transaction_session_timeout when it applies now (idle inside a transaction block), else 0."""
        if self.state is not SessionState.READY or self.tx.status == b"I" or self._running:
            return 0
        return self.settings.idle_in_transaction_timeout_ms

    def cancel(self) -> None:
        """Interrupt the running query (CancelRequest, disconnect, statement_timeout)."""
        if self._running:
            cursors = [self._cursor, self._catalog_cursor, *(p.cursor for p in self.portals.values())]
            for cursor in cursors:
                if cursor is not None:
                    cursor.interrupt()

    async def aclose(self) -> None:
        """Close once the engine has let go: interrupt the running query, wait for its worker, close."""
        self.cancel()
        self.server.sessions.pop(self.pid, None)
        await self._settle()
        self.close()

    def close(self) -> None:
        self.cancel()
        self.server.sessions.pop(self.pid, None)
        for name in list(self.portals):
            self._drop_portal(name)
        for cursor in (self._cursor, self._catalog_cursor):
            if cursor is not None:
                cursor.close()
        self._cursor = self._catalog_cursor = None
        self.state = SessionState.CLOSED

    def _drop_portal(self, name: str) -> None:
        portal = self.portals.pop(name, None)
        if portal is not None and portal.cursor is not None:
            portal.cursor.close()
            portal.cursor = None

    def _send_error(self, err: SqlError, msg: object = None) -> None:
        fields = m.error_fields(err.severity, err.sqlstate, err.message, err.detail, err.hint, err.position)
        self.out.write(m.error_response(fields))
        self.server.ops.error_sent(self, err, msg)

    # -- dispatch -------------------------------------------------------------------------------------

    async def handle(self, msg: object) -> bool:
        """Process one frontend message; False means close the connection."""
        try:
            if self.state is SessionState.STARTUP:
                return await self._handle_startup(msg)
            if self.state is SessionState.AUTHENTICATING:
                return self._handle_auth(msg)
            if isinstance(msg, m.Terminate):
                self.close()
                return False
            if self.state is SessionState.SKIP_TO_SYNC:
                if _is_sync(msg):
                    self._set_state(SessionState.READY)
                    self._sync()
                return True
            return await self._dispatch(msg)
        except SqlError as err:
            return self._fail(err, msg)
        except (ConnectionError, asyncio.CancelledError):
            raise
        except Exception as exc:  # a bug must cost one statement, not the session
            log.exception("internal error handling %s", type(msg).__name__)
            return self._fail(internal_error(exc), msg)

    def _fail(self, err: SqlError, msg: object) -> bool:
        self._send_error(err, msg)
        if err.severity == "FATAL" or self.state in (SessionState.STARTUP, SessionState.AUTHENTICATING):
            self.close()
            return False
        if self.tx.status == b"T":
            self.tx.status = b"E"
        if isinstance(msg, m.Query) or isinstance(msg, MalformedMessage) and msg.tag == m.QUERY:
            self._ready()
        elif not _is_sync(msg):
            self._set_state(SessionState.SKIP_TO_SYNC)
        else:
            self._sync()
        return True

    async def _dispatch(self, msg: object) -> bool:
        current = self.server.lenses.get(self.database)
        if current is not self.lens and current is not None:  # reloaded (proxy.ops.reload): new messages see it
            self.lens = current
        if isinstance(msg, m.Query):
            await self._simple_query(msg.sql)
        elif isinstance(msg, m.Parse):
            self._parse(msg)
        elif isinstance(msg, m.Bind):
            self._bind(msg)
        elif isinstance(msg, m.Describe):
            await self._describe(msg)
        elif isinstance(msg, m.Execute):
            await self._execute(msg)
        elif isinstance(msg, m.Sync):
            self._sync()
        elif isinstance(msg, m.Flush):
            await self.out.drain()
        elif isinstance(msg, m.Close):
            if msg.kind == "S":
                self.statements.pop(msg.name, None)
            else:
                self._drop_portal(msg.name)
            self.out.write(m.close_complete())
        elif isinstance(msg, m.CopyData | m.CopyDone | m.CopyFail):
            pass  # stray COPY traffic: Postgres ignores it outside COPY IN
        elif isinstance(msg, m.FunctionCall):
            raise FeatureNotSupported("the function call protocol is not supported")
        elif isinstance(msg, MalformedMessage):
            # Postgres: a bad format code is 22023; any other undecodable body 08P01. Either way an ERROR.
            sqlstate = "22023" if msg.reason.startswith("unsupported format code") else "08P01"
            raise SqlError(msg.reason, sqlstate=sqlstate)
        else:
            raise ProtocolViolationError(f"unexpected message {type(msg).__name__}")
        return True

    def _ready(self) -> None:
        self.out.write(m.ready_for_query(self.tx.status))

    def _sync(self) -> None:
        self._drop_portal("")
        if self.tx.status == b"I":  # the implicit transaction ends: so do its portals (not WITH HOLD cursors)
            for name, portal in list(self.portals.items()):
                if not portal.holdable:
                    self._drop_portal(name)
        self._ready()

    # -- startup --------------------------------------------------------------------------------------

    async def _handle_startup(self, msg: object) -> bool:
        if isinstance(msg, m.SSLRequest | m.GSSENCRequest):
            self.out.write(m.ssl_response(False))
            return True
        if isinstance(msg, m.CancelRequest):
            target = self.server.sessions.get(msg.pid)
            if target is not None and secrets.compare_digest(
                struct.pack("!i", target.secret), struct.pack("!i", msg.secret)
            ):
                target.cancel()
            elif target is None and self.server.forward_cancel is not None:
                packet = struct.pack("!iiii", 16, 80877102, msg.pid, msg.secret)
                await self.server.forward_cancel(packet, msg.pid)
            return False
        if not isinstance(msg, m.StartupMessage):
            raise ProtocolViolationError("expected a startup message", severity="FATAL")
        major, minor = msg.protocol >> 16, msg.protocol & 0xFFFF
        if major != 3:
            raise SqlError(
                f"unsupported frontend protocol {major}.{minor}: server supports 3.0",
                sqlstate="0A000", severity="FATAL",
            )
        params = msg.params
        self.user = params.get("user", "")
        if not self.user:
            raise SqlError("no PostgreSQL user name specified in startup packet", sqlstate="28000", severity="FATAL")
        self.database = params.get("database") or self.user
        self._startup_params = dict(params)
        self._startup_minor = minor
        self._startup_unknown = [k for k in params if k.startswith("_pq_.")]
        auth = Authenticator(self.server.auth_method, self.server.users, self.user, self.server.auth_secret)
        if auth.trusted:
            return self._finish_startup()
        self._auth = auth
        self.out.write(auth.start())
        self._set_state(SessionState.AUTHENTICATING)
        return True

    def _handle_auth(self, msg: object) -> bool:
        assert self._auth is not None
        if not isinstance(msg, m.PasswordMessage):
            raise ProtocolViolationError(
                f"expected password response, got message type {type(msg).__name__}", severity="FATAL"
            )
        reply, done = self._auth.step(msg)
        if reply:
            self.out.write(reply)
        if done:
            self._auth = None
            return self._finish_startup()
        return True

    def _finish_startup(self) -> bool:
        params = self._startup_params
        lens = self.server.lenses.get(self.database)
        if lens is None:
            served = ", ".join(sorted(self.server.lenses))
            raise InvalidCatalogName(
                f'database "{self.database}" does not exist', hint=f"this server serves: {served}"
            )
        self.lens = lens
        self.settings = SessionSettings.from_startup(params, engine_settings=self.server.engine_settings)
        self.settings.set_session_default("session_authorization", self.user)
        try:
            self.access()  # a user in none of the lens's user groups may not connect
        except SqlError as err:
            raise SqlError(err.message, sqlstate=err.sqlstate, detail=err.detail, severity="FATAL") from None
        if self._startup_minor > 0 or self._startup_unknown:
            self.out.write(_negotiate_protocol_version(0, self._startup_unknown))
        self.out.write(m.authentication_ok())
        for name, value in self.settings.reported():
            self.out.write(m.parameter_status(name, value))
        self.out.write(m.backend_key_data(self.pid, self.secret))
        self.server.sessions[self.pid] = self
        self._set_state(SessionState.READY)
        self._ready()
        self.server.ops.session_started(self)
        return True

    # -- simple query ---------------------------------------------------------------------------------

    async def _simple_query(self, sql: str) -> None:
        planned = self._planned(sql)
        if planned is not None:  # a statement of a known shape: no parse, no rewrite
            statement, plan, values = planned
            await self._simple_statement(statement, values, plan)
        else:
            try:
                statements = split(sql)
            except SqlError as err:
                self._send_error(err)
                if self.tx.status == b"T":
                    self.tx.status = b"E"
                self._ready()
                return
            for statement in statements:
                if not await self._simple_statement(statement, [], None):
                    break
        if self.tx.status == b"I":
            for name, portal in list(self.portals.items()):
                if portal.declared and not portal.holdable:
                    self._drop_portal(name)
        self._ready()

    async def _simple_statement(self, statement: Statement, params: list[Any], plan: Plan | None) -> bool:
        """Run one statement of a Query message; False when it failed (the rest of the message is skipped)."""
        try:
            await self._run_statement(statement, params=params, max_rows=0, describe=True, portal=None, plan=plan)
        except SqlError as err:
            self._send_error(statement_error(err, statement))
            if err.severity == "FATAL":
                raise
            if self.tx.status == b"T":
                self.tx.status = b"E"
            return False
        return True

    # -- statements -----------------------------------------------------------------------------------

    async def _run_statement(
        self, statement: Statement, *, params: list[Any], max_rows: int, describe: bool, portal: Portal | None,
        formats: tuple[int, ...] = (), plan: Plan | None = None,
    ) -> None:
        self.server.stats.statements += 1
        audit = self.server.audit
        if statement.kind is Kind.EMPTY:
            await self._run_one(statement, params=params, max_rows=max_rows, describe=describe, portal=portal,
                                formats=formats, plan=plan)
            return
        started, sqlstate = time.perf_counter(), "00000"
        self._last_rows, self._last_sql = 0, None
        self.trace = self.server.ops.trace(self)
        try:
            await self._run_one(statement, params=params, max_rows=max_rows, describe=describe, portal=portal,
                                formats=formats, plan=plan)
        except SqlError as err:
            sqlstate = err.sqlstate
            raise
        except asyncio.CancelledError:
            sqlstate = "57014"
            raise
        except Exception:
            sqlstate = "XX000"
            raise
        finally:
            self.server.ops.statement_done(self, statement, self.trace, sqlstate, time.perf_counter() - started)
            self.trace = NO_TRACE
            if audit is not None:
                audit.record(user=self.user, role=self.role, lens=self.database, client=self.peer,
                             application_name=self.settings.get("application_name"), kind=statement.kind.value,
                             statement=statement.text, sql_hash=sql_hash(self._last_sql), rows=self._last_rows,
                             duration_ms=round((time.perf_counter() - started) * 1000, 3), sqlstate=sqlstate)

    async def _run_one(
        self, statement: Statement, *, params: list[Any], max_rows: int, describe: bool, portal: Portal | None,
        formats: tuple[int, ...] = (), plan: Plan | None = None,
    ) -> None:
        kind = statement.kind
        if kind is Kind.EMPTY:
            self.out.write(m.empty_query_response())
            return
        if self.tx.status == b"E" and kind not in (Kind.ROLLBACK, Kind.COMMIT):
            raise InFailedTransaction(
                "current transaction is aborted, commands ignored until end of transaction block"
            )
        if kind is Kind.QUERY:
            await self._run_query(statement, params, max_rows, describe, portal, plan)
        elif kind is Kind.EXPLAIN:
            self._close_shared_reader()
            await self._explain(statement, describe)
        elif kind is Kind.DECLARE:
            await self._declare(statement, params)
        elif kind is Kind.FETCH or kind is Kind.MOVE:
            await self._fetch(statement, describe, formats)
        elif kind is Kind.CLOSE:
            self._close_cursor(statement)
        elif kind is Kind.COPY:
            await self._copy_out(statement, params)
        elif kind is Kind.SHOW and "".join(statement.words[1:]).lower() == "lens.stats":
            # this worker's counters (plans, result cache, scheduler, stages), as the metrics export them
            rows = [[name, f"{value:g}" if isinstance(value, float) else str(value)]
                    for name, value in sorted(self.server.stats.snapshot().items())]
            self._send_rows(["name", "value"], rows, "SHOW", describe)
        else:
            self._run_command(statement, describe)

    # -- identity and access ------------------------------------------------------------------------

    @property
    def role(self) -> str | None:
        """The role set with SET ROLE (None: the session user's own groups)."""
        value = self.settings.get("role")
        return None if value.lower() == "none" else value

    @property
    def current_user(self) -> str:
        return self.role or self.user

    def identity(self) -> Identity:
        """Who queries: the session user, acting with its groups (or only the role SET ROLE chose)."""
        entry = self.server.users.get(self.user)
        groups = tuple(entry.groups) if entry is not None else ()
        attributes = dict(entry.attributes) if entry is not None else {}
        return Identity.of(self.user, (self.role,) if self.role else groups, attributes)

    def access(self) -> Access:
        """What this identity may see of the session's lens (cached per lens and identity)."""
        assert self.lens is not None
        identity = self.identity()
        key = (self.lens.name, identity)
        cached = self.server.access_cache.get(key)
        if cached is None:
            try:
                cached = resolve_access(self.lens, identity)
            except NoAccess:
                raise SqlError(f'permission denied for database "{self.database}"', sqlstate="42501",
                               detail="User does not have CONNECT privilege.") from None
            self.server.access_cache[key] = cached
        return cached

    def _check_role(self, value: str) -> str:
        """SET ROLE: ``none`` or a group the session user belongs to (PostgreSQL's rules: an unknown role
        is 22023, one the user is not a member of 42501)."""
        role = value.strip().strip("'\"")
        if role.lower() == "none":
            return "none"
        entry = self.server.users.get(self.user)
        mine = {g.lower() for g in (entry.groups if entry is not None else ())}
        if role.lower() in mine or role.lower() == self.user.lower():
            return role if role.lower() != self.user.lower() else "none"
        known = {g.lower() for u in self.server.users.values() for g in u.groups} | {u.lower() for u in self.server.users}
        if role.lower() not in known:
            raise SqlError(f'role "{role}" does not exist', sqlstate="22023")
        raise SqlError(f'permission denied to set role "{role}"', sqlstate="42501",
                       hint=f"{self.user} may act as: {', '.join(sorted(mine)) or 'only itself'}")

    def lens_params(self) -> dict[str, str]:
        """``SET lens.month = 3`` values, for the lens's ``{{month:default}}`` snippet parameters."""
        return self.settings.lens_params()

    async def _guarded(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking engine call, honouring statement_timeout; errors come back as SqlErrors.

        When the timeout fires the query is interrupted and the worker is awaited before the error is
        raised: the session's engine cursor is free again the moment the client reads the error."""
        timeout_ms = self.settings.statement_timeout_ms
        self._running = True
        try:
            if timeout_ms <= 0:
                return await self._blocking(fn, *args)
            call = asyncio.ensure_future(self._blocking(fn, *args))
            done, _ = await asyncio.wait({call}, timeout=timeout_ms / 1000)
            if call in done:
                return call.result()
            self.cancel()
            await asyncio.wait({call})
            if not call.cancelled() and call.exception() is None:  # it finished just in time: no result wanted
                self._close_result(call.result())
            raise QueryCanceled("canceling statement due to statement timeout")
        finally:
            self._running = False

    async def _explain(self, statement: Statement, describe: bool) -> None:
        """EXPLAIN: the joins the rewriter chose and the backend SQL, one row per line (as Postgres prints
        plans); EXPLAIN ANALYZE adds the backend's own plan with timings, and the rows and time end to end."""
        compiled = self.compiled(statement)
        dialect = self.backend.dialect
        lines = [f"-- {note}" for note in compiled.notes]
        restricted = not self.access().unrestricted
        if restricted:  # the engine SQL would name what the policy hides (columns, filters, masks)
            lines.append("-- the engine's SQL is not shown under a data policy")
        else:
            lines += sqlglot.transpile(compiled.sql, read=dialect, write=dialect, pretty=True)[0].split("\n")
        if statement.analyze:
            started = time.perf_counter()
            reader = await self._guarded(self.cursor.execute, compiled.sql, None)
            rows = 0
            while (batch := await self._guarded(next_batch, reader)) is not None:
                rows += batch.num_rows
            elapsed = (time.perf_counter() - started) * 1000
            if not restricted and self.backend.capabilities.explain_analyze:
                lines += ["", f"-- {dialect} plan:"]
                lines += await self._guarded(self.cursor.explain_analyze, compiled.sql)
            lines += ["", f"Execution: {rows} rows in {elapsed:.3f} ms"]
        self._send_rows(["QUERY PLAN"], [[line] for line in lines], "EXPLAIN", describe)

    # -- cursors and COPY -------------------------------------------------------------------------------

    def _parse(self, msg: m.Parse) -> None:
        statements = split(msg.query)
        if len(statements) > 1:
            raise SqlError("cannot insert multiple commands into a prepared statement", sqlstate="42601")
        if msg.statement and msg.statement in self.statements:
            raise SqlError(f'prepared statement "{msg.statement}" already exists', sqlstate="42P05")
        statement = statements[0]
        try:
            check_parameter_numbers(statement)
        except SqlError as err:
            raise statement_error(err, statement) from None
        for oid in msg.param_types:
            if oid and oid not in pgtypes.BY_OID:
                raise SqlError(f"type with OID {oid} is not supported", sqlstate="42704")
        catalog = self.server.catalog
        schema = catalog.entity_types(self.lens) if catalog is not None and self.lens is not None else None
        types = infer_param_types(statement.ast, list(msg.param_types), self.lens, schema)
        types += [pgtypes.TEXT.oid] * (len(msg.param_types) - len(types))
        self.statements[msg.statement] = PreparedStatement(msg.statement, statement, types)
        self.out.write(m.parse_complete())

    def _bind(self, msg: m.Bind) -> None:
        prepared = self.statements.get(msg.statement)
        if prepared is None:
            raise SqlError(f'prepared statement "{msg.statement}" does not exist', sqlstate="26000")
        if msg.portal and msg.portal in self.portals:
            raise SqlError(f'cursor "{msg.portal}" already exists', sqlstate="42P03")
        if len(msg.params) != len(prepared.param_types):
            raise ProtocolViolationError(
                f"bind message supplies {len(msg.params)} parameters, but prepared statement "
                f'"{prepared.name}" requires {len(prepared.param_types)}'
            )
        formats = msg.param_formats
        values = []
        for i, raw in enumerate(msg.params):
            fmt = formats[i] if len(formats) > 1 else (formats[0] if formats else 0)
            values.append(decode_param(raw, prepared.param_types[i], fmt, i))
        self._drop_portal(msg.portal)
        self.portals[msg.portal] = Portal(msg.portal, prepared, values, msg.result_formats)
        self.out.write(m.bind_complete())

    async def _describe(self, msg: m.Describe) -> None:
        if msg.kind == "S":
            prepared = self.statements.get(msg.name)
            if prepared is None:
                raise SqlError(f'prepared statement "{msg.name}" does not exist', sqlstate="26000")
            self.out.write(m.parameter_description(prepared.param_types))
            schema = await self._statement_schema(prepared.statement, len(prepared.param_types))
            self.out.write(row_description(schema, ()))
            return
        portal = self.portals.get(msg.name)
        if portal is None:
            raise SqlError(f'portal "{msg.name}" does not exist', sqlstate="34000")
        statement = portal.prepared.statement
        if statement.kind is Kind.QUERY or portal.declared:
            if portal.reader is None:
                await self._open(portal)
            self.out.write(row_description(portal.schema, portal.result_formats))
        else:
            schema = await self._statement_schema(statement, len(portal.params))
            self.out.write(row_description(schema, portal.result_formats))

    def _with_origins(self, statement: Statement, schema: pa.Schema) -> pa.Schema:
        """Result columns that are table columns carry the table's OID and their number (RowDescription)."""
        catalog = self.server.catalog
        if catalog is None or statement.kind is not Kind.QUERY:
            return schema
        return catalog.with_origins(self.database, statement.ast, schema)

    async def _statement_schema(self, statement: Statement, n_params: int) -> pa.Schema | None:
        if statement.kind is Kind.QUERY:
            assert statement.ast is not None
            params = [None] * n_params
            tree = self._set_config(statement.ast, params, apply=False)
            if tree is not statement.ast:
                statement = dataclasses.replace(statement, ast=tree)
            if self.server.catalog is not None and self.server.catalog.handles(statement.ast):
                reader = await self._start_query(statement, params)
                reader.close()
                return self._with_origins(statement, reader.schema)
            compiled = self.compiled(statement)
            probe = f"SELECT * FROM ({compiled.sql}) AS _describe LIMIT 0"
            self._close_shared_reader()
            reader = await self._guarded(self.cursor.execute, probe, params or None)
            reader.close()
            return self._with_origins(statement, declare(reader.schema, compiled.result_types))
        if statement.kind is Kind.EXPLAIN:
            return pa.schema([("QUERY PLAN", pa.string())])
        if statement.kind is Kind.SHOW:
            if "".join(statement.words[1:]).lower() == "lens.stats":
                return pa.schema([("name", pa.string()), ("value", pa.string())])
            if [w.upper() for w in statement.words[1:]] == ["ALL"]:
                return pa.schema([("name", pa.string()), ("setting", pa.string()), ("description", pa.string())])
            return pa.schema([(statement.words[-1].lower(), pa.string())])
        if statement.kind is Kind.FETCH:
            _, name = fetch_args(statement.words)
            portal = self._cursor_portal(name)
            if portal.reader is None:
                await self._open(portal)
            return portal.schema
        return None

    async def _execute(self, msg: m.Execute) -> None:
        portal = self.portals.get(msg.portal)
        if portal is None:
            raise SqlError(f'portal "{msg.portal}" does not exist', sqlstate="34000")
        statement = portal.prepared.statement
        if portal.done:
            if statement.kind is Kind.QUERY:
                self.out.write(m.command_complete(f"SELECT {portal.rows_sent}"))
            else:
                self.out.write(m.empty_query_response() if statement.kind is Kind.EMPTY else m.command_complete("SELECT 0"))
            return
        if statement.kind is Kind.QUERY:
            try:
                await self._run_statement(statement, params=portal.params, max_rows=msg.max_rows, describe=False, portal=portal)
            except SqlError as err:
                raise statement_error(err, statement) from None
        else:
            await self._run_statement(
                statement, params=portal.params, max_rows=0, describe=False, portal=None, formats=portal.result_formats
            )
            portal.done = True


# -- helpers ------------------------------------------------------------------------------------------


def _is_sync(msg: object) -> bool:
    """A Sync, or what was meant as one (a Sync with a body is reported, then still ends the batch)."""
    return isinstance(msg, m.Sync) or isinstance(msg, MalformedMessage) and msg.tag == m.SYNC


def _negotiate_protocol_version(minor: int, unknown: list[str]) -> bytes:
    body = struct.pack("!ii", minor, len(unknown)) + b"".join(u.encode() + b"\0" for u in unknown)
    return b"v" + struct.pack("!i", len(body) + 4) + body
