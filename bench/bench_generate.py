"""Time the customer_360 demo-data generator.

Generation has to stay cheap enough to run on demand (CLI, CI, a fresh checkout): the target is ~10M
activity rows (100k customers) well under a minute on a 2-core machine. This script measures it into a
throw-away directory; it is not a test, so it never runs under pytest.

    .venv/bin/python bench/bench_generate.py [--customers 100000] [--seed 42] [--repeat 1]
"""

from __future__ import annotations

import argparse
import datetime
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from proxy.generate.customer_360 import CUSTOMERS_TABLE, STREAM_TABLE, generate  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--customers", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--end-date", type=datetime.date.fromisoformat, default=datetime.date(2025, 6, 30))
    ap.add_argument("--repeat", type=int, default=1, help="runs; the best one is reported")
    ap.add_argument("--quiet", action="store_true", help="do not print per-step progress")
    args = ap.parse_args(argv)

    best: tuple[float, dict[str, int]] | None = None
    with tempfile.TemporaryDirectory(prefix="bench_generate_") as tmp:
        out = Path(tmp) / "icebase.duckdb"
        for _ in range(args.repeat):
            started = time.perf_counter()
            counts = generate(out, customers=args.customers, seed=args.seed, end_date=args.end_date,
                              progress=None if args.quiet else lambda m: print("  " + m, flush=True))
            seconds = time.perf_counter() - started
            if best is None or seconds < best[0]:
                best = (seconds, counts)
        size_mb = out.stat().st_size / 2**20
    assert best is not None
    seconds, counts = best
    rows = counts[STREAM_TABLE]
    print(f"customers      {counts[CUSTOMERS_TABLE]:>12,}")
    print(f"activity rows  {rows:>12,}")
    print(f"seconds        {seconds:>12.2f}")
    print(f"rows/s         {rows / seconds:>12,.0f}")
    print(f"file MiB       {size_mb:>12.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
