"""Temporal (ActivitySchema) relationships at scale: each one through lens-proxy vs the best SQL for the same
answer written by hand for DuckDB (ASOF joins, per-customer aggregates, range joins), side by side.

Data: the demo generator at 100k customers (~10M activity rows; generated into data/bench_100k/ if missing).
Each query reduces the appended column to a count and a max, so the figure is the relationship's cost, not
the transfer of millions of rows (and so no engine can skip computing it).

    .venv/bin/python bench/bench_temporal.py [--data data/bench_100k/icebase.duckdb] [--runs 3]
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

from tests.conftest import start_server, stop_server  # noqa: E402

JOURNEYS = ROOT / "lenses" / "customer_360_journeys"
S = "icebase.audience.activity_streams_large_data"
PLACED = (f"(SELECT activity_uuid, entity_id, activity_ts, activity_repeated_at FROM {S} "
          "WHERE activity = 'order_placed')")
REJECTED = f"(SELECT entity_id, activity_ts FROM {S} WHERE activity = 'order_rejected')"
INVOICED = f"(SELECT entity_id, activity_ts FROM {S} WHERE activity = 'order_invoiced')"
PER_CUSTOMER = f"(SELECT entity_id, min(activity_ts) AS lo, max(activity_ts) AS hi, count(*) AS n FROM {REJECTED} GROUP BY 1)"

# relationship -> (lens query, hand-written DuckDB query giving the same numbers)
CASES: dict[str, tuple[str, str]] = {
    "first_ever": (
        "SELECT count(first_rejection_activity_ts), max(first_rejection_activity_ts) FROM order_placed",
        f"SELECT count(r.lo), max(r.lo) FROM {PLACED} p LEFT JOIN {PER_CUSTOMER} r USING (entity_id)",
    ),
    "last_ever": (
        "SELECT count(last_rejection_activity_ts), max(last_rejection_activity_ts) FROM order_placed",
        f"SELECT count(r.hi), max(r.hi) FROM {PLACED} p LEFT JOIN {PER_CUSTOMER} r USING (entity_id)",
    ),
    "first_before": (
        "SELECT count(first_rejection_before_activity_ts), max(first_rejection_before_activity_ts) FROM order_placed",
        f"SELECT count(r.lo), max(r.lo) FROM {PLACED} p LEFT JOIN {PER_CUSTOMER} r ON r.entity_id = p.entity_id "
        "AND r.lo < p.activity_ts",
    ),
    "last_before": (
        "SELECT count(last_rejection_before_activity_ts), max(last_rejection_before_activity_ts) FROM order_placed",
        f"SELECT count(r.activity_ts), max(r.activity_ts) FROM {PLACED} p ASOF LEFT JOIN {REJECTED} r "
        "ON p.entity_id = r.entity_id AND p.activity_ts > r.activity_ts",
    ),
    "first_after": (
        "SELECT count(next_rejection_activity_ts), max(next_rejection_activity_ts) FROM order_placed",
        f"SELECT count(r.activity_ts), max(r.activity_ts) FROM {PLACED} p ASOF LEFT JOIN {REJECTED} r "
        "ON p.entity_id = r.entity_id AND p.activity_ts < r.activity_ts",
    ),
    "last_after": (
        "SELECT count(last_rejection_after_activity_ts), max(last_rejection_after_activity_ts) FROM order_placed",
        f"SELECT count(r.hi), max(r.hi) FROM {PLACED} p LEFT JOIN {PER_CUSTOMER} r ON r.entity_id = p.entity_id "
        "AND r.hi > p.activity_ts",
    ),
    "first_in_between": (
        "SELECT count(first_invoice_activity_ts), max(first_invoice_activity_ts) FROM order_placed",
        f"SELECT count(i.activity_ts) FILTER (WHERE p.activity_repeated_at IS NULL OR i.activity_ts <= p.activity_repeated_at), "
        f"max(i.activity_ts) FILTER (WHERE p.activity_repeated_at IS NULL OR i.activity_ts <= p.activity_repeated_at) "
        f"FROM {PLACED} p ASOF LEFT JOIN {INVOICED} i ON p.entity_id = i.entity_id AND p.activity_ts < i.activity_ts",
    ),
    "last_in_between": (
        "SELECT count(last_invoice_activity_ts), max(last_invoice_activity_ts) FROM order_placed",
        # the last invoice at or before the next placement (or ever, without one), if after this one
        f"SELECT count(x), max(x) FROM (SELECT CASE WHEN p.activity_repeated_at IS NULL THEN c.hi "
        f"WHEN i.activity_ts > p.activity_ts THEN i.activity_ts END AS x FROM {PLACED} p "
        f"ASOF LEFT JOIN {INVOICED} i ON p.entity_id = i.entity_id AND coalesce(p.activity_repeated_at, TIMESTAMP '9999-12-31') >= i.activity_ts "
        f"LEFT JOIN (SELECT entity_id, max(activity_ts) AS hi FROM {INVOICED} GROUP BY 1) c "
        "ON c.entity_id = p.entity_id AND c.hi > p.activity_ts)",
    ),
    "aggregate_in_between": (
        "SELECT sum(until_next_order_invoices), max(until_next_order_invoices) FROM order_placed",
        f"SELECT sum(n), max(n) FROM (SELECT p.activity_uuid, count(i.activity_ts) AS n FROM {PLACED} p "
        f"LEFT JOIN {INVOICED} i ON i.entity_id = p.entity_id AND i.activity_ts > p.activity_ts "
        "AND (p.activity_repeated_at IS NULL OR i.activity_ts <= p.activity_repeated_at) GROUP BY 1)",
    ),
    "aggregate_before": (
        "SELECT sum(before_rejections), max(before_rejections) FROM order_placed",
        f"SELECT sum(n), max(n) FROM (SELECT p.activity_uuid, count(r.activity_ts) AS n FROM {PLACED} p "
        f"LEFT JOIN {REJECTED} r ON r.entity_id = p.entity_id AND r.activity_ts < p.activity_ts GROUP BY 1)",
    ),
    "aggregate_after": (
        "SELECT sum(after_rejections), max(after_rejections) FROM order_placed",
        f"SELECT sum(n), max(n) FROM (SELECT p.activity_uuid, count(r.activity_ts) AS n FROM {PLACED} p "
        f"LEFT JOIN {REJECTED} r ON r.entity_id = p.entity_id AND r.activity_ts > p.activity_ts GROUP BY 1)",
    ),
    "aggregate_all_ever": (
        "SELECT sum(all_rejections), max(all_rejections) FROM order_placed",
        f"SELECT sum(coalesce(r.n, 0)), max(coalesce(r.n, 0)) FROM {PLACED} p LEFT JOIN {PER_CUSTOMER} r USING (entity_id)",
    ),
}


def median_s(fn, runs: int) -> tuple[float, object]:
    result = fn()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--data", default=str(ROOT / "data" / "bench_100k" / "icebase.duckdb"))
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", nargs="*", help="relationship kinds to run")
    args = parser.parse_args()
    data = Path(args.data)
    if not data.exists():
        from proxy.generate import GENERATORS

        print(f"generating {data} ({args.customers:,} customers) ...", flush=True)
        data.parent.mkdir(parents=True, exist_ok=True)
        GENERATORS["customer_360"](data, customers=args.customers)
    direct = duckdb.connect()
    direct.execute(f"ATTACH '{data}' AS icebase (READ_ONLY)")
    rows = direct.execute(f"SELECT count(*) FROM {S}").fetchone()[0]
    server = start_server([JOURNEYS], [str(data)])
    server.database = "customer_360_journeys"
    try:
        with psycopg.connect(server.dsn(), autocommit=True) as conn:
            conn.execute("SET lens.result_cache = off")  # every run computes: timings, not cache hits
            print(f"data: {data} ({rows:,} activity rows); median of {args.runs} runs, seconds\n")
            print(f"{'relationship':22} {'hand-written':>12} {'proxy':>8} {'ratio':>7}  same answer")
            for kind, (lens_sql, hand_sql) in CASES.items():
                if args.only and kind not in args.only:
                    continue
                direct_s, expected = median_s(lambda q=hand_sql: direct.execute(q).fetchall(), args.runs)
                proxy_s, actual = median_s(lambda q=lens_sql: conn.execute(q).fetchall(), args.runs)
                same = [tuple(map(str, r)) for r in actual] == [tuple(map(str, r)) for r in expected]
                print(f"{kind:22} {direct_s:12.2f} {proxy_s:8.2f} {proxy_s / direct_s:6.2f}x  {same}", flush=True)
    finally:
        stop_server(server)


if __name__ == "__main__":
    main()
