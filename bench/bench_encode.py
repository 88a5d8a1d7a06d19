"""Throughput of encode_batch_text (vectorised Arrow -> DataRow text) against a naive per-row encoder.

Usage: .venv/bin/python bench/bench_encode.py [--rows N] [--repeat R]

The batch comes from DuckDB: 1M rows x (BIGINT, DOUBLE, VARCHAR, TIMESTAMP, BOOLEAN). The naive encoder
walks the rows in Python, formats each value with ``format_text`` and frames it with ``data_row``; both
produce identical bytes (checked on the first rows before timing).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import duckdb
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from proxy.wire.encode import encode_batch_text, format_text  # noqa: E402
from proxy.wire.messages import data_row  # noqa: E402

QUERY = """
SELECT
    i::BIGINT * 7919 - 500000 AS id,
    (random() - 0.5) * 1e6 AS amount,
    'customer_' || (i % 9973)::VARCHAR AS name,
    TIMESTAMP '2020-01-01' + to_microseconds((i * 1234567)::BIGINT) AS ts,
    i % 3 = 0 AS flag
FROM range({rows}) t(i)
"""


def load_batch(rows: int) -> pa.RecordBatch:
    table = duckdb.sql(QUERY.format(rows=rows)).to_arrow_table()
    return table.combine_chunks().to_batches(max_chunksize=rows)[0]


def naive_encode(batch: pa.RecordBatch) -> bytes:
    out = []
    for row in zip(*(col.to_pylist() for col in batch.columns), strict=True):
        out.append(data_row([None if v is None else format_text(v).encode() for v in row]))
    return b"".join(out)


def best_of(fn, repeat: int) -> tuple[float, bytes]:
    best, result = float("inf"), b""
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - t0)
    return best, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--naive-rows", type=int, default=None, help="rows for the naive encoder")
    args = parser.parse_args()

    batch = load_batch(args.rows)
    print(f"batch: {batch.num_rows} rows, schema: {', '.join(str(f.type) for f in batch.schema)}")
    head = batch.slice(0, 1000)
    assert encode_batch_text(head) == naive_encode(head), "vectorised and naive encoders disagree"

    t_vec, out = best_of(lambda: encode_batch_text(batch), args.repeat)
    naive_rows = args.naive_rows or batch.num_rows
    naive_batch = batch.slice(0, naive_rows)
    t_naive, naive_out = best_of(lambda: naive_encode(naive_batch), 1)
    if naive_rows == batch.num_rows:
        assert naive_out == out, "vectorised and naive encoders disagree"

    mb = len(out) / 1e6
    vec_rps = batch.num_rows / t_vec
    naive_rps = naive_rows / t_naive
    print(
        f"vectorised: {t_vec * 1e3:8.1f} ms  {vec_rps / 1e6:6.2f} M rows/s  {mb / t_vec:7.1f} MB/s ({mb:.1f} MB)"
    )
    naive_mb = len(naive_out) / 1e6
    print(
        f"naive:      {t_naive * 1e3:8.1f} ms  {naive_rps / 1e6:6.2f} M rows/s  {naive_mb / t_naive:7.1f} MB/s"
        f" ({naive_rows} rows)"
    )
    print(f"speed-up:   {vec_rps / naive_rps:.1f}x")


if __name__ == "__main__":
    main()
