"""The server log as JSON lines: connections, errors with SQLSTATE, slow statements with the engine's SQL,
and nothing secret (a password, a bound parameter value) in it, whatever the client sends."""

from __future__ import annotations

import time

import psycopg
import pytest

SECRET_VALUE = "hunter2-not-a-number"
WRONG_PASSWORD = "correct-horse-battery-staple"


def _events_until(ops, offset: int, predicate, timeout: float = 10) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:
        events = ops.log_events(offset)
        if predicate(events) or time.monotonic() > deadline:
            return events
        time.sleep(0.1)


def test_every_line_is_json_with_the_standard_keys(ops_server):
    with ops_server.connect() as conn:
        conn.execute("SELECT 1").fetchall()
    lines = [line for line in ops_server.server.log().splitlines() if line.strip()]
    json_lines = [line for line in lines if line.startswith("{")]
    assert len(json_lines) >= 3
    plain = [line for line in lines if not line.startswith("{")]
    assert all(line.startswith("lens-proxy: ") for line in plain), plain  # only the start-up announcements
    for event in ops_server.log_events():
        assert {"time", "level", "logger", "message"} <= set(event)


def test_connections_are_logged_with_user_application_and_client(ops_server):
    offset = ops_server.server.log_size()
    conn = ops_server.connect(application_name="ops-log-test")
    conn.execute("SELECT 1")
    conn.close()
    events = _events_until(ops_server, offset, lambda ev: any(
        e.get("event") == "connection_closed" and e.get("application_name") == "ops-log-test" for e in ev))
    opened = [e for e in events if e.get("event") == "connection_opened" and e["application_name"] == "ops-log-test"]
    closed = [e for e in events if e.get("event") == "connection_closed" and e["application_name"] == "ops-log-test"]
    assert len(opened) == 1 and len(closed) == 1, events
    for event in opened + closed:
        assert event["user"] == "analyst" and event["database"] == "customer_360"
        assert event["client"].startswith("127.0.0.1:")
    assert opened[0]["client"] == closed[0]["client"] and closed[0]["session_seconds"] >= 0


def test_errors_carry_their_sqlstate_and_never_a_bound_value(ops_server):
    offset = ops_server.server.log_size()
    with ops_server.connect() as conn:
        with pytest.raises(psycopg.errors.InvalidTextRepresentation):
            conn.execute("SELECT count_customers FROM customer WHERE zip = %s::integer", [SECRET_VALUE])
        with pytest.raises(psycopg.errors.UndefinedTable):
            conn.execute("SELECT 1 FROM no_such_entity")
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(ops_server.server.dsn(user="analyst", password=WRONG_PASSWORD), connect_timeout=10)
    events = _events_until(ops_server, offset, lambda ev: sum(e.get("event") == "error" for e in ev) >= 3)
    errors = {e["sqlstate"]: e for e in events if e.get("event") == "error"}
    assert {"22P02", "42P01", "28P01"} <= set(errors), errors
    assert "[redacted]" in errors["22P02"]["message"]
    assert errors["28P01"]["severity"] == "FATAL" and errors["28P01"]["user"] == "analyst"
    text = ops_server.server.log()[offset:]
    assert SECRET_VALUE not in text and WRONG_PASSWORD not in text
    assert "analyst-pw" not in ops_server.server.log()


def test_slow_statements_are_logged_with_the_engine_sql(ops_server):
    offset = ops_server.server.log_size()
    sql = "SELECT state, percentage_email FROM customer GROUP BY state ORDER BY state LIMIT 2"
    with ops_server.connect() as conn:
        conn.execute(sql).fetchall()
    events = _events_until(ops_server, offset, lambda ev: any(e.get("statement") == sql for e in ev))
    slow = [e for e in events if e.get("event") == "slow_query" and e.get("statement") == sql]
    assert len(slow) == 1, events
    entry = slow[0]
    assert entry["sqlstate"] == "00000" and entry["rows"] == 2 and entry["duration_ms"] >= 0
    assert "customers_large_data" in entry["engine_sql"]  # the rewritten SQL, not the client's
    assert set(entry["stages_ms"]) >= {"rewrite", "engine", "stream"}
