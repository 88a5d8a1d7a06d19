"""/metrics: Prometheus exposition (parsed with prometheus_client's parser) that moves as clients work.

Every figure is checked against what the test itself did over the wire: rows counted by the client, the
statements it sent, the connections it opened, an error the engine raised.
"""

from __future__ import annotations

import psycopg
import pytest

from tests.proxy.ops.conftest import http_get, scrape, value

LENS = "customer_360"


def test_the_exposition_parses_and_names_every_family(ops_server):
    samples = scrape(ops_server)
    names = {name for name, _ in samples}
    for family in ("lens_proxy_connections_open", "lens_proxy_connections_total", "lens_proxy_worker_queue_depth",
                   "lens_proxy_worker_threads", "lens_proxy_engine_calls_in_flight", "lens_proxy_sessions",
                   "lens_proxy_lens_loaded_timestamp_seconds", "lens_proxy_lens_reload_failing", "process_cpu_seconds_total"):
        assert family in names, f"{family} missing from /metrics"
    assert value(samples, "lens_proxy_worker_threads") >= 1
    for lens in (LENS, "customer_360_journeys", "customer_360_governed"):
        assert value(samples, "lens_proxy_lens_loaded_timestamp_seconds", lens=lens) > 0
        assert value(samples, "lens_proxy_lens_reload_failing", lens=lens) == 0


def test_queries_rows_bytes_and_stages_move_with_what_clients_do(ops_server, truth):
    before = scrape(ops_server)
    sql = "SELECT state, count_customers FROM customer GROUP BY state"
    expected_rows = truth.execute("SELECT count(DISTINCT state) FROM icebase.audience.customers_large_data").fetchone()[0]
    with ops_server.connect() as conn:
        rows = conn.execute(sql).fetchall()
        again = conn.execute(sql).fetchall()  # the same text: a plan (rewrite cache) and result cache hit
        with pytest.raises(psycopg.errors.UndefinedColumn):
            conn.execute("SELECT no_such_member FROM customer")
        conn.execute("SET application_name = 'metrics-test'")
    assert len(rows) == len(again) == expected_rows
    after = scrape(ops_server)

    def delta(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    assert delta("lens_proxy_queries_total", lens=LENS, kind="query", outcome="ok", sqlstate_class="00") == 2
    assert delta("lens_proxy_queries_total", lens=LENS, kind="query", outcome="error", sqlstate_class="42") == 1
    assert delta("lens_proxy_queries_total", lens=LENS, kind="set", outcome="ok", sqlstate_class="00") == 1
    assert delta("lens_proxy_rows_sent_total", lens=LENS) == 2 * expected_rows
    assert delta("lens_proxy_bytes_sent_total", lens=LENS) > 2 * expected_rows * 7  # a DataRow is >= 7 bytes here
    assert delta("lens_proxy_query_duration_seconds_count", lens=LENS) == 4
    # the engine ran once: the second answer came from the result cache, and was still streamed
    for stage, runs in (("engine", 1), ("stream", 2)):
        assert delta("lens_proxy_query_stage_seconds_count", lens=LENS, stage=stage) == runs
        assert delta("lens_proxy_query_stage_seconds_sum", lens=LENS, stage=stage) > 0
    assert delta("lens_proxy_result_cache_requests_total", lens=LENS, result="hit") == 1
    assert delta("lens_proxy_result_cache_requests_total", lens=LENS, result="miss") == 1
    assert delta("lens_proxy_query_stage_seconds_count", lens=LENS, stage="rewrite") == 3  # the failing one too
    assert delta("lens_proxy_rewrite_cache_requests_total", lens=LENS, result="hit") >= 1
    assert delta("lens_proxy_rewrite_cache_requests_total", lens=LENS, result="miss") >= 1
    bucket = 'lens_proxy_query_stage_seconds_bucket'
    assert delta(bucket, lens=LENS, stage="engine", le="+Inf") == 1


def test_connections_current_total_and_refused(ops_server):
    before = scrape(ops_server)
    conns = [ops_server.connect() for _ in range(3)]
    try:
        during = scrape(ops_server)
        assert value(during, "lens_proxy_connections_open") - value(before, "lens_proxy_connections_open") == 3
        assert value(during, "lens_proxy_sessions", lens=LENS) - value(before, "lens_proxy_sessions", lens=LENS) == 3
        assert value(during, "lens_proxy_connections_total") - value(before, "lens_proxy_connections_total") == 3
    finally:
        for conn in conns:
            conn.close()
    with pytest.raises(psycopg.OperationalError, match="password authentication failed"):
        psycopg.connect(ops_server.server.dsn(user="analyst", password="wrong"), connect_timeout=10)
    with pytest.raises(psycopg.OperationalError, match="does not exist"):
        psycopg.connect(ops_server.dsn(database="no_such_lens"), connect_timeout=10)
    after = scrape(ops_server)
    assert value(after, "lens_proxy_connections_refused_total", sqlstate="28P01") - \
        value(before, "lens_proxy_connections_refused_total", sqlstate="28P01") == 1
    assert value(after, "lens_proxy_connections_refused_total", sqlstate="3D000") - \
        value(before, "lens_proxy_connections_refused_total", sqlstate="3D000") == 1
    assert value(after, "lens_proxy_connections_open") == value(before, "lens_proxy_connections_open")


def test_an_engine_error_counts_as_a_backend_error(ops_server):
    before = scrape(ops_server)
    with ops_server.connect() as conn, pytest.raises(psycopg.errors.InvalidTextRepresentation):
        conn.execute("SELECT CAST(state AS integer) FROM customer").fetchall()
    after = scrape(ops_server)
    assert value(after, "lens_proxy_backend_errors_total", backend="duckdb", sqlstate_class="22") - \
        value(before, "lens_proxy_backend_errors_total", backend="duckdb", sqlstate_class="22") == 1
    assert value(after, "lens_proxy_queries_total", lens=LENS, kind="query", outcome="error", sqlstate_class="22") - \
        value(before, "lens_proxy_queries_total", lens=LENS, kind="query", outcome="error", sqlstate_class="22") == 1


def test_http_basics(ops_server):
    status, headers, body = http_get(ops_server.url("/metrics"), method="HEAD")
    assert status == 200 and body == b"" and int(headers["content-length"]) > 1000
    assert http_get(ops_server.url("/nope"))[0] == 404
    assert http_get(ops_server.url("/metrics"), method="POST")[0] == 405
    status, _, body = http_get(ops_server.url("/healthz"))
    assert status == 200 and b'"ok"' in body


def test_worker_processes_sharing_a_metrics_directory_report_their_sum(demo_file, tmp_path, monkeypatch):
    """Several lens-proxy processes (as ``--workers`` runs them) write to one PROMETHEUS_MULTIPROC_DIR: a
    scrape of any of them counts the statements of all, and a stopped worker's live gauges are dropped."""
    from proxy.ops.metrics import worker_exited
    from tests.proxy.logged_server import stop
    from tests.proxy.ops.conftest import start_ops_server

    monkeypatch.setenv("PROMETHEUS_MULTIPROC_DIR", str(tmp_path / "metrics"))
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = start_ops_server(tmp_path / "a", demo_file)
    second = start_ops_server(tmp_path / "b", demo_file)
    try:
        held = psycopg.connect(second.server.dsn(), autocommit=True, connect_timeout=10)
        for ops, n in ((first, 2), (second, 3)):
            with psycopg.connect(ops.server.dsn(), autocommit=True, connect_timeout=10) as conn:
                for _ in range(n):
                    conn.execute("SELECT count_customers FROM customer").fetchall()
        for ops in (first, second):
            samples = scrape(ops)
            assert value(samples, "lens_proxy_queries_total", lens=LENS, kind="query", outcome="ok",
                         sqlstate_class="00") == 5
            assert value(samples, "lens_proxy_connections_total") == 3
            assert value(samples, "lens_proxy_connections_open") == 1  # the one held open on the second
        second.server.process.kill()  # a worker dies with a connection open
        second.server.process.wait(timeout=10)
        held.close()
        assert value(scrape(first), "lens_proxy_connections_open") == 1  # its last word, until the supervisor says
        worker_exited(second.server.process.pid)  # what the supervisor does when a worker is gone
        samples = scrape(first)
        assert value(samples, "lens_proxy_connections_open") == 0
        assert value(samples, "lens_proxy_queries_total", lens=LENS, kind="query", outcome="ok",
                     sqlstate_class="00") == 5  # counters keep what the dead worker did
    finally:
        if second.server.process.poll() is None:
            second.server.process.kill()
        assert stop(first.server) == 0


def test_one_side_port_sums_every_worker_of_a_server(demo_file, tmp_path):
    """``--workers 2``: the side port is one socket served by both workers, and whichever answers a scrape
    counts the statements and connections of both."""
    from tests.proxy.logged_server import stop
    from tests.proxy.ops.conftest import start_ops_server

    ops = start_ops_server(tmp_path, demo_file, "--workers", "2")
    try:
        conns = [psycopg.connect(ops.server.dsn(), autocommit=True, connect_timeout=10) for _ in range(6)]
        for conn in conns:
            conn.execute("SELECT count_customers FROM customer").fetchall()
        for _ in range(4):  # several scrapes: any worker may answer each
            samples = scrape(ops)
            assert value(samples, "lens_proxy_queries_total", lens=LENS, kind="query", outcome="ok",
                         sqlstate_class="00") == 6
            assert value(samples, "lens_proxy_connections_open") == 6
            # the process collector's figures, per worker and summed (prometheus_client has none in this mode)
            assert "process_cpu_seconds_total" not in {name for name, _ in samples}
            assert value(samples, "lens_proxy_workers_cpu_seconds") > 0
            assert value(samples, "lens_proxy_workers_resident_memory_bytes") > 2 * 20 * 2**20  # two engines
            assert value(samples, "lens_proxy_workers_open_fds") > 2 * 3
        for conn in conns:
            conn.close()
    finally:
        assert stop(ops.server) == 0
