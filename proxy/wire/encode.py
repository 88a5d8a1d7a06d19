"""Arrow record batches -> PostgreSQL DataRow messages in text format, vectorised.

The hot path never loops over rows in Python:

1. every column becomes an Arrow string array holding PostgreSQL's text output for each value
   (:func:`text_column`), built with ``pyarrow.compute`` kernels and numpy index arithmetic; only rare
   types (intervals, durations, struct/map JSON, BC dates, a few float exponent ranges handled in bulk)
   touch Python objects, and those only for the affected values;
2. the DataRow framing (``'D'``, int32 length, int16 column count, then per column an int32 length or -1
   and the bytes) is computed with numpy for all rows at once and the pieces are concatenated row-wise by
   Arrow's ``binary_join_element_wise`` kernel (a C++ memcpy loop).

:func:`encode_batch_text` returns ``bytes`` (one contiguous buffer with every DataRow of the batch).

PostgreSQL output formats reproduced (``DateStyle=ISO, MDY``, ``IntervalStyle=postgres``,
``extra_float_digits=1``, ``bytea_output=hex``): see :func:`text_column`.
"""

from __future__ import annotations

import datetime as _dt
import decimal
import json
import math
import re
import uuid
from collections.abc import Iterable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.types as pat

from proxy.wire.messages import data_row

__all__ = [
    "encode_batch_text",
    "encode_rows_text",
    "text_column",
    "format_text",
    "format_float8",
    "format_float4",
    "format_interval",
]

_INT64_MAX = np.iinfo(np.int64).max
_INT32_MAX = np.iinfo(np.int32).max
_US_PER_SEC = 1_000_000
_US_PER_DAY = 86_400 * _US_PER_SEC
_US_PER_HOUR = 3_600 * _US_PER_SEC
_US_PER_MINUTE = 60 * _US_PER_SEC
_UNIT_PER_SEC = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_DAY_0001_01_01 = -719_162  # days from 1970-01-01 to 0001-01-01 (proleptic Gregorian)
_SEC_0001_01_01 = _DAY_0001_01_01 * 86_400

# Keep each joined chunk well below Arrow's 2 GiB int32-offset limit.
_MAX_CHUNK_BYTES = 1 << 30

_UTC_NAMES = frozenset({"UTC", "ETC/UTC", "UCT", "ETC/UCT", "GMT", "ETC/GMT", "Z", "ZULU", "UNIVERSAL"})

_EMPTY = pa.scalar("", pa.string())


# ---------------------------------------------------------------------------------------------------------
# Public API
# ---------------------------------------------------------------------------------------------------------


def encode_batch_text(batch: pa.RecordBatch | pa.Table, timezone: str = "UTC") -> bytes:
    """Every row of ``batch`` as a DataRow message with all values in text format, concatenated.

    ``timezone`` (positional or keyword) is the session's TimeZone: timestamptz values are shown in it with
    their UTC offset.
    Sliced batches, zero-row and zero-column batches are fine; a ``pa.Table`` is encoded chunk by chunk.
    """
    if isinstance(batch, pa.Table):
        return b"".join(encode_batch_text(b, timezone=timezone) for b in batch.to_batches())
    n = batch.num_rows
    if n == 0:
        return b""
    texts = [text_column(col, timezone=timezone) for col in batch.columns]
    return _assemble_data_rows(texts, n)


def encode_rows_text(rows: Iterable[Sequence[object]], *, timezone: str = "UTC") -> bytes:
    """DataRows for a few Python-valued rows (server-generated results such as SHOW or version()).

    Values may be None, str, int, float, bool, Decimal, date, time, datetime, timedelta, UUID, bytes,
    list/tuple (array literal) or dict (JSON); see :func:`format_text`.
    """
    out = []
    for row in rows:
        values = []
        for v in row:
            s = format_text(v, timezone=timezone)
            values.append(None if s is None else s.encode("utf-8"))
        out.append(data_row(values))
    return b"".join(out)


def text_column(arr: pa.Array | pa.ChunkedArray, *, timezone: str = "UTC") -> pa.Array:
    """PostgreSQL's text output for every value of ``arr``, as a string (or large_string) array with the
    same length and nulls.

    Formats: bool ``t``/``f``; integers and decimals as plain decimals (decimals with exactly ``scale``
    fractional digits); float4/float8 as PostgreSQL 12+ prints them (shortest round-trip digits, exponent
    form below 1e-4 and from 1e15 (float8) / 1e6 (float4), ``NaN``, ``Infinity``, ``-0``); text as is;
    bytea as ``\\x`` hex; date ``YYYY-MM-DD``; time ``HH:MM:SS[.ffffff]``; timestamp
    ``YYYY-MM-DD HH:MM:SS[.ffffff]``; timestamptz in ``timezone`` with ``+HH[:MM[:SS]]``; dates before
    0001-01-01 with a `` BC`` suffix; DuckDB's +/-infinity dates and timestamps as ``infinity``/
    ``-infinity``; interval and duration in ``IntervalStyle=postgres``; uuid canonical lowercase; lists as
    array literals; struct/map as JSON.
    """
    if isinstance(arr, pa.ChunkedArray):
        arr = arr.combine_chunks() if arr.num_chunks != 1 else arr.chunk(0)
    t = arr.type
    if isinstance(t, pa.BaseExtensionType):
        if t.extension_name == "arrow.uuid":
            return _uuid_text(arr.storage)
        if t.extension_name == "arrow.opaque":
            if t.type_name in ("hugeint", "uhugeint"):
                return _int128_text(arr.storage, signed=t.type_name == "hugeint")
            return _bytea_text(arr.storage)
        if t.extension_name in _VECTOR_EXTENSIONS:
            return _vector_text(arr.storage)
        if t.extension_name == "lens_proxy.record":
            return _record_text(arr.storage, timezone)
        return text_column(arr.storage, timezone=timezone)
    if pat.is_dictionary(t):
        values = text_column(arr.dictionary, timezone=timezone)
        return pc.take(values, arr.indices)
    if pat.is_run_end_encoded(t):
        return text_column(pc.run_end_decode(arr), timezone=timezone)
    if pat.is_null(t):
        return pa.nulls(len(arr), pa.string())
    if pat.is_boolean(t):
        return pc.if_else(arr, pa.scalar("t"), pa.scalar("f"))
    if pat.is_integer(t):
        return pc.cast(arr, pa.string())
    if pat.is_float16(t):
        return _float_text(pc.cast(arr, pa.float32()), single=True)
    if pat.is_float32(t):
        return _float_text(arr, single=True)
    if pat.is_float64(t):
        return _float_text(arr, single=False)
    if pat.is_decimal(t):
        return _decimal_text(arr)
    if pat.is_string(t) or pat.is_large_string(t):
        return arr
    if pat.is_string_view(t):
        return _cast_string(arr)
    if pat.is_binary(t) or pat.is_large_binary(t) or pat.is_binary_view(t):
        return _bytea_text(arr)
    if pat.is_fixed_size_binary(t):
        return _uuid_text(arr) if t.byte_width == 16 else _bytea_text(arr)
    if pat.is_date(t):
        return _date_text(arr)
    if pat.is_time(t):
        return _time_text(arr)
    if pat.is_timestamp(t):
        return _timestamp_text(arr, timezone if t.tz is not None else None)
    if pat.is_duration(t):
        return _duration_text(arr)
    if pat.is_interval(t):
        return _interval_text(arr)
    if _is_list_like(t):
        return _list_text(arr, timezone)
    if pat.is_struct(t) or pat.is_map(t):
        return _json_text(arr, timezone)
    return _generic_text(arr, timezone)


# ---------------------------------------------------------------------------------------------------------
# DataRow assembly
# ---------------------------------------------------------------------------------------------------------

_ROW_PREFIX = np.dtype([("tag", "S1"), ("length", ">i4"), ("ncols", ">i2")])


def _fixed_width_binary(raw: np.ndarray, width: int, n: int) -> pa.Array:
    """A ``binary`` array of ``n`` values of ``width`` bytes each, zero-copy over ``raw``."""
    offsets = np.arange(0, (n + 1) * width, width, dtype=np.int32)
    return pa.Array.from_buffers(pa.binary(), n, [None, pa.py_buffer(offsets), pa.py_buffer(raw)])


def _as_binary(text: pa.Array) -> pa.Array:
    t = text.type
    if pat.is_string(t):
        return text.view(pa.binary())
    if pat.is_binary(t):
        return text
    if pat.is_large_string(t) or pat.is_large_binary(t):
        return pc.cast(text.view(pa.large_binary()), pa.binary())
    return pc.cast(pc.cast(text, pa.string()), pa.binary())


def _assemble_data_rows(texts: list[pa.Array], n: int) -> bytes:
    ncols = len(texts)
    if ncols == 0:
        return (b"D" + (6).to_bytes(4, "big") + b"\x00\x00") * n
    lens = np.empty((ncols, n), dtype=np.int64)
    for c, text in enumerate(texts):
        lens[c] = pc.binary_length(text).fill_null(-1).to_numpy()
    row_size = 7 + 4 * ncols + np.maximum(lens, 0).sum(axis=0)  # bytes per DataRow, tag included
    ends = np.cumsum(row_size)
    if ends[-1] <= _MAX_CHUNK_BYTES:
        bounds = [0, n]
    else:
        cuts = np.searchsorted(ends, np.arange(_MAX_CHUNK_BYTES, ends[-1], _MAX_CHUNK_BYTES), side="right")
        bounds = sorted({0, n, *(int(c) for c in cuts if 0 < c < n)})
    out = []
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        m = b - a
        prefix = np.empty(m, dtype=_ROW_PREFIX)
        prefix["tag"] = b"D"
        prefix["length"] = row_size[a:b] - 1
        prefix["ncols"] = ncols
        parts = [_fixed_width_binary(prefix.view(np.uint8), 7, m)]
        for c, text in enumerate(texts):
            header = lens[c, a:b].astype(">i4")
            parts.append(_fixed_width_binary(header.view(np.uint8), 4, m))
            parts.append(_as_binary(text.slice(a, m)))
        joined = pc.binary_join_element_wise(*parts, b"", null_handling="replace", null_replacement=b"")
        out.append(_binary_data(joined))
    return out[0] if len(out) == 1 else b"".join(out)


def _binary_data(arr: pa.Array) -> bytes:
    """The concatenated value bytes of a (possibly sliced) binary array."""
    offsets_buf, data_buf = arr.buffers()[1:3]
    offsets = np.frombuffer(offsets_buf, dtype=np.int32)[arr.offset : arr.offset + len(arr) + 1]
    if data_buf is None:
        return b""
    return data_buf[int(offsets[0]) : int(offsets[-1])].to_pybytes()


# ---------------------------------------------------------------------------------------------------------
# Helpers for building string arrays from numpy
# ---------------------------------------------------------------------------------------------------------


def _cast_string(arr: pa.Array) -> pa.Array:
    try:
        return pc.cast(arr, pa.string())
    except pa.ArrowInvalid:  # over 2 GiB of text
        return pc.cast(arr, pa.large_string())


def _string_from_numpy(offsets: np.ndarray, data: np.ndarray, valid: np.ndarray | None) -> pa.Array:
    """A string array from int64 ``offsets`` (n + 1, starting at 0) and uint8 ``data``; ``valid`` False
    marks nulls."""
    n = len(offsets) - 1
    if offsets[-1] < _INT32_MAX:
        typ, offsets = pa.string(), offsets.astype(np.int32)
    else:
        typ = pa.large_string()
    arr = pa.Array.from_buffers(typ, n, [None, pa.py_buffer(offsets), pa.py_buffer(data)])
    return _apply_nulls(arr, valid)


def _apply_nulls(arr: pa.Array, valid: np.ndarray | pa.Array | None) -> pa.Array:
    if valid is None:
        return arr
    if isinstance(valid, np.ndarray):
        if valid.all():
            return arr
        valid = pa.array(valid)
    return pc.if_else(valid, arr, pa.scalar(None, arr.type))


def _valid_mask(arr: pa.Array) -> np.ndarray | None:
    if arr.null_count == 0:
        return None
    return pc.is_valid(arr).to_numpy(zero_copy_only=False)


def _ints(arr: pa.Array, dtype=np.int64) -> np.ndarray:
    """The integer storage of a temporal/integer array as numpy, nulls as 0."""
    t = arr.type
    if not pat.is_integer(t):  # temporal: reinterpret the storage (zero-copy, keeps the slice offset)
        arr = arr.view(pa.int32() if t.bit_width == 32 else pa.int64())
    if arr.null_count:
        arr = arr.fill_null(0)
    return arr.to_numpy(zero_copy_only=False).astype(dtype, copy=False)


def _join(*parts) -> pa.Array:
    """Element-wise string concatenation of arrays and ``str`` constants (nulls propagate)."""
    large = any(isinstance(p, pa.Array) and pat.is_large_string(p.type) for p in parts)
    typ = pa.large_string() if large else pa.string()
    args = [pa.scalar(p, typ) if isinstance(p, str) else (p if p.type == typ else p.cast(typ)) for p in parts]
    return pc.binary_join_element_wise(*args, pa.scalar("", typ))


def _scatter(n: int, pieces: list[tuple[np.ndarray, pa.Array]]) -> pa.Array:
    """Combine ``(row indices, values)`` pieces that partition ``range(n)`` into one array in row order."""
    pieces = [(idx, vals) for idx, vals in pieces if len(idx)]
    if len(pieces) == 1:
        return pieces[0][1]
    order = np.concatenate([idx for idx, _ in pieces])
    values = pa.concat_arrays([vals.cast(pa.string()) for _, vals in pieces])
    inverse = np.empty(n, dtype=np.int64)
    inverse[order] = np.arange(n, dtype=np.int64)
    return pc.take(values, pa.array(inverse))


def _replace_rows(text: pa.Array, mask: np.ndarray, replacements: list[str] | pa.Array) -> pa.Array:
    """``text`` with the rows where ``mask`` is set replaced, in order, by ``replacements``."""
    if not isinstance(replacements, pa.Array):
        replacements = pa.array(replacements, text.type)
    elif replacements.type != text.type:
        replacements = replacements.cast(text.type)
    return pc.replace_with_mask(text, pa.array(mask), replacements)


# ---------------------------------------------------------------------------------------------------------
# Floats
# ---------------------------------------------------------------------------------------------------------

# PostgreSQL (float8out/float4out with extra_float_digits > 0) prints the shortest round-trip digits in
# fixed notation when the decimal exponent X of the leading digit is in [-4, 15) for float8 and [-4, 6)
# for float4, else as d.ddde+XX (at least two exponent digits). Arrow's cast prints the same digits but
# uses fixed notation for X in [-6, 10) and one-digit exponents, so values whose magnitude lies in the
# ranges below are re-laid out from their digits; everything else is already identical.
_FLOAT8_FIX_RANGES = ((0.0, 1.0001e-4), (9.999e9, 1.0001e15))
_FLOAT4_FIX_RANGES = ((0.0, 1.0001e-4), (9.999e5, 1.0001e10))
_FLOAT8_FIXED_MAX_EXP = 15
_FLOAT4_FIXED_MAX_EXP = 6
_FLOAT_FIXED_MIN_EXP = -4


def _float_text(arr: pa.Array, *, single: bool) -> pa.Array:
    text = pc.cast(arr, pa.string())
    values = (arr.fill_null(0) if arr.null_count else arr).to_numpy(zero_copy_only=False)
    magnitude = np.abs(values)
    ranges = _FLOAT4_FIX_RANGES if single else _FLOAT8_FIX_RANGES
    with np.errstate(invalid="ignore"):
        fix = np.zeros(len(values), dtype=bool)
        for lo, hi in ranges:
            fix |= (magnitude > lo) & (magnitude < hi)
    if fix.any():
        text = _replace_rows(text, fix, _float_relayout(values[fix], single=single))
    special = ~np.isfinite(values)
    if special.any():
        text = _replace_rows(text, special, [_special_float(v) for v in values[special].tolist()])
    return text


def _special_float(v: float) -> str:
    if v != v:
        return "NaN"
    return "Infinity" if v > 0 else "-Infinity"


def _float_relayout(values: np.ndarray, *, single: bool) -> pa.Array:
    """PostgreSQL text for finite non-zero floats, rebuilt from Arrow's shortest digits."""
    n = len(values)
    negative = np.signbit(values)
    text = pc.cast(pa.array(np.abs(values)), pa.string())
    # Arrow forms: "123.45", "0.00012", "12300", "1.5e+10", "1e-7".
    has_exp = pc.match_substring(text, "e")
    mantissa = pc.replace_substring_regex(text, r"e.*$", "")
    exp_text = pc.replace_substring(pc.replace_substring_regex(text, r"^[^e]*e?", ""), "+", "")
    exp10 = _ints(pc.cast(pc.if_else(has_exp, exp_text, pa.scalar("0")), pa.int64()))
    dot = pc.find_substring(mantissa, ".").to_numpy(zero_copy_only=False).astype(np.int64)
    int_len = np.where(dot < 0, pc.utf8_length(mantissa).to_numpy(zero_copy_only=False), dot)
    digits_raw = pc.replace_substring(mantissa, ".", "")
    digits_l = pc.utf8_ltrim(digits_raw, "0")
    n_lead = pc.utf8_length(digits_raw).to_numpy(zero_copy_only=False) - pc.utf8_length(digits_l).to_numpy(
        zero_copy_only=False
    )
    x = int_len - 1 - n_lead + exp10  # decimal exponent of the leading significant digit
    digits = pc.utf8_rtrim(digits_l, "0")
    n_digits = pc.utf8_length(digits).to_numpy(zero_copy_only=False).astype(np.int64)

    hi = _FLOAT4_FIXED_MAX_EXP if single else _FLOAT8_FIXED_MAX_EXP
    exp_form = (x < _FLOAT_FIXED_MIN_EXP) | (x >= hi)
    pieces: list[tuple[np.ndarray, pa.Array]] = []

    idx = np.flatnonzero(exp_form)  # d[.ddd]e±XX
    if len(idx):
        d = digits.take(pa.array(idx))
        head = pc.utf8_slice_codeunits(d, 0, 1)
        mant = pc.if_else(pa.array(n_digits[idx] > 1), _join(head, ".", pc.utf8_slice_codeunits(d, 1)), head)
        xe = x[idx]
        exp_digits = pc.utf8_lpad(pc.cast(pa.array(np.abs(xe)), pa.string()), 2, "0")
        sign = pc.if_else(pa.array(xe < 0), pa.scalar("e-"), pa.scalar("e+"))
        pieces.append((idx, _join(mant, sign, exp_digits)))

    idx = np.flatnonzero(~exp_form & (x < 0))  # 0.000ddd
    if len(idx):
        zeros = pc.binary_repeat(pa.scalar("0"), pa.array(-x[idx] - 1))
        pieces.append((idx, _join("0.", zeros, digits.take(pa.array(idx)))))

    idx = np.flatnonzero(~exp_form & (x >= 0) & (n_digits <= x + 1))  # ddd000
    if len(idx):
        zeros = pc.binary_repeat(pa.scalar("0"), pa.array(x[idx] + 1 - n_digits[idx]))
        pieces.append((idx, _join(digits.take(pa.array(idx)), zeros)))

    split = ~exp_form & (x >= 0) & (n_digits > x + 1)  # ddd.ddd: the point position varies per row
    for point in np.unique(x[split]).tolist():
        idx = np.flatnonzero(split & (x == point))
        d = digits.take(pa.array(idx))
        int_part = pc.utf8_slice_codeunits(d, 0, point + 1)
        pieces.append((idx, _join(int_part, ".", pc.utf8_slice_codeunits(d, point + 1))))

    out = _scatter(n, pieces)
    if negative.any():
        out = pc.if_else(pa.array(negative), _join("-", out), out)
    return out


def _float_digits_text(negative: bool, digits: str, x: int, hi: int) -> str:
    """PostgreSQL float text from significant ``digits`` (no leading/trailing zeros) and exponent ``x``."""
    sign = "-" if negative else ""
    if x < _FLOAT_FIXED_MIN_EXP or x >= hi:
        mant = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
        return f"{sign}{mant}e{'-' if x < 0 else '+'}{abs(x):02d}"
    if x < 0:
        return f"{sign}0.{'0' * (-x - 1)}{digits}"
    if len(digits) <= x + 1:
        return sign + digits + "0" * (x + 1 - len(digits))
    return f"{sign}{digits[: x + 1]}.{digits[x + 1 :]}"


def _float_from_shortest(s: str, hi: int) -> str:
    """Re-lay out a shortest round-trip repr (``repr(float)`` or numpy's) the PostgreSQL way."""
    negative = s.startswith("-")
    s = s.lstrip("-")
    mant, _, exp = s.lower().partition("e")
    int_part, _, frac = mant.partition(".")
    raw = int_part + frac
    stripped = raw.lstrip("0")
    x = len(int_part) - 1 - (len(raw) - len(stripped)) + int(exp or 0)
    digits = stripped.rstrip("0")
    return _float_digits_text(negative, digits, x, hi)


def format_float8(v: float) -> str:
    """``float8out`` of ``v`` (extra_float_digits = 1)."""
    if not math.isfinite(v):
        return _special_float(v)
    if v == 0:
        return "-0" if math.copysign(1.0, v) < 0 else "0"
    return _float_from_shortest(repr(float(v)), _FLOAT8_FIXED_MAX_EXP)


def format_float4(v: float) -> str:
    """``float4out`` of ``v`` rounded to single precision (extra_float_digits = 1)."""
    f = np.float32(v)
    if not np.isfinite(f):
        return _special_float(float(f))
    if f == 0:
        return "-0" if np.signbit(f) else "0"
    return _float_from_shortest(np.format_float_scientific(f, unique=True), _FLOAT4_FIXED_MAX_EXP)


# ---------------------------------------------------------------------------------------------------------
# Decimals
# ---------------------------------------------------------------------------------------------------------


def _decimal_text(arr: pa.Array) -> pa.Array:
    t = arr.type
    if t.scale < 0:  # numeric has no negative scales in its output: print the integer
        precision = t.precision - t.scale
        target = pa.decimal128(precision, 0) if precision <= 38 else pa.decimal256(min(precision, 76), 0)
        arr = pc.cast(arr, target)
        t = target
    text = pc.cast(arr, pa.string())
    if t.scale >= 7:
        # Arrow switches to scientific notation ("1.23E-8", "0E-10") when the adjusted exponent is below
        # -6; those values are all below 1, so the fraction is the unscaled digits left-padded to scale.
        sci = pc.match_substring(text, "E")
        mask = sci.fill_null(False).to_numpy(zero_copy_only=False)
        if mask.any():
            sub = text.filter(pa.array(mask))
            digits = pc.utf8_lpad(pc.replace_substring_regex(sub, r"^-|\.|E.*$", ""), t.scale, "0")
            fixed = _join("0.", digits)
            fixed = pc.if_else(pc.starts_with(sub, "-"), _join("-", fixed), fixed)
            text = _replace_rows(text, mask, fixed)
    return text


def _format_numeric(v: decimal.Decimal) -> str:
    if v.is_nan():
        return "NaN"
    if v.is_infinite():
        return "-Infinity" if v < 0 else "Infinity"
    return format(v, "f")


# ---------------------------------------------------------------------------------------------------------
# bytea and uuid
# ---------------------------------------------------------------------------------------------------------

_HEX_PAIRS = np.frombuffer(b"".join(f"{i:02x}".encode() for i in range(256)), dtype=np.uint16)
_BACKSLASH_X = np.frombuffer(b"\\x", dtype=np.uint16)[0]


def _binary_buffers(arr: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """int64 offsets (n + 1, from 0) and the uint8 data of a binary/large_binary array."""
    if pat.is_binary_view(arr.type) or pat.is_fixed_size_binary(arr.type):
        arr = pc.cast(arr, pa.large_binary())
    width = np.int64 if pat.is_large_binary(arr.type) else np.int32
    _, offsets_buf, data_buf = arr.buffers()[:3]
    offsets = np.frombuffer(offsets_buf, dtype=width)[arr.offset : arr.offset + len(arr) + 1].astype(np.int64)
    if data_buf is None:
        data = np.zeros(0, dtype=np.uint8)
    else:
        data = np.frombuffer(data_buf, dtype=np.uint8)[offsets[0] : offsets[-1]]
    return offsets - offsets[0], data


def _bytea_text(arr: pa.Array) -> pa.Array:
    """bytea_output = hex: ``\\x`` then two lowercase hex digits per byte."""
    offsets, data = _binary_buffers(arr)
    n = len(arr)
    # Work in 2-byte units: "\x" prefix then one unit per input byte.
    unit_offsets = offsets + np.arange(n + 1, dtype=np.int64)
    units = np.empty(int(unit_offsets[-1]), dtype=np.uint16)
    is_prefix = np.zeros(len(units), dtype=bool)
    is_prefix[unit_offsets[:-1]] = True
    units[is_prefix] = _BACKSLASH_X
    units[~is_prefix] = _HEX_PAIRS[data]
    return _string_from_numpy(unit_offsets * 2, units.view(np.uint8), _valid_mask(arr))


_UUID_LAYOUT = np.array([0, 1, 2, 3, -1, 4, 5, -1, 6, 7, -1, 8, 9, -1, 10, 11, 12, 13, 14, 15])


def _uuid_text(arr: pa.Array) -> pa.Array:
    """uuid_out: 8-4-4-4-12 lowercase hex digits."""
    n = len(arr)
    if not pat.is_fixed_size_binary(arr.type) or arr.type.byte_width != 16:
        raise TypeError(f"uuid storage must be fixed_size_binary(16), not {arr.type}")
    data_buf = arr.buffers()[1]
    raw = np.frombuffer(data_buf, dtype=np.uint8)[arr.offset * 16 : (arr.offset + n) * 16].reshape(n, 16)
    hexed = _HEX_PAIRS[raw].view(np.uint8).reshape(n, 32)
    out = np.empty((n, 36), dtype=np.uint8)
    out[:, [8, 13, 18, 23]] = ord("-")
    out[:, 0:8] = hexed[:, 0:8]
    out[:, 9:13] = hexed[:, 8:12]
    out[:, 14:18] = hexed[:, 12:16]
    out[:, 19:23] = hexed[:, 16:20]
    out[:, 24:36] = hexed[:, 20:32]
    offsets = np.arange(0, 36 * (n + 1), 36, dtype=np.int64)
    return _string_from_numpy(offsets, out.reshape(-1), _valid_mask(arr))


def _int128_text(arr: pa.Array, *, signed: bool) -> pa.Array:
    """Little-endian 128-bit integers stored as fixed_size_binary(16) (DuckDB HUGEINT/UHUGEINT)."""
    out = [None if v is None else str(int.from_bytes(v, "little", signed=signed)) for v in arr.to_pylist()]
    return pa.array(out, pa.string())


# ---------------------------------------------------------------------------------------------------------
# Dates and times
# ---------------------------------------------------------------------------------------------------------

_BC_RE = re.compile(r"^(-?)(\d+)(.*)$")


def _bc_fix(text: str) -> str:
    """Arrow's astronomical-year text ("0000-..", "-0044-..") -> PostgreSQL's "YYYY-.. BC" form."""
    m = _BC_RE.match(text)
    if m is None:
        return text
    year = -int(m.group(2)) if m.group(1) else int(m.group(2))
    return f"{1 - year:04d}{m.group(3)} BC"


def _date_text(arr: pa.Array) -> pa.Array:
    if pat.is_date64(arr.type):
        arr = pc.cast(arr, pa.date32())
    days = _ints(arr)
    pos_inf = days >= _INT32_MAX
    neg_inf = days <= -_INT32_MAX
    special = pos_inf | neg_inf
    valid = _valid_mask(arr)
    if special.any():
        days = np.where(special, 0, days)
    text = pc.cast(
        pa.array(days.astype(np.int32), pa.date32(), mask=None if valid is None else ~valid), pa.string()
    )
    return _fix_bc_and_infinity(text, days < _DAY_0001_01_01, pos_inf, neg_inf, valid)


def _fix_bc_and_infinity(
    text: pa.Array, bc: np.ndarray, pos_inf: np.ndarray, neg_inf: np.ndarray, valid: np.ndarray | None
) -> pa.Array:
    if valid is not None:
        bc = bc & valid
        pos_inf = pos_inf & valid
        neg_inf = neg_inf & valid
    if bc.any():
        old = text.filter(pa.array(bc)).to_pylist()
        text = _replace_rows(text, bc, [_bc_fix(s) for s in old])
    if pos_inf.any():
        text = _replace_rows(text, pos_inf, ["infinity"] * int(pos_inf.sum()))
    if neg_inf.any():
        text = _replace_rows(text, neg_inf, ["-infinity"] * int(neg_inf.sum()))
    return text


def _to_micros(raw: np.ndarray, unit: str) -> np.ndarray:
    per_sec = _UNIT_PER_SEC[unit]
    if per_sec == _US_PER_SEC:
        return raw
    if per_sec > _US_PER_SEC:
        return raw // (per_sec // _US_PER_SEC)  # PostgreSQL keeps microseconds; drop the rest
    return raw * (_US_PER_SEC // per_sec)


def _fraction_suffix(frac_us: np.ndarray) -> pa.Array | None:
    """The ".ffffff" suffix, trailing zeros removed ("" for whole seconds), of microsecond fractions."""
    nonzero = frac_us != 0
    if not nonzero.any():
        return None
    digits = pc.utf8_rtrim(pc.utf8_lpad(pc.cast(pa.array(frac_us), pa.string()), 6, "0"), "0")
    return pc.if_else(pa.array(nonzero), _join(".", digits), _EMPTY)


def _clock_text(micros: np.ndarray, valid: np.ndarray | None) -> pa.Array:
    secs = micros // _US_PER_SEC
    mask = None if valid is None else ~valid
    base = pc.cast(pa.array(secs, pa.timestamp("s"), mask=mask), pa.string())
    frac = _fraction_suffix(micros - secs * _US_PER_SEC)
    return base if frac is None else _join(base, frac)


def _time_text(arr: pa.Array) -> pa.Array:
    micros = _to_micros(_ints(arr), arr.type.unit)
    secs = micros // _US_PER_SEC
    valid = _valid_mask(arr)
    hours = secs // 3600
    if (hours >= 24).any() or (secs < 0).any():  # out-of-range times: format arithmetically
        return _generic_clock(micros, valid)
    base = pc.cast(
        pa.array(secs.astype(np.int32), pa.time32("s"), mask=None if valid is None else ~valid), pa.string()
    )
    frac = _fraction_suffix(micros - secs * _US_PER_SEC)
    return base if frac is None else _join(base, frac)


def _generic_clock(micros: np.ndarray, valid: np.ndarray | None) -> pa.Array:
    out = [_format_clock(int(us)) for us in micros.tolist()]
    return _apply_nulls(pa.array(out, pa.string()), valid)


def _format_clock(us: int) -> str:
    sign = "-" if us < 0 else ""
    us = abs(us)
    h, rem = divmod(us, _US_PER_HOUR)
    m, rem = divmod(rem, _US_PER_MINUTE)
    s, f = divmod(rem, _US_PER_SEC)
    frac = f".{f:06d}".rstrip("0") if f else ""
    return f"{sign}{h:02d}:{m:02d}:{s:02d}{frac}"


def _tz_offset_text(offset_seconds: int) -> str:
    """EncodeTimezone (ISO): +HH, +HH:MM or +HH:MM:SS, east of UTC positive."""
    sign = "-" if offset_seconds < 0 else "+"
    s = abs(offset_seconds)
    hours, s = divmod(s, 3600)
    minutes, seconds = divmod(s, 60)
    if seconds:
        return f"{sign}{hours:02d}:{minutes:02d}:{seconds:02d}"
    if minutes:
        return f"{sign}{hours:02d}:{minutes:02d}"
    return f"{sign}{hours:02d}"


def _timestamp_text(arr: pa.Array, timezone: str | None) -> pa.Array:
    """timestamp (``timezone`` None) or timestamptz shown in ``timezone``."""
    unit = arr.type.unit
    raw = _ints(arr)
    valid = _valid_mask(arr)
    pos_inf = raw == _INT64_MAX
    neg_inf = raw <= -_INT64_MAX
    special = pos_inf | neg_inf
    if special.any():
        raw = np.where(special, 0, raw)
    offsets = None
    if timezone is not None and timezone.upper() not in _UTC_NAMES:
        utc = pa.array(raw, pa.timestamp(unit, tz=timezone))
        local = _ints(pc.local_timestamp(utc))
        offsets = (local - raw) // _UNIT_PER_SEC[unit]
        raw = local
    micros = _to_micros(raw, unit)
    text = _clock_text(micros, valid)
    if timezone is not None:
        if offsets is None:
            text = _join(text, "+00")
        else:
            uniq, inverse = np.unique(offsets, return_inverse=True)
            suffix = pa.array([_tz_offset_text(int(o)) for o in uniq.tolist()], pa.string())
            text = _join(text, pc.take(suffix, pa.array(inverse.reshape(-1))))
    bc = micros < _SEC_0001_01_01 * _US_PER_SEC
    return _fix_bc_and_infinity(text, bc, pos_inf, neg_inf, valid)


# ---------------------------------------------------------------------------------------------------------
# Intervals
# ---------------------------------------------------------------------------------------------------------


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def format_interval(months: int, days: int, micros: int) -> str:
    """interval_out with IntervalStyle = postgres (EncodeInterval, INTSTYLE_POSTGRES)."""
    year = _trunc_div(months, 12)
    mon = months - year * 12
    hour = _trunc_div(micros, _US_PER_HOUR)
    micros -= hour * _US_PER_HOUR
    minute = _trunc_div(micros, _US_PER_MINUTE)
    micros -= minute * _US_PER_MINUTE
    sec = _trunc_div(micros, _US_PER_SEC)
    fsec = micros - sec * _US_PER_SEC

    parts: list[str] = []
    is_before = False
    is_zero = True
    for value, unit in ((year, "year"), (mon, "mon"), (days, "day")):
        if value == 0:
            continue
        plus = "+" if is_before and value > 0 else ""
        parts.append(f"{plus}{value} {unit}{'' if value == 1 else 's'}")
        is_before = value < 0
        is_zero = False
    if is_zero or hour != 0 or minute != 0 or sec != 0 or fsec != 0:
        minus = hour < 0 or minute < 0 or sec < 0 or fsec < 0
        sign = "-" if minus else ("+" if is_before else "")
        frac = f".{abs(fsec):06d}".rstrip("0") if fsec else ""
        parts.append(f"{sign}{abs(hour):02d}:{abs(minute):02d}:{abs(sec):02d}{frac}")
    return " ".join(parts)


_MDN = np.dtype([("months", "<i4"), ("days", "<i4"), ("nanos", "<i8")])


def _interval_text(arr: pa.Array) -> pa.Array:
    if arr.type != pa.month_day_nano_interval():
        return _generic_text(arr, "UTC")
    n = len(arr)
    raw = np.frombuffer(arr.buffers()[1], dtype=_MDN)[arr.offset : arr.offset + n]
    nanos = raw["nanos"]
    micros = np.where(nanos < 0, -((-nanos) // 1000), nanos // 1000)  # truncate toward zero
    out = [
        format_interval(m, d, us)
        for m, d, us in zip(raw["months"].tolist(), raw["days"].tolist(), micros.tolist(), strict=True)
    ]
    return _apply_nulls(pa.array(out, pa.string()), _valid_mask(arr))


def _duration_micros_text(us: int) -> str:
    # A duration is a difference of timestamps: show it like timestamp - timestamp (justify_hours).
    days = _trunc_div(us, _US_PER_DAY)
    return format_interval(0, days, us - days * _US_PER_DAY)


def _duration_text(arr: pa.Array) -> pa.Array:
    raw = _ints(arr)
    per_sec = _UNIT_PER_SEC[arr.type.unit]
    if per_sec > _US_PER_SEC:  # nanoseconds: truncate toward zero like interval input does
        div = per_sec // _US_PER_SEC
        micros = np.where(raw < 0, -((-raw) // div), raw // div)
    else:
        micros = _to_micros(raw, arr.type.unit)
    out = [_duration_micros_text(us) for us in micros.tolist()]
    return _apply_nulls(pa.array(out, pa.string()), _valid_mask(arr))


# ---------------------------------------------------------------------------------------------------------
# Arrays, JSON and the generic fallback
# ---------------------------------------------------------------------------------------------------------


def _is_list_like(t: pa.DataType) -> bool:
    return (
        pat.is_list(t)
        or pat.is_large_list(t)
        or pat.is_fixed_size_list(t)
        or pat.is_list_view(t)
        or pat.is_large_list_view(t)
    )


# array_out quotes an element that is empty, equals NULL (any case), or contains " \ { } , or whitespace.
_NEEDS_QUOTES = r'^$|["\\{},\t\n\v\f\r ]|^(?i:null)$'


def _quote_array_elements(text: pa.Array) -> pa.Array:
    needs = pc.match_substring_regex(text, _NEEDS_QUOTES)
    escaped = pc.replace_substring_regex(text, r'(["\\])', r"\\\1")
    return pc.if_else(needs, _join('"', escaped, '"'), text)


_VECTOR_EXTENSIONS = frozenset({"lens_proxy.int2vector", "lens_proxy.oidvector"})


def _vector_text(arr: pa.Array) -> pa.Array:
    """int2vector / oidvector output: the elements separated by single spaces (``1 2``), no braces."""
    lengths = pc.list_value_length(arr).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    offsets = np.zeros(len(arr) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    elements = pc.cast(pc.cast(arr.flatten(), pa.string()).fill_null("0"), pa.large_string())
    lists = pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), elements)
    return _apply_nulls(_cast_string(pc.binary_join(lists, pa.scalar(" ", pa.large_string()))), _valid_mask(arr))


# record_out quotes a field that is empty or contains " \ ( ) , or whitespace, doubling " and \.
_RECORD_NEEDS_QUOTES = r'^$|["\\(),\s]'


def _record_text(arr: pa.Array, timezone: str) -> pa.Array:
    """Postgres's record output: ``(f1,f2,…)``, a NULL field empty, fields quoted as record_out does."""
    fields = []
    for i in range(arr.type.num_fields):
        text = text_column(arr.field(i), timezone=timezone)
        needs = pc.match_substring_regex(text, _RECORD_NEEDS_QUOTES)
        doubled = pc.replace_substring_regex(text, r'(["\\])', r"\1\1")
        fields.append(pc.if_else(needs, _join('"', doubled, '"'), text).fill_null(""))
    if not fields:
        body = pa.array([""] * len(arr), pa.string())
    else:
        body = pc.binary_join_element_wise(*fields, ",")
    return _apply_nulls(_cast_string(_join("(", body, ")")), _valid_mask(arr))


def _list_text(arr: pa.Array, timezone: str) -> pa.Array:
    element_type = arr.type.value_type
    values = arr.flatten()  # logical order; null lists contribute nothing
    lengths = pc.list_value_length(arr).fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    offsets = np.zeros(len(arr) + 1, dtype=np.int64)
    np.cumsum(lengths, out=offsets[1:])
    elements = text_column(values, timezone=timezone)
    if not _is_list_like(element_type):  # sub-arrays are written bare: {{1,2},{3,4}}
        elements = _quote_array_elements(elements)
    elements = pc.cast(elements.fill_null("NULL"), pa.large_string())
    lists = pa.LargeListArray.from_arrays(pa.array(offsets, pa.int64()), elements)
    text = _join("{", pc.binary_join(lists, pa.scalar(",", pa.large_string())), "}")
    return _apply_nulls(_cast_string(text), _valid_mask(arr))


def _without_nanos(t: pa.DataType) -> pa.DataType:
    """``t`` with nanosecond temporal types widened to microseconds (as_py needs pandas for nanos)."""
    if pat.is_timestamp(t) and t.unit == "ns":
        return pa.timestamp("us", t.tz)
    if pat.is_time64(t) and t.unit == "ns":
        return pa.time64("us")
    if pat.is_duration(t) and t.unit == "ns":
        return pa.duration("us")
    if pat.is_struct(t):
        return pa.struct([f.with_type(_without_nanos(f.type)) for f in t])
    if pat.is_map(t):
        return pa.map_(_without_nanos(t.key_type), _without_nanos(t.item_type), t.keys_sorted)
    if pat.is_list(t):
        return pa.list_(t.value_field.with_type(_without_nanos(t.value_type)))
    if pat.is_large_list(t):
        return pa.large_list(t.value_field.with_type(_without_nanos(t.value_type)))
    return t


def _python_values(arr: pa.Array) -> list:
    target = _without_nanos(arr.type)
    if target != arr.type:
        try:
            arr = pc.cast(arr, target, safe=False)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    return arr.to_pylist()


def _json_text(arr: pa.Array, timezone: str) -> pa.Array:
    t = arr.type
    out = [None if v is None else _to_json(v, t, timezone) for v in _python_values(arr)]
    return pa.array(out, pa.string())


def _json_string(s: str) -> str:
    return json.dumps(s, ensure_ascii=False)


def _to_json(v: object, t: pa.DataType, timezone: str) -> str:
    """JSON as PostgreSQL's to_json writes it (no spaces), guided by the Arrow type."""
    if v is None:
        return "null"
    if pat.is_dictionary(t):
        t = t.value_type
    if pat.is_struct(t):
        items = v.items() if isinstance(v, dict) else zip((f.name for f in t), v, strict=False)
        types = {f.name: f.type for f in t}
        return (
            "{"
            + ",".join(
                _json_string(k) + ":" + _to_json(x, types.get(k, pa.null()), timezone) for k, x in items
            )
            + "}"
        )
    if pat.is_map(t):
        return (
            "{"
            + ",".join(
                _json_string(_json_key(k, timezone)) + ":" + _to_json(x, t.item_type, timezone) for k, x in v
            )
            + "}"
        )
    if _is_list_like(t):
        return "[" + ",".join(_to_json(x, t.value_type, timezone) for x in v) + "]"
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if not math.isfinite(v):
            return _json_string(_special_float(v))
        return format_float4(v) if pat.is_float32(t) or pat.is_float16(t) else format_float8(v)
    if isinstance(v, decimal.Decimal):
        return _format_numeric(v) if v.is_finite() else _json_string(_format_numeric(v))
    if isinstance(v, str):
        return _json_string(v)
    if isinstance(v, _dt.datetime):  # to_json uses ISO 8601 with a T
        return _json_string(format_text(v, timezone=timezone).replace(" ", "T", 1))
    return _json_string(format_text(v, timezone=timezone) or "")


def _json_key(k: object, timezone: str) -> str:
    return k if isinstance(k, str) else (format_text(k, timezone=timezone) or "")


def _generic_text(arr: pa.Array, timezone: str) -> pa.Array:
    out = [None if v is None else format_text(v, timezone=timezone) for v in _python_values(arr)]
    return pa.array(out, pa.string())


# ---------------------------------------------------------------------------------------------------------
# Python values
# ---------------------------------------------------------------------------------------------------------


def _format_time_of_day(t: _dt.time) -> str:
    frac = f".{t.microsecond:06d}".rstrip("0") if t.microsecond else ""
    return f"{t.hour:02d}:{t.minute:02d}:{t.second:02d}{frac}"


def _zone(timezone: str) -> _dt.tzinfo:
    if timezone.upper() in _UTC_NAMES:
        return _dt.timezone.utc
    import zoneinfo

    return zoneinfo.ZoneInfo(timezone)


def _format_array_literal(values: Sequence[object], timezone: str) -> str:
    parts = []
    for v in values:
        if v is None:
            parts.append("NULL")
        elif isinstance(v, (list, tuple)):
            parts.append(_format_array_literal(v, timezone))
        else:
            s = format_text(v, timezone=timezone) or ""
            if s == "" or s.upper() == "NULL" or any(c in s for c in '"\\{},\t\n\v\f\r '):
                s = '"' + s.replace("\\", "\\\\").replace('"', '\\"') + '"'
            parts.append(s)
    return "{" + ",".join(parts) + "}"


def _plain_json(v: object, timezone: str) -> str:
    if v is None:
        return "null"
    if isinstance(v, dict):
        return (
            "{" + ",".join(_json_string(str(k)) + ":" + _plain_json(x, timezone) for k, x in v.items()) + "}"
        )
    if isinstance(v, (list, tuple)):
        return "[" + ",".join(_plain_json(x, timezone) for x in v) + "]"
    if isinstance(v, (bool, int, float, decimal.Decimal, str, _dt.datetime)):
        return _to_json(v, pa.null(), timezone)
    return _json_string(format_text(v, timezone=timezone) or "")


def format_text(value: object, *, timezone: str = "UTC") -> str | None:
    """PostgreSQL's text output for one Python value (``None`` -> ``None``, i.e. SQL NULL).

    Aware datetimes are shown in ``timezone`` with their offset (timestamptz); naive ones as timestamp.
    """
    v = value
    if v is None:
        return None
    if isinstance(v, str):
        return v
    if isinstance(v, bool):
        return "t" if v else "f"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        return format_float8(v)
    if isinstance(v, decimal.Decimal):
        return _format_numeric(v)
    if isinstance(v, _dt.datetime):
        if v.tzinfo is not None and v.utcoffset() is not None:
            local = v.astimezone(_zone(timezone))
            offset = int(local.utcoffset().total_seconds())
            naive = local.replace(tzinfo=None)
            return f"{naive.date().isoformat()} {_format_time_of_day(naive.time())}{_tz_offset_text(offset)}"
        return f"{v.date().isoformat()} {_format_time_of_day(v.time())}"
    if isinstance(v, _dt.date):
        return v.isoformat()
    if isinstance(v, _dt.time):
        text = _format_time_of_day(v)
        offset = v.utcoffset()
        return text if offset is None else text + _tz_offset_text(int(offset.total_seconds()))
    if isinstance(v, _dt.timedelta):
        return format_interval(0, v.days, v.seconds * _US_PER_SEC + v.microseconds)
    if isinstance(v, pa.MonthDayNano):
        nanos = v.nanoseconds
        return format_interval(v.months, v.days, -((-nanos) // 1000) if nanos < 0 else nanos // 1000)
    if isinstance(v, uuid.UUID):
        return str(v)
    if isinstance(v, (bytes, bytearray, memoryview)):
        return "\\x" + bytes(v).hex()
    if isinstance(v, (list, tuple)):
        return _format_array_literal(v, timezone)
    if isinstance(v, dict):
        return _plain_json(v, timezone)
    if isinstance(v, np.generic):
        return format_text(v.item(), timezone=timezone)
    return str(v)
