"""What the server and its sessions report while they work: the hooks behind metrics and the server log.

``proxy.server`` and ``proxy.session`` call an ``Observer`` at a few points (a connection accepted, refused
or closed; a session authorized; a statement finished; an error sent) and give each statement a
``QueryTrace`` that the session marks as the statement passes its stages (rewrite, engine, stream). The
observer turns those into Prometheus metrics (only when the HTTP side port is on: ``metrics`` is None
otherwise, and the hooks then cost a method call) and into log events (connections, errors with their
SQLSTATE, slow statements with the SQL the engine ran). A session with no statement running holds
``NO_TRACE``, whose marks do nothing.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from proxy.ops.logs import redact

log = logging.getLogger("lens_proxy.ops")
_QUIET_CLASSES = ("00", "01", "02")
_CANCELLED = "57014"
_MAX_LOGGED_SQL = 20_000


class QueryTrace:
    """One statement's way through the stages: seconds per stage, rows and bytes sent, cache results, and
    the stage it was in last (an error raised there was the engine's when that is engine or stream)."""

    __slots__ = ("lens", "stage", "since", "seconds", "rows", "bytes", "rewrite_hit", "result_hit")

    def __init__(self, lens: Any = None) -> None:
        self.lens = lens  # proxy.ops.metrics.LensMetrics, or None when metrics are off
        self.stage: str | None = None
        self.since = 0.0  # when the current stage began
        self.seconds: dict[str, float] = {}
        self.rows = 0
        self.bytes = 0
        self.rewrite_hit: bool | None = None
        self.result_hit: bool | None = None

    def begin(self, stage: str) -> float:
        self.stage = stage
        self.since = time.perf_counter()
        return self.since

    def end(self, stage: str, started: float) -> None:
        self.seconds[stage] = self.seconds.get(stage, 0.0) + time.perf_counter() - started
        self.stage = None

    def interrupted(self) -> None:
        """The statement ended inside a stage (an error): that stage's time so far still counts."""
        if self.stage is not None:
            self.seconds[self.stage] = self.seconds.get(self.stage, 0.0) + time.perf_counter() - self.since

    def wrote(self, rows: int, nbytes: int) -> None:
        self.rows += rows
        self.bytes += nbytes

    def rewrite_cache(self, hit: bool) -> None:
        self.rewrite_hit = hit

    def result_cache(self, hit: bool) -> None:
        """For the result cache: whether this statement's result came from it."""
        self.result_hit = hit


class _NoTrace(QueryTrace):
    """Held between statements: marks do nothing (Describe and Parse may rewrite outside a statement)."""

    __slots__ = ()

    def begin(self, stage: str) -> float:
        return 0.0

    def end(self, stage: str, started: float) -> None:
        pass

    def interrupted(self) -> None:
        pass

    def wrote(self, rows: int, nbytes: int) -> None:
        pass

    def rewrite_cache(self, hit: bool) -> None:
        pass

    def result_cache(self, hit: bool) -> None:
        pass


NO_TRACE: QueryTrace = _NoTrace()


def client_address(peer: str) -> str:
    """``('127.0.0.1', 50432)`` as ``127.0.0.1:50432``."""
    text = peer.strip("()[] ")
    parts = [p.strip().strip("'\"") for p in text.split(",")]
    return f"{parts[0]}:{parts[1]}" if len(parts) >= 2 and parts[1].isdigit() else text


class Observer:
    """The hooks (see the module docstring). ``metrics``: a ``proxy.ops.metrics.Metrics`` or None;
    ``slow_ms``: statements at least this long are logged with their engine SQL (negative: never)."""

    def __init__(self, metrics: Any = None, *, slow_ms: float = -1) -> None:
        self.metrics = metrics
        self.slow_ms = slow_ms
        self._started: set[int] = set()  # id() of the sessions that were authorized and not yet closed

    # -- connections -------------------------------------------------------------------------------------

    def connection_opened(self) -> None:
        if self.metrics is not None:
            self.metrics.connections.inc()
            self.metrics.connections_total.inc()

    def connection_refused(self, sqlstate: str, peer: str = "", reason: str = "") -> None:
        if self.metrics is not None:
            self.metrics.refused.labels(sqlstate).inc()
        log.info("connection refused: %s", reason, extra={"event": "connection_refused", "sqlstate": sqlstate,
                                                          "client": client_address(peer)})

    def session_started(self, session: Any) -> None:
        self._started.add(id(session))
        log.info("connection authorized", extra={
            "event": "connection_opened", "user": session.user, "database": session.database,
            "application_name": session.settings.get("application_name"), "client": client_address(session.peer),
            "pid": session.pid})

    def connection_closed(self, session: Any, seconds: float) -> None:
        if self.metrics is not None:
            self.metrics.connections.dec()
        if session is not None and id(session) in self._started:
            self._started.discard(id(session))
            log.info("disconnection", extra={
                "event": "connection_closed", "user": session.user, "database": session.database,
                "application_name": session.settings.get("application_name"),
                "client": client_address(session.peer), "pid": session.pid, "session_seconds": round(seconds, 3)})

    # -- statements --------------------------------------------------------------------------------------

    def trace(self, session: Any) -> QueryTrace:
        if self.metrics is None:
            return QueryTrace() if self.slow_ms >= 0 else NO_TRACE
        lens = session.lens.name if session.lens is not None else session.database
        return QueryTrace(self.metrics.lens(lens))

    def statement_done(self, session: Any, statement: Any, trace: QueryTrace, sqlstate: str, seconds: float) -> None:
        lens = trace.lens
        if trace.stage is not None:
            trace.interrupted()
        if lens is not None:
            lens.query(statement.kind.value, sqlstate).inc()
            lens.duration.observe(seconds)
            stages = trace.seconds
            if stages:
                if "rewrite" in stages:
                    lens.rewrite.observe(stages["rewrite"])
                if "engine" in stages:
                    lens.engine.observe(stages["engine"])
                if "stream" in stages:
                    lens.stream.observe(stages["stream"])
            if trace.rows:
                lens.rows.inc(trace.rows)
                lens.bytes.inc(trace.bytes)
            if trace.rewrite_hit is not None:
                (lens.rewrite_hit if trace.rewrite_hit else lens.rewrite_miss).inc()
            if trace.result_hit is not None:
                (lens.result_hit if trace.result_hit else lens.result_miss).inc()
            if (trace.stage in ("engine", "stream") and sqlstate[:2] not in _QUIET_CLASSES
                    and sqlstate != _CANCELLED and sqlstate[:2] != "57"):
                backend = getattr(session.backend, "name", "") if session.lens is not None else ""
                self.metrics.backend_errors.labels(backend, sqlstate[:2]).inc()
        if 0 <= self.slow_ms <= seconds * 1000:
            sql = session._last_sql
            log.info("slow statement: %.1f ms", seconds * 1000, extra={
                "event": "slow_query", "duration_ms": round(seconds * 1000, 3), "user": session.user,
                "database": session.database, "application_name": session.settings.get("application_name"),
                "client": client_address(session.peer), "kind": statement.kind.value, "sqlstate": sqlstate,
                "rows": trace.rows, "statement": statement.text[:_MAX_LOGGED_SQL],
                "engine_sql": sql[:_MAX_LOGGED_SQL] if sql else None,
                "stages_ms": {k: round(v * 1000, 3) for k, v in trace.seconds.items()} or None})

    # -- errors ------------------------------------------------------------------------------------------

    def error_sent(self, session: Any, err: Any, msg: object = None) -> None:
        """An ErrorResponse went to the client: logged with its SQLSTATE; a FATAL before the session began
        counts as a refused connection. Parameter values the client bound are scrubbed from the message."""
        starting = session.state.value in ("startup", "authenticating")
        if starting and err.severity == "FATAL" and self.metrics is not None:
            self.metrics.refused.labels(err.sqlstate).inc()
        message = redact(err.message, _bound_values(session, msg))
        level = logging.WARNING if err.sqlstate[:2] in ("XX", "58", "53") else logging.INFO
        log.log(level, "%s %s: %s", err.severity, err.sqlstate, message, extra={
            "event": "error", "severity": err.severity, "sqlstate": err.sqlstate, "user": session.user,
            "database": session.database, "client": client_address(session.peer), "pid": session.pid})


def _bound_values(session: Any, msg: object) -> list[object]:
    """The parameter values a failing message carried or referred to (Bind: its raw values; Execute and
    Describe: the portal's; every open portal's besides)."""
    values: list[object] = []
    params = getattr(msg, "params", None)
    if isinstance(params, list | tuple):
        values.extend(params)
    for portal in getattr(session, "portals", {}).values():
        values.extend(getattr(portal, "params", ()) or ())
    return values
