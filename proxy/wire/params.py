"""Bound parameters (Bind) -> typed Python values for the engine, from text or binary format.

Values are always passed to the engine as parameters, never spliced into SQL text, so ``' OR 1=1 --`` is
just a string. The type is the one the client declared in Parse, or the one the server inferred
(:mod:`proxy.pgtypes_sql`); 0 / unknown means text.

Binary values are checked the way PostgreSQL's ``*_recv`` functions check them, with the same SQLSTATEs: a
value too short for its type is 08P01 "insufficient data left in message", one with bytes left over 22P03
"incorrect binary data format in bind parameter N", a time outside 00:00..24:00 or a date outside
PostgreSQL's range 22008, a numeric with a bad sign, digit or scale 22P03, text that is not UTF-8 22021.
Values PostgreSQL accepts that Python's types cannot hold (``infinity``, a year after 9999, 24:00, an
interval counting months) travel as :class:`TypedText`: their Postgres text and type, for the engine to cast.
"""

from __future__ import annotations

import datetime as dt
import decimal
import struct
import uuid
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from proxy.errors import FeatureNotSupported, ProtocolViolationError, SqlError
from proxy.wire import types as pgt

__all__ = ["TypedText", "decode_param", "numeric_recv", "parse_text_array"]

_PG_EPOCH = dt.datetime(2000, 1, 1)
_PG_EPOCH_DATE = dt.date(2000, 1, 1)
_TEXT_OIDS = {0, 25, 1043, 19, 1042, 705, 18, 114}
_INT_OIDS = {20, 21, 23, 26}
_FLOAT_OIDS = {700, 701}


# PostgreSQL's limits (datatype/timestamp.h): Julian days of 4714-11-24 BC and of the first day after the
# last valid date/timestamp, and the Julian day of 2000-01-01 (day 0 on the wire).
_POSTGRES_EPOCH_JDATE = 2451545
_DATETIME_MIN_JULIAN = 0
_DATE_END_JULIAN = 2147483494
_TIMESTAMP_END_JULIAN = 109203528
_USECS_PER_DAY = 86_400_000_000
_DATE_INFINITY, _DATE_MINUS_INFINITY = 2**31 - 1, -(2**31)
_TS_INFINITY, _TS_MINUS_INFINITY = 2**63 - 1, -(2**63)
_INFINITE_TYPES = {1082: "date", 1114: "timestamp", 1184: "timestamptz"}
_NUMERIC_SIGNS = {0x0000: 1, 0x4000: -1}
_NUMERIC_SPECIAL = {0xC000: "NaN", 0xD000: "Infinity", 0xF000: "-Infinity"}
_NUMERIC_MAX_DIGITS = 1000 + 1000  # NUMERIC_MAX_PRECISION + NUMERIC_MAX_RESULT_SCALE
_DOUBLE_MAX_EXPONENT = 308  # beyond this the engine's widest number is infinite
_WIDE = decimal.Context(prec=_NUMERIC_MAX_DIGITS * 4 + 8, Emax=decimal.MAX_EMAX, Emin=decimal.MIN_EMIN)


class InvalidBinaryRepresentation(SqlError):
    sqlstate = "22P03"


class InvalidTextRepresentation(SqlError):
    sqlstate = "22P02"


class DatetimeOverflow(SqlError):
    sqlstate = "22008"


class _Short(Exception):
    """The value ends before its type's fields do (PostgreSQL: 08P01 insufficient data left in message)."""


@dataclass(frozen=True, slots=True)
class TypedText:
    """A value PostgreSQL accepts that Python's types cannot hold: its Postgres text and type name
    (``date``, ``timestamp``, ``timestamptz``, ``time``, ``interval``); the backend casts it."""

    text: str
    type_name: str

    def __str__(self) -> str:
        return self.text


def decode_param(raw: bytes | None, oid: int, fmt: int, index: int = 0) -> Any:
    """A bound parameter as a typed Python value (``fmt`` 0 text, 1 binary; ``index`` 0-based, for errors)."""
    if raw is None:
        return None
    if fmt == 1:
        try:
            return _binary(raw, oid)
        except (_Short, struct.error):
            raise ProtocolViolationError("insufficient data left in message") from None
        except UnicodeDecodeError as e:  # before ValueError, its base class
            raise _bad_encoding(raw[e.start : e.start + 1]) from None
        except (ValueError, IndexError, OverflowError, InvalidOperation):
            raise InvalidBinaryRepresentation(f"incorrect binary data format in bind parameter {index + 1}") from None
    if b"\0" in raw:
        raise _bad_encoding(b"\0")
    try:
        text = raw.decode()
    except UnicodeDecodeError as e:
        raise _bad_encoding(raw[e.start : e.start + 1]) from None
    return decode_text(text, oid)


def _bad_encoding(byte: bytes) -> SqlError:
    return SqlError(f'invalid byte sequence for encoding "UTF8": 0x{byte.hex()}', sqlstate="22021")


def decode_text(text: str, oid: int) -> Any:
    try:
        if oid in _TEXT_OIDS:
            return text
        if oid in _INT_OIDS:
            return int(text.strip())
        if oid in _FLOAT_OIDS:
            return float(text)
        if oid == 1700:
            return Decimal(text)
        if oid == 16:
            value = text.strip().lower()
            if value in ("t", "true", "1", "y", "yes", "on"):
                return True
            if value in ("f", "false", "0", "n", "no", "off"):
                return False
            raise ValueError(text)
        if oid in _INFINITE_TYPES and text.strip().lower().lstrip("+") in ("infinity", "-infinity"):
            return TypedText(text.strip().lower().lstrip("+"), _INFINITE_TYPES[oid])
        if oid == 1082:  # date_in takes a timestamp too and keeps its date (pgJDBC's setDate: "2026-01-01 +00")
            return _datetime_text(text).date()
        if oid == 1083:
            return dt.time.fromisoformat(text.strip())
        if oid == 1114:  # timestamp_in ignores a zone ("2026-01-01 12:30:00+01" is 12:30)
            return _datetime_text(text).replace(tzinfo=None)
        if oid == 1184:
            value = _datetime_text(text)
            return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)
        if oid == 2950:
            return uuid.UUID(text)
        if oid == 17:
            return bytes.fromhex(text[2:]) if text.startswith("\\x") else text.encode()
        if oid == 3802:
            return text
        element = _element_oid(oid)
        if element:
            return [None if v is None else decode_text(v, element) for v in parse_text_array(text)]
    except (ValueError, InvalidOperation):
        name = pgt.BY_OID[oid].name if oid in pgt.BY_OID else f"oid {oid}"
        raise InvalidTextRepresentation(f'invalid input syntax for type {name}: "{text}"') from None
    return text


def _datetime_text(text: str) -> dt.datetime:
    """ISO date/time input as Postgres reads it: ``2026-01-01``, ``2026-01-01 12:30[:00[.5]]``, with ``T``
    or a space, and a zone written with or without a space before it (``+00``, ``+01:00``, `` -0530``)."""
    value = text.strip()
    head, _, rest = value.partition(" ") if "T" not in value[:11] else value.partition("T")
    if rest and rest[0] in "+-":  # date then zone: "2026-01-01 +00"
        rest = "00:00:00" + rest
    value = f"{head} {rest.replace(' ', '')}" if rest else head
    if len(value) > 3 and value[-3] in "+-" and value[-2:].isdigit() and ":" in value[-9:-3]:
        value += ":00"  # +00 -> +00:00 (Python 3.10 wants minutes)
    return dt.datetime.fromisoformat(value)


def _element_oid(oid: int) -> int:
    t = pgt.BY_OID.get(oid)
    return t.element_oid if t is not None else 0


_FIXED = {16: struct.Struct("!B"), 21: struct.Struct("!h"), 23: struct.Struct("!i"), 26: struct.Struct("!I"),
          20: struct.Struct("!q"), 700: struct.Struct("!f"), 701: struct.Struct("!d"), 1082: struct.Struct("!i"),
          1083: struct.Struct("!q"), 1114: struct.Struct("!q"), 1184: struct.Struct("!q"), 1186: struct.Struct("!qii")}


def _fixed(raw: bytes, oid: int) -> tuple[Any, ...]:
    """Unpack a fixed-width value: too short is 08P01, bytes left over 22P03, as PostgreSQL says."""
    layout = _FIXED[oid]
    if len(raw) < layout.size:
        raise _Short()
    if len(raw) > layout.size:
        raise ValueError("trailing bytes")
    return layout.unpack(raw)


def _binary(raw: bytes, oid: int) -> Any:
    if oid in _TEXT_OIDS or oid == 0:
        if b"\0" in raw:
            raise UnicodeDecodeError("utf-8", raw, raw.index(b"\0"), raw.index(b"\0") + 1, "NUL byte")
        return raw.decode()
    if oid in _FIXED:
        values = _fixed(raw, oid)
        if oid == 16:
            return values[0] != 0
        if oid == 1082:
            return _date(values[0])
        if oid == 1083:
            return _time(values[0])
        if oid in (1114, 1184):
            return _timestamp(values[0], with_zone=oid == 1184)
        if oid == 1186:
            return _interval(*values)
        return values[0]
    if oid == 1700:
        return numeric_recv(raw)
    if oid == 2950:
        if len(raw) < 16:
            raise _Short()
        if len(raw) > 16:
            raise ValueError("trailing bytes")
        return uuid.UUID(bytes=raw)
    if oid == 17:
        return bytes(raw)
    if oid == 3802:
        if raw[:1] != b"\x01":
            raise SqlError(f"unsupported jsonb version number {raw[0] if raw else 0}", sqlstate="22P03")
        return raw[1:].decode()
    if _element_oid(oid):
        return _array_recv(raw, _element_oid(oid))
    raise FeatureNotSupported(f"binary parameters of type oid {oid} are not supported", hint="send it as text")


def _date(days: int) -> Any:
    """date_recv: ±infinity, or a day in PostgreSQL's range (4714 BC .. 5874897 AD), else 22008."""
    if days == _DATE_INFINITY:
        return TypedText("infinity", "date")
    if days == _DATE_MINUS_INFINITY:
        return TypedText("-infinity", "date")
    julian = days + _POSTGRES_EPOCH_JDATE
    if not _DATETIME_MIN_JULIAN <= julian < _DATE_END_JULIAN:
        raise DatetimeOverflow("date out of range")
    try:
        return _PG_EPOCH_DATE + dt.timedelta(days=days)
    except OverflowError:  # valid in PostgreSQL, beyond Python's years 1..9999
        return TypedText(_julian_text(julian), "date")


def _time(us: int) -> Any:
    """time_recv: 00:00:00 .. 24:00:00 inclusive, else 22008."""
    if not 0 <= us <= _USECS_PER_DAY:
        raise DatetimeOverflow("time out of range")
    if us == _USECS_PER_DAY:
        return TypedText("24:00:00", "time")
    return (dt.datetime.min + dt.timedelta(microseconds=us)).time()


def _timestamp(us: int, *, with_zone: bool) -> Any:
    """timestamp_recv: ±infinity, or an instant in PostgreSQL's range (4714 BC .. 294276 AD), else 22008."""
    type_name = "timestamptz" if with_zone else "timestamp"
    if us == _TS_INFINITY:
        return TypedText("infinity", type_name)
    if us == _TS_MINUS_INFINITY:
        return TypedText("-infinity", type_name)
    days, day_us = divmod(us, _USECS_PER_DAY)
    julian = days + _POSTGRES_EPOCH_JDATE
    if not _DATETIME_MIN_JULIAN <= julian < _TIMESTAMP_END_JULIAN:
        raise DatetimeOverflow("timestamp out of range")
    try:
        value = _PG_EPOCH + dt.timedelta(microseconds=us)
    except OverflowError:
        clock = (dt.datetime.min + dt.timedelta(microseconds=day_us)).time().isoformat()
        suffix = "+00" if with_zone else ""
        date, bc = _julian_text(julian, split_era=True)
        return TypedText(f"{date} {clock}{suffix}{bc}", type_name)
    return value.replace(tzinfo=dt.timezone.utc) if with_zone else value


def _interval(us: int, days: int, months: int) -> Any:
    """interval_recv accepts any fields; a value Python's timedelta holds exactly stays one."""
    if months == 0:
        try:
            return dt.timedelta(days=days, microseconds=us)
        except OverflowError:
            pass
    return TypedText(f"{months} months {days} days {us} microseconds", "interval")


def _julian_text(julian: int, *, split_era: bool = False) -> Any:
    """A Julian day number as ISO date text the engine parses (PostgreSQL's ``j2date``), years <= 0 as BC.

    With ``split_era`` the `` (BC)`` suffix comes back apart, to go after a time of day."""
    j = julian + 32044
    quad = j // 146097
    extra = (j - quad * 146097) * 4 + 3
    j += 60 + quad * 3 + extra // 146097
    quad = j // 1461
    j -= quad * 1461
    y = j * 4 // 1461
    j = ((j + 305) % 365 if y != 0 else (j + 306) % 366) + 123
    y += quad * 4
    year = y - 4800
    quad = j * 2141 // 65536
    day = j - 7834 * quad // 256
    month = (quad + 10) % 12 + 1
    era = " (BC)" if year <= 0 else ""
    date = f"{(1 - year) if year <= 0 else year:04d}-{month:02d}-{day:02d}"
    return (date, era) if split_era else date + era


_MAX_DIMS = 6
_MAX_ARRAY_ITEMS = 134217727  # MaxArraySize


def _array_recv(raw: bytes, expected_element: int) -> list[Any]:
    """array_recv: dimensions, flags and element type checked as PostgreSQL checks them."""
    if len(raw) < 12:
        raise _Short()
    ndim, flags, element = struct.unpack_from("!iiI", raw, 0)
    if ndim < 0:
        raise InvalidBinaryRepresentation(f"invalid number of dimensions: {ndim}")
    if ndim > _MAX_DIMS:
        raise SqlError(f"number of array dimensions ({ndim}) exceeds the maximum allowed ({_MAX_DIMS})", sqlstate="54000")
    if flags not in (0, 1):
        raise InvalidBinaryRepresentation("invalid array flags")
    if element != expected_element:
        raise SqlError(f"binary data has array element type {element} ({_type_name(element)}) instead of expected "
                       f"{expected_element} ({_type_name(expected_element)})", sqlstate="42804")
    pos = 12
    dims = []
    for _ in range(ndim):
        if len(raw) < pos + 8:
            raise _Short()
        size, lower = struct.unpack_from("!ii", raw, pos)
        if size < 0 or lower + size - 1 > 2**31 - 1:
            raise SqlError("array lower bound is too large" if size >= 0 else "array size exceeds the maximum allowed "
                           f"({_MAX_ARRAY_ITEMS})", sqlstate="54000")
        dims.append(size)
        pos += 8
    total = 1
    for d in dims:
        total *= d
        if total > _MAX_ARRAY_ITEMS:
            raise SqlError(f"array size exceeds the maximum allowed ({_MAX_ARRAY_ITEMS})", sqlstate="54000")
    flat = []
    for _ in range(total if ndim else 0):
        if len(raw) < pos + 4:
            raise InvalidBinaryRepresentation("insufficient data left in message")
        (n,) = struct.unpack_from("!i", raw, pos)
        pos += 4
        if n < -1 or pos + n > len(raw):
            raise InvalidBinaryRepresentation("insufficient data left in message")
        if n == -1:
            flat.append(None)
        else:
            try:
                flat.append(_binary(raw[pos : pos + n], element))
            except (_Short, ValueError, struct.error):
                raise InvalidBinaryRepresentation(f"incorrect binary data format in array element {len(flat) + 1}") from None
            pos += n
    if pos != len(raw):
        raise ValueError("trailing bytes")
    for size in reversed(dims[1:]):
        flat = [flat[i : i + size] for i in range(0, len(flat), size)]
    return flat


def _type_name(oid: int) -> str:
    t = pgt.BY_OID.get(oid)
    return t.name if t is not None else "-"


def numeric_recv(raw: bytes) -> Decimal:
    """numeric_recv: length, sign, scale and every base-10000 digit checked (22P03 as PostgreSQL says)."""
    if len(raw) < 8:
        raise _Short()
    ndigits, weight, sign, dscale = struct.unpack_from("!hhHH", raw, 0)
    if ndigits < 0 or ndigits > _NUMERIC_MAX_DIGITS:
        raise InvalidBinaryRepresentation('invalid length in external "numeric" value')
    if sign not in _NUMERIC_SIGNS and sign not in _NUMERIC_SPECIAL:
        raise InvalidBinaryRepresentation('invalid sign in external "numeric" value')
    if dscale & 0x3FFF != dscale:
        raise InvalidBinaryRepresentation('invalid scale in external "numeric" value')
    if len(raw) < 8 + 2 * ndigits:
        raise _Short()
    if len(raw) > 8 + 2 * ndigits:
        raise ValueError("trailing bytes")
    digits = struct.unpack_from(f"!{ndigits}h", raw, 8)
    if any(d < 0 or d >= 10000 for d in digits):
        raise InvalidBinaryRepresentation('invalid digit in external "numeric" value')
    if sign in _NUMERIC_SPECIAL:
        return Decimal(_NUMERIC_SPECIAL[sign])
    value = 0
    for d in digits:
        value = value * 10000 + d
    result = _WIDE.scaleb(Decimal(value), 4 * (weight - ndigits + 1))
    if value and result.adjusted() > _DOUBLE_MAX_EXPONENT:
        raise SqlError("value overflows numeric format", sqlstate="22003",
                       hint=f"lens-proxy's engine holds numbers up to 1e{_DOUBLE_MAX_EXPONENT}")
    if sign == 0x4000:
        result = -result
    try:
        return result.quantize(Decimal(1).scaleb(-dscale), context=_WIDE)
    except InvalidOperation:
        return result


def parse_text_array(text: str) -> list[Any]:
    """A one- or multi-dimensional array literal ``{1,"a b",NULL,{2,3}}`` as nested lists of str/None."""
    pos = 0
    text = text.strip()
    if text.startswith("[") and "=" in text:  # explicit bounds: [1:3]={...}
        text = text.split("=", 1)[1]

    def parse() -> list[Any]:
        nonlocal pos
        if text[pos] != "{":
            raise ValueError("array must start with {")
        pos += 1
        out: list[Any] = []
        if text[pos] == "}":
            pos += 1
            return out
        while True:
            c = text[pos]
            if c == "{":
                out.append(parse())
            elif c == '"':
                pos += 1
                buf = []
                while text[pos] != '"':
                    if text[pos] == "\\":
                        pos += 1
                    buf.append(text[pos])
                    pos += 1
                pos += 1
                out.append("".join(buf))
            else:
                start = pos
                while text[pos] not in ",}":
                    pos += 1
                word = text[start:pos].strip()
                out.append(None if word.upper() == "NULL" else word)
            if text[pos] == ",":
                pos += 1
            elif text[pos] == "}":
                pos += 1
                return out
            else:
                raise ValueError("malformed array literal")

    try:
        return parse()
    except IndexError:
        raise ValueError("malformed array literal") from None


