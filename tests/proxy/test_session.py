"""Queries that touch no lens table answer as Postgres would; session settings live in the proxy."""

from __future__ import annotations

import threading
import time

import psycopg
import pytest

from tests.conftest import run_psql


def test_engine_free_queries(conn, server):
    assert conn.execute("SELECT 1").fetchone() == (1,)
    assert conn.execute("SELECT current_database()").fetchone() == ("customer_360",)
    assert conn.execute("SELECT current_user, session_user").fetchone() == ("analyst", "analyst")
    version = conn.execute("SELECT version()").fetchone()[0]
    assert version.startswith("PostgreSQL 16") and "lens-proxy" in version
    assert conn.execute("SHOW server_version").fetchone()[0].startswith("16")
    assert conn.execute("SELECT current_setting('DateStyle')").fetchone() == ("ISO, MDY",)
    assert conn.execute("SELECT 7 / 2, 7.0 / 2").fetchone() == (3, 3.5)
    assert conn.info.parameter_status("server_version").startswith("16")
    assert conn.info.parameter_status("integer_datetimes") == "on"
    assert conn.info.parameter_status("standard_conforming_strings") == "on"
    assert run_psql(server, "SELECT current_database()", "-A", "-t").stdout.strip() == "customer_360"


def test_set_show_reset(conn):
    conn.execute("SET application_name = 'reporting'")
    assert conn.execute("SHOW application_name").fetchone() == ("reporting",)
    assert conn.info.parameter_status("application_name") == "reporting"
    conn.execute("SET TIME ZONE 'Europe/Paris'")
    assert conn.execute("SHOW timezone").fetchone() == ("Europe/Paris",)
    conn.execute("RESET ALL")
    assert conn.execute("SHOW TimeZone").fetchone() == ("UTC",)
    conn.execute("SET search_path TO public")
    conn.execute("SET lens.month = 3")
    assert conn.execute("SELECT current_setting('lens.month')").fetchone() == ("3",)
    with pytest.raises(psycopg.errors.UndefinedObject):
        conn.execute("SHOW no_such_setting")
    rows = conn.execute("SHOW ALL").fetchall()
    assert ("server_encoding", "UTF8") in [(r[0], r[1]) for r in rows]


def test_transaction_block_status(server):
    with psycopg.connect(server.dsn()) as c:  # psycopg opens a transaction: BEGIN
        assert c.execute("SELECT count_customers FROM customer").fetchone()[0] > 0
        assert c.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
        with pytest.raises(psycopg.errors.UndefinedColumn):
            c.execute("SELECT nope FROM customer")
        assert c.info.transaction_status == psycopg.pq.TransactionStatus.INERROR
        with pytest.raises(psycopg.errors.InFailedSqlTransaction):
            c.execute("SELECT 1")
        c.rollback()
        assert c.execute("SELECT 1").fetchone() == (1,)


def test_parameters_are_values_not_sql(conn, truth):
    ca = truth.execute("SELECT count(*) FROM icebase.audience.customers_large_data WHERE state = 'CA'").fetchone()[0]
    assert conn.execute("SELECT count_customers FROM customer WHERE state = %s", ["CA"]).fetchone() == (ca,)
    assert conn.execute("SELECT count_customers FROM customer WHERE state = %s", ["' OR 1=1 --"]).fetchone() == (0,)
    rows = conn.execute("SELECT customer_id FROM customer ORDER BY customer_id LIMIT %s", [3]).fetchall()
    assert len(rows) == 3


def test_prepared_statement_reuse(conn):
    for state in ("CA", "NY", "TX", "CA", "FL", "WA"):  # psycopg prepares server-side after 5 runs
        n = conn.execute("SELECT count_customers FROM customer WHERE state = %s", [state], prepare=True).fetchone()[0]
        assert n >= 0


SLOW_QUERY = "SELECT count(*) FROM order_placed, generate_series(1, 1000000) AS g(i) WHERE order_value * i < 0"


def test_slow_query_does_not_stall_other_clients(server):
    slow_conn = psycopg.connect(server.dsn(), autocommit=True)
    outcome: list[BaseException] = []

    def slow() -> None:
        try:
            slow_conn.execute(SLOW_QUERY).fetchall()
        except psycopg.Error as e:
            outcome.append(e)

    thread = threading.Thread(target=slow, daemon=True)
    thread.start()
    time.sleep(1.0)
    started = time.monotonic()
    with psycopg.connect(server.dsn(), autocommit=True) as c:
        assert c.execute("SELECT count_customers FROM customer").fetchone()[0] > 0
    fast = time.monotonic() - started
    assert thread.is_alive(), "the slow query should still be running"
    assert fast < 5, f"a second client waited {fast:.1f}s behind a slow query"
    slow_conn.cancel()
    thread.join(30)
    assert outcome and isinstance(outcome[0], psycopg.errors.QueryCanceled)
    assert slow_conn.execute("SELECT 1").fetchone() == (1,)
    slow_conn.close()


def test_statement_timeout_cancels(conn):
    conn.execute("SET statement_timeout = 200")
    with pytest.raises(psycopg.errors.QueryCanceled):
        conn.execute(SLOW_QUERY).fetchall()
    conn.execute("SET statement_timeout = 0")
    assert conn.execute("SELECT 1").fetchone() == (1,)


def test_cancel_request_interrupts(server):
    with psycopg.connect(server.dsn(), autocommit=True) as c:
        timer = threading.Timer(0.5, c.cancel)
        timer.start()
        started = time.monotonic()
        with pytest.raises(psycopg.errors.QueryCanceled):
            c.execute(SLOW_QUERY).fetchall()
        assert time.monotonic() - started < 10
        assert c.execute("SELECT 1").fetchone() == (1,)


def test_postgres_forms_duckdb_lacks(conn):
    cur = conn.execute("VALUES (1, 'a'), (2, NULL)")
    assert [d.name for d in cur.description] == ["column1", "column2"] and cur.fetchall() == [(1, "a"), (2, None)]
    assert conn.execute("SELECT '{1,2,NULL}'::int[]").fetchone() == ([1, 2, None],)
    assert conn.execute("SELECT json_build_object('a', 1)::text").fetchone()[0].replace(" ", "") == '{"a":1}'
    with pytest.raises(psycopg.errors.UndefinedParameter):
        conn.execute("SELECT count_customers FROM customer WHERE $1 = 1", prepare=False).fetchall()
    with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
        conn.execute("SELECT * FROM customer FOR UPDATE")
    with pytest.raises(psycopg.errors.UndefinedFunction) as info:
        conn.execute("SELECT MEASURE(state) FROM customer")
    assert "field" in str(info.value)
    assert conn.execute("SELECT 1").fetchone() == (1,)
