"""psycopg2: client-side parameter interpolation over the simple protocol, named (server-side) cursors."""

from __future__ import annotations

import psycopg2
import psycopg2.errors
import pytest

from tests.clients.conftest import INT_ARRAY_SQL, TYPES_SQL, assert_row


@pytest.fixture
def pg2(server):
    con = psycopg2.connect(server.dsn(connect_timeout="10"))
    yield con
    con.close()


def test_every_type(pg2, types_truth, int_array_truth):
    cur = pg2.cursor()
    cur.execute(TYPES_SQL)
    row = list(cur.fetchone())
    assert_row(row, types_truth)
    cur.execute(INT_ARRAY_SQL)
    assert_row(cur.fetchone(), int_array_truth)


def test_parameters(pg2, ca_customers, ca_count):
    cur = pg2.cursor()
    cur.execute("SELECT customer_id, customer_name, email FROM customer WHERE state = %s ORDER BY customer_id LIMIT %s",
                ("CA", 5))
    assert cur.fetchall() == ca_customers
    cur.execute("SELECT count_customers FROM customer WHERE state = %(s)s", {"s": "CA"})
    assert cur.fetchone() == (ca_count,)


def test_named_cursor(pg2, all_customer_ids):
    with pg2.cursor("lens_cursor") as cur:
        cur.itersize = 100
        cur.execute("SELECT customer_id FROM customer ORDER BY customer_id")
        head = cur.fetchmany(7)
        ids = [r[0] for r in head] + [r[0] for r in cur]
    assert ids == all_customer_ids
    pg2.commit()
    with pg2.cursor("held", withhold=True) as cur:
        cur.execute("SELECT customer_id FROM customer ORDER BY customer_id")
        pg2.commit()  # a WITH HOLD cursor outlives the transaction
        assert [r[0] for r in cur.fetchmany(3)] == all_customer_ids[:3]


def test_failed_transaction(pg2):
    cur = pg2.cursor()
    with pytest.raises(psycopg2.errors.UndefinedColumn):
        cur.execute("SELECT nope FROM customer")
    with pytest.raises(psycopg2.errors.InFailedSqlTransaction):
        cur.execute("SELECT 1")
    pg2.rollback()
    cur.execute("SELECT 1")
    assert cur.fetchone() == (1,)
