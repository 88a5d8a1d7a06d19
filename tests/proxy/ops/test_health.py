"""/healthz and /readyz against a real PostgreSQL backend that the test stops and starts again.

This module starts a PostgreSQL of its own (tests/pgserver.py, once for the module): the outage is a real
server going away, and the session's shared one keeps serving the other tests. lens-proxy serves the seed
lens from it (the demo tables exported into it) and the journeys lens from embedded DuckDB, so readiness
shows one backend down and the other up.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import time
from collections.abc import Iterator

import duckdb
import psycopg
import pytest

from proxy.generate import GENERATORS
from proxy.generate.formats import export
from tests.conftest import LENS_DIR, ROOT
from tests.pgserver import PostgresServer
from tests.proxy.logged_server import LoggedServer, stop
from tests.proxy.ops.conftest import JOURNEYS, OpsServer, http_get, scrape, value

SQL = "SELECT state, count_customers FROM customer GROUP BY state"
TRUTH = "SELECT state, count(*) FROM icebase.audience.customers_large_data GROUP BY state"


@pytest.fixture(scope="module")
def outage(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[OpsServer, PostgresServer, duckdb.DuckDBPyConnection]]:
    tmp = tmp_path_factory.mktemp("health")
    demo = tmp / "icebase.duckdb"
    GENERATORS["customer_360"](demo, customers=60, seed=3, end_date=dt.date.today())
    with PostgresServer.start(tmp / "pg") as pg:
        pg.createdb("lens_backend")
        export(demo, "postgres", pg.url("lens_backend"))
        config = tmp / "lens-proxy.yaml"
        config.write_text(
            "server: {http_port: 0, log_format: json, reload_interval: 0, workers: 1}\n"
            f"backends:\n  warehouse: {{type: postgres, dsn: '{pg.url('lens_backend')}'}}\n"
            f"  lake: {{type: duckdb, duckdb_files: [{{path: '{demo}', catalog: icebase}}]}}\n"
            f"lenses:\n  - {{path: '{LENS_DIR}', backend: warehouse}}\n  - {{path: '{JOURNEYS}', backend: lake}}\n")
        log_path = tmp / "lens-proxy.log"
        with open(log_path, "w") as log:
            proc = subprocess.Popen([sys.executable, "-m", "proxy.cli", "serve", "--config", str(config), "--port", "0"],
                                    cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True)
        server = _wait_started(proc, log_path)
        truth = duckdb.connect()
        truth.execute(f"ATTACH '{demo}' AS icebase (READ_ONLY)")
        try:
            yield server, pg, truth
        finally:
            truth.close()
            assert stop(server.server) == 0
            assert not server.server.defects_since(0), "\n".join(server.server.defects_since(0))


def _wait_started(proc: subprocess.Popen, log_path) -> OpsServer:
    import re

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        text = log_path.read_text()
        serving = re.search(r"serving .* on ([\d.]+):(\d+)", text)
        http = re.search(r"HTTP side port on [\d.]+:(\d+)", text)
        if serving and http:
            server = LoggedServer(serving.group(1), int(serving.group(2)), proc, log_path=log_path)
            return OpsServer(server, int(http.group(1)))
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("lens-proxy did not start:\n" + log_path.read_text())


def _ready(ops: OpsServer, want: bool, timeout: float = 20) -> dict:
    """Poll /readyz until it says ``want`` (its answer is shared for a second); the last body."""
    deadline = time.monotonic() + timeout
    while True:
        status, headers, body = http_get(ops.url("/readyz"))
        assert headers["content-type"] == "application/json"
        report = json.loads(body)
        if (status == 200) == want or time.monotonic() > deadline:
            assert (status == 200) == want, report
            assert report["status"] == ("ready" if want else "not ready")
            return report
        time.sleep(0.3)


def test_readiness_follows_the_backend_and_liveness_does_not(outage):
    ops, pg, truth = outage
    report = _ready(ops, True)
    assert report["backends"]["warehouse"]["up"] and report["backends"]["lake"]["up"]
    assert report["lenses"]["customer_360"]["loaded"] and report["lenses"]["customer_360_journeys"]["loaded"]
    conn = psycopg.connect(ops.server.dsn(), autocommit=True, connect_timeout=10)
    conn.execute("SET lens.result_cache = off")  # kept results of a live backend would answer for 10 s
    assert sorted(conn.execute(SQL).fetchall()) == sorted(truth.execute(TRUTH).fetchall())
    before = scrape(ops)

    pg.stop()
    try:
        report = _ready(ops, False)
        assert not report["backends"]["warehouse"]["up"] and report["backends"]["warehouse"]["error"]
        assert report["backends"]["lake"]["up"]
        status, _, body = http_get(ops.url("/healthz"))
        assert status == 200 and json.loads(body)["status"] == "ok"
        with pytest.raises(psycopg.OperationalError) as raised:  # the backend's connection is gone
            conn.execute(SQL).fetchall()
        assert raised.value.sqlstate.startswith("08") or raised.value.sqlstate == "57P01", raised.value.sqlstate
        assert conn.execute("SELECT 1").fetchone() == (1,)  # the client's session outlives its backend's outage
        after = scrape(ops)
        assert value(after, "lens_proxy_backend_up", backend="warehouse") == 0
        assert value(after, "lens_proxy_backend_up", backend="lake") == 1
        errors = sum(value(after, "lens_proxy_backend_errors_total", backend="warehouse", sqlstate_class=c)
                     - value(before, "lens_proxy_backend_errors_total", backend="warehouse", sqlstate_class=c)
                     for c in ("08", "57"))
        assert errors == 1
    finally:
        pg.restart()
    report = _ready(ops, True)
    assert report["backends"]["warehouse"]["up"]
    with psycopg.connect(ops.server.dsn(), autocommit=True, connect_timeout=10) as fresh:
        assert sorted(fresh.execute(SQL).fetchall()) == sorted(truth.execute(TRUTH).fetchall())
    conn.close()
