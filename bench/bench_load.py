"""Load: pgbench (PostgreSQL's own load generator) with 50 clients against lens-proxy, beside the same
pgbench ``SELECT 1`` on a real PostgreSQL, in each query mode (simple, extended, prepared).

Prints, per run: transactions/s, latency average (pgbench's) and p50/p99 (from its per-transaction log;
with 50 clients on two pgbench threads the distribution is very skewed), and failures
(failed transactions plus clients pgbench aborted on an error; there should be none). All runs happen in
one invocation, side by side, on this machine; the ratios are what to quote.

    python bench/bench_load.py [--clients 50] [--seconds 10] [--customers 10000] [--data FILE]

Runs: ``SELECT 1`` on PostgreSQL (the floor any Postgres server pays), ``SELECT 1`` on lens-proxy (answered
in place, so this is the wire and session overhead), and a script of lens queries on lens-proxy (two
aggregates over the customer entity and a parameterised row query: rewrite, cache, DuckDB, encoding).
"""

from __future__ import annotations

import argparse
import datetime as dt
import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.conftest import LENS_DIR, start_server, stop_server  # noqa: E402
from tests.pgserver import PostgresServer  # noqa: E402

SELECT_1 = "SELECT 1;\n"
LENS_SCRIPT = """\\set limit random(1, 20)
SELECT state, count_customers FROM customer GROUP BY state ORDER BY 2 DESC LIMIT :limit;
SELECT customer_id, customer_name, state FROM customer ORDER BY customer_id LIMIT :limit;
SELECT count_customers, percentage_email FROM customer;
"""
MODES = ("simple", "extended", "prepared")


def pgbench(binary: str, host: str, port: int, user: str, database: str, script: Path, mode: str, clients: int,
            seconds: float, log_dir: Path) -> dict[str, float]:
    """One pgbench run; its figures from the summary and the per-transaction logs."""
    prefix = log_dir / f"{script.stem}_{mode}_{port}"
    cmd = [binary, "-n", "-h", host, "-p", str(port), "-U", user, "-c", str(clients), "-j", "2",
           "-T", str(int(seconds)), "-M", mode, "-f", str(script), "-l", f"--log-prefix={prefix}", database]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=seconds + 120, cwd=log_dir)
    out = done.stdout + done.stderr
    tps = re.search(r"tps = ([\d.]+) \(without initial connection time\)", out)
    average = re.search(r"latency average = ([\d.]+) ms", out)
    failed = re.search(r"number of failed transactions: (\d+)", out)
    aborted = len(re.findall(r"client \d+ aborted", out))
    latencies = []
    for log in log_dir.glob(f"{prefix.name}.*"):
        for line in log.read_text().splitlines():
            fields = line.split()
            if len(fields) >= 3 and fields[2].isdigit():
                latencies.append(int(fields[2]) / 1000)  # µs -> ms
        log.unlink()
    latencies.sort()
    pct = statistics.quantiles(latencies, n=100) if len(latencies) >= 100 else [float("nan")] * 99
    return {
        "tps": float(tps.group(1)) if tps else 0.0,
        "avg": float(average.group(1)) if average else float("nan"),
        "p50": pct[49], "p99": pct[98], "transactions": len(latencies),
        "failures": (int(failed.group(1)) if failed else 0) + aborted,
        "error": "" if done.returncode == 0 and tps else out.strip().splitlines()[-1] if out.strip() else "no output",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--customers", type=int, default=10_000, help="demo data scale when --data is not given")
    parser.add_argument("--data", help="an existing demo DuckDB file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench_load_") as tmp_name:
        tmp = Path(tmp_name)
        data = Path(args.data) if args.data else tmp / "icebase.duckdb"
        if not args.data:
            from proxy.generate import GENERATORS

            GENERATORS["customer_360"](data, customers=args.customers, seed=42, end_date=dt.date.today())
        scripts = {"select_1": tmp / "select_1.sql", "lens": tmp / "lens.sql"}
        scripts["select_1"].write_text(SELECT_1)
        scripts["lens"].write_text(LENS_SCRIPT)
        results = []
        with PostgresServer.start(tmp / "postgres") as pg:
            binary = pg.binary("pgbench")
            proxy = start_server([LENS_DIR], [str(data)], "--max-connections", str(args.clients + 10))
            try:
                runs = [("PostgreSQL", "SELECT 1", pg.host, pg.port, "postgres", "postgres", scripts["select_1"]),
                        ("lens-proxy", "SELECT 1", proxy.host, proxy.port, "analyst", proxy.database, scripts["select_1"]),
                        ("lens-proxy", "lens script", proxy.host, proxy.port, "analyst", proxy.database, scripts["lens"])]
                for mode in MODES:
                    for target, what, host, port, user, database, script in runs:
                        figures = pgbench(binary, host, port, user, database, script, mode, args.clients,
                                          args.seconds, tmp)
                        results.append((target, what, mode, figures))
                        print(f"  {target:10} {what:11} {mode:8} {figures['tps']:9.0f} tps", flush=True)
            finally:
                stop_server(proxy)
    print(f"\npgbench, {args.clients} clients, {args.seconds:.0f} s per run ({args.customers:,} customers)")
    print(f"{'target':10} {'script':11} {'mode':8} {'tps':>9} {'avg ms':>8} {'p50 ms':>8} {'p99 ms':>8} {'failures':>8}"
          "  tps vs PostgreSQL SELECT 1")
    floor = {mode: f["tps"] for target, _, mode, f in results if target == "PostgreSQL"}
    for target, what, mode, f in results:
        ratio = f"{f['tps'] / floor[mode]:.3g}x" if floor.get(mode) else "-"
        print(f"{target:10} {what:11} {mode:8} {f['tps']:9.0f} {f['avg']:8.2f} {f['p50']:8.2f} {f['p99']:8.2f} "
              f"{f['failures']:8d}  {ratio}"
              + (f"  ({f['error']})" if f["error"] else ""))


if __name__ == "__main__":
    main()
