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
from rewriter.render import duckdb_functions
from rewriter.render.duckdb_numeric import (
    decimal_type,
    format_outputs,
    mark_quotients,
    numeric_avg,
    numeric_casts,
    numeric_division,
    numeric_integer_division,
    numeric_power,
    output_scales,
    quotient_scales,
    transcendental,
)
from rewriter.render.duckdb_templates import to_char_date, to_char_number

DIALECT = "duckdb"


def render(tree: exp.Expression) -> str:
    mark_quotients(tree)
    outputs = output_scales(tree)
    chars = char_outputs(tree)
    tree = render_tree(tree)
    format_outputs(outputs, render_tree)
    pad_characters(chars)
    return tree.sql(dialect=DIALECT)


def render_tree(tree: exp.Expression) -> exp.Expression:
    """``tree`` with every transform applied (also to expressions the transforms build from client nodes)."""
    return bottom_up(tree, _postgres_for_duckdb)


def _p(e: exp.Expression) -> exp.Expression:
    return exp.Paren(this=e)


def _postgres_for_duckdb(node: exp.Expression) -> exp.Expression:
    scale = node.meta.get("pg_scale_of") if isinstance(node, exp.Anonymous) else None
    if isinstance(scale, exp.Expression):  # scale(x): its display scale, worked out before rendering
        node.meta["pg_scale_of"] = exp.Cast(this=render_tree(scale), to=exp.DataType.build("INT"))
    for transform in TRANSFORMS + duckdb_functions.TRANSFORMS:
        out = transform(node)
        if out is not node:
            return out
    return node


def _fn(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


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
        return exp.Mul(this=exp.Cast(this=micros, to=decimal_type(0)), expression=exp.Cast(
            this=exp.Literal.string("0.000001"), to=decimal_type(6)))
    if field == "epoch":
        if float8:
            return _fn("EPOCH", value)
        scale = 0 if node.meta.get("pg_date_input") else 6
        micros = _fn("EPOCH_US", exp.Cast(this=value, to=exp.DataType.build("TIMESTAMP")))
        return exp.Mul(this=exp.Cast(this=micros, to=decimal_type(0)), expression=exp.Cast(
            this=exp.Literal.string("0.000001"), to=decimal_type(6))) if scale else \
            exp.Cast(this=exp.IntDiv(this=micros, expression=exp.Literal.number(1_000_000)), to=decimal_type(0))
    inner = exp.Extract(this=node.this.copy(), expression=value)
    inner.meta["pg_rendered"] = True
    return exp.Cast(this=inner, to=exp.DataType.build("DOUBLE") if float8 else decimal_type(0))


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
    return node


def current_values(node: exp.Expression) -> exp.Expression:
    """CURRENT_DATE/CURRENT_TIMESTAMP as calls: DuckDB reads the bare keyword as a column and then as an
    earlier projection of that name (``SELECT current_date, current_date`` fails)."""
    if isinstance(node, exp.CurrentDate) and not node.expressions:
        return _fn("CURRENT_DATE")
    if isinstance(node, exp.CurrentTimestamp) and node.this is None:
        return _fn("NOW")
    return node


def like_escape(node: exp.Expression) -> exp.Expression:
    """PostgreSQL's LIKE escapes with a backslash unless told otherwise; DuckDB's has no default escape."""
    if not isinstance(node, exp.Like | exp.ILike) or isinstance(node.parent, exp.Escape):
        return node
    pattern = node.expression
    if isinstance(pattern, exp.Literal) and pattern.is_string and "\\" not in pattern.name:
        return node
    return exp.Escape(this=node, expression=exp.Literal.string("\\"))


_PROTECTED = "\ue000"  # a private-use character: holds ß while DuckDB upper-cases the rest


def case_mapping(node: exp.Expression) -> exp.Expression:
    """upper() keeps ß, as PostgreSQL's (libc, per character) does; DuckDB's makes it ẞ."""
    if not isinstance(node, exp.Upper) or node.meta.get("pg_rendered"):
        return node
    protected = _fn("REPLACE", node.this, exp.Literal.string("ß"), exp.Literal.string(_PROTECTED))
    upper = exp.Upper(this=protected)
    upper.meta["pg_rendered"] = True
    return _fn("REPLACE", upper, exp.Literal.string(_PROTECTED), exp.Literal.string("ß"))


def character_casts(node: exp.Expression) -> exp.Expression:
    """``::varchar(n)`` and ``::char(n)`` cut the text to n characters (DuckDB ignores the length); a char(n)
    result column is padded with spaces (``pad_characters``)."""
    if not (isinstance(node, exp.Cast) and isinstance(node.to, exp.DataType) and node.to.expressions
            and node.to.is_type("varchar", "char", "bpchar")) or node.meta.get("pg_rendered"):
        return node
    length = node.to.expressions[0]
    text = exp.Cast(this=node.this, to=exp.DataType.build("VARCHAR"))
    text.meta["pg_rendered"] = True
    return _fn("LEFT", text, exp.Cast(this=length.copy() if isinstance(length, exp.Literal) else
                                      exp.Literal.number(length.name), to=exp.DataType.build("INT")))


def char_outputs(tree: exp.Expression) -> list[tuple[exp.Select, int, int]]:
    """(select, position, n) of each char(n) result column (read before rendering)."""
    if not isinstance(tree, exp.Select):
        return []
    out = []
    for i, projection in enumerate(tree.expressions):
        node = projection.this if isinstance(projection, exp.Alias) else projection
        if isinstance(node, exp.Cast) and isinstance(node.to, exp.DataType) and node.to.is_type("char"):
            params = node.to.expressions
            out.append((tree, i, int(params[0].name) if params else 1))
    return out


def pad_characters(outputs: list[tuple[exp.Select, int, int]]) -> None:
    for select, i, length in outputs:
        projection = select.expressions[i]
        node = projection.this if isinstance(projection, exp.Alias) else projection
        padded = _fn("RPAD", node.copy(), exp.Literal.number(length), exp.Literal.string(" "))
        if projection is node:
            projection.replace(padded)
        else:
            projection.set("this", padded)


def float_division(node: exp.Expression) -> exp.Expression:
    """float8 division and modulo by zero are errors (22012) in PostgreSQL; DuckDB answers Infinity/NaN."""
    if not isinstance(node, exp.Div | exp.Mod) or not node.meta.get("pg_float_division"):
        return node
    divisor = node.expression
    if isinstance(divisor, exp.Literal) and not divisor.is_string and float(divisor.name) != 0:
        return node
    node.meta.pop("pg_float_division")
    return exp.Case(ifs=[exp.If(this=exp.EQ(this=divisor.copy(), expression=exp.Literal.number(0)),
                                true=_fn("ERROR", exp.Literal.string("22012: division by zero")))], default=node)


def regexp_matches(node: exp.Expression) -> exp.Expression:
    """PostgreSQL's set-returning ``regexp_matches(s, pattern [, flags])``: a text[] of the capture groups
    (the whole match without groups) per match, the first match only unless the flags have ``g``; no match, no
    row. DuckDB's function of that name is a boolean test."""
    if not (isinstance(node, exp.Anonymous) and node.name.lower() == "regexp_matches" and
            2 <= len(node.expressions) <= 3):
        return node
    subject, pattern, *rest = node.expressions
    if not (isinstance(pattern, exp.Literal) and pattern.is_string):
        raise FeatureNotSupported("regexp_matches() with a non-constant pattern is not supported")
    flags = rest[0].name if rest and isinstance(rest[0], exp.Literal) else ""
    if rest and not (isinstance(rest[0], exp.Literal) and rest[0].is_string) or set(flags) - {"g"}:
        raise FeatureNotSupported("regexp_matches() supports the flag g only")
    groups = len(re.findall(r"(?<!\\)\((?!\?)", pattern.name))
    numbers = list(range(1, groups + 1)) or [0]
    if "g" in flags:
        matches = [_fn("REGEXP_EXTRACT_ALL", subject.copy(), pattern.copy(), exp.Literal.number(g)) for g in numbers]
        index = exp.column("_pg_i")
        row = exp.Array(expressions=[exp.Bracket(this=m, expressions=[index.copy()], offset=1) for m in matches])
        rows = _fn("LIST_TRANSFORM", _fn("GENERATE_SERIES", exp.Literal.number(1), _fn("LEN", matches[0].copy())),
                   exp.Lambda(this=row, expressions=[exp.to_identifier("_pg_i")]))
    else:
        row = exp.Array(expressions=[_fn("REGEXP_EXTRACT", subject.copy(), pattern.copy(), exp.Literal.number(g))
                                     for g in numbers])
        rows = exp.Case(ifs=[exp.If(this=_fn("REGEXP_MATCHES", subject.copy(), pattern.copy()),
                                    true=exp.Array(expressions=[row]))], default=exp.Array(expressions=[]))
    return exp.Unnest(expressions=[rows])


def json_text(node: exp.Expression) -> exp.Expression:
    """``json_build_object``/``json_build_array`` as the text PostgreSQL's json prints (``{"a" : 1, "b" :
    "x"}``, ``[1, "x"]``): DuckDB's JSON is minified."""
    if isinstance(node, exp.JSONArrayAgg):  # json_agg: [1, 2]
        value = _json_value(node.this)
        order = node.args.get("order")
        if order is not None:
            value = exp.Order(this=value, expressions=[o.copy() for o in order.expressions])
        listed = exp.GroupConcat(this=value, separator=exp.Literal.string(", "))
        return _concat_text([exp.Literal.string("["), listed, exp.Literal.string("]")])
    name = node.name.lower() if isinstance(node, exp.Anonymous) else ""
    if name not in ("json_build_object", "json_build_array", "jsonb_build_object", "jsonb_build_array"):
        return node
    args = node.expressions
    if name.endswith("array"):
        pieces = [_json_value(a) for a in args]
        return _concat_text([exp.Literal.string("[")] + _joined(pieces, ", ") + [exp.Literal.string("]")])
    if len(args) % 2:
        raise exp_error("argument list must have even number of elements", "22023")
    colon = ": " if name.startswith("jsonb") else " : "  # jsonb prints its own layout; json keeps the builder's
    pairs = [_concat_text([_json_value(exp.Cast(this=k.copy(), to=exp.DataType.build("VARCHAR"))),
                           exp.Literal.string(colon), _json_value(v)]) for k, v in zip(args[::2], args[1::2], strict=True)]
    return _concat_text([exp.Literal.string("{")] + _joined(pairs, ", ") + [exp.Literal.string("}")])


def _json_value(arg: exp.Expression) -> exp.Expression:
    return exp.Coalesce(this=exp.Cast(this=_fn("TO_JSON", arg.copy()), to=exp.DataType.build("VARCHAR")),
                        expressions=[exp.Literal.string("null")])


def _joined(pieces: list[exp.Expression], separator: str) -> list[exp.Expression]:
    out: list[exp.Expression] = []
    for i, piece in enumerate(pieces):
        if i:
            out.append(exp.Literal.string(separator))
        out.append(piece)
    return out


def _concat_text(pieces: list[exp.Expression]) -> exp.Expression:
    out = pieces[0]
    for piece in pieces[1:]:
        out = exp.DPipe(this=out, expression=piece)
    return exp.Paren(this=out)


def to_char(node: exp.Expression) -> exp.Expression:
    template = node.meta.get("pg_format") if isinstance(node, exp.TimeToStr) else None
    if template is None:
        return node
    if node.meta.get("pg_to_char_number"):
        return to_char_number(node.this, template)
    return to_char_date(node.this, template)


def _quotients(node: exp.Expression) -> exp.Expression:
    out = numeric_division(node, render_tree)
    out = numeric_avg(node, render_tree) if out is node else out
    return quotient_scales(node, render_tree) if out is node else out


TRANSFORMS = (
    _quotients, numeric_integer_division, numeric_power, transcendental, numeric_casts, like_escape, case_mapping, current_values,
    character_casts, float_division, float_text, float_round, extract_types, similar_to, format_function,
    substrings, date_trunc_units, width_bucket, renamed_functions, to_char, regexp_matches, json_text,
)
