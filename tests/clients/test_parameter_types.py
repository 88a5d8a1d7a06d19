"""Parameters the client leaves untyped, as PostgreSQL types them, and Python lists as ``= ANY(%s)``.

Drivers send most parameters without a type (psycopg's str, pgJDBC's setTimestamp/setDate, psqlODBC) and
read the server's ParameterDescription to encode them: each case prepares the same statement on lens-proxy
and on PostgreSQL over the same rows and compares the parameter types, then runs it through psycopg with
values and compares the rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import psycopg
import pytest

from tests.clients.conftest import ORACLE_DB

CASES = [
    ("SELECT count(*) FROM customer WHERE state = $1", ["CA"]),
    ("SELECT count(*) FROM customer WHERE state = ANY($1)", [["CA", "TX"]]),
    ("SELECT count(*) FROM customer WHERE state <> ALL($1)", [["CA", "TX"]]),
    ("SELECT count(*) FROM customer WHERE state IN ($1, $2)", ["CA", "NY"]),
    ("SELECT count(*) FROM customer WHERE upper(state) = $1", ["CA"]),
    ("SELECT count(*) FROM customer WHERE (email IS NULL) = $1", [True]),
    ("SELECT count(*) FROM order_placed WHERE activity_ts >= $1", [dt.datetime(2026, 1, 1, 12, 30)]),
    ("SELECT count(*) FROM order_placed WHERE activity_ts BETWEEN $1 AND $2", [dt.datetime(2025, 6, 1), dt.datetime(2025, 7, 1)]),
    ("SELECT count(*) FROM order_placed WHERE order_value > $1", [100.5]),
    ("SELECT count(*) FROM order_placed WHERE activity_occurence = ANY($1)", [[1, 2]]),
    ("SELECT count(*) FROM order_placed WHERE activity_occurence + 1 = $1", [3]),
    ("SELECT entity_id FROM order_placed GROUP BY entity_id HAVING count(*) > $1 ORDER BY 1", [150]),
    ("SELECT customer_id FROM customer ORDER BY customer_id LIMIT $1 OFFSET $2", [3, 2]),
    ("SELECT $1::date AS d, $2::int4 + 1 AS i", [dt.date(2024, 1, 2), 41]),
    ("SELECT c.state, count(*) FROM customer c JOIN order_placed o ON o.entity_id = c.customer_id "
     "WHERE o.product_category = $1 AND o.activity_ts < $2 GROUP BY 1 ORDER BY 1", ["BOURBON", dt.datetime(2026, 1, 1)]),
]


@pytest.fixture(scope="module")
def connections(server, oracle_server) -> Iterator[tuple[psycopg.Connection, psycopg.Connection]]:  # noqa: ANN001
    with psycopg.connect(server.dsn(), autocommit=True) as proxy, \
            psycopg.connect(oracle_server.dsn(ORACLE_DB), autocommit=True) as postgres:
        yield proxy, postgres


@pytest.mark.parametrize("sql, values", CASES, ids=[c[0][:60] for c in CASES])
def test_parameter_types_and_rows_match_postgres(connections, sql, values):  # noqa: ANN001
    described, rows = [], []
    for conn in connections:
        prepared = conn.pgconn.prepare(b"typed", sql.encode())
        assert prepared.error_message == b"", prepared.error_message
        description = conn.pgconn.describe_prepared(b"typed")
        described.append([description.param_type(i) for i in range(description.nparams)])
        conn.execute("DEALLOCATE typed")
        rows.append(conn.execute(sql.replace("$1", "%s").replace("$2", "%s"), values).fetchall())
    assert described[0] == described[1]
    assert rows[0] == rows[1] and rows[0]
