"""Bad input gets a Postgres error with the right SQLSTATE, and the session (and server) carry on."""

from __future__ import annotations

import socket

import psycopg
import pytest

from tests.conftest import run_psql

REFUSED = [
    # (statement, SQLSTATE): engine functions do not exist for a Postgres client (42883, as PostgreSQL says)
    ("SELECT * FROM read_csv('/etc/passwd')", "42883"),
    ("SELECT * FROM read_parquet('x.parquet')", "42883"),
    ("SELECT * FROM glob('*')", "42883"),
    ("SELECT * FROM duckdb_tables()", "42883"),
    ("SELECT * FROM query('select 1')", "42883"),
    ("SELECT read_text('/etc/passwd')", "42883"),
    ("ATTACH '/tmp/x.duckdb' AS x", "42501"),
    ("DETACH icebase", "42501"),
    ("INSTALL httpfs", "42501"),
    ("LOAD httpfs", "42501"),
    ("PRAGMA database_list", "42501"),
    ("COPY customer FROM '/tmp/x.csv'", "42501"),
    ("COPY customer FROM STDIN", "42501"),
    ("SET threads = 1", "42501"),
    ("SET enable_external_access = true", "42501"),
    ("CREATE TABLE t (a int)", "25006"),
    ("CREATE VIEW v AS SELECT 1", "25006"),
    ("DROP TABLE customer", "25006"),
    ("INSERT INTO customer (customer_id) VALUES ('x')", "25006"),
    ("UPDATE customer SET state = 'x'", "25006"),
    ("DELETE FROM customer", "25006"),
    ("ALTER TABLE customer ADD COLUMN x int", "25006"),
    ("TRUNCATE customer", "25006"),
    ("WITH x AS (SELECT 1) INSERT INTO customer SELECT * FROM x", "25006"),
    ("SELECT * INTO newtable FROM customer", "25006"),
    ("SELECT * FROM icebase.audience.customers_large_data", "42P01"),
    ("SELECT * FROM audience.activity_streams_large_data", "42P01"),
    ("SELECT * FROM duckdb_settings()", "42883"),
    ("SELECT * FROM customer c, LATERAL read_csv('/etc/passwd') x", "42883"),
    ("COPY (SELECT * FROM read_text('/etc/passwd')) TO STDOUT", "42883"),
    ("SELECT getvariable('x')", "42883"),
    ("SET GLOBAL threads = 1", "42501"),
    ("SET VARIABLE x = 1", "42501"),
    ("CALL pragma_version()", "42501"),
]


@pytest.mark.parametrize("sql,sqlstate", REFUSED, ids=[s for s, _ in REFUSED])
def test_refused_and_session_survives(conn, sql, sqlstate):
    with pytest.raises(psycopg.Error) as info:
        conn.execute(sql)
    assert info.value.sqlstate == sqlstate, info.value
    assert conn.execute("SELECT 1").fetchone() == (1,)


def test_errors_name_sqlstate_hint_and_position(conn):
    with pytest.raises(psycopg.errors.UndefinedColumn) as info:
        conn.execute("SELECT stat, count_customers FROM customer")
    diag = info.value.diag
    assert diag.sqlstate == "42703"
    assert "stat" in diag.message_primary
    assert diag.message_hint and '"state"' in diag.message_hint
    assert diag.statement_position == "8"

    with pytest.raises(psycopg.errors.UndefinedTable) as info:
        conn.execute("SELECT * FROM customers")
    assert '"customer"' in (info.value.diag.message_hint or "")

    with pytest.raises(psycopg.errors.SyntaxError) as info:
        conn.execute("SELECT state FROM customer WHERE")
    assert info.value.diag.statement_position is not None

    with pytest.raises(psycopg.errors.GroupingError) as info:
        conn.execute("SELECT state FROM customer WHERE count_customers > 3")
    assert "HAVING" in info.value.diag.message_hint

    with pytest.raises(psycopg.errors.GroupingError):
        conn.execute("SELECT avg(monetary) FROM order_placed")  # monetary is a sum
    assert conn.execute("SELECT 1").fetchone() == (1,)


def test_error_position_in_second_statement_of_a_message(server):
    result = run_psql(server, "SELECT 1; SELECT nope FROM customer", "-A", "-t", check=False)
    assert result.returncode != 0
    assert 'column "nope" does not exist' in result.stderr


def test_unknown_database_is_fatal_3d000(server):
    with pytest.raises(psycopg.OperationalError) as info:
        psycopg.connect(server.dsn(dbname="nope"), connect_timeout=10)
    assert 'database "nope" does not exist' in str(info.value)


def test_engine_internals_are_not_reachable(conn):
    with pytest.raises(psycopg.Error):
        conn.execute("SELECT current_setting('threads')")
    assert conn.execute("SELECT 1").fetchone() == (1,)
    # the catalog describes the lens, never the engine's raw tables
    names = {r[0] for r in conn.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert "customer" in names
    assert not any("large_data" in n for n in names), names


def test_garbage_bytes_close_only_that_connection(server, conn):
    for garbage in (b"\x00\x00\x00\x08\x12\x34\x56\x78", b"GET / HTTP/1.1\r\n\r\n", b"\xff" * 64,
                    b"\x7f\xff\xff\xff" + b"x" * 16):
        with socket.create_connection((server.host, server.port), timeout=10) as s:
            s.sendall(garbage)
            s.settimeout(10)
            data = b""
            try:
                while chunk := s.recv(4096):
                    data += chunk
            except (ConnectionResetError, TimeoutError):
                pass
            assert data == b"" or data[:1] in (b"E", b"N")
    assert conn.execute("SELECT count_customers FROM customer").fetchone()[0] > 0


def test_empty_query_and_multi_statement(server):
    out = run_psql(server, "SELECT 1 AS a; SELECT 2 AS b", "-A", "-t").stdout
    assert out.split() == ["1", "2"]
    out = run_psql(server, ";", "-A", "-t").stdout
    assert out.strip() == ""
