"""PostgreSQL loaded with the lens's entities as real tables: the oracle the corpus is compared against.

Each entity's rows are computed independently of the proxy: the entity's own SQL from the lens YAML
(transpiled from the lens dialect by sqlglot, not by our rewriter) run directly in DuckDB on the demo data.
Column types are those the proxy reports for the entity's columns (its pg_attribute, via format_type), so
both servers see the same typed tables. Loading is one COPY per entity, once per test session.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import psycopg
import pytest
import sqlglot
import yaml

from tests.conftest import LENS_DIR, RunningServer
from tests.pgserver import PostgresServer

ORACLE_DB = "customer_360"
SESSION_SQL = "SET TimeZone = 'UTC'; SET DateStyle = 'ISO, MDY'; SET IntervalStyle = 'postgres'"


def entity_columns(proxy: RunningServer, entity: str) -> list[tuple[str, str]]:
    """(column, type) as the proxy's catalog reports them."""
    with psycopg.connect(proxy.dsn(), autocommit=True) as c:
        return c.execute(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_catalog.pg_attribute "
            "WHERE attrelid = %s::regclass AND attnum > 0 AND NOT attisdropped ORDER BY attnum",
            (entity,),
        ).fetchall()


def load_oracle(pg: PostgresServer, proxy: RunningServer, demo_file: Path, work: Path) -> None:
    """Once per PostgreSQL server: ``oracle_server`` is also used by tests/clients and tests/proxy/catalog,
    whose conftests hold their own definitions of it (so each runs it), and the later ones find it loaded."""
    with psycopg.connect(pg.dsn(), autocommit=True) as c:
        if c.execute("SELECT 1 FROM pg_database WHERE datname = %s", (ORACLE_DB,)).fetchone():
            return
    lens = yaml.safe_load(next(LENS_DIR.glob("*.yml")).read_text())
    dialect = lens.get("dialect", "trino")
    pg.createdb(ORACLE_DB)
    duck = duckdb.connect()
    duck.execute(f"ATTACH '{demo_file}' AS icebase (READ_ONLY)")
    with psycopg.connect(pg.dsn(ORACLE_DB), autocommit=True) as c:
        for entity in lens["entities"]:
            name = entity["name"]
            # the entity's visible non-measure columns (what SELECT * lists); measures are lens concepts
            measures = {m["name"] for m in entity.get("measures") or []}
            columns = [(n, t) for n, t in entity_columns(proxy, name) if n not in measures]
            source = sqlglot.transpile(entity["sql"]["query"], read=dialect, write="duckdb")[0]
            select = ", ".join(f'"{n}"' for n, _ in columns)
            path = work / f"{name}.csv"
            duck.execute(f"COPY (SELECT {select} FROM ({source}) AS e) TO '{path}' (HEADER false)")
            ddl = ", ".join(f'"{n}" {t}' for n, t in columns)
            c.execute(f'CREATE TABLE "{name}" ({ddl})')
            with c.cursor().copy(f'COPY "{name}" FROM STDIN (FORMAT csv)') as copy:
                copy.write(path.read_bytes())
            keys = [f["name"] for f in entity.get("fields") or [] if f.get("primary")]
            if keys:
                c.execute(f'ALTER TABLE "{name}" ADD PRIMARY KEY ({", ".join(keys)})')
            c.execute(f'ANALYZE "{name}"')
    duck.close()


@pytest.fixture(scope="session")
def oracle_server(postgres: PostgresServer, server: RunningServer, demo_file: Path,
                  tmp_path_factory: pytest.TempPathFactory) -> PostgresServer:
    load_oracle(postgres, server, demo_file, tmp_path_factory.mktemp("oracle"))
    return postgres


def _connect(dsn: str) -> psycopg.Connection:
    conn = psycopg.connect(dsn, autocommit=True, connect_timeout=10)
    for statement in SESSION_SQL.split(";"):
        conn.execute(statement)
    return conn


@pytest.fixture(scope="session")
def oracle_conn(oracle_server: PostgresServer) -> Iterator[psycopg.Connection]:
    with _connect(oracle_server.dsn(ORACLE_DB)) as c:
        c.execute("SET statement_timeout = '20s'")
        yield c


@pytest.fixture(scope="session")
def proxy_conn(server: RunningServer) -> Iterator[psycopg.Connection]:
    with _connect(server.dsn()) as c:
        c.execute("SET statement_timeout = '20s'")
        yield c
