"""PostgreSQL ``to_char`` templates as DuckDB expressions (``rewriter.render.duckdb``).

A template is read as PostgreSQL reads it (longest pattern first, ``FM`` suppressing the next pattern's
padding, ``"quoted"`` text and any other character copied) and becomes a concatenation of DuckDB
expressions over the value, evaluated by the engine. Number templates support digits ``9``/``0``, ``.``,
``,`` and ``FM``; anything else is refused (0A000) rather than answered differently.
"""

from __future__ import annotations

import re

from sqlglot import exp

from rewriter.errors import FeatureNotSupported

_PATTERNS = sorted([
    "HH24", "HH12", "HH", "MI", "SS", "MS", "US", "AM", "PM", "am", "pm", "A.M.", "P.M.", "a.m.", "p.m.",
    "YYYY", "YYY", "YY", "Y", "MONTH", "Month", "month", "MON", "Mon", "mon", "MM", "DAY", "Day", "day",
    "DY", "Dy", "dy", "DDD", "DD", "D", "ID", "IW", "WW", "Q", "TZ", "tz", "J",
], key=len, reverse=True)


def _fn(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def _p(e: exp.Expression) -> exp.Expression:
    return exp.Paren(this=e)


def _text(e: exp.Expression) -> exp.Expression:
    return exp.Cast(this=e, to=exp.DataType.build("VARCHAR"))


def _padded(e: exp.Expression, width: int, fill_mode: bool) -> exp.Expression:
    return _text(e) if fill_mode else _fn("LPAD", _text(e), exp.Literal.number(width), exp.Literal.string("0"))


def _case(e: exp.Expression, pattern: str) -> exp.Expression:
    if pattern.isupper():
        return exp.Upper(this=e)
    if pattern.islower():
        return exp.Lower(this=e)
    return e


def _date_piece(value: exp.Expression, pattern: str, fm: bool) -> exp.Expression:
    v = value.copy
    p = pattern
    n = exp.Literal.number
    if p == "YYYY":
        return _padded(_fn("YEAR", v()), 4, fm)
    if p == "YYY":
        return _padded(_p(exp.Mod(this=_fn("YEAR", v()), expression=n(1000))), 3, fm)
    if p == "YY":
        return _padded(_p(exp.Mod(this=_fn("YEAR", v()), expression=n(100))), 2, fm)
    if p == "Y":
        return _text(_p(exp.Mod(this=_fn("YEAR", v()), expression=n(10))))
    if p == "MM":
        return _padded(_fn("MONTH", v()), 2, fm)
    if p == "DD":
        return _padded(_fn("DAY", v()), 2, fm)
    if p == "DDD":
        return _padded(_fn("DAYOFYEAR", v()), 3, fm)
    if p == "D":
        return _text(_p(exp.Add(this=_fn("DAYOFWEEK", v()), expression=n(1))))
    if p == "ID":
        return _text(_fn("ISODOW", v()))
    if p == "IW":
        return _padded(_fn("WEEK", v()), 2, fm)
    if p == "WW":
        return _padded(_p(exp.Add(this=exp.IntDiv(this=_p(exp.Sub(this=_fn("DAYOFYEAR", v()), expression=n(1))),
                                                  expression=n(7)), expression=n(1))), 2, fm)
    if p == "Q":
        return _text(_fn("QUARTER", v()))
    if p == "HH24":
        return _padded(_fn("HOUR", v()), 2, fm)
    if p in ("HH12", "HH"):
        hour12 = _p(exp.Add(this=exp.Mod(this=_p(exp.Add(this=_fn("HOUR", v()), expression=n(11))), expression=n(12)),
                            expression=n(1)))
        return _padded(hour12, 2, fm)
    if p == "MI":
        return _padded(_fn("MINUTE", v()), 2, fm)
    if p == "SS":
        return _padded(_fn("SECOND", v()), 2, fm)
    if p == "MS":
        millis = _p(exp.Mod(this=exp.IntDiv(this=_fn("MICROSECOND", v()), expression=n(1000)), expression=n(1000)))
        return _padded(millis, 3, fm)
    if p == "US":
        return _padded(_p(exp.Mod(this=_fn("MICROSECOND", v()), expression=n(1_000_000))), 6, fm)
    if p.upper().replace(".", "") in ("AM", "PM"):
        dotted = "." in p
        am, pm = ("A.M.", "P.M.") if dotted else ("AM", "PM")
        if p.islower():
            am, pm = am.lower(), pm.lower()
        return exp.Case(ifs=[exp.If(this=exp.LT(this=_fn("HOUR", v()), expression=n(12)), true=exp.Literal.string(am))],
                        default=exp.Literal.string(pm))
    if p.upper() == "MONTH":
        name = _fn("MONTHNAME", v())
        return _case(name if fm else _fn("RPAD", name, n(9), exp.Literal.string(" ")), p)
    if p.upper() == "MON":
        return _case(_fn("STRFTIME", v(), exp.Literal.string("%b")), p)
    if p.upper() == "DAY":
        name = _fn("DAYNAME", v())
        return _case(name if fm else _fn("RPAD", name, n(9), exp.Literal.string(" ")), p)
    if p.upper() == "DY":
        return _case(_fn("STRFTIME", v(), exp.Literal.string("%a")), p)
    raise FeatureNotSupported(f'to_char template pattern "{p}" is not supported')


def _concat(pieces: list[exp.Expression]) -> exp.Expression:
    if not pieces:
        return exp.Literal.string("")
    out = pieces[0]
    for piece in pieces[1:]:
        out = exp.DPipe(this=out, expression=piece)
    return exp.Paren(this=out)


def to_char_date(value: exp.Expression, template: str) -> exp.Expression:
    pieces: list[exp.Expression] = []
    literal: list[str] = []
    i, fm = 0, False

    def flush() -> None:
        if literal:
            pieces.append(exp.Literal.string("".join(literal)))
            literal.clear()

    while i < len(template):
        if template.startswith(("FM", "fm"), i):
            fm, i = True, i + 2
            continue
        ch = template[i]
        if ch == '"':
            end = template.find('"', i + 1)
            end = len(template) if end < 0 else end
            literal.append(template[i + 1:end])
            i = end + 1
            continue
        if ch == "\\" and i + 1 < len(template):
            literal.append(template[i + 1])
            i += 2
            continue
        match = next((p for p in _PATTERNS if template.startswith(p, i)), None)
        if match is None:
            literal.append(ch)
            i += 1
            continue
        flush()
        pieces.append(_date_piece(value, match, fm))
        fm = False
        i += len(match)
    flush()
    null_safe = exp.Case(ifs=[exp.If(this=exp.Is(this=value.copy(), expression=exp.Null()), true=exp.Null())],
                         default=_concat(pieces))
    return null_safe


_NUMBER_TEMPLATE = re.compile(r"^(FM)?([90,]*)(?:\.([90]*))?$")


def to_char_number(value: exp.Expression, template: str) -> exp.Expression:
    match = _NUMBER_TEMPLATE.match(template)
    if match is None or not (match.group(2) or match.group(3)):
        raise FeatureNotSupported(f'to_char number template "{template}" is not supported',
                                  hint="supported: 9, 0, the group separator ',', '.', FM")
    fm, integer, fraction = bool(match.group(1)), match.group(2) or "", match.group(3)
    digits = integer.replace(",", "")
    decimals = len(fraction) if fraction is not None else 0
    zeros = len(digits) - digits.find("0") if "0" in digits else (1 if fraction is None or not fm else 0)
    grouped = "," in integer
    number = exp.Cast(this=value, to=exp.DataType.build("DOUBLE"))
    rounded = _fn("ROUND", _fn("ABS", number), exp.Literal.number(decimals))
    width_digits = zeros + ((zeros - 1) // 3 if grouped and zeros else 0) + (decimals + 1 if decimals else 0)
    spec = "{:" + (f"0{width_digits}" if zeros else "") + ("," if grouped else "") + f".{decimals}f" + "}"
    body: exp.Expression = _fn("FORMAT", exp.Literal.string(spec), rounded)
    if not zeros and decimals:  # '9.99' prints .50, not 0.50
        body = _fn("REGEXP_REPLACE", body, exp.Literal.string(r"^0\."), exp.Literal.string("."))
    if fraction is not None and decimals == 0:
        body = exp.DPipe(this=body, expression=exp.Literal.string("."))
    if fm and fraction is not None and "9" in fraction:
        body = _fn("RTRIM", _fn("RTRIM", body, exp.Literal.string("0")), exp.Literal.string("."))
    sign = exp.Case(ifs=[exp.If(this=exp.LT(this=number.copy(), expression=exp.Literal.number(0)),
                                true=exp.Literal.string("-"))], default=exp.Literal.string("" if fm else " "))
    signed = exp.DPipe(this=sign, expression=body)
    if fm:
        return exp.Paren(this=signed)
    width = len(integer) + (decimals + 1 if fraction is not None else 0) + 1
    overflow = exp.Literal.string(" " + "#" * (width - 1 - (decimals + 1 if fraction is not None else 0)) +
                                  ("." + "#" * decimals if fraction is not None else ""))
    padded = _fn("LPAD", signed, exp.Literal.number(width), exp.Literal.string(" "))
    return exp.Case(ifs=[exp.If(this=exp.GT(this=_fn("LENGTH", signed.copy()), expression=exp.Literal.number(width)),
                                true=overflow)], default=padded)
