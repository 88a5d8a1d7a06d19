"""psql: queries, \\copy to a CSV file, Ctrl-C (SIGINT makes psql send a CancelRequest)."""

from __future__ import annotations

import csv
import os
import signal
import subprocess
import time

from tests.clients.conftest import SLOW_QUERY
from tests.conftest import run_psql


def test_query_with_nulls(server, ca_customers):
    out = run_psql(server, "SELECT customer_id, customer_name, email FROM customer WHERE state = 'CA' "
                           "ORDER BY customer_id LIMIT 5", "-A", "-t", "-F", "|", "-P", "null=<null>").stdout
    expected = ["|".join("<null>" if v is None else str(v) for v in row) for row in ca_customers]
    assert out.strip().splitlines() == expected


def test_backslash_copy_csv_header(server, truth, tmp_path):
    target = tmp_path / "ca.csv"
    run_psql(server, f"\\copy (SELECT customer_id, email FROM customer WHERE state = 'CA' ORDER BY customer_id) "
                     f"to '{target}' csv header")
    with target.open(newline="") as f:
        rows = list(csv.reader(f))
    expected = truth.execute(
        "SELECT customer_id, coalesce(email, '') FROM icebase.audience.customers_large_data WHERE state = 'CA' ORDER BY 1"
    ).fetchall()
    assert rows[0] == ["customer_id", "email"]
    assert [tuple(r) for r in rows[1:]] == expected


def test_copy_from_is_refused(server):
    result = run_psql(server, "COPY customer FROM STDIN", check=False)
    assert result.returncode != 0 and "read-only" in result.stderr


def test_ctrl_c_cancels_the_query(server):
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    cmd = ["psql", "-X", "-h", server.host, "-p", str(server.port), "-U", "analyst", "-d", server.database,
           "-c", SLOW_QUERY]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    time.sleep(1.0)
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert time.monotonic() - started < 10
    assert "canceling statement due to user request" in err
    assert run_psql(server, "SELECT 1", "-A", "-t").stdout.strip() == "1"
