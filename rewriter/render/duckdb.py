"""The embedded DuckDB engine: Postgres meaning rendered as DuckDB SQL.

Transforms here are the DuckDB-specific half of Postgres fidelity: what DuckDB spells or computes
differently. Rules that hold for every engine live in the rewriter (``rewriter.postgres``), which leaves the
facts a transform needs in ``meta``. Each transform is ``node -> node``; every emulation is an expression
DuckDB evaluates (never rows fetched into Python):

- exact numeric division and ``avg`` (128-bit integer arithmetic at PostgreSQL's scale), ``::numeric`` at its
  input's scale (DuckDB's default is DECIMAL(18,3)), ``extract`` as numeric and ``date_part`` as float8;
- ``round(float8)`` half to even, a float's text without DuckDB's ``.0``;
- ``to_char`` templates (dates and numbers), ``format()``, ``SIMILAR TO``, ``substr`` with a start below 1,
  ``substring(x FROM pattern)``, ``date_trunc`` to century/millennium, ``width_bucket``, ``every``,
  ``octet_length``, ``json_agg``.
"""

from __future__ import annotations

import re

from sqlglot import exp

from rewriter.bottom_up import bottom_up
from rewriter.errors import FeatureNotSupported
from rewriter.render.duckdb_templates import to_char_date, to_char_number

DIALECT = "duckdb"
FLOAT_NUMERIC_SCALE = 15  # float8 -> numeric keeps 15 significant digits (DBL_DIG)
UNKNOWN_NUMERIC_SCALE = 16  # ::numeric of an input of unknown type (a parameter): exact to 16 places


def render(tree: exp.Expression) -> str:
    return bottom_up(tree, _postgres_for_duckdb).sql(dialect=DIALECT)


def _p(e: exp.Expression) -> exp.Expression:
    return exp.Paren(this=e)


def _postgres_for_duckdb(node: exp.Expression) -> exp.Expression:
    for transform in TRANSFORMS:
        out = transform(node)
        if out is not node:
            return out
    return node


def _fn(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def _decimal(scale: int) -> exp.DataType:
    return exp.DataType.build(f"DECIMAL(38, {scale})")


def _unscaled(value: exp.Expression, scale: int) -> exp.Expression:
    """The value times 10^scale as a HUGEINT (exact for a DECIMAL of that scale or an integer)."""
    scaled = value if scale == 0 else exp.Mul(this=exp.Paren(this=value), expression=exp.Literal.number(10**scale))
    return exp.Cast(this=scaled, to=exp.DataType.build("HUGEINT"))


def _exact_quotient(a: exp.Expression, sa: int, b: exp.Expression, sb: int, scale: int) -> exp.Expression:
    """round(a / b, scale) rounding half away from zero, as PostgreSQL's numeric division: the quotient of
    the unscaled values, doubled, truncated, then halved away from zero."""
    shift = scale - sa + sb
    numerator = exp.Mul(this=_unscaled(a, sa), expression=exp.Literal.number(2 * 10**shift)) if shift >= 0 else \
        exp.IntDiv(this=exp.Mul(this=_unscaled(a, sa), expression=exp.Literal.number(2)),
                   expression=exp.Literal.number(10**-shift))
    twice = exp.Paren(this=exp.IntDiv(this=numerator, expression=_unscaled(b, sb)))
    rounded = exp.IntDiv(this=exp.Paren(this=exp.Add(this=twice, expression=_fn("SIGN", twice.copy()))),
                         expression=exp.Literal.number(2))
    unit = exp.Cast(this=exp.Literal.string(f"1e-{scale}"), to=_decimal(scale))
    return exp.Paren(this=exp.Mul(this=exp.Cast(this=rounded, to=_decimal(0)), expression=unit))


def numeric_division(node: exp.Expression) -> exp.Expression:
    spec = node.meta.get("pg_numeric_div") if isinstance(node, exp.Div) else None
    if spec is None:
        return node
    sa, sb, scale = spec
    return _exact_quotient(node.this, sa, node.expression, sb, scale)


def numeric_avg(node: exp.Expression) -> exp.Expression:
    spec = node.meta.get("pg_numeric_avg") if isinstance(node, exp.Avg) else None
    if spec is None:
        return node
    scale, result_scale = spec
    if isinstance(node.parent, exp.Window) or isinstance(node.this, exp.Distinct):
        return exp.Cast(this=exp.Avg(this=node.this), to=_decimal(result_scale))
    total = exp.Sum(this=node.this.copy())
    count = exp.Count(this=node.this.copy())
    return _exact_quotient(total, scale, count, 0, result_scale)


def numeric_casts(node: exp.Expression) -> exp.Expression:
    if not (isinstance(node, exp.Cast) and isinstance(node.to, exp.DataType) and node.to.is_type("decimal")
            and not node.to.expressions):
        return node
    scale = node.meta.get("pg_scale", UNKNOWN_NUMERIC_SCALE)
    if scale == "float":
        text = exp.Cast(this=node.this, to=exp.DataType.build("VARCHAR"))
        return exp.Cast(this=text, to=_decimal(FLOAT_NUMERIC_SCALE))
    return exp.Cast(this=node.this, to=_decimal(int(scale)))


def float_text(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Cast) and node.meta.get("pg_float_text"):
        text = exp.Cast(this=node.this, to=exp.DataType.build("VARCHAR"))
        return _fn("REGEXP_REPLACE", text, exp.Literal.string(r"\.0$"), exp.Literal.string(""))
    return node


def float_round(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Round) and node.meta.get("pg_float_round"):
        return _fn("ROUND_EVEN", node.this, exp.Literal.number(0))
    return node


_EXTRACT_SCALE = {"second": 6, "epoch": 6, "millisecond": 3, "milliseconds": 3}


def extract_types(node: exp.Expression) -> exp.Expression:
    if not isinstance(node, exp.Extract) or node.meta.get("pg_rendered"):
        return node
    field = node.this.name.lower()
    value = node.expression
    float8 = node.meta.get("pg_name") == "date_part"
    if field in ("second", "seconds"):
        micros = _fn("MICROSECOND", value)
        if float8:
            return exp.Div(this=exp.Cast(this=micros, to=exp.DataType.build("DOUBLE")), expression=exp.Literal.number(1e6))
        return exp.Mul(this=exp.Cast(this=micros, to=_decimal(0)), expression=exp.Cast(
            this=exp.Literal.string("0.000001"), to=_decimal(6)))
    if field == "epoch":
        if float8:
            return _fn("EPOCH", value)
        scale = 0 if node.meta.get("pg_date_input") else 6
        micros = _fn("EPOCH_US", exp.Cast(this=value, to=exp.DataType.build("TIMESTAMP")))
        return exp.Mul(this=exp.Cast(this=micros, to=_decimal(0)), expression=exp.Cast(
            this=exp.Literal.string("0.000001"), to=_decimal(6))) if scale else \
            exp.Cast(this=exp.IntDiv(this=micros, expression=exp.Literal.number(1_000_000)), to=_decimal(0))
    inner = exp.Extract(this=node.this.copy(), expression=value)
    inner.meta["pg_rendered"] = True
    return exp.Cast(this=inner, to=exp.DataType.build("DOUBLE") if float8 else _decimal(0))


def similar_to(node: exp.Expression) -> exp.Expression:
    if not isinstance(node, exp.SimilarTo):
        return node
    pattern = node.expression
    if not (isinstance(pattern, exp.Literal) and pattern.is_string):
        raise FeatureNotSupported("SIMILAR TO with a non-constant pattern is not supported")
    return _fn("REGEXP_FULL_MATCH", node.this, exp.Literal.string(similar_to_regex(pattern.name)))


def similar_to_regex(pattern: str) -> str:
    """SQL-standard SIMILAR TO pattern -> POSIX regex (``%`` any string, ``_`` any character)."""
    out = []
    for ch in pattern:
        if ch == "%":
            out.append(".*")
        elif ch == "_":
            out.append(".")
        elif ch in ".^$\\":
            out.append("\\" + ch)
        else:
            out.append(ch)
    return "".join(out)


def format_function(node: exp.Expression) -> exp.Expression:
    if not isinstance(node, exp.Format):
        return node
    fmt = node.this
    if not (isinstance(fmt, exp.Literal) and fmt.is_string):
        raise FeatureNotSupported("format() with a non-constant format string is not supported")
    args = list(node.expressions)
    pieces: list[exp.Expression] = []
    position = 0
    for literal, flag, width, kind in re.findall(r"([^%]*)(?:%(-?)(\d*)([sIL%]))?", fmt.name):
        if literal:
            pieces.append(exp.Literal.string(literal))
        if not kind:
            continue
        if kind == "%":
            pieces.append(exp.Literal.string("%"))
            continue
        if position >= len(args):
            raise exp_error("too few arguments for format()", "22023")
        value = exp.Cast(this=args[position], to=exp.DataType.build("VARCHAR"))
        position += 1
        if kind == "s":
            text: exp.Expression = exp.Coalesce(this=value, expressions=[exp.Literal.string("")])
        elif kind == "I":
            text = exp.Case(ifs=[exp.If(this=_fn("REGEXP_FULL_MATCH", value.copy(), exp.Literal.string("[a-z_][a-z0-9_$]*")),
                                        true=value.copy())],
                            default=exp.DPipe(this=exp.DPipe(this=exp.Literal.string('"'), expression=_fn(
                                "REPLACE", value.copy(), exp.Literal.string('"'), exp.Literal.string('""'))),
                                expression=exp.Literal.string('"')))
        else:
            text = exp.Coalesce(this=exp.DPipe(this=exp.DPipe(this=exp.Literal.string("'"), expression=_fn(
                "REPLACE", value.copy(), exp.Literal.string("'"), exp.Literal.string("''"))),
                expression=exp.Literal.string("'")), expressions=[exp.Literal.string("NULL")])
        if width:
            pad = "RPAD" if flag == "-" else "LPAD"
            text = exp.Case(ifs=[exp.If(this=exp.LT(this=exp.Length(this=text.copy()), expression=exp.Literal.number(int(width))),
                                        true=_fn(pad, text.copy(), exp.Literal.number(int(width)),
                                                 exp.Literal.string(" ")))], default=text)
        pieces.append(text)
    if not pieces:
        return exp.Literal.string("")
    out = pieces[0]
    for piece in pieces[1:]:
        out = exp.DPipe(this=out, expression=piece)
    return exp.Paren(this=out)


def exp_error(message: str, sqlstate: str) -> Exception:
    from rewriter.errors import SqlError

    return SqlError(message, sqlstate=sqlstate)


def substrings(node: exp.Expression) -> exp.Expression:
    if not isinstance(node, exp.Substring):
        return node
    start, length = node.args.get("start"), node.args.get("length")
    if isinstance(start, exp.Literal) and start.is_string:  # substring(x FROM pattern): a POSIX regex
        group = 1 if "(" in start.name else 0
        matched = _fn("REGEXP_MATCHES", node.this.copy(), start.copy())
        return exp.Case(ifs=[exp.If(this=matched, true=_fn("REGEXP_EXTRACT", node.this, start, exp.Literal.number(group)))])
    if start is None:
        return node
    first = exp.Greatest(this=start.copy(), expressions=[exp.Literal.number(1)])
    if length is None:
        return _fn("SUBSTRING", node.this, first)
    end = _p(exp.Add(this=start.copy(), expression=length.copy()))  # one past the last character
    count = exp.Greatest(this=exp.Sub(this=end, expression=first.copy()), expressions=[exp.Literal.number(0)])
    return _fn("SUBSTRING", node.this, first, count)


def date_trunc_units(node: exp.Expression) -> exp.Expression:
    if not isinstance(node, exp.TimestampTrunc | exp.DateTrunc):
        return node
    unit = node.args.get("unit")
    name = unit.name.lower() if unit is not None else ""
    if name not in ("century", "millennium"):
        return node
    span = 100 if name == "century" else 1000
    year = _fn("YEAR", node.this)
    first = exp.Add(this=exp.Mul(this=exp.Paren(this=exp.IntDiv(this=exp.Paren(this=exp.Sub(this=year, expression=exp.Literal.number(1))),
                                                                 expression=exp.Literal.number(span))),
                                 expression=exp.Literal.number(span)), expression=exp.Literal.number(1))
    out = _fn("MAKE_TIMESTAMP", first, exp.Literal.number(1), exp.Literal.number(1), exp.Literal.number(0),
              exp.Literal.number(0), exp.Literal.number(0))
    return out


def width_bucket(node: exp.Expression) -> exp.Expression:
    if not isinstance(node, exp.WidthBucket):
        return node
    x, lo, hi, n = node.this, node.args["min_value"], node.args["max_value"], node.args["num_buckets"]
    as_double = lambda e: exp.Cast(this=e.copy(), to=exp.DataType.build("DOUBLE"))  # noqa: E731
    bucket = exp.Add(this=exp.Cast(this=_fn("FLOOR", exp.Mul(this=_p(exp.Div(
        this=_p(exp.Sub(this=as_double(x), expression=as_double(lo))),
        expression=_p(exp.Sub(this=as_double(hi), expression=as_double(lo))))), expression=as_double(n))),
        to=exp.DataType.build("INT")), expression=exp.Literal.number(1))
    return exp.Case(ifs=[
        exp.If(this=exp.LT(this=x.copy(), expression=lo.copy()), true=exp.Literal.number(0)),
        exp.If(this=exp.GTE(this=x.copy(), expression=hi.copy()),
               true=exp.Add(this=exp.Cast(this=n.copy(), to=exp.DataType.build("INT")), expression=exp.Literal.number(1))),
    ], default=bucket)


def renamed_functions(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        if name == "every":
            return exp.LogicalAnd(this=node.expressions[0]) if node.expressions else node
        if name == "octet_length" and len(node.expressions) == 1:
            return _fn("STRLEN", node.expressions[0])
        if name == "bit_length" and len(node.expressions) == 1:
            return exp.Mul(this=_fn("STRLEN", node.expressions[0]), expression=exp.Literal.number(8))
    if isinstance(node, exp.JSONArrayAgg):
        return _fn("JSON_GROUP_ARRAY", node.this)
    return node


def to_char(node: exp.Expression) -> exp.Expression:
    template = node.meta.get("pg_format") if isinstance(node, exp.TimeToStr) else None
    if template is None:
        return node
    if node.meta.get("pg_to_char_number"):
        return to_char_number(node.this, template)
    return to_char_date(node.this, template)


TRANSFORMS = (
    numeric_division, numeric_avg, numeric_casts, float_text, float_round, extract_types, similar_to,
    format_function, substrings, date_trunc_units, width_bucket, renamed_functions, to_char,
)
