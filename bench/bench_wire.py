"""Wire-protocol throughput: simple-query round trips per second from one psycopg client, and the time to
stream 1M rows, lens-proxy vs a throwaway local PostgreSQL (started with initdb/pg_ctl as user postgres;
skipped with a message when it cannot start). Prints the ratios.

    .venv/bin/python bench/bench_wire.py [--seconds 3] [--rows 1000000]
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psycopg

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import LENS_DIR, start_server, stop_server  # noqa: E402


def round_trips(dsn: str, seconds: float) -> float:
    with psycopg.connect(dsn, autocommit=True) as c:
        for _ in range(50):
            c.execute("SELECT 1").fetchone()
        n, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            c.execute("SELECT 1").fetchone()
            n += 1
        return n / (time.perf_counter() - started)


def stream(dsn: str, rows: int) -> float:
    with psycopg.connect(dsn, autocommit=True) as c:
        started = time.perf_counter()
        cur = c.execute(f"SELECT i, i * 0.5 AS half, 'row' AS label FROM generate_series(1, {rows}) AS g(i)")
        n = sum(1 for _ in cur)
        assert n == rows, n
        return time.perf_counter() - started


def start_postgres(tmp: Path) -> tuple[str, callable] | None:
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if not (initdb and pg_ctl):
        for d in sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True):
            initdb, pg_ctl = str(d / "initdb"), str(d / "pg_ctl")
            break
    if not initdb or not Path(initdb).exists():
        print("PostgreSQL: initdb not found (apt-get install postgresql); skipping the comparison")
        return None
    data, sock = tmp / "pgdata", tmp / "sock"
    sock.mkdir(parents=True)
    as_postgres = [] if os.geteuid() != 0 else ["runuser", "-u", "postgres", "--"]
    if as_postgres:
        subprocess.run(["chown", "-R", "postgres", str(tmp)], check=True)
        os.chmod(tmp, 0o755)
        os.chmod(tmp.parent, 0o755)
    port = "55439"
    try:
        subprocess.run([*as_postgres, initdb, "-D", str(data), "-A", "trust", "-U", "postgres"], check=True,
                       capture_output=True)
        subprocess.run([*as_postgres, pg_ctl, "-D", str(data), "-w", "-l", str(tmp / "log"), "-o",
                        f"-p {port} -k {sock} -c listen_addresses=127.0.0.1", "start"], check=True, capture_output=True)
    except (subprocess.CalledProcessError, FileNotFoundError) as e:
        print(f"PostgreSQL could not start ({e}); skipping the comparison")
        return None

    def stop() -> None:
        subprocess.run([*as_postgres, pg_ctl, "-D", str(data), "-m", "fast", "stop"], capture_output=True)

    return f"host=127.0.0.1 port={port} user=postgres dbname=postgres", stop


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=3)
    ap.add_argument("--rows", type=int, default=1_000_000)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_wire_"))
    from proxy.generate import GENERATORS

    GENERATORS["customer_360"](tmp / "icebase.duckdb", customers=600, seed=7)
    proxy = start_server([LENS_DIR], [str(tmp / "icebase.duckdb")])
    pg = start_postgres(tmp / "pg")
    try:
        results = {"lens-proxy": (round_trips(proxy.dsn(), args.seconds), stream(proxy.dsn(), args.rows))}
        if pg is not None:
            results["PostgreSQL"] = (round_trips(pg[0], args.seconds), stream(pg[0], args.rows))
    finally:
        stop_server(proxy)
        if pg is not None:
            pg[1]()
    for name, (qps, secs) in results.items():
        print(f"{name:11s} simple query: {qps:8.0f} round trips/s   stream {args.rows:,} rows: {secs:6.2f} s")
    if "PostgreSQL" in results:
        (pq, ps), (gq, gs) = results["lens-proxy"], results["PostgreSQL"]
        print(f"ratio proxy/PostgreSQL: round trips {pq / gq:.2f}x, stream time {ps / gs:.2f}x")


if __name__ == "__main__":
    main()
