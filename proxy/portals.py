"""Prepared statements and portals: what Parse, Bind and DECLARE create and Execute/FETCH stream from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from proxy.router import Statement
from proxy.wire import messages as m
from proxy.wire import types as pgtypes
from proxy.wire.encode_binary import column_formats


@dataclass
class PreparedStatement:
    name: str
    statement: Statement
    param_types: list[int]
    # the engine's result schema -> the schema clients see (origins added): known after the first run, it
    # lets every later run read its first rows in the same trip to the engine as the execution
    schemas: dict[pa.Schema, pa.Schema] = field(default_factory=dict)
    cost: float = -1.0  # the engine's seconds, smoothed (the scheduler's lane); -1: never run


@dataclass
class Portal:
    name: str
    prepared: PreparedStatement
    params: list[Any]
    result_formats: tuple[int, ...]
    reader: pa.RecordBatchReader | None = None
    schema: pa.Schema | None = None
    pending: pa.RecordBatch | None = None  # rows fetched but not yet sent (Execute with a row limit)
    rows_sent: int = 0
    done: bool = False
    cursor: Any = None  # this portal's own engine cursor (named portals and DECLAREd cursors)
    holdable: bool = False  # DECLARE ... WITH HOLD: survives the end of the transaction
    declared: bool = False  # created by DECLARE (a cursor), not by Bind
    in_memory: bool = False  # the result was computed here (constants): no need for the worker pool
    exhausted: bool = False  # the reader has nothing beyond ``pending``
    plan: Any = None  # the proxy.plans.Plan a simple query runs (shape-matched: no parse, no rewrite)
    cached: Any = None  # a proxy.result_cache.CachedResult answering this portal (no engine run)
    result_key: tuple | None = None  # where the result goes in the result cache once it is all sent
    collected: list[bytes] | None = None  # the DataRows sent so far, for the result cache
    collected_size: int = 0


@dataclass
class _Transaction:
    status: bytes = b"I"  # I: idle, T: in a block, E: failed block
    savepoints: list[str] = field(default_factory=list)
    local_saved: dict[str, str] = field(default_factory=dict)  # SET LOCAL: values to restore at the end


def row_description(schema: pa.Schema | None, formats: tuple[int, ...] = ()) -> bytes:
    if schema is None:
        return m.no_data()
    codes = column_formats(formats, len(schema))
    return m.row_description([pgtypes.field_description(f.name, f.type, c, f.metadata)
                              for f, c in zip(schema, codes, strict=True)])
