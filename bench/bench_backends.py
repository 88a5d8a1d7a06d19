"""Backends side by side: the seed questions through lens-proxy vs the same SQL sent straight to each engine
with its own client, and a 1M-row stream; plus the PostgreSQL -> Arrow measurement behind the choice of ADBC.

For each backend set-up (DuckDB over a DuckDB file, DuckDB over an Iceberg warehouse, PostgreSQL, Spark
Connect) on the same generated data (default 10,000 customers, ~1M activity rows):

* each seed question (tests/cases/customer_360_questions.yaml): median of ``--runs`` runs (after a warm-up)
  through lens-proxy with psycopg, and of the backend SQL lens-proxy generates (the rewrite rendered for that
  engine) sent with the engine's own client: duckdb-python ``fetchall``, psycopg straight to PostgreSQL,
  pyspark ``collect``; the ratio proxy / direct;
* streaming ~1M rows (every order line of the three activity entities, UNION ALL) both ways;
* ``--pg-arrow``: 1M rows x 5 columns out of PostgreSQL into Arrow batches, by ADBC, psycopg rows -> Arrow,
  asyncpg records -> Arrow, and asyncpg ``COPY … (FORMAT csv)`` -> pyarrow.csv.

    python bench/bench_backends.py [--customers 10000] [--runs 5] [--only duckdb-file,postgres] [--pg-arrow]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import io
import statistics
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import duckdb  # noqa: E402
import psycopg  # noqa: E402
import pyarrow as pa  # noqa: E402
import yaml  # noqa: E402

from tests.conftest import LENS_DIR, start_server, stop_server  # noqa: E402
from tests.pgserver import PostgresServer  # noqa: E402
from tests.sparkserver import SparkConnectServer  # noqa: E402

SETUPS = ("duckdb-file", "duckdb-iceberg", "postgres", "spark")
QUESTIONS = yaml.safe_load((ROOT / "tests" / "cases" / "customer_360_questions.yaml").read_text())
COLUMNS = "activity_uuid, entity_id, activity_ts, order_value"
STREAM = (f"SELECT {COLUMNS} FROM order_placed UNION ALL SELECT {COLUMNS} FROM order_rejected "
          f"UNION ALL SELECT {COLUMNS} FROM order_invoiced")


def median_ms(fn, runs: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def backend_sql(sql: str, backend) -> str:
    """The SQL lens-proxy sends the backend for ``sql`` (as the session compiles it)."""
    from proxy.pgtypes_sql import fix_pg_types
    from proxy.router import split
    from rewriter.load import load_lens
    from rewriter.rewrite import rewrite

    return backend.render(fix_pg_types(rewrite(split(sql)[0].ast, load_lens(LENS_DIR))))


class Direct:
    """The engine's own client, for the 'straight to the engine' column."""

    def __init__(self, setup: str, target) -> None:
        self.setup = setup
        if setup.startswith("duckdb"):
            self.backend = target
            self.run = lambda sql: self.backend.cursor().execute(sql).read_all().to_pylist()
            con = duckdb.connect()
            self.close = con.close
        elif setup == "postgres":
            self.conn = psycopg.connect(target.dsn("c360"), autocommit=True)
            self.run = lambda sql: self.conn.execute(sql).fetchall()
            self.close = self.conn.close
        else:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                from pyspark.sql import SparkSession
            self.spark = SparkSession.builder.remote(target).create()
            self.spark.conf.set("spark.sql.session.timeZone", "UTC")
            self.run = lambda sql: self.spark.sql(sql).collect()
            self.close = self.spark.stop


def run_setup(setup: str, data: Path, tmp: Path, runs: int, pg: PostgresServer | None, spark_url: str | None) -> None:
    from proxy.backends import open_backend
    from proxy.config import load_config
    from proxy.generate.formats import export, register_spark

    if setup == "duckdb-file":
        backend_yaml = f"type: duckdb\n    duckdb_files: [{{path: {data}, catalog: icebase}}]"
    elif setup == "duckdb-iceberg":
        export(data, "iceberg", str(tmp / "warehouse"))
        backend_yaml = f"type: duckdb\n    iceberg: [{{warehouse: {tmp / 'warehouse'}}}]"
    elif setup == "postgres":
        assert pg is not None
        pg.createdb("c360")
        export(data, "postgres", pg.url("c360"))
        backend_yaml = f"type: postgres\n    dsn: {pg.url('c360')}"
    else:
        assert spark_url is not None
        export(data, "parquet", str(tmp / "parquet"))
        register_spark(tmp / "parquet", spark_url)
        backend_yaml = f"type: spark\n    url: {spark_url}"
    config = tmp / f"{setup}.yaml"
    config.write_text(f"backends:\n  main:\n    {backend_yaml}\nlenses:\n  - {{path: {LENS_DIR}, backend: main}}\n")
    backend = open_backend(load_config(config).backends["main"])
    direct = Direct(setup, backend if setup.startswith("duckdb") else (pg if setup == "postgres" else spark_url))
    server = start_server([], [], "--config", str(config))
    try:
        with psycopg.connect(server.dsn(options="'-c lens.result_cache=off'"), autocommit=True) as conn:  # timings, not cache hits
            print(f"\n== {setup}: median of {runs} runs, ms ==")
            print(f"{'query':62} {'proxy':>9} {'direct':>9} {'ratio':>6}")
            ratios = []
            for case in QUESTIONS:
                sql = backend_sql(case["sql"], backend)
                proxy_ms = median_ms(lambda q=case["sql"]: conn.execute(q).fetchall(), runs)
                direct_ms = median_ms(lambda q=sql: direct.run(q), runs)
                ratios.append(proxy_ms / direct_ms)
                print(f"{case['name'][:62]:62} {proxy_ms:9.1f} {direct_ms:9.1f} {proxy_ms / direct_ms:6.2f}")
            print(f"{'geometric mean ratio':62} {'':9} {'':9} {statistics.geometric_mean(ratios):6.2f}")
            sql = backend_sql(STREAM, backend)
            n = len(direct.run(sql))
            proxy_ms = median_ms(lambda: conn.execute(STREAM).fetchall(), max(1, runs // 2))
            direct_ms = median_ms(lambda: direct.run(sql), max(1, runs // 2))
            print(f"{f'stream {n:,} rows':62} {proxy_ms:9.1f} {direct_ms:9.1f} {proxy_ms / direct_ms:6.2f}"
                  f"   ({n / proxy_ms * 1000:,.0f} rows/s through the proxy)")
    finally:
        stop_server(server)
        direct.close()
        backend.close()


def pg_arrow(pg: PostgresServer, runs: int) -> None:
    """PostgreSQL -> Arrow, 1M rows x 5 columns, each way streamed in batches (the ADBC choice)."""
    import adbc_driver_postgresql.dbapi as adbc
    import asyncpg
    import pyarrow.csv as pacsv

    pg.createdb("arrow")
    with psycopg.connect(pg.dsn("arrow"), autocommit=True) as c:
        c.execute("CREATE TABLE t AS SELECT i AS id, 'C' || lpad(i::text, 7, '0') AS s, i * 1.5::float8 AS f, "
                  "timestamp '2025-01-01' + i * interval '1 second' AS ts, (i % 100)::numeric(10,2) AS n "
                  "FROM generate_series(1, 1000000) i")
    sql = "SELECT id, s, f, ts, n FROM t"

    def via_adbc() -> int:
        with adbc.connect(pg.url("arrow")) as conn, conn.cursor() as cur:
            cur.execute(sql)
            return sum(b.num_rows for b in cur.fetch_record_batch())

    def via_psycopg() -> int:
        rows = 0
        with psycopg.connect(pg.dsn("arrow")) as conn, conn.cursor(name="c") as cur:
            cur.execute(sql)
            while chunk := cur.fetchmany(65536):
                rows += pa.RecordBatch.from_arrays([pa.array(col) for col in zip(*chunk, strict=True)], names=list("isftn")).num_rows
        return rows

    def via_asyncpg_records() -> int:
        async def go() -> int:
            conn = await asyncpg.connect(pg.url("arrow"))
            rows = 0
            async with conn.transaction():
                cursor = await conn.cursor(sql)
                while chunk := await cursor.fetch(65536):
                    rows += pa.RecordBatch.from_arrays([pa.array(col) for col in zip(*chunk, strict=True)], names=list("isftn")).num_rows
            await conn.close()
            return rows
        return asyncio.run(go())

    def via_asyncpg_copy() -> int:
        async def go() -> int:
            conn = await asyncpg.connect(pg.url("arrow"))
            buffer = io.BytesIO()

            async def write(chunk: bytes) -> None:
                buffer.write(chunk)

            await conn.copy_from_query(sql, output=write, format="csv")
            await conn.close()
            buffer.seek(0)
            names = ["id", "s", "f", "ts", "n"]
            return pacsv.read_csv(buffer, read_options=pacsv.ReadOptions(column_names=names)).num_rows
        return asyncio.run(go())

    print("\n== PostgreSQL -> Arrow, 1M rows x 5 columns (median ms) ==")
    for name, fn in (("ADBC (adbc-driver-postgresql, binary COPY in C++)", via_adbc),
                     ("asyncpg COPY csv -> pyarrow.csv", via_asyncpg_copy),
                     ("psycopg 3 rows -> pyarrow", via_psycopg),
                     ("asyncpg records -> pyarrow", via_asyncpg_records)):
        assert fn() == 1_000_000
        print(f"{name:52} {median_ms(fn, runs):9.1f}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--only", default=",".join(SETUPS), help="comma-separated set-ups")
    parser.add_argument("--pg-arrow", action="store_true", help="also measure the PostgreSQL -> Arrow paths")
    args = parser.parse_args()
    setups = [s for s in args.only.split(",") if s]
    from proxy.generate import GENERATORS

    with tempfile.TemporaryDirectory(prefix="bench-backends-") as tmp_name:
        tmp = Path(tmp_name)
        data = tmp / "icebase.duckdb"
        started = time.perf_counter()
        counts = GENERATORS["customer_360"](data, customers=args.customers, seed=42, end_date=dt.date.today())
        print(f"data: {counts} in {time.perf_counter() - started:.1f}s")
        with PostgresServer.start(tmp / "pg") as pg:
            if args.pg_arrow:
                pg_arrow(pg, args.runs)
            for setup in setups:
                if setup == "spark":
                    with SparkConnectServer.start(tmp / "spark", memory="2g") as spark:
                        run_setup(setup, data, tmp, args.runs, pg, spark.url)
                else:
                    run_setup(setup, data, tmp, args.runs, pg, None)


if __name__ == "__main__":
    main()
