"""The function allow-list (rewriter/functions.py): PostgreSQL's functions, nothing the engine adds.

- The list is PostgreSQL 15's own: compared with ``pg_proc`` of the session's real PostgreSQL (regenerate with
  ``--update-fixtures`` and review the diff).
- No Postgres function is refused: every name on the list, called with 0 to 3 arguments, passes the check.
- It fails closed: every function of the engine that PostgreSQL lacks is refused (42883), by the name the
  client spelled (``ifnull`` parses to the same node as ``coalesce``).
- End to end, lens-proxy and PostgreSQL give the same SQLSTATE for the same calls; lens snippets, which are
  the lens author's code in the lens's dialect, keep working (``recency`` is ``day(current_date - …)``).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import psycopg
import pytest
import sqlglot

from proxy.catalog.dialect import DIALECT
from rewriter import functions
from rewriter.errors import SqlError
from rewriter.functions import check_calls, postgres_functions

LIST = Path(functions.__file__).with_name("postgres_functions.txt")
PG_FUNCTIONS_SQL = """
SELECT DISTINCT proname || CASE WHEN NOT has_function_privilege('lens_proxy_public', oid, 'EXECUTE')
                                THEN E'\\tprivileged' ELSE '' END
FROM pg_proc WHERE pronamespace IN ('pg_catalog'::regnamespace, 'information_schema'::regnamespace) ORDER BY 1
"""


@pytest.fixture(scope="module")
def pg(postgres):
    with psycopg.connect(postgres.dsn(), autocommit=True) as con:
        if not con.execute("SELECT 1 FROM pg_roles WHERE rolname = 'lens_proxy_public'").fetchone():
            con.execute("CREATE ROLE lens_proxy_public LOGIN")
        yield con


def test_list_is_postgres_pg_proc(pg, request) -> None:
    lines = [r[0] for r in pg.execute(PG_FUNCTIONS_SQL).fetchall()]
    header = [line for line in LIST.read_text().splitlines() if line.startswith("#")]
    expected = "\n".join([*header, *lines]) + "\n"
    if request.config.getoption("--update-fixtures"):
        LIST.write_text(expected)
    assert LIST.read_text() == expected, "rewriter/postgres_functions.txt differs from pg_proc: --update-fixtures"


def _check(sql: str) -> SqlError | None:
    tree = sqlglot.parse_one(sql, read=DIALECT)
    try:
        check_calls(tree, sql)
    except SqlError as e:
        return e
    return None


def test_no_postgres_function_is_refused() -> None:
    names, privileged = postgres_functions()
    refused = []
    for name in sorted(names - privileged):
        if not name.islower() or not name.replace("_", "").isalnum():
            continue  # callable only quoted (RI_FKey_…), or not an identifier
        for args in ("", "a", "a, b", "a, b, c"):
            sql = f"SELECT {name}({args}) FROM t"
            try:
                err = _check(sql)
            except (sqlglot.errors.ParseError, sqlglot.errors.TokenError):
                continue  # sqlglot's own arity checks; PostgreSQL would try the overloads
            if err is not None:
                refused.append(f"{sql}: {err.message}")
    assert not refused, refused[:20]


def test_engine_functions_postgres_lacks_are_refused() -> None:
    """Every DuckDB function, scalar, aggregate or table, whose name PostgreSQL lacks."""
    names, _ = postgres_functions()
    con = duckdb.connect()
    engine = {r[0] for r in con.execute("SELECT DISTINCT function_name FROM duckdb_functions()").fetchall()}
    passed, checked = [], 0
    for name in sorted(engine - names - functions.SYNTAX_NAMES):
        if not name.replace("_", "").isalnum() or not name[0].isalpha():
            continue  # operators (+, ~~) are not called by name
        for sql in (f"SELECT {name}(1)", f"SELECT * FROM {name}('x')"):
            try:
                if sqlglot.parse_one(sql, read=DIALECT).find(sqlglot.exp.Func) is None:
                    continue  # `FROM show('x')` is table show, column alias 'x': not a call
                err = _check(sql)
            except (sqlglot.errors.ParseError, sqlglot.errors.TokenError):
                continue  # does not even parse as a call: refused as a syntax error
            checked += 1
            if err is None or err.sqlstate != "42883":
                passed.append(sql)
    assert checked > 500
    assert not passed, passed[:20]


@pytest.mark.parametrize("sql, sqlstate, message", [
    ("SELECT ifnull(1, 2)", "42883", "function ifnull(integer, integer) does not exist"),
    ("SELECT coalesce(1, 2), nullif(1, 2), greatest(1, 2), now(), lower('A')", None, None),
    ('SELECT "lower"(\'A\'), pg_catalog.lower(\'A\')', None, None),
    ('SELECT "LOWER"(\'A\')', "42883", "function LOWER(unknown) does not exist"),
    ("SELECT read_csv('/etc/passwd')", "42883", "function read_csv(unknown) does not exist"),
    ("SELECT * FROM range(3)", "42883", "function range(integer) does not exist"),
    ("SELECT pg_read_file('/etc/passwd')", "42501", "permission denied for function pg_read_file"),
    ("SELECT try_cast('1' AS int)", "42883", "function try_cast does not exist"),
    ("SELECT CAST('1' AS int), EXTRACT(year FROM now()), 'a' || 'b', ARRAY[1], ROW(1, 2)", None, None),
    ("SELECT measure(monetary) FROM order_placed", None, None),
    ("SELECT string_agg(x, ',') FILTER (WHERE x > 'a') OVER () FROM t", None, None),
    ("SELECT x @@ y FROM t", None, None),
])
def test_calls(sql: str, sqlstate: str | None, message: str | None) -> None:
    err = _check(sql)
    assert (err.sqlstate, err.message) == (sqlstate, message) if sqlstate else err is None, err


# Each statement on lens-proxy and on PostgreSQL (as an unprivileged role): the same SQLSTATE.
ORACLE = [
    "SELECT lower('A'), upper('b'), length('abc'), now() IS NOT NULL",
    "SELECT ifnull(1, 2)",
    "SELECT nvl(1, 2)",
    "SELECT read_csv('/etc/passwd')",
    "SELECT * FROM read_parquet('x.parquet')",
    "SELECT * FROM duckdb_settings()",
    "SELECT getenv('HOME')",
    "SELECT * FROM range(3)",
    "SELECT pg_read_file('/etc/passwd')",
    "SELECT pg_ls_dir('.')",
    "SELECT lo_import('/etc/passwd')",
    "SELECT list_value(1, 2)",
    "SELECT day(current_date - current_date)",
    "SELECT * FROM generate_series(1, 3)",
    "SELECT * FROM unnest(ARRAY[1, 2])",
]


@pytest.mark.parametrize("sql", ORACLE)
def test_same_sqlstate_as_postgres(sql: str, server, postgres, pg) -> None:
    def sqlstate(conninfo: str) -> str | None:
        with psycopg.connect(conninfo, autocommit=True) as con:
            try:
                con.execute(sql).fetchall()
            except psycopg.Error as e:
                return e.sqlstate
        return None

    expected = sqlstate(postgres.dsn(user="lens_proxy_public"))
    assert sqlstate(server.dsn()) == expected


def test_lens_snippets_are_not_checked(conn, truth) -> None:
    """``recency`` is ``min(day(current_date - activity_ts))`` in the lens (Trino's day()): it works, while
    the client calling day() itself is 42883."""
    got = conn.execute("SELECT recency FROM order_placed").fetchone()[0]
    expected = truth.execute(
        # Trino's day() of the interval date - timestamp: whole days elapsed since the event (0 for one of
        # yesterday evening seen this morning), not the calendar days between the two dates
        "SELECT min(datepart('day', current_date - activity_ts)) FROM icebase.audience.activity_streams_large_data "
        "WHERE activity = 'order_placed'").fetchone()[0]
    assert got == expected
    with pytest.raises(psycopg.errors.UndefinedFunction):
        conn.execute("SELECT day(current_date - activity_ts) FROM order_placed")
