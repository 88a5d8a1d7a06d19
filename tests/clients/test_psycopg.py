"""psycopg 3: simple and extended protocol, prepare=True, binary results and parameters, server-side
cursors, pipeline mode, COPY out, cancel; every value checked against DuckDB on the raw tables."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal

import psycopg
import pytest

from tests.clients.conftest import INT_ARRAY_SQL, SLOW_QUERY, TYPES_SQL, assert_row


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_every_type(conn, types_truth, int_array_truth, binary):
    assert_row(conn.cursor(binary=binary).execute(TYPES_SQL).fetchone(), types_truth)
    assert_row(conn.cursor(binary=binary).execute(INT_ARRAY_SQL).fetchone(), int_array_truth)


def test_simple_protocol(server, types_truth, ca_count):
    with psycopg.connect(server.dsn(), autocommit=True, cursor_factory=psycopg.ClientCursor) as c:
        assert_row(c.execute(TYPES_SQL).fetchone(), types_truth)
        assert c.execute("SELECT count_customers FROM customer WHERE state = %s", ["CA"]).fetchone() == (ca_count,)


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_lens_query_with_parameters(conn, ca_customers, ca_count, binary):
    cur = conn.cursor(binary=binary)
    rows = cur.execute(
        "SELECT customer_id, customer_name, email FROM customer WHERE state = %s ORDER BY customer_id LIMIT %s",
        ["CA", 5],
    ).fetchall()
    assert rows == ca_customers
    assert cur.execute("SELECT count_customers FROM customer WHERE state = %s", ["CA"]).fetchone() == (ca_count,)
    assert cur.execute("SELECT count_customers FROM customer WHERE state = %s", [None]).fetchone() == (0,)
    assert cur.execute("SELECT %s::int4 + 1, %s::float8 * 2, %s::bool, %s::date", [41, 1.25, True, dt.date(2024, 2, 3)]
                       ).fetchone() == (42, 2.5, True, dt.date(2024, 2, 3))


def test_binary_parameters_of_every_type(conn):
    values = [7, 2**40, 1.5, Decimal("12.340"), "text é", True, dt.date(2024, 1, 2), dt.datetime(2024, 1, 2, 3, 4, 5, 6000),
              dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc), dt.time(1, 2, 3), b"\x00\x01", None]
    sql = "SELECT " + ", ".join(["%b"] * len(values))
    row = conn.execute(sql, values).fetchone()
    assert list(row) == values


def test_prepare_true_reuses_server_statement(conn, truth):
    for state in ("CA", "NY", "TX", "CA", "WA", "FL", "NY"):
        expected = truth.execute("SELECT count(*) FROM icebase.audience.customers_large_data WHERE state = ?", [state]).fetchone()
        assert conn.execute("SELECT count_customers FROM customer WHERE state = %s", [state], prepare=True).fetchone() == expected
    assert conn.execute("SELECT 1::int8", prepare=True).fetchone() == (1,)


@pytest.mark.parametrize("binary", [False, True], ids=["text", "binary"])
def test_server_side_cursor(server, all_customer_ids, binary):
    with psycopg.connect(server.dsn()) as c:
        with c.cursor("customers", binary=binary) as cur:
            cur.itersize = 64
            cur.execute("SELECT customer_id FROM customer ORDER BY customer_id")
            assert [d.name for d in cur.description] == ["customer_id"]
            first = cur.fetchmany(10)
            assert c.execute("SELECT 1").fetchone() == (1,)  # another query while the cursor is open
            rest = cur.fetchall()
        assert [r[0] for r in first + rest] == all_customer_ids


def test_pipeline_mode(conn, ca_count, truth):
    ny = truth.execute("SELECT count(*) FROM icebase.audience.customers_large_data WHERE state = 'NY'").fetchone()[0]
    with conn.pipeline():
        c1 = conn.execute("SELECT count_customers FROM customer WHERE state = %s", ["CA"])
        c2 = conn.execute("SELECT count_customers FROM customer WHERE state = %s", ["NY"])
        c3 = conn.execute("SELECT %s::text || 'b'", ["a"])
    assert c1.fetchone() == (ca_count,) and c2.fetchone() == (ny,) and c3.fetchone() == ("ab",)


def test_pipeline_error_skips_to_sync(conn):
    with pytest.raises(psycopg.errors.UndefinedColumn):
        with conn.pipeline():
            conn.execute("SELECT 1")
            conn.execute("SELECT nope FROM customer")
            conn.execute("SELECT 2")
    assert conn.execute("SELECT 3").fetchone() == (3,)


def test_copy_out_csv(conn, truth):
    expected = truth.execute(
        "SELECT customer_id, email FROM icebase.audience.customers_large_data WHERE state = 'CA' ORDER BY 1"
    ).fetchall()
    with conn.cursor().copy(
        "COPY (SELECT customer_id, email FROM customer WHERE state = 'CA' ORDER BY customer_id) TO STDOUT WITH (FORMAT csv, HEADER)"
    ) as copy:
        data = b"".join(bytes(b) for b in copy).decode()
    lines = data.splitlines()
    assert lines[0] == "customer_id,email"
    assert lines[1:] == [f"{a},{'' if b is None else b}" for a, b in expected]
    with conn.cursor().copy("COPY (SELECT customer_id, email FROM customer WHERE state = 'CA' ORDER BY 1) TO STDOUT") as copy:
        rows = list(copy.rows())
    assert rows == [(a, b) for a, b in expected]


def test_transactions_savepoints_and_set_local(server):
    with psycopg.connect(server.dsn()) as c:
        c.execute("SET LOCAL statement_timeout = '5s'")
        assert c.execute("SHOW statement_timeout").fetchone() == ("5000",)
        c.commit()
        assert c.execute("SHOW statement_timeout").fetchone() == ("0",)
        c.execute("SAVEPOINT a")
        with pytest.raises(psycopg.errors.UndefinedColumn):
            c.execute("SELECT nope FROM customer")
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            c.execute("SELECT 1")
        c.execute("ROLLBACK TO SAVEPOINT a")
        assert c.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        assert c.execute("SELECT 1").fetchone() == (1,)
        c.execute("RELEASE SAVEPOINT a")
        c.rollback()
        assert c.execute("SELECT set_config('application_name', 'matrix', false)").fetchone() == ("matrix",)
        assert c.info.parameter_status("application_name") == "matrix"
        assert c.execute("SELECT current_setting('application_name')").fetchone() == ("matrix",)


def test_cancel(server):
    with psycopg.connect(server.dsn(), autocommit=True) as c:
        timer = threading.Timer(0.5, c.cancel_safe)
        timer.start()
        with pytest.raises(psycopg.errors.QueryCanceled):
            c.execute(SLOW_QUERY)
        assert c.execute("SELECT 1").fetchone() == (1,)
