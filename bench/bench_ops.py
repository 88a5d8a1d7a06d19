"""What the HTTP side port costs the wire path: the same workload against two lens-proxy servers over the
same data, one with ``--http-port`` (metrics recorded on every statement, /metrics scraped every half
second during the run) and one without, interleaved round by round so machine noise hits both alike.

Workloads: ``SELECT 1`` round trips (no engine: the per-statement bookkeeping at its largest share),
lens-query round trips from one psycopg client (a small GROUP BY over a measure: rewrite cache hit, engine,
stream), the same from 8 concurrent clients, and streaming every order line (rows and bytes counted per
batch). Figures: client throughput, and the server process's CPU time per query (or row), steadier than
wall time on a machine that does other work; and the observer's own cost per statement, in-process. Both servers log slow statements the same way (off), so the ratio is
the metrics and the side port alone. Prints per round and the median ratio (with side port / without).

    .venv/bin/python bench/bench_ops.py [--customers 10000] [--seconds 3] [--rounds 5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import LENS_DIR, start_server, stop_server  # noqa: E402
from tests.pgserver import free_port  # noqa: E402

QUERY = "SELECT state, count_customers FROM customer GROUP BY state"
STREAM = "SELECT order_id, product_id, order_value, activity_ts FROM order_placed"


def round_trips(dsn: str, seconds: float, clients: int, query: str = QUERY) -> tuple[int, float]:
    def one(_: int) -> int:
        with psycopg.connect(dsn, autocommit=True) as c:
            for _ in range(20):
                c.execute(query).fetchall()
            n, started = 0, time.perf_counter()
            while time.perf_counter() - started < seconds:
                c.execute(query).fetchall()
                n += 1
            return n

    started = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        total = sum(pool.map(one, range(clients)))
    return total, time.perf_counter() - started


def stream(dsn: str) -> tuple[int, float]:
    with psycopg.connect(dsn, autocommit=True) as c:
        started = time.perf_counter()
        n = sum(1 for _ in c.execute(STREAM))
        assert n > 0
        return n, time.perf_counter() - started


class Scraper:
    """GET /metrics every ``every`` seconds while the block runs (as a Prometheus would, only faster)."""

    def __init__(self, url: str, every: float = 0.5) -> None:
        self.url, self.every, self.count = url, every, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            with urllib.request.urlopen(self.url, timeout=10) as r:
                assert b"lens_proxy_queries_total" in r.read()
            self.count += 1

    def __enter__(self) -> Scraper:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc): what the server spent, whatever else runs."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def measured(server, work) -> tuple[float, float]:
    """(throughput, server CPU microseconds per unit of work) of ``work(dsn) -> (units, seconds)``."""
    cpu = cpu_seconds(server.process.pid)
    units, seconds = work(server.dsn())
    return units / seconds, (cpu_seconds(server.process.pid) - cpu) * 1e6 / units


def hook_cost(n: int = 20_000) -> float:
    """Microseconds the observer adds to one statement with metrics on (in-process, no I/O)."""
    from types import SimpleNamespace

    from proxy.ops.observe import Observer
    from proxy.ops.runtime import OpsSettings, make_observer
    from proxy.router import Kind

    observer: Observer = make_observer(OpsSettings(http_port=0, slow_ms=-1))
    session = SimpleNamespace(lens=SimpleNamespace(name="customer_360"), database="customer_360", backend=None)
    statement = SimpleNamespace(kind=Kind.QUERY)
    started = time.perf_counter()
    for _ in range(n):
        trace = observer.trace(session)
        for stage in ("rewrite", "engine", "stream"):
            trace.end(stage, trace.begin(stage))
        trace.rewrite_cache(True)
        trace.wrote(50, 800)
        observer.statement_done(session, statement, trace, "00000", 0.001)
    return (time.perf_counter() - started) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    from proxy.generate import GENERATORS

    print(f"observer hooks with metrics on: {hook_cost():.1f} us per statement (in-process)")
    with tempfile.TemporaryDirectory(prefix="bench-ops-") as tmp:
        data = Path(tmp) / "icebase.duckdb"
        counts = GENERATORS["customer_360"](data, customers=args.customers, seed=42, end_date=dt.date(2025, 6, 30))
        print(f"data: {', '.join(f'{k} {v:,} rows' for k, v in counts.items())}")
        # one process each (its CPU time is read from /proc); both with the same result cache and plans
        quiet = ("--log-min-duration-statement", "-1", "--reload-interval", "0", "--workers", "1")
        plain = start_server([LENS_DIR], [str(data)], *quiet)
        http = free_port()
        side = start_server([LENS_DIR], [str(data)], *quiet, "--http-port", str(http))
        workloads = {
            "SELECT 1": lambda d: round_trips(d, args.seconds, 1, "SELECT 1"),
            "1 client": lambda d: round_trips(d, args.seconds, 1),
            "8 clients": lambda d: round_trips(d, args.seconds, 8),
            "stream": stream,
        }
        try:
            results: dict[str, list[tuple[float, float, float, float]]] = {k: [] for k in workloads}
            for round_no in range(1, args.rounds + 1):
                for label, work in workloads.items():
                    first, second = (plain, side) if round_no % 2 else (side, plain)  # alternate who goes first
                    runs = {}
                    for server in (first, second):
                        if server is side:
                            with Scraper(f"http://127.0.0.1:{http}/metrics"):
                                runs["side"] = measured(server, work)
                        else:
                            runs["plain"] = measured(server, work)
                    (t0, c0), (t1, c1) = runs["plain"], runs["side"]
                    results[label].append((t0, t1, c0, c1))
                    print(f"round {round_no} {label:9}: throughput {t0:10.1f} -> {t1:10.1f} /s (x{t1 / t0:.3f}); "
                          f"server CPU {c0:8.2f} -> {c1:8.2f} us per unit (x{c1 / c0:.3f})", flush=True)
            print("\nmedians, side port on / off (1.00 = no cost; CPU per query is the steadier figure on a busy machine):")
            for label, rows in results.items():
                unit = "row" if label == "stream" else "query"
                print(f"  {label:9}: throughput x{statistics.median(t1 / t0 for t0, t1, _, _ in rows):.3f}, "
                      f"server CPU per {unit} x{statistics.median(c1 / c0 for _, _, c0, c1 in rows):.3f} "
                      f"({statistics.median(c0 for *_, c0, _ in rows):.2f} vs "
                      f"{statistics.median(c1 for *_, c1 in rows):.2f} us)")
        finally:
            stop_server(plain)
            stop_server(side)


if __name__ == "__main__":
    main()
