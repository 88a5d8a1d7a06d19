"""One trip to the engine and the encoding of what it returns, run in the scheduler's threads.

``execute_job`` runs a compiled query and, when the result's schema is known from an earlier run, reads its first
batch and looks past it, so a small result is complete after one trip; ``fetch_encoded`` reads and encodes
the next rows (value by value for a small batch, vectorised otherwise). Nothing here touches a session.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import pyarrow as pa

from proxy.backends.base import next_batch
from proxy.catalog.result_types import conform
from proxy.result_types import declared_reader
from proxy.wire.encode import encode_batch_text
from proxy.wire.encode_binary import encode_batch
from proxy.wire.encode_small import SMALL_ROWS, encode_small, formatters


@dataclass(frozen=True, slots=True)
class Local:
    """A result computed in the proxy (catalog rows; constants, which are already in memory)."""

    reader: pa.RecordBatchReader
    in_memory: bool


@dataclass(frozen=True, slots=True)
class EngineJob:
    """A query for the engine: its SQL, parameters, declared result types, and where its plan's facts go."""

    sql: str
    params: list[Any]
    declared: tuple[tuple[str, int] | None, ...]
    owner: Any = None  # the Plan or PreparedStatement it runs (its ``cost`` is updated: the scheduler's lane)
    schemas: dict[pa.Schema, pa.Schema] | None = None  # engine schema -> with origins, for this statement


def execute_job(
    cursor: Any, job: EngineJob, first: bool
) -> tuple[pa.RecordBatchReader, pa.Schema | None, tuple[pa.RecordBatch | None, bool] | None, float]:
    """Runs in a worker thread: execute ``job``; when the result's schema is known from an earlier run (and
    ``first``), also read its first batch and, when that is small, look past it. Returns the reader, the
    final schema (None: not known yet), (first batch, whether nothing follows it) and the seconds taken."""
    started = time.perf_counter()
    reader = declared_reader(cursor.execute(job.sql, job.params or None), job.declared)
    schema = _known_schema(job.schemas, reader.schema)
    head = None
    if schema is not None:
        reader = conform(reader, schema)
        if first:
            batch = next_batch(reader)
            exhausted = batch is None
            if batch is not None and batch.num_rows <= SMALL_ROWS:
                ahead = next_batch(reader)
                if ahead is not None:
                    return _with_ahead(reader, schema, batch, ahead, started)
                exhausted = True
            head = (batch, exhausted)
    return reader, schema, head, time.perf_counter() - started


def _known_schema(schemas: dict[pa.Schema, pa.Schema] | None, engine: pa.Schema) -> pa.Schema | None:
    if schemas is None:
        return None
    try:
        return schemas.get(engine)
    except TypeError:
        return None


def _with_ahead(reader: pa.RecordBatchReader, schema: pa.Schema, batch: pa.RecordBatch, ahead: pa.RecordBatch,
                started: float) -> tuple[pa.RecordBatchReader, pa.Schema, tuple[pa.RecordBatch | None, bool], float]:
    """A small first batch with more behind it: the reader goes on with ``ahead`` in front."""

    def rest():
        yield ahead
        while (b := next_batch(reader)) is not None:
            yield b

    chained = pa.RecordBatchReader.from_batches(schema, rest())
    return chained, schema, (batch, False), time.perf_counter() - started


_SMALL_FORMATTERS: dict[tuple[pa.Schema, tuple[int, ...]], Any] = {}


def _small_formatters(schema: pa.Schema, codes: tuple[int, ...]) -> Any:
    """The small path's formatters for a schema (kept per schema), None when a column has none."""
    key = (schema, codes)
    try:
        fmts = _SMALL_FORMATTERS.get(key, False)
    except TypeError:  # an extension type without a hash (records): no small path
        return None
    if fmts is False:
        if len(_SMALL_FORMATTERS) > 512:
            _SMALL_FORMATTERS.clear()
        fmts = _SMALL_FORMATTERS[key] = formatters(schema, codes)
    return fmts


def _encode(batch: pa.RecordBatch, formats: tuple[int, ...] | None, timezone: str) -> bytes:
    """DataRows for ``batch``: value by value when it is small and its types allow, else vectorised."""
    if batch.num_rows <= SMALL_ROWS:
        fmts = _small_formatters(batch.schema, formats or (0,) * batch.num_columns)
        if fmts is not None:
            try:
                return encode_small(batch, fmts)
            except (ValueError, OverflowError, ArithmeticError):  # a value Python cannot hold (year 20000)
                pass
    return encode_batch(batch, formats, timezone) if formats is not None else encode_batch_text(batch, timezone)


def fetch_encoded(
    reader: pa.RecordBatchReader,
    pending: pa.RecordBatch | None,
    exhausted: bool,
    limit: int | None,
    formats: tuple[int, ...] | None,
    timezone: str,
    send: bool,
) -> tuple[bytes, int, pa.RecordBatch | None, bool]:
    """(DataRows for up to ``limit`` rows, their count, rows left over, whether the reader has nothing
    beyond them). ``exhausted``: the reader is known to have nothing beyond ``pending``.

    Runs in a worker thread (or inline, for a small batch already read): reading a batch and encoding it
    are the blocking parts of streaming.
    """
    batch = pending
    if batch is None:
        batch = None if exhausted else next_batch(reader)
        if batch is None:
            return b"", 0, None, True
    leftover = None
    if limit is not None and batch.num_rows > limit:
        batch, leftover = batch.slice(0, limit), batch.slice(limit)
    data = _encode(batch, formats, timezone) if batch.num_rows and send else b""
    if leftover is None and not exhausted:  # read ahead so the caller learns about the end without another trip
        leftover = next_batch(reader)
        exhausted = leftover is None
    return data, batch.num_rows, leftover, exhausted
