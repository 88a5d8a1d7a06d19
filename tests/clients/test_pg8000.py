"""pg8000 (native and DB-API): unnamed statements, Sync after each step, text results, typed parameters."""

from __future__ import annotations

import datetime as dt

import pg8000.dbapi
import pg8000.native
import pytest

from tests.clients.conftest import INT_ARRAY_SQL, TYPES_SQL, assert_row


@pytest.fixture
def native(server):
    con = pg8000.native.Connection("analyst", host=server.host, port=server.port, database=server.database, timeout=10)
    yield con
    con.close()


def test_every_type(native, types_truth, int_array_truth):
    assert_row(native.run(TYPES_SQL)[0], types_truth)
    assert_row(native.run(INT_ARRAY_SQL)[0], int_array_truth)


def test_parameters(native, ca_customers, ca_count):
    rows = native.run(
        "SELECT customer_id, customer_name, email FROM customer WHERE state = :s ORDER BY customer_id LIMIT :n", s="CA", n=5
    )
    assert [tuple(r) for r in rows] == ca_customers
    assert native.run("SELECT count_customers FROM customer WHERE state = :s", s="CA") == [[ca_count]]
    assert native.run("SELECT :d::date, :x::int8 * 2", d=dt.date(2024, 1, 31), x=21) == [[dt.date(2024, 1, 31), 42]]


def test_named_prepared_statement(native, truth):
    ps = native.prepare("SELECT count_customers FROM customer WHERE state = :s")
    try:
        for state in ("CA", "NY"):
            expected = truth.execute("SELECT count(*) FROM icebase.audience.customers_large_data WHERE state = ?", [state]).fetchone()[0]
            assert ps.run(s=state) == [[expected]]
    finally:
        ps.close()


def test_dbapi_errors(server, ca_count):
    con = pg8000.dbapi.connect("analyst", host=server.host, port=server.port, database=server.database, timeout=10)
    try:
        cur = con.cursor()
        cur.execute("SELECT count_customers FROM customer WHERE state = %s", ["CA"])
        assert [list(r) for r in cur.fetchall()] == [[ca_count]]
        with pytest.raises(pg8000.dbapi.DatabaseError) as e:
            cur.execute("SELECT nope FROM customer")
        assert e.value.args[0]["C"] == "42703"
        con.rollback()
        cur.execute("SELECT 1")
        assert cur.fetchone() == [1]
    finally:
        con.close()
