"""Write generated demo data where a backend reads it: DuckDB file, Parquet files, an Iceberg warehouse, a
PostgreSQL database.

Generation always runs in DuckDB (deterministic, vectorised: ``customer_360``); the other formats are
exports of that file, so every format holds exactly the same rows for the same (customers, seed, end date).

* ``iceberg``: a warehouse directory with a pyiceberg SQL catalog (``catalog.db``, sqlite) and one Iceberg
  table per raw table (namespace = schema: ``audience.customers_large_data``), written with pyiceberg, no
  JVM. ``lens-proxy serve --iceberg DIR`` (or ``iceberg:`` in lens-proxy.yaml) serves it as ``icebase``.
* ``parquet``: ``DIR/<schema>/<table>/<table>.parquet``, a directory per table for engines that read
  Parquet (Spark: ``CREATE TABLE audience.x USING parquet LOCATION 'DIR/audience/x'``).
* ``postgres``: the tables created (replaced) in schema ``<schema>`` of the database a DSN names,
  loaded through ADBC's bulk ingest (binary COPY).
"""

from __future__ import annotations

import shutil
import tempfile
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa

FORMATS = ("duckdb", "iceberg", "parquet", "postgres")
BATCH_ROWS = 262_144


def write(generator: Callable[..., dict[str, int]], fmt: str, out: str, **options) -> dict[str, int]:
    """Generate with ``generator`` and write the result as ``fmt`` to ``out`` (a path, or a DSN)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; one of {', '.join(FORMATS)}")
    if fmt == "duckdb":
        return generator(out, **options)
    with _generated(generator, **options) as (path, counts):
        export(path, fmt, out)
    return counts


def export(source: str | Path, fmt: str, out: str, *, catalog: str = "icebase") -> None:
    """Copy every table of the DuckDB file ``source`` to ``out`` as ``fmt`` (iceberg, parquet, postgres);
    ``catalog`` names an Iceberg warehouse's catalog (the name lens SQL uses for it)."""
    con = duckdb.connect(str(source), read_only=True)
    try:
        tables = [(s, t) for s, t in con.execute(
            "SELECT schema_name, table_name FROM duckdb_tables() WHERE NOT temporary ORDER BY 1, 2").fetchall()]
        if fmt == "parquet":
            write_parquet(con, tables, Path(out))
        elif fmt == "iceberg":
            write_iceberg(con, tables, Path(out), catalog)
        elif fmt == "postgres":
            write_postgres(con, tables, out)
        else:
            raise ValueError(f"cannot export to {fmt!r}")
    finally:
        con.close()


@contextmanager
def _generated(generator: Callable[..., dict[str, int]], **options) -> Iterator[tuple[Path, dict[str, int]]]:
    tmp = Path(tempfile.mkdtemp(prefix="lens-proxy-generate-"))
    try:
        path = tmp / "generated.duckdb"
        yield path, generator(path, **options)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _batches(con: duckdb.DuckDBPyConnection, schema: str, table: str) -> pa.RecordBatchReader:
    return con.sql(f'SELECT * FROM "{schema}"."{table}"').to_arrow_reader(BATCH_ROWS)


def write_parquet(con: duckdb.DuckDBPyConnection, tables: list[tuple[str, str]], out: Path) -> None:
    for schema, table in tables:
        (out / schema / table).mkdir(parents=True, exist_ok=True)
        target = out / schema / table / f"{table}.parquet"
        con.execute(f"COPY \"{schema}\".\"{table}\" TO '{str(target).replace(chr(39), chr(39) * 2)}' (FORMAT parquet)")


def write_iceberg(con: duckdb.DuckDBPyConnection, tables: list[tuple[str, str]], out: Path,
                  catalog_name: str = "icebase") -> None:
    """A fresh warehouse at ``out`` (an existing one is replaced): catalog.db plus the table files."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pyiceberg.catalog.sql import SqlCatalog
    out = out.resolve()
    if out.exists():
        if not (out / "catalog.db").exists() and any(out.iterdir()):
            raise FileExistsError(f"{out} exists and is not an Iceberg warehouse written by lens-proxy")
        shutil.rmtree(out)
    out.mkdir(parents=True)
    catalog = SqlCatalog(catalog_name, uri=f"sqlite:///{out / 'catalog.db'}", warehouse=out.as_uri())
    for schema in sorted({s for s, _ in tables}):
        catalog.create_namespace(schema)
    for schema, table in tables:
        reader = _batches(con, schema, table)
        iceberg_table = catalog.create_table(f"{schema}.{table}", schema=reader.schema)
        chunk: list[pa.RecordBatch] = []
        rows = 0
        for batch in reader:  # one Parquet file per ~2M rows: bounded memory, few files
            chunk.append(batch)
            rows += batch.num_rows
            if rows >= 2_000_000:
                iceberg_table.append(pa.Table.from_batches(chunk, reader.schema))
                chunk, rows = [], 0
        if chunk or not rows:
            iceberg_table.append(pa.Table.from_batches(chunk, reader.schema))


def write_postgres(con: duckdb.DuckDBPyConnection, tables: list[tuple[str, str]], dsn: str) -> None:
    import adbc_driver_postgresql.dbapi as adbc

    from proxy.backends.postgres import _uri

    with adbc.connect(_uri(dsn, "", ""), autocommit=True) as conn:
        cur = conn.cursor()
        for schema in sorted({s for s, _ in tables}):
            cur.execute(f'CREATE SCHEMA IF NOT EXISTS "{schema}"')
        for schema, table in tables:
            cur.execute(f'DROP TABLE IF EXISTS "{schema}"."{table}"')
            cur.adbc_ingest(table, _batches(con, schema, table), mode="create", db_schema_name=schema)
            cur.execute(f'ANALYZE "{schema}"."{table}"')
        cur.close()


def register_spark(parquet_dir: Path, url: str) -> list[str]:
    """Register every ``DIR/<schema>/<table>/`` written by ``write_parquet`` as the Spark table
    ``schema.table`` (``USING parquet LOCATION``), through Spark Connect at ``url``. The directory must be
    readable by the Spark server at the same path (a shared volume). Returns the table names."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pyspark.sql import SparkSession
    spark = SparkSession.builder.remote(url).create()
    names = []
    try:
        for schema_dir in sorted(p for p in Path(parquet_dir).resolve().iterdir() if p.is_dir()):
            spark.sql(f"CREATE DATABASE IF NOT EXISTS `{schema_dir.name}`")
            for table_dir in sorted(p for p in schema_dir.iterdir() if p.is_dir()):
                name = f"`{schema_dir.name}`.`{table_dir.name}`"
                spark.sql(f"DROP TABLE IF EXISTS {name}")
                location = str(table_dir).replace("'", "\\'")
                spark.sql(f"CREATE TABLE {name} USING parquet LOCATION '{location}'")
                names.append(f"{schema_dir.name}.{table_dir.name}")
    finally:
        spark.stop()
    return names
