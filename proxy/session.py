"""One client connection's state machine: startup, simple and extended query, transaction status, settings.

It never touches a socket: the server feeds it decoded frontend messages and gives it an ``Output`` to write
backend messages to (and to await for back-pressure while a result streams). Everything the engine does runs
in the server's thread pool, so a slow query here never stalls another session.

States (``SessionState``): STARTUP until a StartupMessage is accepted, then READY; any error while
processing an extended-query message moves the session to SKIP_TO_SYNC, where messages are discarded until
Sync (as Postgres does); CLOSED after Terminate or a FATAL error.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import secrets
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol, TypeVar

import pyarrow as pa
from sqlglot import exp

from proxy import pgfunctions
from proxy.backends.duck import next_batch
from proxy.errors import (
    FeatureNotSupported,
    InFailedTransaction,
    InvalidCatalogName,
    ProtocolViolationError,
    QueryCanceled,
    SqlError,
    internal_error,
)
from proxy.router import Kind, Statement, split, statement_error
from proxy.catalog import CatalogContext
from proxy.settings import SERVER_VERSION, SessionSettings
from proxy.wire import messages as m
from proxy.wire import types as pgtypes
from proxy.wire.encode import encode_batch_text, encode_rows_text
from rewriter.lens import Lens
from rewriter.rewrite import rewrite

log = logging.getLogger("lens_proxy.session")
T = TypeVar("T")


class Output(Protocol):
    def write(self, data: bytes) -> None: ...

    async def drain(self) -> None: ...


class SessionState(enum.Enum):
    STARTUP = "startup"
    READY = "ready"
    SKIP_TO_SYNC = "skip_to_sync"
    CLOSED = "closed"


_TRANSITIONS = {
    SessionState.STARTUP: {SessionState.READY, SessionState.CLOSED},
    SessionState.READY: {SessionState.SKIP_TO_SYNC, SessionState.CLOSED, SessionState.READY},
    SessionState.SKIP_TO_SYNC: {SessionState.READY, SessionState.CLOSED, SessionState.SKIP_TO_SYNC},
    SessionState.CLOSED: {SessionState.CLOSED},
}


@dataclass
class PreparedStatement:
    name: str
    statement: Statement
    param_types: list[int]


@dataclass
class Portal:
    name: str
    prepared: PreparedStatement
    params: list[Any]
    result_formats: tuple[int, ...]
    reader: pa.RecordBatchReader | None = None
    schema: pa.Schema | None = None
    pending: pa.RecordBatch | None = None  # rows fetched but not yet sent (Execute with a row limit)
    rows_sent: int = 0
    done: bool = False


@dataclass
class _Transaction:
    status: bytes = b"I"  # I: idle, T: in a block, E: failed block


@dataclass
class ServerContext:
    """What every session shares: the served lenses, the backend, the thread pool, the running sessions."""

    lenses: dict[str, Lens]
    backend: Any
    run_blocking: Callable[..., Any]  # async (fn, *args) -> result, in the server's thread pool
    catalog: Any = None  # proxy.catalog.Catalog
    sessions: dict[int, Session] = field(default_factory=dict)
    engine_settings: frozenset[str] = frozenset()
    started_at: float = field(default_factory=time.time)
    version: str = "lens-proxy"


class Session:
    def __init__(self, server: ServerContext, out: Output, peer: str = "") -> None:
        self.server = server
        self.out = out
        self.peer = peer
        self.state = SessionState.STARTUP
        self.pid = secrets.randbelow(2**31 - 1) + 1
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

    # -- plumbing -------------------------------------------------------------------------------------

    def _set_state(self, new: SessionState) -> None:
        if new not in _TRANSITIONS[self.state]:
            raise AssertionError(f"illegal session transition {self.state} -> {new}")
        self.state = new

    @property
    def cursor(self) -> Any:
        if self._cursor is None:
            self._cursor = self.server.backend.cursor()
        return self._cursor

    async def _blocking(self, fn: Callable[..., T], *args: Any) -> T:
        return await self.server.run_blocking(fn, *args)

    @property
    def catalog_cursor(self) -> Any:
        if self._catalog_cursor is None:
            self._catalog_cursor = self.server.catalog.cursor()
        return self._catalog_cursor

    def catalog_context(self) -> CatalogContext:
        return CatalogContext(self.database, self.user, self.pid, self.settings, SERVER_VERSION)

    def cancel(self) -> None:
        """Interrupt the running query (CancelRequest, disconnect, statement_timeout)."""
        if self._running:
            for cursor in (self._cursor, self._catalog_cursor):
                if cursor is not None:
                    cursor.interrupt()

    def close(self) -> None:
        self.cancel()
        self.server.sessions.pop(self.pid, None)
        for cursor in (self._cursor, self._catalog_cursor):
            if cursor is not None:
                cursor.close()
        self._cursor = self._catalog_cursor = None
        self.state = SessionState.CLOSED

    def _send_error(self, err: SqlError) -> None:
        fields = m.error_fields(err.severity, err.sqlstate, err.message, err.detail, err.hint, err.position)
        self.out.write(m.error_response(fields))

    # -- dispatch -------------------------------------------------------------------------------------

    async def handle(self, msg: object) -> bool:
        """Process one frontend message; False means close the connection."""
        try:
            if self.state is SessionState.STARTUP:
                return await self._handle_startup(msg)
            if isinstance(msg, m.Terminate):
                self.close()
                return False
            if self.state is SessionState.SKIP_TO_SYNC:
                if isinstance(msg, m.Sync):
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
        self._send_error(err)
        if err.severity == "FATAL":
            self.close()
            return False
        if self.tx.status == b"T":
            self.tx.status = b"E"
        if isinstance(msg, m.Query):
            self._ready()
        elif not isinstance(msg, m.Sync):
            self._set_state(SessionState.SKIP_TO_SYNC)
        else:
            self._sync()
        return True

    async def _dispatch(self, msg: object) -> bool:
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
            (self.statements if msg.kind == "S" else self.portals).pop(msg.name, None)
            self.out.write(m.close_complete())
        elif isinstance(msg, m.CopyData | m.CopyDone | m.CopyFail):
            pass  # stray COPY traffic: Postgres ignores it outside COPY IN
        elif isinstance(msg, m.FunctionCall):
            raise FeatureNotSupported("the function call protocol is not supported")
        else:
            raise ProtocolViolationError(f"unexpected message {type(msg).__name__}")
        return True

    def _ready(self) -> None:
        self.out.write(m.ready_for_query(self.tx.status))

    def _sync(self) -> None:
        self.portals.pop("", None)
        if self.tx.status == b"I":
            self.portals.clear()
        self._ready()

    # -- startup --------------------------------------------------------------------------------------

    async def _handle_startup(self, msg: object) -> bool:
        if isinstance(msg, m.SSLRequest | m.GSSENCRequest):
            self.out.write(m.ssl_response(False))
            return True
        if isinstance(msg, m.CancelRequest):
            target = self.server.sessions.get(msg.pid)
            if target is not None and target.secret == msg.secret:
                target.cancel()
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
        lens = self.server.lenses.get(self.database)
        if lens is None:
            served = ", ".join(sorted(self.server.lenses))
            raise InvalidCatalogName(
                f'database "{self.database}" does not exist', hint=f"this server serves: {served}"
            )
        self.lens = lens
        startup_settings = {k: v for k, v in params.items() if k not in ("user", "database", "options", "replication")}
        startup_settings.update(_parse_options(params.get("options", "")))
        self.settings = SessionSettings(startup_settings, engine_settings=self.server.engine_settings)
        self.settings._values["session_authorization"] = self.user
        unknown = [k for k in msg.params if k.startswith("_pq_.")]
        if minor > 0 or unknown:
            self.out.write(_negotiate_protocol_version(0, unknown))
        self.out.write(m.authentication_ok())
        for name, value in self.settings.reported():
            self.out.write(m.parameter_status(name, value))
        self.out.write(m.backend_key_data(self.pid, self.secret))
        self.server.sessions[self.pid] = self
        self._set_state(SessionState.READY)
        self._ready()
        return True

    # -- simple query ---------------------------------------------------------------------------------

    async def _simple_query(self, sql: str) -> None:
        try:
            statements = split(sql)
        except SqlError as err:
            self._send_error(err)
            if self.tx.status == b"T":
                self.tx.status = b"E"
            self._ready()
            return
        for statement in statements:
            try:
                await self._run_statement(statement, params=[], max_rows=0, describe=True, portal=None)
            except SqlError as err:
                self._send_error(statement_error(err, statement))
                if err.severity == "FATAL":
                    raise
                if self.tx.status == b"T":
                    self.tx.status = b"E"
                break
        self._ready()

    # -- statements -----------------------------------------------------------------------------------

    async def _run_statement(
        self, statement: Statement, *, params: list[Any], max_rows: int, describe: bool, portal: Portal | None
    ) -> None:
        kind = statement.kind
        if kind is Kind.EMPTY:
            self.out.write(m.empty_query_response())
            return
        if self.tx.status == b"E" and kind not in (Kind.ROLLBACK, Kind.COMMIT):
            if not (kind is Kind.ROLLBACK or (kind is Kind.RELEASE)):
                raise InFailedTransaction(
                    "current transaction is aborted, commands ignored until end of transaction block"
                )
        if kind is Kind.QUERY:
            await self._run_query(statement, params, max_rows, describe, portal)
        elif kind is Kind.EXPLAIN:
            await self._explain(statement, describe)
        else:
            self._run_command(statement, describe)

    def compile(self, statement: Statement) -> str:
        """Client query AST -> backend SQL text (session functions evaluated, lens tables rewritten)."""
        assert statement.ast is not None and self.lens is not None
        tree = pgfunctions.evaluate(statement.ast, self)
        tree = rewrite(tree, self.lens)
        return tree.sql(dialect=self.server.backend.dialect)

    async def _start_query(self, statement: Statement, params: list[Any]) -> pa.RecordBatchReader:
        catalog = self.server.catalog
        if catalog is not None and catalog.handles(statement.ast):
            return await self._guarded(self.catalog_cursor.execute, statement.ast, params or None, self.catalog_context())
        sql = self.compile(statement)
        log.debug("backend SQL: %s", sql)
        return await self._guarded(self.cursor.execute, sql, params or None)

    async def _guarded(self, fn: Callable[..., T], *args: Any) -> T:
        """Run a blocking engine call, honouring statement_timeout; errors come back as SqlErrors."""
        timeout_ms = self.settings.statement_timeout_ms
        self._running = True
        try:
            if timeout_ms > 0:
                try:
                    return await asyncio.wait_for(self._blocking(fn, *args), timeout_ms / 1000)
                except asyncio.TimeoutError:
                    self.cancel()
                    raise QueryCanceled("canceling statement due to statement timeout") from None
            return await self._blocking(fn, *args)
        finally:
            self._running = False

    async def _run_query(
        self, statement: Statement, params: list[Any], max_rows: int, describe: bool, portal: Portal | None
    ) -> None:
        if portal is not None and portal.reader is not None:
            reader = portal.reader
        else:
            reader = await self._start_query(statement, params)
            if portal is not None:
                portal.reader, portal.schema = reader, reader.schema
        if describe:
            self.out.write(_row_description(reader.schema))
        timezone = self.settings.timezone
        sent = portal.rows_sent if portal is not None else 0
        limit = max_rows if max_rows > 0 else None
        batch_rows = 0
        while limit is None or batch_rows < limit:
            batch = portal.pending if portal is not None and portal.pending is not None else None
            if batch is not None:
                portal.pending = None  # type: ignore[union-attr]
            else:
                batch = await self._guarded(next_batch, reader)
            if batch is None:
                break
            if limit is not None and batch_rows + batch.num_rows > limit:
                take = limit - batch_rows
                if portal is not None:
                    portal.pending = batch.slice(take)
                batch = batch.slice(0, take)
            if batch.num_rows:
                data = await self._blocking(encode_batch_text, batch, timezone)
                self.out.write(data)
                await self.out.drain()
            batch_rows += batch.num_rows
        sent += batch_rows
        if portal is not None:
            portal.rows_sent = sent
            if limit is not None and batch_rows >= limit and (portal.pending is not None or not portal.done):
                more = portal.pending is not None or await self._peek(portal)
                if more:
                    self.out.write(m.portal_suspended())
                    return
            portal.done = True
        self.out.write(m.command_complete(f"SELECT {sent}"))

    async def _peek(self, portal: Portal) -> bool:
        assert portal.reader is not None
        batch = await self._guarded(next_batch, portal.reader)
        if batch is None:
            return False
        portal.pending = batch
        return True

    async def _explain(self, statement: Statement, describe: bool) -> None:
        sql = self.compile(statement)
        import sqlglot

        pretty = sqlglot.transpile(sql, read=self.server.backend.dialect, write=self.server.backend.dialect, pretty=True)[0]
        lines = pretty.split("\n")
        if statement.analyze:
            started = time.perf_counter()
            reader = await self._guarded(self.cursor.execute, sql, None)
            rows = 0
            while (batch := await self._guarded(next_batch, reader)) is not None:
                rows += batch.num_rows
            elapsed = (time.perf_counter() - started) * 1000
            lines += ["", f"Execution: {rows} rows in {elapsed:.3f} ms"]
        self._send_rows(["QUERY PLAN"], [[line] for line in lines], "EXPLAIN", describe)

    # -- commands -------------------------------------------------------------------------------------

    def _run_command(self, statement: Statement, describe: bool) -> None:
        kind = statement.kind
        words = [w for w in statement.words]
        upper = [w.upper() for w in words]
        if kind is Kind.SET:
            self._set(words, upper)
            self.out.write(m.command_complete("SET"))
        elif kind is Kind.RESET:
            if len(words) < 2:
                raise SqlError("syntax error at end of input", sqlstate="42601")
            name = "TimeZone" if upper[1:3] == ["TIME", "ZONE"] else words[1]
            changed = self.settings.reset(name)
            if changed is not None:
                for n, v in self.settings.reported():
                    self.out.write(m.parameter_status(n, v))
            self.out.write(m.command_complete("RESET"))
        elif kind is Kind.SHOW:
            self._show(words, upper, describe)
        elif kind is Kind.BEGIN:
            if self.tx.status != b"I":
                self._notice("25001", "there is already a transaction in progress")
            else:
                self.tx.status = b"T"
            self.out.write(m.command_complete("START TRANSACTION" if upper[0] == "START" else "BEGIN"))
        elif kind in (Kind.COMMIT, Kind.ROLLBACK):
            failed = self.tx.status == b"E"
            if self.tx.status == b"I":
                self._notice("25P01", "there is no transaction in progress")
            self.tx.status = b"I"
            self.portals.clear()
            tag = "ROLLBACK" if kind is Kind.ROLLBACK or failed else "COMMIT"
            self.out.write(m.command_complete(tag))
        elif kind is Kind.SAVEPOINT:
            if self.tx.status == b"I":
                raise SqlError("SAVEPOINT can only be used in transaction blocks", sqlstate="25P01")
            self.out.write(m.command_complete("SAVEPOINT"))
        elif kind is Kind.RELEASE:
            self.out.write(m.command_complete("RELEASE"))
        elif kind is Kind.DISCARD:
            self.statements.clear()
            self.portals.clear()
            self.settings.reset("all")
            self.out.write(m.command_complete("DISCARD ALL"))
        elif kind is Kind.DEALLOCATE:
            name = words[-1]
            if name.upper() == "ALL":
                self.statements.clear()
            elif self.statements.pop(name, None) is None:
                raise SqlError(f'prepared statement "{name}" does not exist', sqlstate="26000")
            self.out.write(m.command_complete("DEALLOCATE ALL" if name.upper() == "ALL" else "DEALLOCATE"))
        else:  # pragma: no cover - Kind is exhaustive above
            raise FeatureNotSupported(f"{kind.value} is not supported")

    def _set(self, words: list[str], upper: list[str]) -> None:
        i = 1
        if i < len(upper) and upper[i] in ("SESSION", "LOCAL"):
            i += 1
        if upper[i : i + 2] == ["TIME", "ZONE"]:
            name, rest = "TimeZone", words[i + 2 :]
        elif i < len(words):
            name, rest = words[i], words[i + 1 :]
            if rest and rest[0].upper() in ("TO", "="):
                rest = rest[1:]
            while rest and rest[0] == "." and len(rest) > 1:  # SET lens.param = ... tokenizes as lens . param
                name, rest = f"{name}.{rest[1]}", rest[2:]
                if rest and rest[0].upper() in ("TO", "="):
                    rest = rest[1:]
        else:
            raise SqlError("syntax error at end of input", sqlstate="42601")
        if upper[:2] == ["SET", "SESSION"] and name.upper() == "CHARACTERISTICS":
            return
        if name.upper() == "TRANSACTION" or name.upper() == "SESSION_AUTHORIZATION" and not rest:
            return
        if not rest:
            raise SqlError("syntax error at end of input", sqlstate="42601")
        value = ", ".join(w for w in rest if w != ",")
        if value.upper() in ("DEFAULT", "LOCAL") and len(rest) == 1:
            changed = self.settings.reset(name)
        else:
            changed = self.settings.set(name, value)
        if changed is not None:
            self.out.write(m.parameter_status(changed.name, self.settings.get(changed.name)))

    def _show(self, words: list[str], upper: list[str], describe: bool) -> None:
        if len(words) < 2:
            raise SqlError("syntax error at end of input", sqlstate="42601")
        if upper[1] == "ALL":
            rows = [list(r) for r in self.settings.show_all()]
            self._send_rows(["name", "setting", "description"], rows, "SHOW", describe)
            return
        name = "TimeZone" if upper[1:3] == ["TIME", "ZONE"] else "".join(words[1:])
        if name.lower() in ("transaction_isolation", "transaction isolation level"):
            name = "transaction_isolation"
        value = self.settings.get(name)
        self._send_rows([name.lower()], [[value]], "SHOW", describe)

    def _send_rows(self, names: list[str], rows: list[list[Any]], tag: str, describe: bool) -> None:
        if describe:
            self.out.write(m.row_description([pgtypes.field_description(n, pa.string()) for n in names]))
        self.out.write(encode_rows_text(rows))
        self.out.write(m.command_complete(tag if tag != "SELECT" else f"SELECT {len(rows)}"))

    def _notice(self, sqlstate: str, message: str) -> None:
        self.out.write(m.notice_response(m.error_fields("WARNING", sqlstate, message)))

    # -- extended query -------------------------------------------------------------------------------

    def _parse(self, msg: m.Parse) -> None:
        statements = split(msg.query)
        if len(statements) > 1:
            raise SqlError("cannot insert multiple commands into a prepared statement", sqlstate="42601")
        if msg.statement and msg.statement in self.statements:
            raise SqlError(f'prepared statement "{msg.statement}" already exists', sqlstate="42P05")
        statement = statements[0]
        n_params = _count_params(statement)
        types = list(msg.param_types) + [0] * max(0, n_params - len(msg.param_types))
        self.statements[msg.statement] = PreparedStatement(msg.statement, statement, types)
        self.out.write(m.parse_complete())

    def _bind(self, msg: m.Bind) -> None:
        prepared = self.statements.get(msg.statement)
        if prepared is None:
            raise SqlError(f'prepared statement "{msg.statement}" does not exist', sqlstate="26000")
        if msg.portal and msg.portal in self.portals:
            raise SqlError(f'cursor "{msg.portal}" already exists', sqlstate="42P03")
        if any(f == 1 for f in msg.result_formats):
            raise FeatureNotSupported(
                "binary result format is not supported yet", hint="request text results (format code 0)"
            )
        if len(msg.params) != len(prepared.param_types):
            raise ProtocolViolationError(
                f"bind message supplies {len(msg.params)} parameters, but prepared statement "
                f'"{prepared.name}" requires {len(prepared.param_types)}'
            )
        formats = msg.param_formats
        values = []
        for i, raw in enumerate(msg.params):
            fmt = formats[i] if len(formats) > 1 else (formats[0] if formats else 0)
            values.append(_decode_param(raw, prepared.param_types[i], fmt))
        self.portals[msg.portal] = Portal(msg.portal, prepared, values, msg.result_formats)
        self.out.write(m.bind_complete())

    async def _describe(self, msg: m.Describe) -> None:
        if msg.kind == "S":
            prepared = self.statements.get(msg.name)
            if prepared is None:
                raise SqlError(f'prepared statement "{msg.name}" does not exist', sqlstate="26000")
            self.out.write(m.parameter_description([t or pgtypes.TEXT.oid for t in prepared.param_types]))
            schema = await self._statement_schema(prepared)
            self.out.write(_row_description(schema) if schema is not None else m.no_data())
            return
        portal = self.portals.get(msg.name)
        if portal is None:
            raise SqlError(f'portal "{msg.name}" does not exist', sqlstate="34000")
        statement = portal.prepared.statement
        if statement.kind is Kind.QUERY:
            if portal.reader is None:
                portal.reader = await self._start_query(statement, portal.params)
                portal.schema = portal.reader.schema
            self.out.write(_row_description(portal.schema))
        else:
            schema = await self._statement_schema(portal.prepared)
            self.out.write(_row_description(schema) if schema is not None else m.no_data())

    async def _statement_schema(self, prepared: PreparedStatement) -> pa.Schema | None:
        statement = prepared.statement
        if statement.kind is Kind.QUERY:
            if self.server.catalog is not None and self.server.catalog.handles(statement.ast):
                reader = await self._start_query(statement, [None] * len(prepared.param_types))
                return reader.schema
            sql = self.compile(statement)
            probe = f"SELECT * FROM ({sql}) AS _describe LIMIT 0"
            params = [None] * len(prepared.param_types)
            reader = await self._guarded(self.cursor.execute, probe, params or None)
            return reader.schema
        if statement.kind is Kind.EXPLAIN:
            return pa.schema([("QUERY PLAN", pa.string())])
        if statement.kind is Kind.SHOW:
            return pa.schema([(statement.words[-1].lower(), pa.string())])
        return None

    async def _execute(self, msg: m.Execute) -> None:
        portal = self.portals.get(msg.portal)
        if portal is None:
            raise SqlError(f'portal "{msg.portal}" does not exist', sqlstate="34000")
        if portal.done:
            self.out.write(m.command_complete(f"SELECT {0}"))
            return
        statement = portal.prepared.statement
        if statement.kind is Kind.QUERY:
            try:
                await self._run_statement(statement, params=portal.params, max_rows=msg.max_rows, describe=False, portal=portal)
            except SqlError as err:
                raise statement_error(err, statement) from None
        else:
            await self._run_statement(statement, params=portal.params, max_rows=0, describe=False, portal=portal)
            portal.done = True


# -- helpers ------------------------------------------------------------------------------------------


def _row_description(schema: pa.Schema | None) -> bytes:
    if schema is None:
        return m.no_data()
    return m.row_description([pgtypes.field_description(f.name, f.type) for f in schema])


def _count_params(statement: Statement) -> int:
    if statement.ast is None:
        return 0
    numbers = [int(p.name) for p in statement.ast.find_all(exp.Placeholder) if p.name.isdigit()]
    return max(numbers, default=0)


def _parse_options(options: str) -> dict[str, str]:
    """``options=-c search_path=x -c statement_timeout=5s`` from the startup packet."""
    out: dict[str, str] = {}
    parts = options.replace("--", "-c ").split()
    for i, part in enumerate(parts):
        if part == "-c" and i + 1 < len(parts) and "=" in parts[i + 1]:
            k, v = parts[i + 1].split("=", 1)
            out[k.replace("-", "_")] = v
    return out


def _negotiate_protocol_version(minor: int, unknown: list[str]) -> bytes:
    body = struct.pack("!ii", minor, len(unknown)) + b"".join(u.encode() + b"\0" for u in unknown)
    return b"v" + struct.pack("!i", len(body) + 4) + body


_INT_OIDS = {20, 21, 23, 26}
_FLOAT_OIDS = {700, 701}


def _decode_param(raw: bytes | None, oid: int, fmt: int) -> Any:
    """A bound parameter as a typed Python value for the engine (never spliced into SQL text)."""
    if raw is None:
        return None
    if fmt == 1:
        if oid in (21,) and len(raw) == 2:
            return struct.unpack("!h", raw)[0]
        if oid in (23, 26) and len(raw) == 4:
            return struct.unpack("!i", raw)[0]
        if oid == 20 and len(raw) == 8:
            return struct.unpack("!q", raw)[0]
        if oid == 700 and len(raw) == 4:
            return struct.unpack("!f", raw)[0]
        if oid == 701 and len(raw) == 8:
            return struct.unpack("!d", raw)[0]
        if oid == 16 and len(raw) == 1:
            return raw != b"\x00"
        if oid in (0, 25, 1043, 19, 1042, 705):
            return raw.decode()
        raise FeatureNotSupported(f"binary parameters of type oid {oid} are not supported yet", hint="send it as text")
    text = raw.decode()
    try:
        if oid in _INT_OIDS:
            return int(text)
        if oid in _FLOAT_OIDS:
            return float(text)
        if oid == 1700:
            return Decimal(text)
        if oid == 16:
            return text.strip().lower() in ("t", "true", "1", "y", "yes", "on")
        if oid == 1082:
            return date.fromisoformat(text)
        if oid == 1114:
            return datetime.fromisoformat(text)
    except (ValueError, InvalidOperation):
        raise SqlError(f'invalid input syntax for type oid {oid}: "{text}"', sqlstate="22P02") from None
    return text
