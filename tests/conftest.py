"""Shared fixtures: small generated demo data, a real lens-proxy server process, real clients, ground truth.

The server runs as a subprocess started through the CLI (``lens-proxy serve --port 0``), so every test talks
to it over a real socket exactly as a user's client would. Ground truth comes from DuckDB reading the raw
tables of the same file directly, through SQL written by hand in the tests, never through the rewriter.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import duckdb
import psycopg
import pytest

from tests.pgserver import PostgresServer

ROOT = Path(__file__).resolve().parent.parent
LENS_DIR = ROOT / "lenses" / "customer_360"
TEST_CUSTOMERS = 600
TEST_SEED = 7


@dataclass
class RunningServer:
    host: str
    port: int
    process: subprocess.Popen
    database: str = "customer_360"

    def dsn(self, **extra: str) -> str:
        parts = {"host": self.host, "port": str(self.port), "user": "analyst", "dbname": self.database}
        parts.update(extra)
        return " ".join(f"{k}={v}" for k, v in parts.items())


def start_server(lens_dirs: Sequence[Path], duckdb_files: Sequence[str], *extra: str) -> RunningServer:
    cmd = [sys.executable, "-m", "proxy.cli", "serve", "--port", "0", "--log-level", "WARNING", *extra]
    for d in lens_dirs:
        cmd += ["--lens", str(d)]
    for f in duckdb_files:
        cmd += ["--duckdb", f]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    assert proc.stdout is not None
    lines = []
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line)
        match = re.search(r"on ([\d.]+):(\d+)", line)
        if match and "serving" in line:
            return RunningServer(match.group(1), int(match.group(2)), proc)
    proc.kill()
    raise RuntimeError("lens-proxy did not start:\n" + "".join(lines))


@contextlib.contextmanager
def lens_server(tmp_dir: Path, lens_dir: Path, database: str, catalog: str, setup_sql: str) -> Iterator[RunningServer]:
    """A lens-proxy serving ``lens_dir`` over a DuckDB file (catalog ``catalog``) built by ``setup_sql``."""
    path = tmp_dir / f"{catalog}.duckdb"
    con = duckdb.connect(str(path))
    con.execute(setup_sql)
    con.close()
    server = start_server([lens_dir], [str(path)])
    server.database = database
    try:
        yield server
    finally:
        stop_server(server)


def stop_server(server: RunningServer) -> None:
    server.process.send_signal(signal.SIGTERM)
    try:
        server.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        server.process.kill()


@pytest.fixture(scope="session")
def demo_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The Customer 360 demo data at test scale, generated once per run with the project's generator."""
    from proxy.generate import GENERATORS

    out = tmp_path_factory.mktemp("data") / "icebase.duckdb"
    GENERATORS["customer_360"](out, customers=TEST_CUSTOMERS, seed=TEST_SEED, end_date=dt.date.today())
    return out


@pytest.fixture(scope="session")
def server(demo_file: Path) -> Iterator[RunningServer]:
    running = start_server([LENS_DIR], [str(demo_file)])
    yield running
    stop_server(running)
    assert running.process.returncode == 0, "lens-proxy did not shut down cleanly on SIGTERM"


@pytest.fixture(scope="session")
def truth(demo_file: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """Direct DuckDB access to the raw tables, for hand-written ground-truth SQL."""
    con = duckdb.connect()
    con.execute(f"ATTACH '{demo_file}' AS icebase (READ_ONLY)")
    yield con
    con.close()


@pytest.fixture(scope="session")
def postgres(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    """A real PostgreSQL (Debian's package), started once per test session: the oracle and a backend."""
    with PostgresServer.start(tmp_path_factory.mktemp("postgres")) as pg:
        yield pg


@pytest.fixture
def conn(server: RunningServer) -> Iterator[psycopg.Connection]:
    with psycopg.connect(server.dsn(), autocommit=True, connect_timeout=10) as c:
        yield c


def run_psql(server: RunningServer, sql: str, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    """The real psql binary: unaligned, tuples only, '|' separated, no psqlrc."""
    env = {**os.environ, "PGCONNECT_TIMEOUT": "10"}
    cmd = ["psql", "-X", "-h", server.host, "-p", str(server.port), "-U", "analyst", "-d", server.database,
           "-v", "ON_ERROR_STOP=1", *args, "-c", sql]
    result = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    if check and result.returncode != 0:
        raise AssertionError(f"psql failed ({result.returncode}): {result.stderr}")
    return result


def normalize(value: object) -> object:
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return value


def rows_equal(actual: Sequence[Sequence[object]], expected: Sequence[Sequence[object]], *, ordered: bool) -> None:
    """Assert two result sets are equal (floats compared to 1e-9 relative), as multisets unless ordered."""
    actual = [tuple(normalize(v) for v in r) for r in actual]
    expected = [tuple(normalize(v) for v in r) for r in expected]
    assert len(actual) == len(expected), f"row count {len(actual)} != expected {len(expected)}"
    if not ordered:
        key = lambda r: tuple((v is None, str(type(v)), round(v, 6) if isinstance(v, float) else v) for v in r)  # noqa: E731
        actual, expected = sorted(actual, key=key), sorted(expected, key=key)
    for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
        assert len(a) == len(e), f"row {i}: {len(a)} columns != {len(e)}"
        for j, (x, y) in enumerate(zip(a, e, strict=True)):
            if isinstance(x, float) or isinstance(y, float):
                assert x is not None and y is not None and math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9), (
                    f"row {i} col {j}: {x!r} != {y!r}\nactual row: {a}\nexpected row: {e}"
                )
            else:
                assert x == y, f"row {i} col {j}: {x!r} != {y!r}\nactual row: {a}\nexpected row: {e}"
