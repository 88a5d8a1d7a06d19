"""What PostgreSQL's numeric costs on DuckDB: exact quotients at PostgreSQL's per-value display scale
(``rewriter.render.duckdb_numeric``) against the same query in float8, side by side in one run.

Starts a real lens-proxy server on the demo data (generating it if missing) and times, for each pair, the
median of N runs through psycopg (rewrite cached after the warm-up: what remains is DuckDB planning the
emulation and computing it). The numeric query answers what PostgreSQL answers (``tests/postgres_oracle``);
the float8 one is what a client gets when it casts to float8 itself.

    python bench/bench_numeric.py [--data data/icebase.duckdb] [--runs 7]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psycopg  # noqa: E402

from bench.bench_queries import median_ms  # noqa: E402
from tests.conftest import LENS_DIR, start_server, stop_server  # noqa: E402

PAIRS = {
    "avg of an int8 per customer": (
        "SELECT entity_id, avg(activity_occurence) FROM order_placed GROUP BY entity_id",
        "SELECT entity_id, avg(activity_occurence::float8) FROM order_placed GROUP BY entity_id",
    ),
    "share of lines per state (100.0 * a / b)": (
        "SELECT state, 100.0 * count(order_placed.activity_uuid) / count(*) FROM customer JOIN order_placed "
        "ON customer.customer_id = order_placed.entity_id GROUP BY state",
        "SELECT state, 100.0::float8 * count(order_placed.activity_uuid) / count(*) FROM customer JOIN order_placed "
        "ON customer.customer_id = order_placed.entity_id GROUP BY state",
    ),
    "a quotient on every line (sum of x / 7.0)": (
        "SELECT sum(activity_occurence / 7.0) FROM order_placed",
        "SELECT sum(activity_occurence / 7.0::float8) FROM order_placed",
    ),
    "every line's quotient sent (10,000 rows)": (
        "SELECT activity_occurence / 7.0 FROM order_placed LIMIT 10000",
        "SELECT activity_occurence / 7.0::float8 FROM order_placed LIMIT 10000",
    ),
}


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
    server = start_server([LENS_DIR], [f"{data}=icebase"])
    try:
        with psycopg.connect(server.dsn(options="'-c lens.result_cache=off'"), autocommit=True) as conn:
            print(f"data: {data}; median of {args.runs} runs through the proxy\n")
            print(f"{'query':44} {'numeric ms':>11} {'float8 ms':>10} {'ratio':>7}")
            for name, (numeric, floating) in PAIRS.items():
                numeric_ms = median_ms(lambda q=numeric: conn.execute(q).fetchall(), args.runs)
                float_ms = median_ms(lambda q=floating: conn.execute(q).fetchall(), args.runs)
                print(f"{name:44} {numeric_ms:11.1f} {float_ms:10.1f} {numeric_ms / float_ms:6.2f}x")
    finally:
        stop_server(server)


if __name__ == "__main__":
    main()
