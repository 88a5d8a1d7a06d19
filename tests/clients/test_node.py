"""Node.js clients from npm: node-postgres (`pg`) and postgres.js (`postgres`). The scripts print JSON that is
compared here with DuckDB ground truth. node_modules is installed once per run if missing (needs node and
npm: CI has them; the test fails, not skips, without them)."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.clients.conftest import TYPES_SQL

NODE_DIR = Path(__file__).parent / "node"
CUSTOMERS_SQL = "SELECT customer_id, customer_name, email FROM customer WHERE state = $1 ORDER BY customer_id LIMIT $2"


@pytest.fixture(scope="session")
def node_modules() -> Path:
    assert shutil.which("node") and shutil.which("npm"), "node and npm are required for the client matrix"
    if not (NODE_DIR / "node_modules" / "pg").exists() or not (NODE_DIR / "node_modules" / "postgres").exists():
        subprocess.run(["npm", "install", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True, timeout=300,
                       capture_output=True)
    return NODE_DIR / "node_modules"


def _run(script: str, server) -> dict:
    cfg = {"host": server.host, "port": server.port, "database": server.database, "types_sql": TYPES_SQL,
           "customers_sql": CUSTOMERS_SQL}
    result = subprocess.run(["node", script, json.dumps(cfg)], cwd=NODE_DIR, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def _expected(truth, ca_customers):
    counts = [truth.execute("SELECT count(*) FROM icebase.audience.customers_large_data WHERE state = ?", [s]).fetchone()[0]
              for s in ("CA", "NY", "CA")]
    return counts, [list(r) for r in ca_customers]


@pytest.mark.parametrize("script", ["pg_client.mjs", "postgres_client.mjs"])
def test_node_client(script, node_modules, server, truth, ca_customers):
    out = _run(script, server)
    counts, customers = _expected(truth, ca_customers)
    assert [int(c) for c in out["counts"]] == counts
    assert int(out["null_param"]) == 0
    assert out["customers"] == customers
    assert out["error_code"] == "42703"
    assert int(out["after_error"]) == 1
    types = out["types"][0]
    # i2 i4 i8 f4 f8 num t vc nm b d tm ts tstz iv u by j tarr nul
    assert [int(types[0]), int(types[1]), int(types[2])] == [1, 2, 3]
    assert [float(types[3]), float(types[4]), str(types[5])] == [1.5, 2.5, "1.25"]
    assert types[6:10] == ["x", "v", "n", True]
    assert types[11] == "01:02:03"
    assert types[13] == "2024-01-02T03:04:05.000Z"
    assert types[15] == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    assert types[16] == "\\x0102"
    assert types[17] in ({"a": 1}, '{"a":1}')
    if script == "pg_client.mjs":
        assert types[18] == ["a", None, "c"]
    else:
        # postgres.js parses text[] once it has learnt the array types from the catalog's pg_type on connect
        # (unknown, it would hand back the raw '{a,NULL,c}'); its parser reads an unquoted NULL as the string
        # 'NULL', against PostgreSQL too
        assert types[18] == ["a", "NULL", "c"]
    assert types[19] is None
