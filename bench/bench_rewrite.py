"""Rewrite time of the Customer 360 questions: cold (tokenize, parse, rewrite, render) vs cached.

Cold clears the parse cache and uses a fresh rewrite cache each run; cached is what a session does for a
repeated text: the parse-cache hit (a copy of the AST) plus the rewrite-cache lookup. Medians of N runs.

    python bench/bench_rewrite.py [--runs 200]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from proxy import router  # noqa: E402
from rewriter.cache import Compiled, RewriteCache  # noqa: E402
from rewriter.load import load_lens  # noqa: E402
from rewriter.rewrite import rewrite  # noqa: E402


def median_us(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        fn()
        times.append((time.perf_counter() - started) * 1e6)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()
    lens = load_lens(ROOT / "lenses" / "customer_360")
    cases = yaml.safe_load((ROOT / "tests" / "cases" / "customer_360_questions.yaml").read_text())

    print(f"{'question':62} {'cold µs':>9} {'cached µs':>10} {'speed-up':>9}")
    for case in cases:
        sql = case["sql"]

        def cold(sql: str = sql) -> None:
            router._split_cached.cache_clear()
            cache = RewriteCache()
            statement = router.split(sql)[0]
            cache.put(sql, Compiled(rewrite(statement.ast, lens).sql("duckdb")))

        warm_cache = RewriteCache()
        warm_cache.put(sql, Compiled(rewrite(router.split(sql)[0].ast, lens).sql("duckdb")))

        def cached(sql: str = sql, warm_cache: RewriteCache = warm_cache) -> None:
            router.split(sql)
            assert warm_cache.get(sql) is not None

        cold_us, cached_us = median_us(cold, args.runs), median_us(cached, args.runs)
        print(f"{case['name'][:62]:62} {cold_us:9.0f} {cached_us:10.0f} {cold_us / cached_us:8.1f}x")


if __name__ == "__main__":
    main()
