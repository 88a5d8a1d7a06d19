"""Faults a server meets in production, each against a real lens-proxy process and real clients: a cancelled
query, statement_timeout followed at once by the next statement, a client that resets its connection in
the middle of a result, SIGTERM while queries run (PostgreSQL's fast shutdown: exit 0, every client gets
57P01), idle and authentication timeouts, and max_connections counting connections that never authenticate.
No fault may leave a traceback in the server's log or disturb another client.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import threading
import time
from pathlib import Path

import asyncpg
import psycopg
import pytest

from tests.clients.conftest import PASSWORD, SLOW_QUERY, users_file  # noqa: F401 (fixture)
from tests.proxy import rawwire as w
from tests.proxy.logged_server import LoggedServer, start_logged_server, stop

COUNT = "SELECT count_customers FROM customer"
COUNT_TRUTH = "SELECT count(*) FROM icebase.audience.customers_large_data"
BIG = "SELECT activity_uuid, entity_id, order_value FROM order_placed"  # tens of thousands of rows


@pytest.fixture(scope="module")
def customers(truth) -> int:
    return truth.execute(COUNT_TRUTH).fetchone()[0]


def test_cancel_then_next_statement(clean_log: LoggedServer, customers: int) -> None:
    with psycopg.connect(clean_log.dsn(), autocommit=True) as conn:
        for _ in range(3):
            timer = threading.Timer(0.4, conn.cancel)
            timer.start()
            with pytest.raises(psycopg.errors.QueryCanceled):
                conn.execute(SLOW_QUERY)
            timer.join()
            assert conn.execute(COUNT).fetchone() == (customers,)  # at once, on the same session


def test_statement_timeout_then_next_statement_at_once(clean_log: LoggedServer, customers: int) -> None:
    """The session's engine cursor is free the moment the timeout error is sent (no "busy" XX000)."""
    with psycopg.connect(clean_log.dsn(), autocommit=True) as conn:
        conn.execute("SET statement_timeout = '150ms'")
        for _ in range(5):
            with pytest.raises(psycopg.errors.QueryCanceled) as info:
                conn.execute(SLOW_QUERY)
            assert "statement timeout" in str(info.value)
            assert conn.execute(COUNT).fetchone() == (customers,)
            assert conn.execute(COUNT, prepare=True).fetchone() == (customers,)


async def test_statement_timeout_extended_protocol(clean_log: LoggedServer, customers: int) -> None:
    conn = await asyncpg.connect(host=clean_log.host, port=clean_log.port, user="analyst",
                                 database=clean_log.database, server_settings={"statement_timeout": "150"})
    try:
        for _ in range(3):
            with pytest.raises(asyncpg.QueryCanceledError):
                await conn.fetchval(SLOW_QUERY)
            assert await conn.fetchval(COUNT) == customers
    finally:
        await conn.close()


def _reset(sock: socket.socket) -> None:
    """Close with RST, not FIN: what a crashed client or a dropped NAT mapping looks like."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    sock.close()


def test_client_reset_mid_stream(clean_log: LoggedServer, customers: int) -> None:
    """Reset while rows stream (simple and extended protocol): no traceback, others unaffected."""
    with psycopg.connect(clean_log.dsn(), autocommit=True) as bystander:
        for protocol in ("simple", "extended", "simple", "extended"):
            conn = w.RawConnection(clean_log.host, clean_log.port)
            conn.startup()
            if protocol == "simple":
                conn.send(w.query(BIG))
            else:
                conn.send(w.parse(BIG) + w.bind() + w.execute() + w.sync())
            first = conn.read_message()
            assert first is not None and first.tag in (b"T", b"1")
            conn.sock.recv(4096)  # the result is streaming
            _reset(conn.sock)
            assert bystander.execute(COUNT).fetchone() == (customers,)
        time.sleep(0.5)  # let the server notice and clean up before the log is read
        assert bystander.execute(COUNT).fetchone() == (customers,)


def test_client_reset_during_slow_query(clean_log: LoggedServer) -> None:
    conn = w.RawConnection(clean_log.host, clean_log.port)
    conn.startup()
    conn.send(w.query(SLOW_QUERY))
    time.sleep(0.3)
    _reset(conn.sock)
    time.sleep(0.5)
    with psycopg.connect(clean_log.dsn(), autocommit=True) as other:
        assert other.execute("SELECT 1").fetchone() == (1,)


def test_sigterm_under_load(demo_file: Path, tmp_path: Path) -> None:
    """Fast shutdown: every client, busy or idle, gets FATAL 57P01; the process exits 0, log clean."""
    server = start_logged_server(tmp_path, demo_file)
    try:
        busy = [w.RawConnection(server.host, server.port, timeout=20) for _ in range(4)]
        streaming = [w.RawConnection(server.host, server.port, timeout=20) for _ in range(2)]
        idle = [w.RawConnection(server.host, server.port, timeout=20) for _ in range(2)]
        for conn in (*busy, *streaming, *idle):
            assert conn.startup()[-1].tag == b"Z"
        for conn in busy:
            conn.send(w.query(SLOW_QUERY))
        for conn in streaming:
            conn.send(w.parse(BIG) + w.bind() + w.execute() + w.sync())
        in_transaction = w.RawConnection(server.host, server.port, timeout=20)
        in_transaction.startup()
        assert in_transaction.simple("BEGIN")[-1].body == b"T"
        time.sleep(0.5)
        status = stop(server)
        for conn in (*busy, *streaming, *idle, in_transaction):
            replies = []
            while (msg := conn.read_message()) is not None:
                replies.append(msg)
            fatal = [e for e in w.errors(replies) if e.get("S") == "FATAL"]
            assert fatal and fatal[-1]["C"] == "57P01", w.errors(replies)
            assert fatal[-1]["M"] == "terminating connection due to administrator command"
            conn.close()
        assert status == 0, server.log()[-3000:]
        assert not server.defects_since(0), "\n\n".join(server.defects_since(0))
    finally:
        stop(server)


def test_sigterm_exits_zero_with_psycopg_clients(demo_file: Path, tmp_path: Path) -> None:
    """The same through a driver: psycopg reports the shutdown as AdminShutdown (57P01)."""
    server = start_logged_server(tmp_path, demo_file)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            with psycopg.connect(server.dsn(), autocommit=True) as conn:
                conn.execute(SLOW_QUERY)
        except BaseException as e:  # noqa: BLE001 - recorded for the assertion
            errors.append(e)

    threads = [threading.Thread(target=run) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.8)
    status = stop(server)
    for t in threads:
        t.join(20)
    assert status == 0
    assert len(errors) == 3 and all(getattr(e, "sqlstate", None) == "57P01" for e in errors), errors


@pytest.fixture(scope="module")
def strict_server(demo_file: Path, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory):
    """Password authentication, 1 s to authenticate, at most 3 connections, 1 s idle timeout."""
    users = request.getfixturevalue("users_file")  # written by `lens-proxy passwd` (tests/clients)
    server = start_logged_server(tmp_path_factory.mktemp("strict"), demo_file, "--auth", "scram-sha-256",
                                 "--users", str(users), "--authentication-timeout", "1",
                                 "--max-connections", "3", "--idle-session-timeout", "1")
    yield server
    assert stop(server) == 0
    assert not server.defects_since(0), "\n\n".join(server.defects_since(0))


def _closed_within(conn: w.RawConnection, seconds: float) -> bool:
    try:
        return conn.read_message(timeout=seconds) is None
    except TimeoutError:
        return False


def test_startup_timeout(strict_server: LoggedServer) -> None:
    """A connection that never sends its startup packet, or never answers the password request, is
    dropped after authentication_timeout (silently, as PostgreSQL does)."""
    silent = w.RawConnection(strict_server.host, strict_server.port)
    half = w.RawConnection(strict_server.host, strict_server.port)
    half.send(w.startup_packet({"user": "analyst", "database": "customer_360"}))
    request = half.read_message()
    assert request is not None and request.tag == b"R"  # AuthenticationSASL, then nothing from us
    started = time.monotonic()
    assert _closed_within(silent, 5) and _closed_within(half, 5)
    assert time.monotonic() - started < 3
    silent.close()
    half.close()


def test_unauthenticated_connections_count_against_max_connections(strict_server: LoggedServer) -> None:
    idle = [w.RawConnection(strict_server.host, strict_server.port) for _ in range(3)]
    time.sleep(0.2)
    with pytest.raises(psycopg.OperationalError) as info:
        psycopg.connect(strict_server.dsn(password=PASSWORD), connect_timeout=10)
    assert "too many clients" in str(info.value)
    for conn in idle:  # dropped by the authentication timeout, freeing their slots
        assert _closed_within(conn, 5)
        conn.close()
    time.sleep(0.2)
    with psycopg.connect(strict_server.dsn(password=PASSWORD), autocommit=True) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_max_connections_then_free(strict_server: LoggedServer) -> None:
    conns = [psycopg.connect(strict_server.dsn(password=PASSWORD), autocommit=True) for _ in range(3)]
    try:
        with pytest.raises(psycopg.OperationalError) as info:
            psycopg.connect(strict_server.dsn(password=PASSWORD), connect_timeout=10)
        assert "too many clients" in str(info.value)
    finally:
        for c in conns:
            c.close()
    time.sleep(0.2)
    with psycopg.connect(strict_server.dsn(password=PASSWORD), autocommit=True) as conn:
        assert conn.execute("SELECT 1").fetchone() == (1,)


def test_idle_session_timeout(strict_server: LoggedServer) -> None:
    conn = psycopg.connect(strict_server.dsn(password=PASSWORD), autocommit=True)
    assert conn.execute("SELECT 1").fetchone() == (1,)
    time.sleep(1.5)
    with pytest.raises(psycopg.OperationalError) as info:
        conn.execute("SELECT 1")
    assert "idle-session timeout" in str(info.value)
    conn.close()


def test_idle_in_transaction_session_timeout(clean_log: LoggedServer) -> None:
    """The session setting is enforced, as PostgreSQL enforces it: FATAL 25P03."""
    conn = w.RawConnection(clean_log.host, clean_log.port)
    conn.startup()
    assert w.sqlstates(conn.simple("SET idle_in_transaction_session_timeout = '300ms'")) == []
    assert conn.simple("BEGIN")[-1].body == b"T"
    replies = []
    while (msg := conn.read_message(timeout=5)) is not None:
        replies.append(msg)
    assert [(e["S"], e["C"]) for e in w.errors(replies)] == [("FATAL", "25P03")]
    conn.close()
    outside = w.RawConnection(clean_log.host, clean_log.port)  # outside a transaction it does not apply
    outside.startup()
    outside.simple("SET idle_in_transaction_session_timeout = '300ms'")
    time.sleep(0.6)
    assert outside.simple("SELECT 1")[-1].tag == b"Z"
    outside.close()


def test_many_cancels_and_resets_leave_server_serving(clean_log: LoggedServer, customers: int) -> None:
    async def one(i: int) -> None:
        conn = await asyncpg.connect(host=clean_log.host, port=clean_log.port, user="analyst",
                                     database=clean_log.database)
        task = asyncio.create_task(conn.fetchval(SLOW_QUERY))
        await asyncio.sleep(0.2 + 0.05 * i)
        if i % 2:
            task.cancel()  # asyncpg sends a CancelRequest
            await asyncio.gather(task, return_exceptions=True)
            assert await conn.fetchval(COUNT) == customers
            await conn.close()
        else:
            conn.terminate()  # the socket just closes
            await asyncio.gather(task, return_exceptions=True)

    async def main() -> None:
        await asyncio.gather(*(one(i) for i in range(8)))

    asyncio.run(main())
    with psycopg.connect(clean_log.dsn(), autocommit=True) as conn:
        assert conn.execute(COUNT).fetchone() == (customers,)
