"""psqlODBC (Tableau, Power BI, Excel) through unixODBC and pyodbc: catalog functions, parameters, results.

Every call runs twice: against lens-proxy and against a real PostgreSQL 15 holding the same rows
(``oracle_keys``), through the same driver with the same options, and the answers must be equal, so what is
checked is exactly what a BI tool reading the driver sees. Both drivers (ANSI and Unicode) with
``UseDeclareFetch`` 0 (whole results) and 1 (cursors fetched 100 rows at a time, psqlODBC's
``DECLARE``/``FETCH`` mode) are tested. What only the lens knows (measures as columns, the 1:1 relationships
as foreign keys) is checked against the lens YAML.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal

import pyodbc
import pytest

from tests.clients.conftest import ORACLE_DB, lens_foreign_keys, lens_measures, lens_primary_keys

DRIVERS = {"unicode": "PostgreSQL Unicode", "ansi": "PostgreSQL ANSI"}
CONFIGS = [(d, f) for d in DRIVERS for f in (0, 1)]
ENTITIES = ("customer", "order_placed", "order_rejected", "order_invoiced")
# psqlODBC's SQLColumns adds driver columns after the 18 of ODBC: "table oid" differs between two servers.
TABLE_OID_COLUMN = "table oid"


def _installed_drivers() -> str:
    done = subprocess.run(["odbcinst", "-q", "-d"], capture_output=True, text=True, timeout=10)
    return done.stdout


def _connect(host: str, port: int, user: str, driver: str, declare_fetch: int):  # noqa: ANN202
    c = pyodbc.connect(
        f"DRIVER={{{driver}}};SERVER={host};PORT={port};DATABASE=customer_360;UID={user};PWD=unused;"
        f"UseDeclareFetch={declare_fetch};Fetch=100",
        autocommit=True, timeout=10,
    )
    # pyodbc's documented setup for a UTF-8 server through an ANSI driver (the Unicode one needs none)
    c.setdecoding(pyodbc.SQL_CHAR, encoding="utf-8")
    c.setencoding(encoding="utf-8")
    return c


CRASH_PROBE = """
import sys, pyodbc
c = pyodbc.connect(sys.argv[1], autocommit=True, timeout=10)
for table in sys.argv[2:]:
    c.cursor().statistics(table=table).fetchall()
"""


@pytest.fixture(scope="module")
def client_survives(server) -> None:  # noqa: ANN001
    """psqlODBC's SQLStatistics crashes the client process on a malformed ``indkey`` (it did on ``{1}``):
    probe it in a child process first, so a regression fails here instead of killing the test run."""
    dsn = (f"DRIVER={{PostgreSQL Unicode}};SERVER={server.host};PORT={server.port};DATABASE=customer_360;"
           "UID=analyst;PWD=unused")
    done = subprocess.run([sys.executable, "-c", CRASH_PROBE, dsn, *ENTITIES], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, f"SQLStatistics ended the client ({done.returncode}): {done.stderr}"


@pytest.fixture(scope="module", params=CONFIGS, ids=[f"{d}-declarefetch{f}" for d, f in CONFIGS])
def odbc(request, server, oracle_keys, client_survives) -> Iterator[tuple]:  # noqa: ANN001
    """(proxy connection, PostgreSQL connection) through one driver configuration."""
    driver, fetch = request.param
    assert DRIVERS[driver] in _installed_drivers(), "needs psqlODBC and unixODBC (odbc-postgresql; see .ci/run)"
    proxy = _connect(server.host, server.port, "analyst", DRIVERS[driver], fetch)
    postgres = _connect(oracle_keys.host, oracle_keys.port, "postgres", DRIVERS[driver], fetch)
    assert ORACLE_DB == "customer_360"
    yield proxy, postgres
    proxy.close()
    postgres.close()


def _result(connection, call) -> tuple[list[str], list[tuple]]:  # noqa: ANN001
    """(column names, rows), or ("error", SQLSTATE) when the driver reports one (PostgreSQL too, for some
    driver limits: the ANSI driver cannot hand pyodbc a numeric result as SQL_NUMERIC)."""
    try:
        cursor = call(connection.cursor())
        names = [d[0] for d in cursor.description]
        return names, [tuple(r) for r in cursor.fetchall()]
    except pyodbc.Error as e:
        return "error", e.args[0]


def _both(odbc, call):  # noqa: ANN001, ANN202
    proxy, postgres = odbc
    return _result(proxy, call), _result(postgres, call)


CATALOG_CALLS = {
    "SQLTables(public)": lambda c: c.tables(schema="public"),
    "SQLTables(%, TABLE)": lambda c: c.tables(table="%", tableType="TABLE"),
    "SQLGetTypeInfo": lambda c: c.getTypeInfo(),
    **{f"SQLPrimaryKeys({e})": (lambda c, e=e: c.primaryKeys(table=e)) for e in ENTITIES},
    **{f"SQLStatistics({e})": (lambda c, e=e: c.statistics(table=e)) for e in ENTITIES},
    **{f"SQLStatistics({e}, unique)": (lambda c, e=e: c.statistics(table=e, unique=True)) for e in ENTITIES},
    **{f"SQLSpecialColumns(rowid, {e})": (lambda c, e=e: c.rowIdColumns(table=e)) for e in ENTITIES},
    **{f"SQLSpecialColumns(rowver, {e})": (lambda c, e=e: c.rowVerColumns(table=e)) for e in ENTITIES},
}


@pytest.mark.parametrize("call", CATALOG_CALLS, ids=list(CATALOG_CALLS))
def test_catalog_function_matches_postgres(odbc, call):  # noqa: ANN001
    proxy, postgres = _both(odbc, CATALOG_CALLS[call])
    assert proxy == postgres


@pytest.mark.parametrize("entity", ENTITIES)
def test_sqlcolumns_matches_postgres(odbc, entity):  # noqa: ANN001
    """Every column PostgreSQL's table has, described identically; the rest are the entity's measures."""
    (names, proxy), (pg_names, postgres) = _both(odbc, lambda c: c.columns(table=entity))
    assert names == pg_names
    oid = names.index(TABLE_OID_COLUMN)
    column = names.index("column_name")
    measures = lens_measures()[entity]
    plain = [r[:oid] + r[oid + 1:] for r in proxy if r[column] not in measures]
    assert plain == [r[:oid] + r[oid + 1:] for r in postgres]
    assert {r[column] for r in proxy} - {r[column] for r in postgres} <= measures


@pytest.mark.parametrize("entity", ENTITIES)
def test_sqlforeignkeys_both_ways(odbc, entity):  # noqa: ANN001
    """Keys on the table (SQLForeignKeys with FKTableName) and keys referencing it (PKTableName): the rows
    PostgreSQL can hold are identical to its own; all of them are the lens's relationships."""
    lens = lens_foreign_keys()
    for direction, call in (("referencing", lambda c: c.foreignKeys(foreignTable=entity)),
                            ("referenced", lambda c: c.foreignKeys(table=entity))):
        (names, proxy), (_, postgres) = _both(odbc, call)
        col = {n: i for i, n in enumerate(names)}
        keys = {(r[col["fktable_name"]], r[col["fkcolumn_name"]], r[col["pktable_name"]], r[col["pkcolumn_name"]])
                for r in proxy}
        side = 0 if direction == "referencing" else 2
        assert keys == {k for k in lens if k[side] == entity}, direction
        in_postgres = {r[col["fk_name"]] for r in postgres}
        assert sorted(r for r in proxy if r[col["fk_name"]] in in_postgres) == sorted(postgres), direction


def test_primary_keys_are_the_lens_keys(odbc):  # noqa: ANN001
    proxy, _ = odbc
    for entity, keys in lens_primary_keys().items():
        assert [r.column_name for r in proxy.cursor().primaryKeys(table=entity)] == keys


PARAMETERS = [
    ("text", "SELECT count(*) FROM customer WHERE state = ?", ["CA"]),
    ("text, NULL", "SELECT count(*) FROM customer WHERE state = ?", [None]),
    ("text, LIKE", "SELECT customer_id FROM customer WHERE customer_name LIKE ? ORDER BY 1 LIMIT 5", ["B%"]),
    ("text, IN", "SELECT state, count(*) FROM customer WHERE state IN (?, ?) GROUP BY state ORDER BY 1", ["CA", "TX"]),
    ("int", "SELECT count(*) FROM order_placed WHERE activity_occurence = ?", [2]),
    ("int, LIMIT", "SELECT customer_id FROM customer ORDER BY customer_id LIMIT ?", [3]),
    ("float", "SELECT count(*) FROM order_placed WHERE order_value > ?", [100.5]),
    ("decimal", "SELECT count(*) FROM order_placed WHERE order_value > ?", [Decimal("100.25")]),
    ("timestamp", "SELECT count(*) FROM order_placed WHERE activity_ts >= ?", [dt.datetime(2026, 1, 1, 12, 30)]),
    ("timestamp range", "SELECT count(*) FROM order_placed WHERE activity_ts BETWEEN ? AND ?",
     [dt.datetime(2025, 6, 1), dt.datetime(2025, 6, 30, 23, 59, 59)]),
    ("date", "SELECT count(*) FROM order_placed WHERE activity_ts >= ?", [dt.date(2026, 1, 1)]),
    ("date = date", "SELECT count(*) FROM order_placed WHERE CAST(activity_ts AS date) = ?", [dt.date(2026, 1, 5)]),
    ("bool", "SELECT count(*) FROM customer WHERE (email IS NULL) = ?", [True]),
    ("measure in HAVING", "SELECT entity_id FROM order_placed GROUP BY entity_id HAVING count(*) > ? ORDER BY 1", [150]),
    ("echo", "SELECT ?, ?, ?, ?, ?, ?", ["a", 1, 2.5, dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, 3, 4, 5), True]),
    ("casts", "SELECT CAST(? AS int) + 1, CAST(? AS numeric) * 2, CAST(? AS timestamp), CAST(? AS float8) / 4",
     [1, Decimal("1.5"), dt.datetime(2024, 1, 2, 3, 4, 5), 3.0]),
]


@pytest.mark.parametrize("sql, args", [p[1:] for p in PARAMETERS], ids=[p[0] for p in PARAMETERS])
def test_parameters_match_postgres(odbc, sql, args):  # noqa: ANN001
    proxy, postgres = _both(odbc, lambda c: c.execute(sql, *args))
    assert proxy == postgres


RESULTS = [
    # every type a lens returns, and the driver's description of each column (``::varchar`` and ``::uuid``
    # results are text in lens-proxy: corpus/result_types.yaml counts that difference)
    "SELECT 1::int2 AS i2, 2::int4 AS i4, 3::int8 AS i8, 1.5::float4 AS f4, 2.5::float8 AS f8, "
    "1.25::numeric(10,2) AS num, 'x'::text AS t, true AS b, DATE '2024-01-02' AS d, "
    "TIME '01:02:03' AS tm, TIMESTAMP '2024-01-02 03:04:05.123' AS ts, INTERVAL '1 day 2 hours' AS iv, "
    "NULL::int4 AS nul",
    "SELECT customer_id, customer_name, email, state FROM customer ORDER BY customer_id LIMIT 20",
    "SELECT activity_uuid, activity_ts, order_value, activity_occurence FROM order_placed ORDER BY activity_uuid LIMIT 20",
    "SELECT state, count(*) AS n FROM customer GROUP BY state ORDER BY n DESC, state",
    # more rows than one FETCH of UseDeclareFetch=1 (Fetch=100)
    "SELECT customer_id, state FROM customer ORDER BY customer_id",
]


@pytest.mark.parametrize("sql", RESULTS, ids=["types", "customer", "order_placed", "group", "cursor"])
def test_results_match_postgres(odbc, sql):  # noqa: ANN001
    proxy, postgres = odbc
    a, b = proxy.cursor().execute(sql), postgres.cursor().execute(sql)
    assert a.description == b.description  # names, SQL types, sizes, precision, scale, nullability
    result, expected = _both(odbc, lambda c: c.execute(sql))
    assert result == expected and result[1]


def test_session_survives_an_error(odbc, truth):  # noqa: ANN001
    proxy, _ = odbc
    with pytest.raises(pyodbc.Error, match="42703"):
        proxy.cursor().execute("SELECT no_such_column FROM customer").fetchall()
    expected = truth.execute("SELECT count(*) FROM icebase.audience.customers_large_data").fetchone()[0]
    assert proxy.cursor().execute("SELECT count(*) FROM customer").fetchone()[0] == expected
