"""COPY ... TO STDOUT: options and CopyData rows in PostgreSQL's text and CSV formats (sans-IO).

One CopyData message per row, as PostgreSQL sends them (``psycopg``'s ``copy.rows()`` relies on it). Values
are PostgreSQL's text output (:func:`proxy.wire.encode.text_column`), then escaped for the format: text
format escapes backslash, tab, newline and carriage return and writes NULL as ``\\N``; CSV quotes values
holding the delimiter, quote, newline or carriage return (and empty strings, to tell them from NULL).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass

import pyarrow as pa

from proxy.errors import FeatureNotSupported, SqlError
from proxy.wire.encode import text_column

__all__ = ["CopyOptions", "parse_copy_options", "copy_header", "encode_copy_batch"]

_TEXT_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


@dataclass(frozen=True, slots=True)
class CopyOptions:
    csv: bool = False
    header: bool = False
    delimiter: str = "\t"
    null: str = "\\N"
    quote: str = '"'


def parse_copy_options(words: Sequence[str]) -> CopyOptions:
    """Options after ``TO STDOUT``: ``[WITH] (FORMAT csv, HEADER, DELIMITER ',', NULL '')`` or the legacy
    ``[WITH] CSV HEADER DELIMITER [AS] ','`` form."""
    opts: dict[str, str | bool] = {}
    items = [w for w in words if w not in ("(", ")", ",")]
    upper = [w.upper() for w in items]
    i = 1 if upper[:1] == ["WITH"] else 0
    while i < len(items):
        key = upper[i]
        nxt = items[i + 1] if i + 1 < len(items) else None
        if nxt is not None and nxt.upper() == "AS":
            i += 1
            nxt = items[i + 1] if i + 1 < len(items) else None
        if key == "FORMAT":
            opts["format"] = (nxt or "").lower()
            i += 2
        elif key in ("CSV", "BINARY", "TEXT"):
            opts["format"] = key.lower()
            i += 1
        elif key == "HEADER":
            if nxt is not None and nxt.upper() in ("TRUE", "ON", "1", "FALSE", "OFF", "0", "MATCH"):
                opts["header"] = nxt.upper() in ("TRUE", "ON", "1", "MATCH")
                i += 2
            else:
                opts["header"] = True
                i += 1
        elif key in ("DELIMITER", "NULL", "QUOTE", "ESCAPE", "ENCODING"):
            if nxt is None:
                raise SqlError("syntax error at end of input", sqlstate="42601")
            opts[key.lower()] = nxt
            i += 2
        elif key == "FORCE_QUOTE" or key == "FORCE":
            raise FeatureNotSupported("COPY FORCE_QUOTE is not supported")
        else:
            raise SqlError(f'option "{items[i].lower()}" not recognized', sqlstate="42601")
    fmt = opts.get("format", "text")
    if fmt == "binary":
        raise FeatureNotSupported("COPY BINARY is not supported", hint="use FORMAT text or csv")
    if fmt not in ("text", "csv"):
        raise SqlError(f'COPY format "{fmt}" not recognized', sqlstate="22023")
    csv = fmt == "csv"
    if opts.get("header") and not csv:
        raise FeatureNotSupported("COPY HEADER available only in CSV mode")
    delimiter = str(opts.get("delimiter", "," if csv else "\t"))
    if len(delimiter) != 1:
        raise SqlError("COPY delimiter must be a single one-byte character", sqlstate="0A000")
    return CopyOptions(csv, bool(opts.get("header")), delimiter, str(opts.get("null", "" if csv else "\\N")),
                       str(opts.get("quote", '"')))


def _copy_data(line: str) -> bytes:
    raw = line.encode()
    return b"d" + struct.pack("!i", len(raw) + 4) + raw


def _csv_value(v: str, opts: CopyOptions) -> str:
    if v == "" or v == opts.null or any(c in v for c in (opts.delimiter, opts.quote, "\n", "\r")) or v.startswith("\\."):
        return opts.quote + v.replace(opts.quote, opts.quote * 2) + opts.quote
    return v


def copy_header(names: Sequence[str], opts: CopyOptions) -> bytes:
    return _copy_data(opts.delimiter.join(_csv_value(n, opts) for n in names) + "\n")


def encode_copy_batch(batch: pa.RecordBatch, opts: CopyOptions, timezone: str = "UTC") -> bytes:
    """CopyData messages, one per row of ``batch``."""
    columns = [text_column(col, timezone=timezone).to_pylist() for col in batch.columns]
    out = []
    for values in zip(*columns, strict=True):
        if opts.csv:
            cells = [opts.null if v is None else _csv_value(v, opts) for v in values]
        else:
            cells = [opts.null if v is None else v.translate(_TEXT_ESCAPES) for v in values]
        out.append(_copy_data(opts.delimiter.join(cells) + "\n"))
    return b"".join(out)
