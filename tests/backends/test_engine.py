"""What must reach the engine on every backend set-up: statement_timeout, CancelRequest and a client's
disconnect stop the backend's query (PostgreSQL's cancel request, Spark's interruptTag, DuckDB's
interrupt); engine errors arrive with PostgreSQL's SQLSTATE; EXPLAIN shows the backend's own SQL;
``lens-proxy check`` finds every table and column.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time

import psycopg
import pytest

from tests.conftest import ROOT

# An md5 for each of ~10^9 pairs of order lines: minutes on any engine, so only a cancel that reaches the
# backend ends it early. (Not a deeper cross join: Spark checks for a kill once per row of a join's streamed
# side, and a 4-way nested loop spends minutes on each.)
ENDLESS = ("SELECT count(*) FROM order_placed a JOIN order_placed b "
           "ON md5(a.activity_uuid || b.activity_uuid) < md5(b.activity_uuid)")
COUNT = "SELECT count_customers FROM customer"


@pytest.fixture
def c360(backend_server):
    with psycopg.connect(backend_server.dsn(dbname="customer_360"), autocommit=True, connect_timeout=10) as conn:
        yield conn


def _count(truth) -> int:
    return truth.execute("SELECT count(*) FROM icebase.audience.customers_large_data").fetchone()[0]


def _pg_running(postgres) -> list[str]:
    """Queries lens-proxy has running on the backend PostgreSQL right now."""
    with psycopg.connect(postgres.dsn(), autocommit=True) as conn:
        rows = conn.execute("SELECT query FROM pg_stat_activity WHERE application_name = 'lens-proxy' "
                            "AND state = 'active' AND query LIKE '%customers_large_data%'").fetchall()
    return [r[0] for r in rows]


def _wait_pg_idle(backend_server, request, timeout: float = 10) -> None:
    if backend_server.setup != "postgres":
        return
    postgres = request.getfixturevalue("postgres")
    deadline = time.monotonic() + timeout
    while _pg_running(postgres):
        assert time.monotonic() < deadline, f"the backend still runs: {_pg_running(postgres)}"
        time.sleep(0.1)


def test_statement_timeout_stops_the_backend_query(c360, truth, backend_server, request):
    c360.execute("SET statement_timeout = '800ms'")
    started = time.monotonic()
    with pytest.raises(psycopg.errors.QueryCanceled) as info:
        c360.execute(ENDLESS)
    assert "statement timeout" in str(info.value)
    assert time.monotonic() - started < 30
    _wait_pg_idle(backend_server, request)
    c360.execute("RESET statement_timeout")
    assert c360.execute(COUNT).fetchone()[0] == _count(truth), "the session stays usable"


def test_cancel_request_stops_the_backend_query(c360, truth, backend_server, request):
    timer = threading.Timer(1.0, c360.cancel)
    timer.start()
    started = time.monotonic()
    try:
        with pytest.raises(psycopg.errors.QueryCanceled) as info:
            c360.execute(ENDLESS)
    finally:
        timer.cancel()
    assert "user request" in str(info.value)
    assert time.monotonic() - started < 30
    _wait_pg_idle(backend_server, request)
    assert c360.execute(COUNT).fetchone()[0] == _count(truth)


def test_disconnect_stops_the_backend_query(backend_server, truth, request):
    conn = psycopg.connect(backend_server.dsn(dbname="customer_360"), autocommit=True)
    sock = socket.socket(fileno=conn.fileno())
    conn.pgconn.send_query(ENDLESS.encode())
    time.sleep(1.0)
    sock.shutdown(socket.SHUT_RDWR)  # the client vanishes mid-query
    sock.detach()
    conn.close()
    _wait_pg_idle(backend_server, request)
    with psycopg.connect(backend_server.dsn(dbname="customer_360"), autocommit=True) as other:
        assert other.execute(COUNT).fetchone()[0] == _count(truth), "the server keeps serving"


def test_engine_errors_keep_postgres_sqlstates(c360):
    with pytest.raises(psycopg.errors.InvalidTextRepresentation):  # 22P02, raised by the engine
        c360.execute("SELECT state::int FROM customer WHERE state = 'CA'").fetchall()
    assert c360.execute("SELECT 1 + count_customers - count_customers FROM customer").fetchone()[0] == 1


def test_explain_shows_the_backends_sql(c360, backend_server):
    lines = [r[0] for r in c360.execute("EXPLAIN SELECT state, count_customers FROM customer GROUP BY state").fetchall()]
    text = "\n".join(lines)
    assert "customers_large_data" in text
    if backend_server.setup == "spark":
        assert "`count_customers`" in text, "Spark quotes with backticks"
    elif backend_server.setup == "postgres":
        assert "icebase" not in text, "PostgreSQL has no catalog part: icebase.audience.x is mapped to audience.x"
    analyzed = [r[0] for r in c360.execute("EXPLAIN ANALYZE SELECT state, count_customers FROM customer GROUP BY state")]
    assert any(line.startswith("Execution:") for line in analyzed)
    if backend_server.setup == "postgres":
        assert any("Execution Time" in line for line in analyzed), "PostgreSQL's own plan with timings"


def test_check_finds_every_table_and_column(backend_server):
    done = subprocess.run([sys.executable, "-m", "proxy.cli", "check", "--config", str(backend_server.config)],
                          cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "table icebase.audience.customers_large_data" in done.stdout
    assert "table shopdb.main.orders" in done.stdout
    assert done.stdout.strip().endswith("all tables and columns found")
