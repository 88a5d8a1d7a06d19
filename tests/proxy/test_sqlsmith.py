"""sqlsmith (Debian's random query generator) against a running lens-proxy: no internal error, ever.

sqlsmith reads the catalog the way a tool does (types, tables, columns, operators, routines and their
parameters), then sends random queries over everything it found: lens tables, catalog relations, functions,
operators, joins, subqueries, window functions, DML (refused). Each answer must be an ordinary Postgres
error or a result. The run fails on any XX000, any traceback in the server's log, a dropped connection, or
a hang (it is bounded: a fixed seed and statement count, under a minute).

sqlsmith logs every error with its SQLSTATE and statement into a PostgreSQL database (``--log-to``): the
real PostgreSQL of the test session holds it, and the summary by SQLSTATE is printed (``pytest -s``).
"""

from __future__ import annotations

import shutil
import subprocess
import time

import psycopg
import pytest

from tests.pgserver import PostgresServer
from tests.proxy.logged_server import LoggedServer

SEED = 20241204
STATEMENTS = 1500
TIME_LIMIT = 110  # seconds; about 50 on two cores (20 of them sqlsmith reading the catalog: one query per function)
LOG_SCHEMA = """
CREATE TABLE instance (id bigserial PRIMARY KEY, rev text, target text, hostname text, version text, seed text,
                       t timestamptz DEFAULT now());
CREATE TABLE error (id bigint, msg text, query text, target text, sqlstate text, t timestamptz DEFAULT now(),
                    errid bigserial PRIMARY KEY);
CREATE TABLE stat (id bigint, generated bigint, level float, nodes float, retries float, updated timestamptz,
                   impedance jsonb);
"""


@pytest.fixture(scope="module")
def smith_log(postgres: PostgresServer) -> str:
    """A database on the real PostgreSQL for sqlsmith's --log-to (its own schema, log.sql)."""
    with psycopg.connect(postgres.dsn(), autocommit=True) as con:
        con.execute("DROP DATABASE IF EXISTS sqlsmith_log")
        con.execute("CREATE DATABASE sqlsmith_log")
    with psycopg.connect(postgres.dsn("sqlsmith_log"), autocommit=True) as con:
        con.execute(LOG_SCHEMA)
    return postgres.dsn("sqlsmith_log")


def test_sqlsmith_finds_no_internal_error(clean_log: LoggedServer, smith_log: str) -> None:
    binary = shutil.which("sqlsmith")
    assert binary, "sqlsmith is not installed (Debian package 'sqlsmith'; .ci/run installs it)"
    target = f"host={clean_log.host} port={clean_log.port} user=analyst dbname={clean_log.database}"
    started = time.monotonic()
    run = subprocess.run([binary, f"--target={target}", f"--log-to={smith_log}", f"--seed={SEED}",
                          f"--max-queries={STATEMENTS}"], capture_output=True, text=True, timeout=TIME_LIMIT)
    elapsed = time.monotonic() - started
    assert run.returncode == 0, f"sqlsmith failed ({run.returncode}):\n{run.stderr[-3000:]}"
    with psycopg.connect(smith_log) as con:
        by_state = con.execute("SELECT sqlstate, count(*) FROM error GROUP BY 1 ORDER BY 2 DESC, 1").fetchall()
        internal = con.execute("SELECT msg, query FROM error WHERE sqlstate = 'XX000' LIMIT 5").fetchall()
        broken = con.execute("SELECT msg, query FROM error WHERE sqlstate LIKE '08%' OR sqlstate = '57P01' "
                             "OR sqlstate IS NULL OR sqlstate = '?????' LIMIT 5").fetchall()
    errors = sum(n for _, n in by_state)
    print(f"\nsqlsmith: {STATEMENTS} statements in {elapsed:.1f}s, {STATEMENTS - errors} ran, errors by SQLSTATE: "
          + ", ".join(f"{state} {n}" for state, n in by_state))
    assert not internal, "internal errors:\n\n" + "\n\n".join(f"{msg}\n{query}" for msg, query in internal)
    assert not broken, "connections broken:\n\n" + "\n\n".join(f"{msg}\n{query}" for msg, query in broken)
    assert errors < STATEMENTS, "not a single statement ran"
