"""Bound parameters (Bind) -> typed Python values for the engine, from text or binary format.

Values are always passed to the engine as parameters, never spliced into SQL text, so ``' OR 1=1 --`` is
just a string. The type is the one the client declared in Parse, or the one the server inferred
(:mod:`proxy.pgtypes_sql`); 0 / unknown means text.
"""

from __future__ import annotations

import datetime as dt
import struct
import uuid
from decimal import Decimal, InvalidOperation
from typing import Any

from proxy.errors import FeatureNotSupported, SqlError
from proxy.wire import types as pgt

__all__ = ["decode_param", "numeric_recv", "parse_text_array"]

_PG_EPOCH = dt.datetime(2000, 1, 1)
_PG_EPOCH_DATE = dt.date(2000, 1, 1)
_TEXT_OIDS = {0, 25, 1043, 19, 1042, 705, 18, 114}
_INT_OIDS = {20, 21, 23, 26}
_FLOAT_OIDS = {700, 701}


class InvalidBinaryRepresentation(SqlError):
    sqlstate = "22P03"


class InvalidTextRepresentation(SqlError):
    sqlstate = "22P02"


def decode_param(raw: bytes | None, oid: int, fmt: int) -> Any:
    """A bound parameter as a typed Python value (``fmt`` 0 text, 1 binary)."""
    if raw is None:
        return None
    if fmt == 1:
        try:
            return _binary(raw, oid)
        except (struct.error, ValueError, IndexError, UnicodeDecodeError) as e:
            name = pgt.BY_OID[oid].name if oid in pgt.BY_OID else str(oid)
            raise InvalidBinaryRepresentation(f"incorrect binary data format in bind parameter ({name}): {e}") from None
    try:
        text = raw.decode()
    except UnicodeDecodeError:
        raise SqlError("invalid byte sequence for encoding \"UTF8\"", sqlstate="22021") from None
    return decode_text(text, oid)


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


def _binary(raw: bytes, oid: int) -> Any:
    if oid in _TEXT_OIDS or oid == 0:
        return raw.decode()
    if oid == 16:
        return raw != b"\x00"
    if oid == 21:
        return struct.unpack("!h", raw)[0]
    if oid == 23:
        return struct.unpack("!i", raw)[0]
    if oid == 26:
        return struct.unpack("!I", raw)[0]
    if oid == 20:
        return struct.unpack("!q", raw)[0]
    if oid == 700:
        return struct.unpack("!f", raw)[0]
    if oid == 701:
        return struct.unpack("!d", raw)[0]
    if oid == 1700:
        return numeric_recv(raw)
    if oid == 1082:
        (days,) = struct.unpack("!i", raw)
        return _PG_EPOCH_DATE + dt.timedelta(days=days)
    if oid == 1083:
        (us,) = struct.unpack("!q", raw)
        return (dt.datetime.min + dt.timedelta(microseconds=us)).time()
    if oid in (1114, 1184):
        (us,) = struct.unpack("!q", raw)
        value = _PG_EPOCH + dt.timedelta(microseconds=us)
        return value.replace(tzinfo=dt.timezone.utc) if oid == 1184 else value
    if oid == 1186:
        us, days, months = struct.unpack("!qii", raw)
        return dt.timedelta(days=days + 30 * months, microseconds=us)  # the engine has no month-aware param
    if oid == 2950:
        return uuid.UUID(bytes=raw)
    if oid == 17:
        return bytes(raw)
    if oid == 3802:
        if raw[:1] != b"\x01":
            raise ValueError("unsupported jsonb version number")
        return raw[1:].decode()
    if _element_oid(oid):
        return _array_recv(raw)
    raise FeatureNotSupported(f"binary parameters of type oid {oid} are not supported", hint="send it as text")


def _array_recv(raw: bytes) -> list[Any]:
    ndim, _flags, element = struct.unpack_from("!iii", raw, 0)
    pos = 12
    dims = []
    for _ in range(ndim):
        size, _lower = struct.unpack_from("!ii", raw, pos)
        dims.append(size)
        pos += 8
    flat = []
    total = 1
    for d in dims:
        total *= d
    for _ in range(total if ndim else 0):
        (n,) = struct.unpack_from("!i", raw, pos)
        pos += 4
        if n < 0:
            flat.append(None)
        else:
            flat.append(_binary(raw[pos : pos + n], element))
            pos += n
    for size in reversed(dims[1:]):
        flat = [flat[i : i + size] for i in range(0, len(flat), size)]
    return flat


def numeric_recv(raw: bytes) -> Decimal:
    ndigits, weight, sign, dscale = struct.unpack_from("!hhHh", raw, 0)
    if sign == 0xC000:
        return Decimal("NaN")
    if sign == 0xD000:
        return Decimal("Infinity")
    if sign == 0xF000:
        return Decimal("-Infinity")
    digits = struct.unpack_from(f"!{ndigits}h", raw, 8)
    value = 0
    for d in digits:
        value = value * 10000 + d
    exponent = 4 * (weight - ndigits + 1)
    result = Decimal(value).scaleb(exponent)
    if sign == 0x4000:
        result = -result
    return result.quantize(Decimal(1).scaleb(-dscale)) if dscale >= 0 else result


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


