"""DataRows for a small batch, value by value: the path for lookups and `SELECT 1`.

The vectorised encoders (``encode``, ``encode_binary``) cost ~100-250 µs per batch whatever its size (an
Arrow compute call per column, then the row assembly); a one-row result pays all of it. Below
``SMALL_ROWS`` rows, columns of the common types are formatted from Python values here instead, in
10-20 µs. The output is byte for byte the vectorised encoders' (``tests/proxy/wire/test_encode_small.py``
checks every type against them); a column of any other type returns None and the caller falls back.
"""

from __future__ import annotations

import struct
from collections.abc import Callable, Sequence

import pyarrow as pa
import pyarrow.types as pat

from proxy.wire import types as pgt
from proxy.wire.encode import format_float4, format_float8
from proxy.wire.types import DECLARED_TYPE

SMALL_ROWS = 64
_INT4 = struct.Struct("!i")
_INT8 = struct.Struct("!q")
_FLOAT8 = struct.Struct("!d")
_FLOAT4 = struct.Struct("!f")
_ROW_HEAD = struct.Struct("!cih")
_NULL = _INT4.pack(-1)
_PG_EPOCH_ORDINAL = 730_120  # date(2000, 1, 1).toordinal(): binary dates count days from there

Formatter = Callable[[object], bytes]


def _text_formatter(t: pa.DataType) -> Formatter | None:
    if pat.is_boolean(t):
        return lambda v: b"t" if v else b"f"
    if pat.is_integer(t):
        return lambda v: str(v).encode()
    if pat.is_float64(t):
        return lambda v: format_float8(v).encode()
    if pat.is_float32(t):
        return lambda v: format_float4(v).encode()
    if pat.is_string(t) or pat.is_large_string(t) or pat.is_string_view(t):
        return lambda v: v.encode()
    if pat.is_date32(t):
        return lambda v: v.isoformat().encode()
    return None


def _binary_formatter(field: pa.Field) -> Formatter | None:
    t = field.type
    if field.metadata and DECLARED_TYPE in field.metadata:
        return None  # a declared type's binary form is that type's (json, numeric, uuid …): the full path
    oid = pgt.pg_type_for_arrow(t).oid
    if oid == pgt.BOOL.oid:
        return lambda v: b"\x01" if v else b"\x00"
    if pat.is_string(t) or pat.is_large_string(t) or pat.is_string_view(t):
        return lambda v: v.encode()
    if pat.is_date32(t):
        return lambda v: _INT4.pack(v.toordinal() - _PG_EPOCH_ORDINAL)
    packer = _BINARY_PACKERS.get(oid)
    return None if packer is None else packer.pack


_BINARY_PACKERS = {pgt.INT2.oid: struct.Struct("!h"), pgt.INT4.oid: _INT4, pgt.INT8.oid: _INT8,
                   pgt.OID.oid: struct.Struct("!I"), pgt.FLOAT4.oid: _FLOAT4, pgt.FLOAT8.oid: _FLOAT8}


def formatters(schema: pa.Schema, formats: Sequence[int]) -> tuple[Formatter, ...] | None:
    """One formatter per column for ``formats`` (0 text, 1 binary, one per column), or None when a column's
    type has no small path. Callers keep the result per schema: it depends on nothing else."""
    out = []
    for field, fmt in zip(schema, formats, strict=True):
        if isinstance(field.type, pa.BaseExtensionType) or pat.is_dictionary(field.type):
            return None
        f = _binary_formatter(field) if fmt == 1 else _text_formatter(field.type)
        if f is None:
            return None
        out.append(f)
    return tuple(out)


def encode_small(batch: pa.RecordBatch, fmts: tuple[Formatter, ...]) -> bytes:
    """DataRows of ``batch`` (at most ``SMALL_ROWS`` rows) with one formatter per column."""
    columns = [c.to_pylist() for c in batch.columns]
    ncols = len(columns)
    out = []
    for row in zip(*columns, strict=True) if ncols else [()] * batch.num_rows:
        parts = []
        size = 6
        for value, f in zip(row, fmts, strict=True):
            if value is None:
                parts.append(_NULL)
                size += 4
            else:
                data = f(value)
                parts.append(_INT4.pack(len(data)))
                parts.append(data)
                size += 4 + len(data)
        out.append(_ROW_HEAD.pack(b"D", size, ncols))
        out.extend(parts)
    return b"".join(out)
