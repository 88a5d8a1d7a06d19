"""Authentication (SCRAM-SHA-256, md5, cleartext), TLS (psql/psycopg/asyncpg), connection limits, idle
timeout, message size, disconnect mid-query: each against its own real server process."""

from __future__ import annotations

import asyncio
import os
import socket
import ssl
import struct
import subprocess
import threading
import time

import asyncpg
import psycopg
import pytest

from tests.clients.conftest import PASSWORD, SLOW_QUERY


def test_password_auth(auth_server):
    with psycopg.connect(auth_server.dsn(password=PASSWORD), autocommit=True) as c:
        assert c.execute("SELECT current_user").fetchone() == ("analyst",)
    messages = []
    for user, password in (("analyst", "wrong"), ("nobody", "wrong")):
        with pytest.raises(psycopg.OperationalError) as e:
            psycopg.connect(auth_server.dsn(user=user, password=password))
        messages.append(str(e.value).replace(user, "USER"))
    assert messages[0].split("FATAL")[-1] == messages[1].split("FATAL")[-1]  # unknown user looks the same
    assert 'password authentication failed for user "USER"' in messages[0]


async def test_password_auth_asyncpg(auth_server):
    c = await asyncpg.connect(host=auth_server.host, port=auth_server.port, user="viewer", password=PASSWORD,
                              database=auth_server.database, timeout=10)
    assert await c.fetchval("SELECT current_user") == "viewer"
    await c.close()
    for user in ("viewer", "nobody"):
        with pytest.raises(asyncpg.InvalidPasswordError) as e:  # SQLSTATE 28P01
            await asyncpg.connect(host=auth_server.host, port=auth_server.port, user=user, password="nope",
                                  database=auth_server.database, timeout=10)
        assert e.value.sqlstate == "28P01"


def test_users_file_holds_no_password(users_file):
    text = users_file.read_text()
    assert PASSWORD not in text and "SCRAM-SHA-256$4096:" in text


def test_tls_psql_psycopg(tls_server, tls_files):
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    for mode in ("sslmode=require", f"sslmode=verify-full sslrootcert={tls_files['ca']}"):
        conninfo = f"host=localhost port={tls_server.port} user=analyst dbname={tls_server.database} {mode}"
        out = subprocess.run(["psql", "-X", "-At", conninfo, "-c", "SELECT count_customers FROM customer"],
                             capture_output=True, text=True, env=env, timeout=30)
        assert out.returncode == 0, out.stderr
        assert int(out.stdout.strip()) > 0
        with psycopg.connect(conninfo) as c:
            assert c.info.pgconn.ssl_in_use
            assert c.execute("SELECT 1").fetchone() == (1,)
    with pytest.raises(psycopg.OperationalError) as e:  # --tls-required
        psycopg.connect(tls_server.dsn(sslmode="disable"))
    assert "no encryption" in str(e.value)


async def test_tls_asyncpg(tls_server, tls_files):
    ctx = ssl.create_default_context(cafile=str(tls_files["ca"]))
    c = await asyncpg.connect(host="localhost", port=tls_server.port, user="analyst", database=tls_server.database,
                              ssl=ctx, timeout=10)
    assert await c.fetchval("SELECT 1") == 1
    await c.close()


def test_ssl_request_with_pipelined_bytes_is_refused(tls_server):
    """CVE-2021-23214: plaintext sent right behind the SSLRequest must not be taken as post-handshake data."""
    with socket.create_connection((tls_server.host, tls_server.port), timeout=10) as s:
        startup = struct.pack("!ii", 8, 80877103) + b"Q\x00\x00\x00\x0dSELECT 1\x00"
        s.sendall(startup)
        reply = s.recv(1024)
    assert reply[:1] == b"E" and b"08P01" in reply


def test_plain_server_answers_n_to_ssl_request(server):
    with socket.create_connection((server.host, server.port), timeout=10) as s:
        s.sendall(struct.pack("!ii", 8, 80877103))
        assert s.recv(1) == b"N"


def test_max_connections(limits_server):
    conns = [psycopg.connect(limits_server.dsn(), autocommit=True) for _ in range(3)]
    try:
        with pytest.raises(psycopg.OperationalError) as e:
            psycopg.connect(limits_server.dsn())
        assert "too many clients" in str(e.value)
        with pytest.raises(asyncpg.TooManyConnectionsError):  # SQLSTATE 53300
            asyncio.run(asyncpg.connect(host=limits_server.host, port=limits_server.port, user="analyst",
                                        database=limits_server.database, timeout=10))
    finally:
        for c in conns:
            c.close()
    time.sleep(0.2)
    with psycopg.connect(limits_server.dsn()) as c:
        assert c.execute("SELECT 1").fetchone() == (1,)


def test_idle_session_timeout(limits_server):
    c = psycopg.connect(limits_server.dsn(), autocommit=True)
    assert c.execute("SELECT 1").fetchone() == (1,)
    time.sleep(1.6)
    with pytest.raises(psycopg.OperationalError) as e:
        c.execute("SELECT 1")
    assert "idle-session timeout" in str(e.value)
    c.close()


def test_huge_length_prefix_is_refused(limits_server):
    with psycopg.connect(limits_server.dsn(), autocommit=True) as c:
        fd = c.pgconn.socket
        sock = socket.socket(fileno=os.dup(fd))
        try:
            sock.sendall(b"Q" + struct.pack("!i", 0x7FFFFFF0))  # 2 GiB announced, nothing sent
            sock.settimeout(10)
            data = sock.recv(4096)
        finally:
            sock.close()
    assert data[:1] == b"E" and b"08P01" in data and b"invalid message length" in data


def _cpu_seconds(pid: int) -> float:
    """CPU time of the server: the process and its worker processes (``--workers``, one per core by default)."""
    total = 0.0
    for each in (pid, *_children(pid)):
        try:
            fields = open(f"/proc/{each}/stat").read().rsplit(")", 1)[1].split()
        except FileNotFoundError:  # a worker gone since it was listed
            continue
        total += (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    return total


def _children(pid: int) -> list[int]:
    out = []
    for task in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{task}/children") as f:
            out += [int(c) for c in f.read().split()]
    return out


def _cpu_over(pid: int, seconds: float) -> float:
    before = _cpu_seconds(pid)
    time.sleep(seconds)
    return _cpu_seconds(pid) - before


def test_disconnect_mid_query_cancels_it(server):
    """The server's CPU use shows the query: busy while it runs, idle soon after its client vanished."""
    c = psycopg.connect(server.dsn(), autocommit=True)

    def run() -> None:
        try:
            c.execute(SLOW_QUERY)
        except psycopg.Error:
            pass

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    time.sleep(0.5)
    assert _cpu_over(server.process.pid, 0.5) > 0.25, "the slow query should keep the server busy"
    socket.socket(fileno=os.dup(c.pgconn.socket)).shutdown(socket.SHUT_RDWR)  # the client vanishes
    time.sleep(0.7)
    assert _cpu_over(server.process.pid, 0.5) < 0.15, "the query should have been cancelled"
    with psycopg.connect(server.dsn(), autocommit=True) as other:
        assert other.execute("SELECT 1").fetchone() == (1,)
    thread.join(10)
    c.close()


def test_second_client_served_during_slow_query_asyncpg(server):
    async def main() -> float:
        slow = await asyncpg.connect(host=server.host, port=server.port, user="analyst", database=server.database)
        task = asyncio.create_task(slow.fetchval(SLOW_QUERY))
        await asyncio.sleep(0.8)
        started = time.monotonic()
        fast = await asyncpg.connect(host=server.host, port=server.port, user="analyst", database=server.database)
        assert await fast.fetchval("SELECT count_customers FROM customer") > 0
        elapsed = time.monotonic() - started
        assert not task.done()
        await fast.close()
        slow.terminate()
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        return elapsed

    assert asyncio.run(main()) < 5
