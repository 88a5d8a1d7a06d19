"""What catalog and lens results look like on the wire, compared with a real PostgreSQL 15 over the same
tables: RowDescription's table OID and column number, int2vector/oidvector columns (type, text and binary
form), and the names of computed catalog columns.

Table OIDs differ between two servers, so each side's OID is turned into a name by asking that same server's
``pg_class``; column numbers must be equal (the oracle's tables have the proxy's non-measure columns, in
order). Vectors' binary form is compared byte for byte.
"""

from __future__ import annotations

from collections.abc import Iterator

import psycopg
import pytest
import sqlglot

from proxy.catalog.origins import Table, column_origins
from tests.conftest import RunningServer
from tests.postgres_oracle.conftest import ORACLE_DB
from tests.postgres_oracle.oracle import ask

ORIGIN_QUERIES = [
    "SELECT customer_id, customer_name, state FROM customer LIMIT 1",
    "SELECT * FROM customer LIMIT 1",
    "SELECT * FROM order_placed LIMIT 1",
    "SELECT c.* FROM customer c LIMIT 1",
    "SELECT x.state, upper(x.state), x.customer_id AS id, 1 AS one FROM customer x LIMIT 1",
    "SELECT o.order_id, c.state FROM order_placed o JOIN customer c ON c.customer_id = o.entity_id LIMIT 1",
    "SELECT * FROM customer c JOIN order_invoiced i ON i.entity_id = c.customer_id LIMIT 1",
    "SELECT s FROM (SELECT state AS s FROM customer) t LIMIT 1",
    "SELECT a, b FROM (SELECT customer_id, state FROM customer) AS t(a, b) LIMIT 1",
    "WITH w AS (SELECT customer_id, state FROM customer) SELECT state, customer_id FROM w LIMIT 1",
    "SELECT state FROM customer UNION SELECT state FROM customer",
    "SELECT state, count(*) FROM customer GROUP BY state ORDER BY 1 LIMIT 1",
    "SELECT DISTINCT status FROM customer ORDER BY 1",
    "SELECT (SELECT max(state) FROM customer) AS m, CUSTOMER_ID FROM Customer LIMIT 1",
    "SELECT relname, oid, relkind FROM pg_class LIMIT 1",
    "SELECT c.relname, n.nspname, c.relnatts + 0 FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace LIMIT 1",
    "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = 'public' LIMIT 1",
]


@pytest.fixture(scope="module")
def connections(server: RunningServer, oracle_server) -> Iterator[tuple[psycopg.Connection, psycopg.Connection]]:  # noqa: ANN001
    with psycopg.connect(server.dsn(), autocommit=True) as proxy, \
            psycopg.connect(oracle_server.dsn(ORACLE_DB), autocommit=True) as postgres:
        yield proxy, postgres


def _origins(conn: psycopg.Connection, sql: str, *, binary: bool = False) -> list[tuple[str, str | None, int]]:
    """(column, the table its RowDescription names (by that server's pg_class), column number)."""
    result = conn.cursor(binary=binary).execute(sql).pgresult
    assert result is not None
    out = []
    for i in range(result.nfields):
        oid = result.ftable(i)
        table = conn.execute("SELECT relname::text FROM pg_class WHERE oid = %s", (oid,)).fetchone() if oid else None
        out.append(((result.fname(i) or b"").decode(), table[0] if table else None, result.ftablecol(i)))
    return out


@pytest.mark.parametrize("sql", ORIGIN_QUERIES)
def test_row_description_names_the_table_column(connections, sql):  # noqa: ANN001
    proxy, postgres = connections
    assert _origins(proxy, sql) == _origins(postgres, sql)


def test_described_statement_names_the_table_column(connections):  # noqa: ANN001
    """Describe of a prepared statement (what pgJDBC's getMetaData before executing reads) carries them too."""
    sql = b"SELECT customer_id, state, upper(state) AS u FROM customer WHERE state = $1"
    out = []
    for conn in connections:
        conn.pgconn.prepare(b"described", sql)
        described = conn.pgconn.describe_prepared(b"described")
        names = []
        for i in range(described.nfields):
            oid = described.ftable(i)
            table = conn.execute("SELECT relname::text FROM pg_class WHERE oid = %s", (oid,)).fetchone() if oid else None
            names.append((table[0] if table else None, described.ftablecol(i)))
        out.append(names)
        conn.execute("DEALLOCATE described")
    assert out[0] == out[1]
    assert out[0][0][0] == "customer" and out[0][2] == (None, 0)


VECTOR_QUERIES = [
    "SELECT indkey, indoption, indclass, indcollation FROM pg_index WHERE indrelid = 'customer'::regclass",
    "SELECT i.indkey AS k, i.indkey::int2[] AS arr, i.indkey[0] AS first FROM pg_index i "
    "WHERE i.indrelid = 'order_placed'::regclass",
    "SELECT * FROM pg_index WHERE indrelid = 'customer'::regclass",
    "SELECT proname, proargtypes FROM pg_proc WHERE proname IN ('substr', 'btrim', 'now') ORDER BY oid",
]


@pytest.mark.parametrize("sql", VECTOR_QUERIES)
def test_vectors_as_postgres_sends_them(connections, sql):  # noqa: ANN001
    """int2vector (22) / oidvector (30) with their text form ``1 2``: psqlODBC's SQLStatistics parses it."""
    proxy, postgres = connections
    mine, theirs = ask(proxy.pgconn, sql), ask(postgres.pgconn, sql)
    assert mine.sqlstate is None and theirs.sqlstate is None, (mine.describe(), theirs.describe())
    vector_columns = [i for i, oid in enumerate(theirs.oids) if oid in (22, 30)]
    assert vector_columns, "the query selects vectors"
    for i in vector_columns:
        assert mine.oids[i] == theirs.oids[i], mine.names[i]
        assert [r[i] for r in mine.rows] == [r[i] for r in theirs.rows], mine.names[i]
    assert [o for o in mine.oids if o in (22, 30, 1005)] == [o for o in theirs.oids if o in (22, 30, 1005)]


def test_vectors_binary_form(connections):  # noqa: ANN001
    sql = "SELECT indkey, indclass FROM pg_index WHERE indrelid = 'customer'::regclass"
    rows = []
    for conn in connections:
        result = conn.pgconn.exec_params(sql.encode(), [], result_format=1)
        rows.append([result.get_value(0, j) for j in range(result.nfields)])
    assert rows[0] == rows[1]


NAMED_QUERIES = [
    "SELECT exists (SELECT null FROM pg_constraint WHERE contype = 'p'), "
    "(SELECT null FROM pg_constraint LIMIT 1) IS NULL, 1 + 1",
    "SELECT format_type(atttypid, atttypmod), attrelid::regclass, attname::text, pg_catalog.pg_table_is_visible(attrelid) "
    "FROM pg_attribute WHERE attrelid = 'customer'::regclass AND attnum = 1",
    "SELECT c.relname, EXISTS (SELECT null FROM pg_catalog.pg_constraint x WHERE x.conrelid = c.oid AND x.contype = 'p') "
    "FROM pg_class c WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace ORDER BY 1",
    "SELECT c2.relname, NOT EXISTS (SELECT null FROM pg_catalog.pg_constraint con WHERE con.conrelid = i.indrelid "
    "AND con.conindid = i.indexrelid AND contype IN ('p','u','x')) AS extra "
    "FROM pg_catalog.pg_index i JOIN pg_catalog.pg_class c2 ON c2.oid = i.indexrelid "
    "WHERE i.indrelid = 'order_placed'::regclass",
    "SELECT 'customer_360'::name AS cat, n.nspname, 'x'::pg_catalog.name FROM pg_namespace n WHERE n.nspname = 'public'",
    "SELECT count(*), max(relname), coalesce(null, 'a'), current_database() FROM pg_class WHERE relname = 'customer'",
    "SELECT 'int4'::regtype::text, attname::varchar, (attnum + 1)::text, relname::name FROM pg_attribute, pg_class "
    "WHERE attrelid = pg_class.oid AND relname = 'customer' AND attnum = 1",
]


@pytest.mark.parametrize("sql", NAMED_QUERIES)
def test_catalog_query_matches_postgres(connections, sql):  # noqa: ANN001
    """Column names (``exists``, ``?column?``, ``format_type``), values, and no DuckDB spelling leaking."""
    proxy, postgres = connections
    mine, theirs = ask(proxy.pgconn, sql), ask(postgres.pgconn, sql)
    assert mine.sqlstate is None, mine.describe()
    assert mine.names == theirs.names
    assert mine.rows == theirs.rows


# -- the origin rule without a server ------------------------------------------------------------------

TABLES = {"t": Table(100, ("a", "b", "m"), ("a", "b")), "u": Table(200, ("a", "c"), ("a", "c"))}


@pytest.mark.parametrize("sql, expected", [
    ("SELECT b, a + 1, x.a FROM t AS x", [(100, 2), (0, 0), (100, 1)]),
    ("SELECT * FROM t", [(100, 1), (100, 2)]),  # * leaves out the measure m
    ("SELECT m, t.* FROM t", [(100, 3), (100, 1), (100, 2)]),
    ("SELECT c, t.b FROM t JOIN u ON t.a = u.a", [(200, 2), (100, 2)]),
    ("SELECT a FROM t JOIN u ON t.a = u.a", [(0, 0)]),  # ambiguous: Postgres refuses it anyway
    ("SELECT y FROM (SELECT b AS y FROM t) AS s", [(100, 2)]),
    ("SELECT p, q FROM (SELECT a, b FROM t) AS s(p, q)", [(100, 1), (100, 2)]),
    ("WITH w AS (SELECT c FROM u) SELECT c FROM w", [(200, 2)]),
    ("WITH w(z) AS (SELECT c FROM u) SELECT z FROM w", [(200, 2)]),
    ("SELECT a FROM t UNION SELECT a FROM u", [(0, 0)]),
    ("SELECT a FROM t WHERE b IN (SELECT c FROM u)", [(100, 1)]),
    ("SELECT x FROM generate_series(1, 2) AS x", [(0, 0)]),
    ("SELECT * FROM t, generate_series(1, 2) AS g", None),  # the function's columns are unknown
])
def test_column_origins(sql, expected):  # noqa: ANN001
    assert column_origins(sqlglot.parse_one(sql, read="postgres"), TABLES.get) == expected
