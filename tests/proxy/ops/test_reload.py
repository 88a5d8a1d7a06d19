"""Hot reload: lens edits reach connected sessions without a reconnect; a broken edit keeps the old version.

Each server here serves its own copy of the seed lens, which the tests edit: one reloads on SIGHUP only
(``--reload-interval 0``), one polls the files. The psql test keeps one real psql process open across the
reload and checks it is the same backend session (pg_backend_pid) before and after.
"""

from __future__ import annotations

import json
import queue
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from tests.conftest import LENS_DIR
from tests.proxy.logged_server import stop
from tests.proxy.ops.conftest import OpsServer, http_get, scrape, start_ops_server, value

LENS_FILE = "customer_360.yml"
NEW_MEASURE = """      - name: count_states
        sql_snippet: ${customer.state}
        type: count_distinct
        description: states with at least one customer
"""
ANCHOR = "    measures:\n      - name: count_customers\n"


def _lens_copy(tmp: Path) -> Path:
    lens = tmp / "customer_360"
    shutil.copytree(LENS_DIR, lens)
    return lens


def _edit(lens: Path, old: str, new: str) -> None:
    path = lens / LENS_FILE
    text = path.read_text()
    assert text.count(old) == 1, old
    path.write_text(text.replace(old, new))


def _server(tmp_path_factory, demo_file, name: str, interval: str) -> Iterator[tuple[OpsServer, Path]]:
    tmp = tmp_path_factory.mktemp(name)
    lens = _lens_copy(tmp)
    ops = start_ops_server(tmp, demo_file, "--reload-interval", interval, lens_dirs=(lens,))
    yield ops, lens
    assert stop(ops.server) == 0
    defects = ops.server.defects_since(0)
    assert not defects, "\n".join(defects)


@pytest.fixture(scope="module")
def on_sighup(tmp_path_factory, demo_file):
    yield from _server(tmp_path_factory, demo_file, "reload-sighup", "0")


@pytest.fixture(scope="module")
def polling(tmp_path_factory, demo_file):
    yield from _server(tmp_path_factory, demo_file, "reload-poll", "0.2")


def _wait_for(predicate, timeout: float = 15, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def _reloads(ops: OpsServer, outcome: str) -> float:
    return value(scrape(ops), "lens_proxy_lens_reloads_total", lens="customer_360", outcome=outcome)


def _hup_and_wait(ops: OpsServer, outcome: str) -> None:
    before = _reloads(ops, outcome)
    ops.server.process.send_signal(signal.SIGHUP)
    _wait_for(lambda: _reloads(ops, outcome) > before, what=f"a reload ({outcome})")


class Psql:
    """One interactive psql process: statements in on stdin, rows out, the session kept open."""

    def __init__(self, ops: OpsServer) -> None:
        server = ops.server
        self.proc = subprocess.Popen(
            ["psql", "-X", "-A", "-t", "-F", "|", "-h", server.host, "-p", str(server.port), "-U", "analyst",
             "customer_360"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            bufsize=1)
        self.lines: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put(line.rstrip("\n"))

    def run(self, sql: str, timeout: float = 20) -> list[str]:
        """The output lines of ``sql`` (errors included); a marker query shows where they end."""
        assert self.proc.stdin is not None
        self.proc.stdin.write(f"{sql};\nSELECT '__done__';\n")
        self.proc.stdin.flush()
        lines: list[str] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=0.5)
            except queue.Empty:
                assert self.proc.poll() is None, f"psql exited: {lines}"
                continue
            if line.strip() == "__done__":
                return lines
            lines.append(line)
        raise AssertionError(f"psql did not answer: {lines}")

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        self.proc.wait(timeout=10)


def test_sighup_swaps_the_lens_under_a_connected_psql_session(on_sighup, truth):
    ops, lens = on_sighup
    states = truth.execute("SELECT count(DISTINCT state) FROM icebase.audience.customers_large_data").fetchone()[0]
    psql = Psql(ops)
    try:
        pid = psql.run("SELECT pg_backend_pid()")
        assert any("does not exist" in line for line in psql.run("SELECT count_states FROM customer"))
        _edit(lens, ANCHOR, "    measures:\n" + NEW_MEASURE + "      - name: count_customers\n")
        time.sleep(0.5)  # without SIGHUP (no polling here) nothing changes
        assert any("does not exist" in line for line in psql.run("SELECT count_states FROM customer"))
        _hup_and_wait(ops, "swapped")
        assert psql.run("SELECT count_states FROM customer") == [str(states)]
        assert psql.run("SELECT pg_backend_pid()") == pid  # the same session, never reconnected
        columns = psql.run("SELECT column_name FROM information_schema.columns WHERE table_name = 'customer' "
                           "AND column_name = 'count_states'")
        assert columns == ["count_states"]  # the catalog follows the lens
    finally:
        psql.close()


def test_a_broken_edit_keeps_the_previous_version_serving(on_sighup, truth):
    ops, lens = on_sighup
    offset = ops.server.log_size()
    with psycopg.connect(ops.server.dsn(), autocommit=True, connect_timeout=10) as conn:
        good = conn.execute("SELECT count_customers FROM customer").fetchone()
        _edit(lens, "        type: count\n        description: count of total customers\n",
              "        type: countt\n        description: count of total customers\n")
        _hup_and_wait(ops, "invalid")
        assert conn.execute("SELECT count_customers FROM customer").fetchone() == good
        status, _, body = http_get(ops.url("/readyz"))
        report = json.loads(body)["lenses"]["customer_360"]
        assert status == 200 and report["loaded"] and report["reload_failing"]
        assert any("countt" in issue for issue in report["issues"])
        assert value(scrape(ops), "lens_proxy_lens_reload_failing", lens="customer_360") == 1
        log = ops.server.log()[offset:]
        line = next(line for line in log.splitlines() if "countt" in line)
        assert re.search(rf"{re.escape(str(lens / LENS_FILE))}:\d+ entities\[0\]\.measures\[\d\]", line), line
        assert "keeps serving" in log
        _edit(lens, "        type: countt\n", "        type: count\n")  # undone: the files are what serves
        ops.server.process.send_signal(signal.SIGHUP)
        _wait_for(lambda: value(scrape(ops), "lens_proxy_lens_reload_failing", lens="customer_360") == 0,
                  what="the lens to be marked valid again")
        assert not json.loads(http_get(ops.url("/readyz"))[2])["lenses"]["customer_360"]["reload_failing"]
        assert conn.execute("SELECT count_customers FROM customer").fetchone() == good


def test_polling_sees_an_edit_drops_cached_rewrites_and_running_queries_finish_on_their_version(polling, truth):
    ops, lens = polling
    sql = "SELECT state, count_customers FROM customer GROUP BY state ORDER BY state"
    customers = truth.execute("SELECT state, count(*) FROM icebase.audience.customers_large_data "
                              "GROUP BY state ORDER BY state").fetchall()
    states = truth.execute("SELECT state, count(DISTINCT zip) FROM icebase.audience.customers_large_data "
                           "GROUP BY state ORDER BY state").fetchall()
    with psycopg.connect(ops.server.dsn(), autocommit=True, connect_timeout=10) as conn:
        assert conn.execute(sql).fetchall() == customers
        assert conn.execute(sql).fetchall() == customers  # now a rewrite cache hit
        conn.execute("BEGIN")
        conn.execute("DECLARE c CURSOR FOR SELECT customer_id, state FROM customer ORDER BY customer_id")
        first = conn.execute("FETCH 10 FROM c").fetchall()
        # the measure changes meaning, and the field the open cursor reads is renamed
        _edit(lens, "        sql_snippet: ${customer.customer_id}\n        type: count\n",
              "        sql_snippet: ${customer.zip}\n        type: count_distinct\n")
        _edit(lens, "      - name: state\n        type: string\n", "      - name: state_code\n        type: string\n")
        text = (lens / LENS_FILE).read_text().replace("${customer.state}", "${customer.state_code}")
        (lens / LENS_FILE).write_text(text)
        _wait_for(lambda: _reloads(ops, "swapped") >= 1, what="the polled reload")
        rest = conn.execute("FETCH ALL FROM c").fetchall()  # started on the old version: finishes on it
        conn.execute("COMMIT")
        expected = truth.execute("SELECT customer_id, state FROM icebase.audience.customers_large_data "
                                 "ORDER BY customer_id").fetchall()
        assert first + rest == expected
        with pytest.raises(psycopg.errors.UndefinedColumn):
            conn.execute(sql)
        renamed = "SELECT state_code, count_customers FROM customer GROUP BY state_code ORDER BY state_code"
        assert conn.execute(renamed).fetchall() == states  # the new definition, not a cached old rewrite
