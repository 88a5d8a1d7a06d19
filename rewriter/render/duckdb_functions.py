"""PostgreSQL functions DuckDB lacks or computes otherwise, as DuckDB expressions (``rewriter.render.duckdb``).

Each transform is ``node -> node`` over the rewritten tree; every emulation is an expression DuckDB evaluates:
quoting (``quote_literal``, ``quote_nullable``, ``quote_ident``), ``encode``/``decode``/``to_hex``,
``num_nulls``/``num_nonnulls``, ``array_replace`` and ``||`` with arrays, ``scale``/``trim_scale``,
``to_number``, month and day names in ``to_date``/``to_timestamp`` templates, ``justify_days``/``justify_hours``.
"""

from __future__ import annotations

import re

from sqlglot import exp

from rewriter.errors import FeatureNotSupported

_n = exp.Literal.number
_s = exp.Literal.string

# PostgreSQL keywords quote_ident quotes (every category but unreserved)
_QUOTED_KEYWORDS = frozenset("""
all analyse analyze and any array as asc asymmetric authorization between bigint binary bit boolean both case
cast char character check coalesce collate collation column concurrently constraint create cross current_catalog
current_date current_role current_schema current_time current_timestamp current_user dec decimal default
deferrable desc distinct do else end except exists extract false fetch float for foreign freeze from full grant
greatest group grouping having ilike in initially inner inout int integer intersect interval into is isnull join
json_array json_arrayagg json_object json_objectagg lateral leading least left like limit localtime
localtimestamp national natural nchar none normalize not notnull null nullif numeric offset on only or order out
outer overlaps overlay placing position precision primary real references returning right row select
session_user setof similar smallint some substring symmetric system_user table tablesample then time timestamp to
trailing treat trim true union unique user using values varchar variadic verbose when where window with xmlattributes
xmlconcat xmlelement xmlexists xmlforest xmlnamespaces xmlparse xmlpi xmlroot xmlserialize xmltable
""".split())


def _fn(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def _text(e: exp.Expression) -> exp.Expression:
    return exp.Cast(this=e, to=exp.DataType.build("VARCHAR"))


def _int(e: exp.Expression) -> exp.Expression:
    return exp.Cast(this=e, to=exp.DataType.build("INT"))


def _concat(*pieces: exp.Expression) -> exp.Expression:
    out = pieces[0]
    for piece in pieces[1:]:
        out = exp.DPipe(this=out, expression=piece)
    return exp.Paren(this=out)


def _named(node: exp.Expression, *names: str) -> bool:
    return isinstance(node, exp.Anonymous) and node.name.lower() in names


def quoting(node: exp.Expression) -> exp.Expression:
    if _named(node, "quote_literal", "quote_nullable") and len(node.expressions) == 1:
        value = _text(node.expressions[0])
        doubled = _fn("REPLACE", value, _s("'"), _s("''"))
        plain = _concat(_s("'"), doubled, _s("'"))
        escaped = _concat(_s("E'"), _fn("REPLACE", doubled.copy(), _s("\\"), _s("\\\\")), _s("'"))
        quoted = exp.Case(ifs=[exp.If(this=exp.GT(this=_fn("STRPOS", value.copy(), _s("\\")), expression=_n(0)),
                                      true=escaped)], default=plain)
        if node.name.lower() == "quote_nullable":
            return exp.Coalesce(this=quoted, expressions=[_s("NULL")])
        return quoted
    if _named(node, "quote_ident") and len(node.expressions) == 1:
        value = _text(node.expressions[0])
        keywords = exp.Array(expressions=[_s(k) for k in sorted(_QUOTED_KEYWORDS)])
        plain = exp.And(this=_fn("REGEXP_FULL_MATCH", value, _s("[a-z_][a-z0-9_$]*")),
                        expression=exp.Not(this=_fn("LIST_CONTAINS", keywords, value.copy())))
        quoted = _concat(_s('"'), _fn("REPLACE", value.copy(), _s('"'), _s('""')), _s('"'))
        return exp.Case(ifs=[exp.If(this=plain, true=value.copy())], default=quoted)
    return node


def binary_text(node: exp.Expression) -> exp.Expression:
    """encode(bytea, 'hex'|'base64'), decode(text, 'hex'|'base64'), to_hex(int): lower-case hex, as
    PostgreSQL prints it (to_hex of a negative int is its two's complement)."""
    if isinstance(node, exp.Encode | exp.Decode):
        charset = node.args.get("charset")
        kind = charset.name.lower() if isinstance(charset, exp.Literal) else ""
        if isinstance(node, exp.Encode):
            if kind == "hex":
                return exp.Lower(this=_fn("HEX", node.this))
            if kind == "base64":
                return _fn("TO_BASE64", node.this)
        else:
            if kind == "hex":
                return _fn("UNHEX", node.this)
            if kind == "base64":
                return _fn("FROM_BASE64", node.this)
        raise FeatureNotSupported(f"{type(node).__name__.lower()}() with format {kind or '?'} is not supported",
                                  hint="supported formats: hex, base64")
    if isinstance(node, exp.Hex) and not node.meta.get("pg_rendered"):
        value = node.this
        wrapped = exp.Case(ifs=[exp.If(this=exp.LT(this=value.copy(), expression=_n(0)), true=exp.Add(
            this=value.copy(), expression=_n(2**32 if node.meta.get("pg_int4") else 2**64)))], default=value)
        inner = exp.Hex(this=exp.Cast(this=wrapped, to=exp.DataType.build("HUGEINT")))
        inner.meta["pg_rendered"] = True
        return exp.Lower(this=inner)
    return node


def counting_nulls(node: exp.Expression) -> exp.Expression:
    if not _named(node, "num_nulls", "num_nonnulls") or not node.expressions:
        return node
    nulls = node.name.lower() == "num_nulls"
    terms = [exp.Case(ifs=[exp.If(this=exp.Is(this=a, expression=exp.Null()), true=_n(1 if nulls else 0))],
                      default=_n(0 if nulls else 1)) for a in node.expressions]
    total = terms[0]
    for term in terms[1:]:
        total = exp.Add(this=total, expression=term)
    return exp.Paren(this=total)


def arrays(node: exp.Expression) -> exp.Expression:
    """array_replace(a, x, y); ``||`` with an array on one or both sides (append, prepend, concatenate)."""
    if _named(node, "array_replace") and len(node.expressions) == 3:
        array, old, new = node.expressions
        element = exp.column("_pg_e")
        body = exp.Case(ifs=[exp.If(this=exp.NullSafeEQ(this=element, expression=old), true=new)],
                        default=element.copy())
        return _fn("LIST_TRANSFORM", array, exp.Lambda(this=body, expressions=[exp.to_identifier("_pg_e")]))
    if isinstance(node, exp.DPipe):
        left, right = _is_array(node.this), _is_array(node.expression)
        if left and right:
            return _fn("LIST_CONCAT", node.this, node.expression)
        if left:
            return _fn("LIST_APPEND", node.this, node.expression)
        if right:
            return _fn("LIST_PREPEND", node.this, node.expression)
    return node


def _is_array(node: exp.Expression) -> bool:
    return isinstance(node, exp.Array) or (node.type is not None and node.is_type(exp.DataType.Type.ARRAY))


def numeric_scales(node: exp.Expression) -> exp.Expression:
    """scale(x): the display scale worked out before rendering (``meta["pg_scale_of"]``), else the decimals of
    the value's text; trim_scale(x): the value itself (its display scale drops trailing zeros:
    ``rewriter.postgres.display_scale``)."""
    if _named(node, "scale") and len(node.expressions) == 1:
        given = node.meta.get("pg_scale_of")
        if given is not None:
            return _n(given) if isinstance(given, int) else given
        text = _text(node.expressions[0])
        point = _fn("STRPOS", text, _s("."))
        return exp.Case(ifs=[exp.If(this=exp.GT(this=point, expression=_n(0)),
                                    true=exp.Sub(this=exp.Length(this=text.copy()), expression=point.copy()))],
                        default=_n(0))
    if _named(node, "trim_scale") and len(node.expressions) == 1:
        return node.expressions[0]
    return node


_NUMBER_FORMAT = re.compile(r"^(?:FM)?[9,0]*(?:[.D]([90]*))?$", re.I)


def to_number(node: exp.Expression) -> exp.Expression:
    """to_number(text, '9,999.99'): the digits, sign and point of the text, at the template's scale."""
    if not isinstance(node, exp.ToNumber):
        return node
    fmt = node.args.get("format")
    if not (isinstance(fmt, exp.Literal) and fmt.is_string):
        raise FeatureNotSupported("to_number() with a non-constant template is not supported")
    match = _NUMBER_FORMAT.match(fmt.name.strip())
    if match is None:
        raise FeatureNotSupported(f'to_number template "{fmt.name}" is not supported',
                                  hint="supported: 9, 0, the group separator ',', '.', FM")
    scale = len(match.group(1) or "")
    digits = _fn("REGEXP_REPLACE", _text(node.this), _s(r"[^0-9.+-]"), _s(""), _s("g"))
    return exp.Cast(this=digits, to=exp.DataType.build(f"DECIMAL(38, {scale})"))


_NAME_PATTERNS = (("MONTH", "%B"), ("Month", "%B"), ("month", "%B"), ("MON", "%b"), ("Mon", "%b"), ("mon", "%b"),
                  ("DAY", "%A"), ("Day", "%A"), ("day", "%A"), ("DY", "%a"), ("Dy", "%a"), ("dy", "%a"))


def date_names(node: exp.Expression) -> exp.Expression:
    """Month and day names in to_date/to_timestamp templates (left as text by the template conversion)."""
    if not isinstance(node, exp.StrToDate | exp.StrToTime) or node.meta.get("pg_rendered"):
        return node
    fmt = node.args.get("format")
    if not (isinstance(fmt, exp.Literal) and fmt.is_string):
        return node
    text = fmt.name
    for pattern, spec in _NAME_PATTERNS:
        text = re.sub(rf"(?<![%A-Za-z]){pattern}(?![a-z])", spec, text)
    if text != fmt.name:
        node.set("format", _s(text))
    node.meta["pg_rendered"] = True
    return node


_US_PER_DAY = 86_400_000_000


def justify(node: exp.Expression) -> exp.Expression:
    """justify_days: 30-day periods become months; justify_hours: 24-hour periods become days (each
    truncating toward zero, as PostgreSQL does)."""
    if isinstance(node, exp.JustifyDays | exp.JustifyHours):
        kind, value = type(node).__name__.lower(), node.this
    elif _named(node, "justify_days", "justify_hours") and len(node.expressions) == 1:
        kind, value = node.name.lower(), node.expressions[0]
    else:
        return node

    def part(unit: str) -> exp.Expression:
        return _fn("DATE_PART", _s(unit), value.copy())

    months = exp.Add(this=exp.Mul(this=part("year"), expression=_n(12)), expression=part("month"))
    days = part("day")
    micros = exp.Add(this=exp.Add(this=exp.Mul(this=part("hour"), expression=_n(3_600_000_000)),
                                  expression=exp.Mul(this=part("minute"), expression=_n(60_000_000))),
                     expression=part("microseconds"))
    if kind == "justify_days" or kind == "justifydays":
        months = exp.Add(this=months, expression=exp.IntDiv(this=days, expression=_n(30)))
        days = exp.Mod(this=days.copy(), expression=_n(30))
    else:
        days = exp.Add(this=days, expression=exp.IntDiv(this=exp.Paren(this=micros), expression=_n(_US_PER_DAY)))
        micros = exp.Mod(this=exp.Paren(this=micros.copy()), expression=_n(_US_PER_DAY))
    return exp.Paren(this=exp.Add(this=exp.Add(this=_fn("TO_MONTHS", _int(months)), expression=_fn("TO_DAYS", _int(days))),
                                  expression=_fn("TO_MICROSECONDS", exp.Cast(this=micros, to=exp.DataType.build("BIGINT")))))


TRANSFORMS = (quoting, binary_text, counting_nulls, arrays, numeric_scales, to_number, date_names, justify)
