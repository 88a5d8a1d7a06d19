"""Prometheus metrics of one lens-proxy process, aggregatable across worker processes.

Imported only when the HTTP side port is on (``--http-port``): with it off nothing is measured and the
wire path pays nothing. With several worker processes sharing the port, each process writes its values to
``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's multiprocess mode: memory-mapped files per process) and
any process answers a scrape with the sum over all of them. The directory must be set, empty, before
``prometheus_client`` is first imported (``enable_multiprocess``, called by the supervisor before it starts
workers), and a worker that exits is reported with ``worker_exited(pid)`` so its live gauges go away.

Per-statement updates go to label children bound once per lens (``LensMetrics``): an update is a lock and
an add (about a microsecond), never a label lookup. Values the session already keeps (the rewrite cache's
counts, the thread pool's queue, the sessions per lens) are sampled once a second, off the query path.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

if "prometheus_client" not in sys.modules and os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    Path(os.environ["PROMETHEUS_MULTIPROC_DIR"]).mkdir(parents=True, exist_ok=True)

from prometheus_client import (  # noqa: E402 (the directory must exist before the import picks the mode)
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)
from prometheus_client.process_collector import ProcessCollector  # noqa: E402

PREFIX = "lens_proxy"
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
STAGES = ("rewrite", "engine", "stream")


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def sample_process(metrics: Metrics) -> None:
    """This worker's CPU, memory and descriptors into the summed gauges (multiprocess mode only; Linux /proc)."""
    if metrics.workers_cpu is None:
        return
    try:
        with open("/proc/self/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        with open("/proc/self/statm") as f:
            resident_pages = int(f.read().split()[1])
        fds = len(os.listdir("/proc/self/fd"))
    except OSError:  # not Linux: nothing to report
        return
    metrics.workers_cpu.set((int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK"))
    metrics.workers_memory.set(resident_pages * os.sysconf("SC_PAGE_SIZE"))
    metrics.workers_fds.set(fds)


def enable_multiprocess(directory: str | Path) -> None:
    """Put this process (and the workers it will start) in multiprocess mode; call before any metric exists."""
    if "prometheus_client" in sys.modules and not multiprocess_dir():
        raise RuntimeError("enable_multiprocess must run before prometheus_client is imported")
    Path(directory).mkdir(parents=True, exist_ok=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


def worker_exited(pid: int) -> None:
    """A worker process is gone: drop its live gauges (connections, sessions, queue) from the sums."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid)


class LensMetrics:
    """One lens's label children, bound once."""

    __slots__ = ("rewrite", "engine", "stream", "duration", "rows", "bytes", "rewrite_hit", "rewrite_miss",
                 "result_hit", "result_miss", "_queries", "_metrics", "name")

    def __init__(self, metrics: Metrics, lens: str) -> None:
        self.name = lens
        self._metrics = metrics
        self.rewrite = metrics.stage_seconds.labels(lens, "rewrite")
        self.engine = metrics.stage_seconds.labels(lens, "engine")
        self.stream = metrics.stage_seconds.labels(lens, "stream")
        self.duration = metrics.query_seconds.labels(lens)
        self.rows = metrics.rows_sent.labels(lens)
        self.bytes = metrics.bytes_sent.labels(lens)
        self.rewrite_hit = metrics.rewrite_cache.labels(lens, "hit")
        self.rewrite_miss = metrics.rewrite_cache.labels(lens, "miss")
        self.result_hit = metrics.result_cache.labels(lens, "hit")
        self.result_miss = metrics.result_cache.labels(lens, "miss")
        self._queries: dict[tuple[str, str], Any] = {}

    def query(self, kind: str, sqlstate: str) -> Any:
        key = (kind, sqlstate[:2])
        child = self._queries.get(key)
        if child is None:
            outcome = "ok" if key[1] in ("00", "01", "02") else "error"
            child = self._queries[key] = self._metrics.queries.labels(self.name, kind, outcome, key[1])
        return child


class Metrics:
    """The process's metrics (one instance per process: names are global in multiprocess mode)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        mp = multiprocess_dir() is not None
        r = self.registry
        p = PREFIX
        self.connections = Gauge(f"{p}_connections_open", "Client connections open now (authenticating or not)",
                                 registry=r, multiprocess_mode="livesum")
        self.connections_total = Counter(f"{p}_connections", "Client connections accepted", registry=r)
        self.refused = Counter(f"{p}_connections_refused", "Connections refused before a session began, by SQLSTATE "
                               "(53300 too many, 28P01 bad password, 28000 no TLS or no access, 3D000 no such lens)",
                               ["sqlstate"], registry=r)
        self.sessions = Gauge(f"{p}_sessions", "Authenticated sessions now, by lens", ["lens"], registry=r,
                              multiprocess_mode="livesum")
        self.queries = Counter(f"{p}_queries", "Statements run, by lens, statement kind, outcome and SQLSTATE class",
                               ["lens", "kind", "outcome", "sqlstate_class"], registry=r)
        self.query_seconds = Histogram(f"{p}_query_duration_seconds", "Statement latency, end to end, by lens",
                                       ["lens"], buckets=LATENCY_BUCKETS, registry=r)
        self.stage_seconds = Histogram(f"{p}_query_stage_seconds", "Time per stage of a lens query: rewrite "
                                       "(client SQL to engine SQL, cache hits included), engine (the engine's "
                                       "execute call), stream (reading, encoding and sending the rows)",
                                       ["lens", "stage"], buckets=LATENCY_BUCKETS, registry=r)
        self.rows_sent = Counter(f"{p}_rows_sent", "Rows sent to clients, by lens", ["lens"], registry=r)
        self.bytes_sent = Counter(f"{p}_bytes_sent", "DataRow bytes sent to clients, by lens", ["lens"], registry=r)
        self.rewrite_cache = Counter(f"{p}_rewrite_cache_requests", "Rewrite cache look-ups, by lens and result "
                                     "(hit/miss)", ["lens", "result"], registry=r)
        self.result_cache = Counter(f"{p}_result_cache_requests", "Result cache look-ups, by lens and result "
                                    "(hit/miss)", ["lens", "result"], registry=r)
        self.backend_errors = Counter(f"{p}_backend_errors", "Errors raised by a backend engine while running or "
                                      "streaming a query (cancels excluded), by backend and SQLSTATE class",
                                      ["backend", "sqlstate_class"], registry=r)
        self.queue_depth = Gauge(f"{p}_worker_queue_depth", "Engine calls waiting for a worker thread",
                                 registry=r, multiprocess_mode="livesum")
        self.in_flight = Gauge(f"{p}_engine_calls_in_flight", "Engine calls submitted and not yet finished",
                               registry=r, multiprocess_mode="livesum")
        self.worker_threads = Gauge(f"{p}_worker_threads", "Size of the engine thread pool", registry=r,
                                    multiprocess_mode="livesum")
        self.backend_up = Gauge(f"{p}_backend_up", "1 if the backend answered its last readiness probe",
                                ["backend"], registry=r, multiprocess_mode="livemin")
        self.lens_loaded = Gauge(f"{p}_lens_loaded_timestamp_seconds", "When the lens version served was loaded "
                                 "(Unix time)", ["lens"], registry=r, multiprocess_mode="livemax")
        self.reload_failing = Gauge(f"{p}_lens_reload_failing", "1 while the lens's files do not validate (the "
                                    "previous version serves)", ["lens"], registry=r, multiprocess_mode="livemax")
        self.reloads = Counter(f"{p}_lens_reloads", "Lens reloads, by lens and outcome (swapped, invalid)",
                               ["lens", "outcome"], registry=r)
        self.workers_cpu = self.workers_memory = self.workers_fds = None
        if not mp:
            ProcessCollector(registry=r)
        else:  # prometheus_client's process collector does not work across processes: each worker's, summed
            self.workers_cpu = Gauge(f"{p}_workers_cpu_seconds", "CPU time (user + system) of the live worker "
                                     "processes, summed", registry=r, multiprocess_mode="livesum")
            self.workers_memory = Gauge(f"{p}_workers_resident_memory_bytes", "Resident memory of the live worker "
                                        "processes, summed", registry=r, multiprocess_mode="livesum")
            self.workers_fds = Gauge(f"{p}_workers_open_fds", "Open file descriptors of the live worker processes, "
                                     "summed", registry=r, multiprocess_mode="livesum")
        self._lenses: dict[str, LensMetrics] = {}

    def lens(self, name: str) -> LensMetrics:
        found = self._lenses.get(name)
        if found is None:
            found = self._lenses[name] = LensMetrics(self, name)
        return found

    def exposition(self) -> tuple[bytes, str]:
        """The text exposition, format 0.0.4 (every Prometheus reads it; all worker processes' values in
        multiprocess mode), and its content type."""
        if multiprocess_dir():
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_PLAIN_0_0_4
        return generate_latest(self.registry), CONTENT_TYPE_PLAIN_0_0_4


_INSTANCE: Metrics | None = None


def process_metrics() -> Metrics:
    """This process's metrics, created on first use."""
    global _INSTANCE
    if _INSTANCE is None:
        _INSTANCE = Metrics()
    return _INSTANCE
