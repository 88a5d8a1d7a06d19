"""Query latency through lens-proxy vs the same SQL run directly in DuckDB, side by side in one run.

Starts a real lens-proxy server on the demo data (generating it if missing), then for each query takes the
median of N runs (after a warm-up) of: psycopg through the proxy (full round trip: rewrite, execute,
encode, wire, client decode), and DuckDB in-process running the backend SQL the proxy produced (no wire).
Also reports rewrite time (parse + rewrite + render) and simple-query round trips per second.

    python bench/bench_queries.py [--data data/icebase.duckdb] [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import psycopg  # noqa: E402

from tests.conftest import LENS_DIR, start_server, stop_server  # noqa: E402

QUERIES = {
    "rfm_per_customer": "SELECT entity_id, recency, frequency, monetary FROM order_placed GROUP BY entity_id "
    "ORDER BY monetary DESC LIMIT 10",
    "customers_by_state": "SELECT state, count_customers, percentage_email FROM customer GROUP BY state ORDER BY 2 DESC",
    "rfm_by_brand": "SELECT brand_name, recency, frequency, monetary FROM order_placed GROUP BY brand_name",
    "rows_ca_limit_5": "SELECT customer_id, customer_name, email FROM customer WHERE state = 'CA' LIMIT 5",
    "stream_all_placed_lines": "SELECT activity_uuid, entity_id, order_id, activity_ts, order_value FROM order_placed",
}


def median_ms(fn, runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(ROOT / "data" / "icebase.duckdb"))
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    data = Path(args.data)
    if not data.exists():
        from proxy.generate import GENERATORS

        print(f"generating {data} ...", flush=True)
        data.parent.mkdir(parents=True, exist_ok=True)
        GENERATORS["customer_360"](data, customers=10_000)

    from proxy.router import split
    from rewriter.load import load_lens
    from rewriter.rewrite import rewrite

    lens = load_lens(LENS_DIR)
    direct = duckdb.connect()
    direct.execute(f"ATTACH '{data}' AS icebase (READ_ONLY)")
    direct.execute("SET integer_division = true")
    direct.execute("SET default_null_order = 'nulls_last_on_asc_first_on_desc'")
    server = start_server([LENS_DIR], [str(data)])
    try:
        with psycopg.connect(server.dsn(options="'-c lens.result_cache=off'"), autocommit=True) as conn:  # timings, not cache hits
            n_placed = direct.execute(
                "SELECT count(*) FROM icebase.audience.activity_streams_large_data WHERE activity='order_placed'"
            ).fetchall()[0][0]
            print(f"data: {data} ({n_placed:,} order_placed rows); median of {args.runs} runs\n")
            print(f"{'query':26} {'rewrite ms':>10} {'direct ms':>10} {'proxy ms':>10} {'ratio':>7}")
            for name, sql in QUERIES.items():
                backend_sql = rewrite(split(sql)[0].ast, lens).sql("duckdb")
                rewrite_ms = median_ms(lambda q=sql: rewrite(split(q)[0].ast, lens).sql("duckdb"), args.runs)
                direct_ms = median_ms(lambda b=backend_sql: direct.sql(b).fetchall(), args.runs)
                proxy_ms = median_ms(lambda q=sql: conn.execute(q).fetchall(), args.runs)
                print(f"{name:26} {rewrite_ms:10.2f} {direct_ms:10.1f} {proxy_ms:10.1f} {proxy_ms / direct_ms:6.2f}x")
            n = 2000
            started = time.perf_counter()
            for _ in range(n):
                conn.execute("SELECT 1").fetchone()
            qps = n / (time.perf_counter() - started)
            print(f"\nsimple-query round trips (SELECT 1, one psycopg client): {qps:,.0f}/s")
    finally:
        stop_server(server)


if __name__ == "__main__":
    main()
