"""Many clients at once: N psycopg connections run a mix of lens queries for a fixed time against one real
lens-proxy on the demo data; prints queries/s, latency percentiles per query and any error (there should
be none). Bounded in time and count, loopback only.

    python bench/bench_concurrency.py [--clients 24] [--seconds 10]
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from tests.conftest import LENS_DIR, start_server, stop_server  # noqa: E402

QUERIES = {
    "by_state": "SELECT state, count_customers FROM customer GROUP BY state",
    "rfm_top10": "SELECT entity_id, recency, frequency, monetary FROM order_placed GROUP BY entity_id "
    "ORDER BY monetary DESC LIMIT 10",
    "chasm_by_state": "SELECT state, round(100.0 * order_rejected.frequency / order_placed.frequency, 2) "
    "FROM customer, order_placed, order_rejected GROUP BY state",
    "rows_param": "SELECT * FROM customer WHERE state = %s LIMIT 20",
    "catalog": "SELECT count(*) FROM pg_class",
    "select_1": "SELECT 1",
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--clients", type=int, default=24)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--data", default=str(ROOT / "data" / "icebase.duckdb"))
    args = parser.parse_args()
    server = start_server([LENS_DIR], [args.data])
    latencies: dict[str, list[float]] = {name: [] for name in QUERIES}
    errors: list[str] = []
    lock = threading.Lock()

    def client(seed: int) -> None:
        rnd = random.Random(seed)
        try:
            with psycopg.connect(server.dsn(options="'-c lens.result_cache=off'"), autocommit=True) as conn:  # timings, not cache hits
                end = time.monotonic() + args.seconds
                while time.monotonic() < end:
                    name = rnd.choice(list(QUERIES))
                    started = time.perf_counter()
                    sql = QUERIES[name]
                    conn.execute(sql, ["CA"] if "%s" in sql else None, binary=rnd.random() < 0.3).fetchall()
                    with lock:
                        latencies[name].append((time.perf_counter() - started) * 1000)
        except Exception as e:  # reported, not raised: the figure is how many fail
            with lock:
                errors.append(repr(e))

    try:
        threads = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
        started = time.monotonic()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
    finally:
        stop_server(server)
    total = sum(len(v) for v in latencies.values())
    print(f"{args.clients} clients, {elapsed:.1f} s: {total} queries, {total / elapsed:.0f} q/s, {len(errors)} errors")
    print(f"{'query':16} {'n':>6} {'p50 ms':>8} {'p95 ms':>8}")
    for name, values in latencies.items():
        if values:
            values.sort()
            p95 = values[min(len(values) - 1, int(len(values) * 0.95))]
            print(f"{name:16} {len(values):6} {statistics.median(values):8.1f} {p95:8.1f}")
    for e in errors[:5]:
        print("error:", e)


if __name__ == "__main__":
    main()
