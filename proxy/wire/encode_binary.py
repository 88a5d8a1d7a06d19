"""Arrow columns -> PostgreSQL binary format (``typsend``), and DataRows with per-column format codes.

Fixed-width types (bool, int2/4/8, oid, float4/8, date, time, timestamp[tz], interval, uuid) are converted
with numpy for the whole column at once (big-endian views, epoch shifts); variable-width text-like types
reuse the text encoder's output, which *is* their binary form (text, varchar, name, json; jsonb adds a
version byte). Numeric and arrays go through Python per value: correct first, and rare in bulk results.

Each column becomes an Arrow ``binary`` array (nulls kept) and :func:`encode_batch` hands the columns to
the text encoder's vectorised DataRow assembly, so mixed text/binary rows cost the same as all-text ones.
"""

from __future__ import annotations

import datetime as _dt
import struct
import uuid
from collections.abc import Sequence
from decimal import Decimal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.types as pat

from proxy.wire import types as pgt
from proxy.wire.encode import _apply_nulls, _as_binary, _assemble_data_rows, _fixed_width_binary, text_column

__all__ = ["encode_batch", "binary_column", "column_formats", "encode_binary_value", "numeric_send"]

_PG_EPOCH_DAYS = 10_957  # 2000-01-01 - 1970-01-01
_PG_EPOCH_US = _PG_EPOCH_DAYS * 86_400 * 1_000_000
_UNIT_US = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": None}
_NUMERIC_POS, _NUMERIC_NEG, _NUMERIC_NAN, _NUMERIC_PINF, _NUMERIC_NINF = 0x0000, 0x4000, 0xC000, 0xD000, 0xF000
_INTERVAL = np.dtype([("us", ">i8"), ("days", ">i4"), ("months", ">i4")])
_MDN = np.dtype([("months", "<i4"), ("days", "<i4"), ("nanos", "<i8")])


def column_formats(formats: Sequence[int], ncols: int) -> list[int]:
    """Bind's result format codes expanded to one per column (none: all text; one: applies to all)."""
    if not formats:
        return [0] * ncols
    if len(formats) == 1:
        return [formats[0]] * ncols
    if len(formats) != ncols:
        from proxy.errors import ProtocolViolationError

        raise ProtocolViolationError(f"bind message has {len(formats)} result formats but query has {ncols} columns")
    return list(formats)


def encode_batch(batch: pa.RecordBatch, formats: Sequence[int], timezone: str = "UTC") -> bytes:
    """Every row of ``batch`` as DataRows, column ``i`` in format ``formats[i]`` (0 text, 1 binary)."""
    n = batch.num_rows
    if n == 0:
        return b""
    cols = [
        binary_column(col, pgt.declared_type(field)) if fmt == 1 else text_column(col, timezone=timezone)
        for col, field, fmt in zip(batch.columns, batch.schema, column_formats(formats, batch.num_columns), strict=True)
    ]
    return _assemble_data_rows(cols, n)


def _plain(arr: pa.Array | pa.ChunkedArray) -> pa.Array:
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    if pat.is_dictionary(arr.type):
        arr = arr.dictionary_decode()
    if pat.is_run_end_encoded(arr.type):
        arr = pc.run_end_decode(arr)
    return arr


def _valid(arr: pa.Array) -> np.ndarray | None:
    return None if arr.null_count == 0 else pc.is_valid(arr).to_numpy(zero_copy_only=False)


def _fixed(values: np.ndarray, dtype: str | np.dtype, arr: pa.Array) -> pa.Array:
    raw = np.ascontiguousarray(values.astype(dtype, copy=False))
    width = raw.dtype.itemsize
    return _apply_nulls(_fixed_width_binary(raw.view(np.uint8), width, len(arr)), _valid(arr))


def _numpy(arr: pa.Array, as_type: pa.DataType) -> np.ndarray:
    out = pc.cast(arr, as_type) if arr.type != as_type else arr
    if out.null_count:
        out = out.fill_null(0)
    return out.to_numpy(zero_copy_only=False)


def binary_column(arr: pa.Array | pa.ChunkedArray, declared: tuple[pgt.PgType, int] | None = None) -> pa.Array:
    """PostgreSQL's binary send format for every value of ``arr`` (same length and nulls), as ``binary``;
    ``declared``: the type a string column's text is the output of (``proxy.wire.types.declared_type``)."""
    arr = _plain(arr)
    if declared is not None:
        return _declared_text_column(arr, declared[0])
    t = arr.type
    pg = pgt.pg_type_for_arrow(t)
    if isinstance(t, pgt.VectorType):
        return _list_column(arr.storage, pg, lower_bound=0)
    if isinstance(t, pgt.RecordType):
        return _record_column(arr.storage)
    if isinstance(t, pa.BaseExtensionType) and pg not in (pgt.NUMERIC,):
        storage = arr.storage
        if pg is pgt.UUID or pg is pgt.BYTEA:
            return pc.cast(storage, pa.binary())
        return binary_column(storage) if pg is not pgt.JSON else _as_binary(text_column(arr))
    oid = pg.oid
    if oid == pgt.BOOL.oid:
        return _fixed(_numpy(pc.cast(arr, pa.uint8()), pa.uint8()), "u1", arr)
    if oid in (pgt.INT2.oid, pgt.INT4.oid, pgt.INT8.oid, pgt.OID.oid):
        width = {pgt.INT2.oid: 2, pgt.INT4.oid: 4, pgt.INT8.oid: 8, pgt.OID.oid: 4}[oid]
        return _fixed(_numpy(arr, pa.int64()), f">i{width}", arr)
    if oid == pgt.FLOAT4.oid:
        return _fixed(_numpy(arr, pa.float32()), ">f4", arr)
    if oid == pgt.FLOAT8.oid:
        return _fixed(_numpy(arr, pa.float64()), ">f8", arr)
    if oid == pgt.DATE.oid:
        days = _numpy(arr.view(pa.int32()) if pat.is_date32(t) else pc.cast(arr, pa.date32()).view(pa.int32()), pa.int32())
        return _fixed(days.astype(np.int64) - _PG_EPOCH_DAYS, ">i4", arr)
    if oid == pgt.TIME.oid:
        raw = _numpy(arr.view(pa.int32() if t.bit_width == 32 else pa.int64()), pa.int64())
        return _fixed(_to_us(raw, t.unit), ">i8", arr)
    if oid in (pgt.TIMESTAMP.oid, pgt.TIMESTAMPTZ.oid) and pat.is_timestamp(t):
        raw = _numpy(arr.view(pa.int64()), pa.int64())
        return _fixed(_to_us(raw, t.unit) - _PG_EPOCH_US, ">i8", arr)
    if oid == pgt.INTERVAL.oid:
        return _interval_column(arr)
    if oid == pgt.UUID.oid or oid == pgt.BYTEA.oid:
        return pc.cast(arr, pa.binary()) if not pat.is_large_binary(t) else pc.cast(arr, pa.binary())
    if oid == pgt.NUMERIC.oid:
        texts = text_column(arr).to_pylist()
        return pa.array([None if s is None else numeric_send(Decimal(s)) for s in texts], pa.binary())
    if pg.is_array:
        return _list_column(arr, pg)
    if oid == pgt.JSONB.oid:
        return pc.binary_join_element_wise(pa.scalar(b"\x01"), _as_binary(text_column(arr)), b"")
    return _as_binary(text_column(arr))  # text, varchar, bpchar, name, json, char: the text is the send form


def _declared_text_column(arr: pa.Array, pg: pgt.PgType) -> pa.Array:
    """Binary form of values given as their text output (varchar, json: the text itself)."""
    if pg is pgt.NUMERIC:
        return pa.array([None if v is None else numeric_send(Decimal(v)) for v in arr.to_pylist()], pa.binary())
    if pg is pgt.UUID:
        return pa.array([None if v is None else uuid.UUID(v).bytes for v in arr.to_pylist()], pa.binary())
    if pg is pgt.JSONB:
        return pc.binary_join_element_wise(pa.scalar(b"\x01"), _as_binary(arr), b"")
    return _as_binary(arr)


def _to_us(raw: np.ndarray, unit: str) -> np.ndarray:
    factor = _UNIT_US[unit]
    return raw // 1000 if factor is None else raw * factor


def _interval_column(arr: pa.Array) -> pa.Array:
    n = len(arr)
    out = np.zeros(n, dtype=_INTERVAL)
    t = arr.type
    if pat.is_duration(t):
        out["us"] = _to_us(_numpy(arr.view(pa.int64()), pa.int64()), t.unit)
    elif t == pa.month_day_nano_interval():
        data = np.frombuffer(arr.buffers()[1], dtype=_MDN)[arr.offset : arr.offset + n]
        out["us"], out["days"], out["months"] = data["nanos"] // 1000, data["days"], data["months"]
    else:  # month-only / day-time intervals: rare, through Python
        for i, v in enumerate(arr.to_pylist()):
            if v is not None:
                months, days, nanos = _mdn(v)
                out[i] = (nanos // 1000, days, months)
    return _apply_nulls(_fixed_width_binary(out.view(np.uint8), 16, n), _valid(arr))


def _mdn(v: object) -> tuple[int, int, int]:
    if isinstance(v, _dt.timedelta):
        return 0, v.days, (v.seconds * 1_000_000 + v.microseconds) * 1000
    if isinstance(v, int):
        return v, 0, 0
    months, days, nanos = v  # type: ignore[misc]
    return months, days, nanos


def _list_column(arr: pa.Array, pg: pgt.PgType, *, lower_bound: int = 1) -> pa.Array:
    """Arrays in array_send's form; int2vector/oidvector are 0-based (``lower_bound=0``) and always have
    one dimension, even when empty."""
    t = arr.type
    if pat.is_fixed_size_list(t):
        size = t.list_size
        values = arr.values.slice(arr.offset * size, len(arr) * size)
        offsets = np.arange(0, (len(arr) + 1) * size, size)
    else:
        if pat.is_list_view(t) or pat.is_large_list_view(t):
            arr = pc.cast(arr, pa.large_list(t.value_type))
        values = arr.values
        offsets = arr.offsets.to_numpy(zero_copy_only=False)
    element = pgt.BY_OID[pg.element_oid]
    items = binary_column(values).to_pylist() if len(values) else []
    out: list[bytes | None] = []
    valid = _valid(arr)
    for i in range(len(arr)):
        if valid is not None and not valid[i]:
            out.append(None)
            continue
        out.append(_array_send(items[offsets[i] : offsets[i + 1]], element.oid, lower_bound))
    return pa.array(out, pa.binary())


def _record_column(arr: pa.Array) -> pa.Array:
    """record_send: the field count, then per field its type OID and its value (length-prefixed, -1 NULL)."""
    fields = [(pgt.pg_type_for_arrow(arr.type.field(i).type).oid, binary_column(arr.field(i)).to_pylist())
              for i in range(arr.type.num_fields)]
    valid = _valid(arr)
    out: list[bytes | None] = []
    for row in range(len(arr)):
        if valid is not None and not valid[row]:
            out.append(None)
            continue
        parts = [struct.pack("!i", len(fields))]
        for oid, values in fields:
            value = values[row]
            parts.append(struct.pack("!Ii", oid, -1) if value is None else struct.pack("!Ii", oid, len(value)) + value)
        out.append(b"".join(parts))
    return pa.array(out, pa.binary())


def _array_send(items: Sequence[bytes | None], element_oid: int, lower_bound: int = 1) -> bytes:
    has_null = any(v is None for v in items)
    if not items and lower_bound == 1:
        return struct.pack("!iii", 0, 0, element_oid)
    parts = [struct.pack("!iiiii", 1, int(has_null), element_oid, len(items), lower_bound)]
    for v in items:
        parts.append(b"\xff\xff\xff\xff" if v is None else struct.pack("!i", len(v)) + v)
    return b"".join(parts)


def numeric_send(d: Decimal) -> bytes:
    """PostgreSQL's numeric binary form: ndigits, weight, sign, dscale, then base-10000 digits."""
    if d.is_nan():
        return struct.pack("!hhHh", 0, 0, _NUMERIC_NAN, 0)
    if d.is_infinite():
        return struct.pack("!hhHh", 0, 0, _NUMERIC_NINF if d < 0 else _NUMERIC_PINF, 0)
    sign, digits, exponent = d.as_tuple()
    assert isinstance(exponent, int)
    text = "".join(map(str, digits))
    dscale = max(0, -exponent)
    if exponent > 0:
        text, exponent = text + "0" * exponent, 0
    int_len = len(text) + exponent
    int_part = text[:int_len] if int_len > 0 else ""
    frac_part = text[int_len:] if int_len > 0 else "0" * (-int_len) + text
    int_part = int_part.zfill(-(-len(int_part) // 4) * 4)
    frac_part = frac_part.ljust(-(-len(frac_part) // 4) * 4, "0")
    groups = [int(int_part[i : i + 4]) for i in range(0, len(int_part), 4)]
    groups += [int(frac_part[i : i + 4]) for i in range(0, len(frac_part), 4)]
    weight = len(int_part) // 4 - 1
    while groups and groups[0] == 0:
        groups.pop(0)
        weight -= 1
    while groups and groups[-1] == 0:
        groups.pop()
    if not groups:
        weight = 0
    head = struct.pack("!hhHh", len(groups), weight, _NUMERIC_NEG if sign else _NUMERIC_POS, dscale)
    return head + struct.pack(f"!{len(groups)}h", *groups)


def encode_binary_value(value: object, oid: int) -> bytes | None:
    """One Python value in binary format as type ``oid`` (server-generated rows, e.g. SHOW)."""
    if value is None:
        return None
    pg = pgt.BY_OID[oid]
    if oid == pgt.NUMERIC.oid:
        return numeric_send(Decimal(str(value)))
    if isinstance(value, uuid.UUID):
        value = value.bytes
    arrow_type = {pgt.TEXT.oid: pa.string(), pgt.BOOL.oid: pa.bool_(), pgt.INT8.oid: pa.int64(),
                  pgt.INT4.oid: pa.int32(), pgt.INT2.oid: pa.int16(), pgt.FLOAT8.oid: pa.float64()}.get(pg.oid)
    arr = pa.array([value], arrow_type) if arrow_type is not None else pa.array([value])
    return binary_column(arr)[0].as_py()
