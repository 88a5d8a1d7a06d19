"""``--workers N``: several server processes on one port, behaving as one server.

One module-scoped server with two workers: connections reach both, a CancelRequest reaching the worker
that does not run the query still cancels it, max_connections counts every worker's connections, SIGHUP
reaches every worker (and the server keeps serving), SIGTERM is a fast shutdown of all of them.
"""

from __future__ import annotations

import signal
import threading
import time

import psycopg
import pytest

from proxy.workers import worker_of
from tests.conftest import LENS_DIR, start_server, stop_server

SLOW = "SELECT sum(a * b) FROM generate_series(1, 200000) a, generate_series(1, 200000) b"


@pytest.fixture(scope="module")
def workers(demo_file):
    server = start_server([LENS_DIR], [str(demo_file)], "--workers", "2", "--max-connections", "6")
    yield server
    stop_server(server)
    assert server.process.returncode == 0


def connect(server, **extra) -> psycopg.Connection:
    return psycopg.connect(server.dsn(**extra), autocommit=True, connect_timeout=10)


def test_connections_reach_every_worker(workers, truth):
    seen = set()
    expected = truth.execute("SELECT count(*) FROM icebase.audience.customers_large_data").fetchone()[0]
    for _ in range(40):
        with connect(workers) as c:
            seen.add(worker_of(c.execute("SELECT pg_backend_pid()").fetchone()[0]))
            assert c.execute("SELECT count_customers FROM customer").fetchone()[0] == expected
        if seen == {0, 1}:
            break
    assert seen == {0, 1}


def test_cancel_reaches_the_query_on_any_worker(workers):
    owners = set()
    for _ in range(6):  # psycopg's cancel opens its own connection: it lands on either worker
        with connect(workers, options="'-c lens.result_cache=off'") as c:
            owners.add(worker_of(c.info.backend_pid))
            timer = threading.Timer(0.3, c.cancel)
            timer.start()
            started = time.monotonic()
            with pytest.raises(psycopg.errors.QueryCanceled):
                c.execute(SLOW)
            assert time.monotonic() - started < 20
            timer.join()
            assert c.execute("SELECT 1").fetchone() == (1,)


def test_max_connections_counts_every_worker(workers):
    # which worker accepts a connection is the kernel's choice (a busy one accepts later): tried until the
    # connections span both workers, so the limit is shown to count across them
    spans = []
    for _ in range(5):
        opened = []
        try:
            with pytest.raises(psycopg.OperationalError, match="too many clients"):
                for _ in range(8):
                    opened.append(connect(workers))
            assert len(opened) >= 5  # the limit (6) counts the refused one too, as PostgreSQL's does
            spans.append(len({worker_of(c.info.backend_pid) for c in opened}))
        finally:
            for c in opened:
                c.close()
        time.sleep(0.2)
        if spans[-1] == 2:
            break
    assert spans[-1] == 2, f"connections never reached both workers: {spans}"
    with connect(workers) as c:  # room again once they are gone
        assert c.execute("SELECT 1").fetchone() == (1,)


def test_reload_reaches_every_worker_and_serving_goes_on(workers):
    workers.process.send_signal(signal.SIGHUP)
    time.sleep(0.5)
    for _ in range(6):
        with connect(workers) as c:
            assert c.execute("SELECT count_customers FROM customer").fetchone()[0] > 0
    assert workers.process.poll() is None


def test_fast_shutdown_of_every_worker(demo_file):
    server = start_server([LENS_DIR], [str(demo_file)], "--workers", "2")
    sessions = [connect(server) for _ in range(4)]
    try:
        stop_server(server)
        assert server.process.returncode == 0
        for c in sessions:
            with pytest.raises(psycopg.OperationalError):
                c.execute("SELECT 1")
    finally:
        for c in sessions:
            c.close()


def test_workers_stop_when_their_supervisor_is_killed(demo_file):
    """SIGKILL leaves the supervisor no chance to forward anything: the workers still stop (and free the port)
    instead of serving on as orphans."""
    import os

    server = start_server([LENS_DIR], [str(demo_file)], "--workers", "2")
    supervisor = server.process.pid
    children = []
    for task in os.listdir(f"/proc/{supervisor}/task"):
        with open(f"/proc/{supervisor}/task/{task}/children") as f:
            children += [int(c) for c in f.read().split()]
    assert len(children) == 2
    server.process.kill()
    server.process.wait(timeout=10)
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(os.path.exists(f"/proc/{c}") for c in children):
        for c in children:  # reap nothing (they are not ours): a zombie's /proc/<pid>/stat says Z
            try:
                with open(f"/proc/{c}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        children.remove(c)
            except FileNotFoundError:
                children.remove(c)
        time.sleep(0.1)
    assert not children, f"workers {children} outlived their supervisor"
    with pytest.raises(psycopg.OperationalError):
        psycopg.connect(server.dsn(), connect_timeout=3)
