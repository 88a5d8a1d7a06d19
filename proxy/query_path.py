"""The query path of a session: from a statement to rows on the wire.

A mixin of ``proxy.session.Session``. A statement becomes a plan (shared by every statement of the same shape,
``proxy.plans``) or a compiled rewrite (``compiled``: the rewrite cache), then an engine job or a result
computed here (catalog rows, constants); a job is answered from the result cache or run in one trip to the
engine (``proxy.execution``); a portal streams the rows, encoded in the scheduler's threads.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import time
from typing import Any

import pyarrow as pa
from sqlglot import exp

from proxy import pgfunctions
from proxy.catalog.result_types import conform
from proxy.errors import FeatureNotSupported, SqlError
from proxy.execution import EngineJob, Local, execute_job, fetch_encoded
from proxy.pgtypes_sql import fix_pg_types, param_number
from proxy.plans import Plan, cost_update, parameterize, shape_of
from proxy.portals import Portal, PreparedStatement, row_description
from proxy.router import Kind, Statement, split
from proxy.statement_facts import statement_facts
from proxy.wire import messages as m
from proxy.wire.encode_binary import column_formats
from proxy.wire.encode_small import SMALL_ROWS
from proxy.wire.params import TypedText
from rewriter.cache import REWRITE_CACHE, Compiled
from rewriter.postgres import result_types
from rewriter.rewrite import rewrite

log = logging.getLogger("lens_proxy.session")
MAX_PLANNED_SQL = 20_000  # longer texts are not worth a plan (and their shape key would be as long)


class QueryPath:
    # -- plans ----------------------------------------------------------------------------------------

    def _plan_key(self) -> tuple:
        """What a compiled plan depends on besides the statement: lens, identity, policy, lens parameters,
        backend (the rewrite cache's key without the text)."""
        assert self.lens is not None
        return (self.lens.name, self.current_user, self.access().fingerprint, tuple(sorted(self.lens_params().items())),
                self.backend.name)

    def _planned(self, sql: str) -> tuple[Statement, Plan, list[Any]] | None:
        """The plan for a one-statement query message, made on first sight of its shape (``proxy.plans``);
        None when the statement takes the general path (anything but a plain lens query or constant)."""
        if self.lens is None or self.tx.status == b"E" or len(sql) > MAX_PLANNED_SQL:
            return None
        shape = shape_of(sql)
        if shape is None:
            return None
        key = self._plan_key()
        plan = self.server.plans.get(shape, key)
        if plan is None:
            try:
                plan = self._make_plan(sql, shape, key)
            except SqlError:
                return None  # the general path reports it, with its position
            if plan is None:
                return None
        return dataclasses.replace(plan.statement, text=sql), plan, plan.values(shape)

    def _make_plan(self, sql: str, shape: Any, key: tuple) -> Plan | None:
        statements = split(sql)
        if len(statements) != 1 or statements[0].kind is not Kind.QUERY or statements[0].ast is None:
            return None
        statement = statements[0]
        facts = statement_facts(statement.ast)
        if facts.max_param or facts.session_values or facts.set_config:
            return None
        catalog = self.server.catalog
        if catalog is not None and catalog.handles(statement.ast):
            return None
        constant = _constant_result(statement.ast)
        fixed = tuple(range(len(shape.literals)))
        if constant is not None:
            plan = Plan(statement, (), constant=constant.read_next_batch())
        else:
            slots: tuple = ()
            if self.backend.capabilities.parameters:
                types = catalog.entity_types(self.lens) if catalog is not None else {}
                template = parameterize(statement, shape, types)
                statement, slots, fixed = template.statement, template.slots, template.fixed
            plan = Plan(statement, slots, compiled=self._compile(statement))
        self.server.plans.put(shape, key, fixed, plan)
        return plan

    def compile(self, statement: Statement) -> str:
        """Client query AST -> backend SQL text (session functions evaluated, lens tables rewritten)."""
        return self.compiled(statement).sql

    def compiled(self, statement: Statement) -> Compiled:
        """The rewrite of ``statement``, from the LRU when the same text was rewritten for the same lens, user
        and lens parameters (queries reading per-session values are never cached)."""
        assert statement.ast is not None and self.lens is not None
        stage = self.trace.begin("rewrite")
        key = None
        if not statement_facts(statement.ast).session_values:
            key = (statement.text, *self._plan_key())
            hit = REWRITE_CACHE.get(key)
            self.trace.rewrite_cache(hit is not None)
            if hit is not None:
                self.trace.end("rewrite", stage)
                return hit
        result = self._compile(statement)
        if key is not None:
            REWRITE_CACHE.put(key, result)
        self.trace.end("rewrite", stage)
        return result

    def _compile(self, statement: Statement) -> Compiled:
        """Rewrite and render ``statement`` (no cache)."""
        assert statement.ast is not None and self.lens is not None
        started = time.perf_counter()
        try:
            return self._rewrite(statement)
        finally:
            self.server.stats.add("compile", time.perf_counter() - started)

    def _rewrite(self, statement: Statement) -> Compiled:
        assert statement.ast is not None and self.lens is not None
        tree = pgfunctions.evaluate(statement.ast, self)
        notes: list[str] = []
        notices: list[tuple[str, str | None]] = []
        catalog = self.server.catalog
        schema = catalog.entity_types(self.lens) if catalog is not None else None
        tree = rewrite(tree, self.lens, params=self.lens_params(), notes=notes, notices=notices, schema=schema,
                       access=self.access())
        declared = result_types(tree)
        tree = fix_pg_types(tree)  # after rewrite: result columns are already named from the client's SQL
        return Compiled(self.backend.render(tree), tuple(notes), tuple(notices), declared)

    async def _start_query(self, statement: Statement, params: list[Any], cursor: Any = None) -> pa.RecordBatchReader:
        """Run a query to its reader (catalog, constant or engine), for callers that stream it themselves."""
        prepared = await self._prepare_query(statement, params, None)
        if isinstance(prepared, Local):
            return prepared.reader
        reader, _, _, _ = await self._run_engine(prepared, cursor, first=False)
        return reader

    async def _prepare_query(self, statement: Statement, params: list[Any], plan: Plan | None) -> Local | EngineJob:
        """What running ``statement`` takes: a reader when the answer is computed here (catalog, constants),
        else the engine job (compiled SQL, parameters, declared result types)."""
        if plan is not None:
            # the plan was found by the statement's shape (``_planned``): its rewrite was a cache hit
            self.trace.rewrite_cache(True)
            self.trace.end("rewrite", self.trace.begin("rewrite"))
            if plan.constant is not None:
                return Local(pa.RecordBatchReader.from_batches(plan.constant.schema, [plan.constant]), True)
            assert plan.compiled is not None
            return self._job(plan.compiled, params, plan, plan.schemas)
        assert statement.ast is not None
        facts = statement_facts(statement.ast)
        if facts.bad_param is not None:
            raise facts.bad_param
        if facts.max_param > len(params):
            raise SqlError(f"there is no parameter ${len(params) + 1}", sqlstate="42P02",
                           hint="parameters are bound with the extended query protocol (Parse/Bind)")
        if facts.set_config:
            tree = self._set_config(statement.ast, params)
            statement = dataclasses.replace(statement, ast=tree)
        catalog = self.server.catalog
        if catalog is not None and catalog.handles(statement.ast):
            values = [str(v) if isinstance(v, TypedText) else v for v in params]  # catalog values are plain
            reader = await self._guarded(self.catalog_cursor.execute, statement.ast, values or None,
                                         self.catalog_context())
            return Local(reader, False)
        constant = _constant_result(statement.ast)
        if constant is not None:  # `SELECT 1` health checks from pools: no engine round trip
            return Local(constant, True)
        return self._job(self.compiled(statement), params, None, None)

    def _result_key(self, job: EngineJob, formats: tuple[int, ...]) -> tuple | None:
        """The result cache's key for ``job`` run by this session, None when it must not be cached."""
        results = self.server.results
        if not results.enabled or not self.settings.switch("lens.result_cache"):
            return None
        backend = self.backend
        version_of = getattr(backend, "data_version", None)
        version = version_of() if version_of is not None else None
        return results.key(job.sql, backend.dialect, job.params, formats, self.settings.timezone,
                           self.access().fingerprint, backend.name, version)

    def _job(self, compiled: Compiled, params: list[Any], plan: Plan | None, schemas: dict | None) -> EngineJob:
        if compiled.notices and self.settings.get("client_min_messages").lower() not in ("warning", "error"):
            for message, hint in compiled.notices:
                self.out.write(m.notice_response(m.error_fields("NOTICE", "00000", message, None, hint)))
        self._last_sql = compiled.sql
        log.debug("backend SQL: %s", compiled.sql)
        return EngineJob(compiled.sql, params, compiled.result_types, plan, schemas)

    async def _run_engine(
        self, job: EngineJob, cursor: Any, *, first: bool
    ) -> tuple[pa.RecordBatchReader, pa.Schema | None, tuple[pa.RecordBatch | None, bool] | None, float]:
        """One trip to the worker pool: execute, and (``first``) read the first batch and look past it, so
        a small result is complete when this returns. ``cursor`` None: the session's shared cursor."""
        if cursor is None:
            self._close_shared_reader()  # the engine cursor runs one result at a time
            cursor = self.cursor
        scheduler = self.server.scheduler
        if scheduler is not None:
            self._lane = scheduler.lane_for(job.owner.cost if job.owner is not None else -1.0)
        stage = self.trace.begin("engine")
        reader, schema, head, seconds = await self._guarded(execute_job, cursor, job, first)
        self.trace.end("engine", stage)
        self.server.stats.add("engine", seconds)
        if job.owner is not None:
            cost_update(job.owner, seconds)
        if cursor is self._cursor:
            self._shared_reader = reader
        return reader, schema, head, seconds

    def _close_shared_reader(self) -> None:
        if self._shared_reader is not None:
            self._shared_reader.close()
            self._shared_reader = None

    @staticmethod
    def _close_result(result: Any) -> None:
        if isinstance(result, pa.RecordBatchReader):
            result.close()
        elif isinstance(result, tuple) and result and isinstance(result[0], pa.RecordBatchReader):
            result[0].close()

    async def _open(self, portal: Portal, *, first: bool = True, use_cache: bool = True) -> None:
        """Start the portal's query (named portals on their own engine cursor, so they outlive others).
        ``first``: also read the first batch in the same trip to the engine (into ``portal.pending``, which
        ``_stream`` sends first); COPY reads the reader itself."""
        statement = portal.prepared.statement
        cursor = None
        if portal.name and portal.cursor is None:
            portal.cursor = cursor = self.backend.cursor()
        prepared = await self._prepare_query(statement, portal.params, portal.plan)
        if isinstance(prepared, Local):  # computed here: catalog rows, constants
            portal.in_memory = prepared.in_memory
            portal.schema = self._with_origins(statement, prepared.reader.schema)
            portal.reader = conform(prepared.reader, portal.schema)
            return
        if prepared.schemas is None:
            prepared = dataclasses.replace(prepared, schemas=portal.prepared.schemas, owner=portal.prepared)
        if use_cache and not portal.name and first:
            portal.result_key = self._result_key(prepared, portal.result_formats)
            if portal.result_key is not None:
                cached = self.server.results.get(portal.result_key)
                self.trace.result_cache(cached is not None)
                if cached is not None:  # answered from memory: no engine run
                    portal.cached, portal.schema = cached, cached.schema
                    portal.reader = pa.RecordBatchReader.from_batches(cached.schema, [])
                    portal.exhausted = True
                    return
                portal.collected = []
        reader, schema, head, _ = await self._run_engine(prepared, cursor or portal.cursor, first=first)
        if schema is None:  # first run of this statement: the result's origins, remembered for the next
            schema = self._with_origins(statement, reader.schema)
            if prepared.schemas is not None:
                with contextlib.suppress(TypeError):  # unhashable extension types: not remembered
                    prepared.schemas[reader.schema] = schema
            reader = conform(reader, schema)
        portal.schema = schema
        portal.reader = reader
        if head is not None:
            portal.pending, portal.exhausted = head

    async def _run_query(
        self, statement: Statement, params: list[Any], max_rows: int, describe: bool, portal: Portal | None,
        plan: Plan | None = None,
    ) -> None:
        if portal is None:
            portal = Portal("", PreparedStatement("", statement, []), params, (), plan=plan)
        if portal.reader is None:
            await self._open(portal)
        if describe:
            self.out.write(row_description(portal.schema, portal.result_formats))
        limit = max_rows if max_rows > 0 else None
        stage = self.trace.begin("stream")
        sent, more = await self._stream(portal, limit, portal.result_formats)
        self.trace.end("stream", stage)
        portal.rows_sent += sent
        self._last_rows = portal.rows_sent
        if more:
            self.out.write(m.portal_suspended())
            return
        self.out.write(m.command_complete(f"SELECT {portal.rows_sent}"))

    async def _stream(
        self, portal: Portal, limit: int | None, formats: tuple[int, ...], *, send: bool = True
    ) -> tuple[int, bool]:
        """Send up to ``limit`` rows (all when None) of the portal's query: (rows sent, whether more remain).

        Each step takes the next batch, encodes it and already reads the batch after it, so the end of a
        result is known without another step. A small batch already read (the first one, fetched with the
        query) is encoded right here; anything else is one trip to the worker pool. Output is drained
        before each further step, never after the last: a small result leaves in one write with its
        CommandComplete and ReadyForQuery.
        """
        assert portal.reader is not None and portal.schema is not None
        cached = portal.cached
        if cached is not None:
            if (limit is None or cached.rows <= limit) and send and tuple(formats) == portal.result_formats:
                self.out.write(cached.data)
                self.trace.wrote(cached.rows, len(cached.data))
                portal.cached, portal.done = None, True
                return cached.rows, False
            # a row limit, MOVE or other formats: run it after all
            portal.cached = portal.reader = portal.result_key = None
            await self._open(portal, use_cache=False)
        codes = column_formats(formats, len(portal.schema))
        binary = any(f == 1 for f in codes)
        timezone = self.settings.timezone
        sent = 0
        stepped = False
        if not send or tuple(formats) != portal.result_formats:
            portal.collected = None
        while limit is None or sent < limit:
            if portal.done and portal.pending is None:
                return sent, False
            if stepped:
                await self.out.drain()
            stepped = True
            remaining = None if limit is None else limit - sent
            args = (portal.reader, portal.pending, portal.exhausted, remaining, tuple(codes) if binary else None,
                    timezone, send)
            pending = portal.pending
            inline = portal.in_memory or (portal.exhausted and pending is not None and pending.num_rows <= SMALL_ROWS)
            step = fetch_encoded(*args) if inline else await self._guarded(fetch_encoded, *args)
            data, rows, portal.pending, portal.exhausted = step
            if data:
                self.out.write(data)
                self.trace.wrote(rows, len(data))
                if portal.collected is not None:
                    portal.collected.append(data)
                    portal.collected_size += len(data)
                    if portal.collected_size > self.server.results.max_entry_bytes:
                        portal.collected = None  # too big to keep: streamed as usual
            sent += rows
            if portal.exhausted and portal.pending is None:
                portal.done = True
                if portal.collected is not None and portal.result_key is not None:
                    self.server.results.put(portal.result_key, portal.schema, b"".join(portal.collected),
                                            portal.rows_sent + sent,
                                            live=getattr(self.backend, "data_version", None) is None)
                    portal.collected = None
                return sent, False
        return sent, portal.pending is not None or not portal.done

    def _set_config(self, tree: exp.Expression, params: list[Any], *, apply: bool = True) -> exp.Expression:
        """``set_config(name, value, is_local)`` calls are a session hook: applied here (when ``apply``),
        replaced by the resulting value, so the engine never sees them."""
        calls = [c for c in tree.find_all(exp.Anonymous) if c.name.lower() == "set_config"]
        if not calls:
            return tree

        def value_of(arg: exp.Expression) -> Any:
            number = param_number(arg)
            if number is not None:
                return params[number - 1] if number <= len(params) else None
            if isinstance(arg, exp.Literal):
                return arg.name
            if isinstance(arg, exp.Boolean):
                return arg.this
            raise FeatureNotSupported("set_config() takes constant arguments only")

        def replace(node: exp.Expression) -> exp.Expression:
            if not (isinstance(node, exp.Anonymous) and node.name.lower() == "set_config"):
                return node
            if len(node.expressions) != 3:
                raise SqlError("function set_config takes 3 arguments", sqlstate="42883")
            if not apply:
                return exp.cast(exp.Null(), exp.DataType.build("text"))
            name, value, local = (value_of(a) for a in node.expressions)
            if isinstance(local, str):
                local = local.lower() in ("t", "true", "on", "1", "yes")
            self._apply_setting(str(name), None if value is None else str(value), local=bool(local))
            return exp.Literal.string(self.settings.get(str(name)))

        return tree.copy().transform(replace)


def _constant_result(ast: exp.Expression) -> pa.RecordBatchReader | None:
    """The result of a SELECT of plain constants (``SELECT 1``, ``SELECT 'x' AS a, true``), computed here."""
    if not isinstance(ast, exp.Select) or any(
        ast.args.get(k) for k in ("from_", "joins", "where", "group", "having", "order", "limit", "offset", "with", "distinct")
    ):
        return None
    names, arrays = [], []
    for projection in ast.expressions:
        node = projection.this if isinstance(projection, exp.Alias) else projection
        if isinstance(node, exp.Literal) and node.is_int and -(2**31) <= int(node.name) < 2**31:
            arrays.append(pa.array([int(node.name)], pa.int32()))
        elif isinstance(node, exp.Literal) and node.is_string:
            arrays.append(pa.array([node.name], pa.string()))
        elif isinstance(node, exp.Boolean):
            arrays.append(pa.array([bool(node.this)], pa.bool_()))
        else:
            return None
        alias = projection.args.get("alias") if isinstance(projection, exp.Alias) else None
        names.append("?column?" if alias is None else alias.name if alias.quoted else alias.name.lower())
    batch = pa.RecordBatch.from_arrays(arrays, names=names)
    return pa.RecordBatchReader.from_batches(batch.schema, [batch])
