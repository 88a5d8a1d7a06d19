"""Function results with PostgreSQL's types.

Functions PostgreSQL types ``int4`` (``length``, ``position``/``strpos``, ``array_length``, ``ntile``,
``grouping``, ``date - date``) are cast to INT, a no-op where the engine agrees. ``date_trunc`` of a date
truncates a ``timestamptz`` (PostgreSQL casts the date), so the cast is made explicit. ``extract`` is numeric
and ``date_part`` float8: the nodes are left as they are (their ``pg_name`` says which was written) for the
renderer; a float cast to text and ``round`` of a float are marked for it (``pg_float_text``,
``pg_float_round``: PostgreSQL prints ``1``, not ``1.0``, and rounds half to even).
"""

from __future__ import annotations

from sqlglot import exp

from rewriter.postgres.types import is_decimal, is_float

_T = exp.DataType.Type
_INT4_FUNCTIONS = (exp.Length, exp.StrPosition, exp.ArraySize, exp.Grouping)


def _as_int4(node: exp.Expression) -> exp.Expression:
    out = exp.Cast(this=node, to=exp.DataType.build("INT"))
    out.type = out.to
    return out


_INT4_NAMED = ("octet_length", "char_length", "array_length", "cardinality", "num_nulls", "num_nonnulls", "scale",
               "array_position", "bit_length")


def int4_results(node: exp.Expression) -> exp.Expression:
    if isinstance(node, _INT4_FUNCTIONS) and not isinstance(node.parent, exp.Cast):
        return _as_int4(node)
    if isinstance(node, exp.BitLength):
        return _as_int4(node)
    if isinstance(node, exp.Anonymous) and node.name.lower() in _INT4_NAMED:
        return _as_int4(node)
    if isinstance(node, exp.Anonymous) and node.name.lower() in ("gcd", "lcm") and \
            all(_is_int4(a) for a in node.expressions):
        return _as_int4(node)
    if isinstance(node, exp.ExplodingGenerateSeries | exp.GenerateSeries) and not isinstance(node.parent, exp.Table) \
            and all(_is_int4(node.args[k]) for k in ("start", "end") if node.args.get(k) is not None) \
            and (node.args.get("step") is None or _is_int4(node.args["step"])):
        return _as_int4(node)
    if isinstance(node, exp.Window) and isinstance(node.this, exp.Anonymous | exp.Ntile) and (
        node.this.name.lower() == "ntile" or isinstance(node.this, exp.Ntile)
    ):
        return _as_int4(node)
    if isinstance(node, exp.Sub) and node.this.type is not None and node.this.is_type(_T.DATE) and \
            node.expression.type is not None and node.expression.is_type(_T.DATE):
        return _as_int4(node)
    return node


def int4_series(node: exp.Expression) -> exp.Expression:
    """``FROM generate_series(1, n)`` over int4 yields int4 (engines yield int8): the table function becomes a
    subquery casting its column, named as PostgreSQL names it (the alias's column, else the alias, else
    ``generate_series``)."""
    if not isinstance(node, exp.Table) or not isinstance(node.this, exp.GenerateSeries | exp.ExplodingGenerateSeries):
        return node
    series = node.this
    if not all(_is_int4(series.args[k]) for k in ("start", "end", "step") if series.args.get(k) is not None):
        return node
    alias = node.args.get("alias")
    name = alias.name if isinstance(alias, exp.TableAlias) and alias.name else "generate_series"
    columns = alias.columns if isinstance(alias, exp.TableAlias) else []
    column = columns[0].name if columns else name
    inner = exp.Table(this=series.copy(), alias=exp.TableAlias(this=exp.to_identifier("_pg_series"),
                                                              columns=[exp.to_identifier("generate_series")]))
    value = exp.Cast(this=exp.column("generate_series", table="_pg_series"), to=exp.DataType.build("INT"))
    select = exp.select(exp.alias_(value, column, quoted=True)).from_(inner)
    return exp.Subquery(this=select, alias=exp.TableAlias(this=exp.to_identifier(name),
                                                          columns=[exp.to_identifier(column, quoted=True)]))


def _is_int4(node: exp.Expression) -> bool:
    return node.type is not None and node.is_type(_T.INT, _T.SMALLINT, _T.TINYINT)


def float_results(node: exp.Expression) -> exp.Expression:
    """Overloads PostgreSQL resolves to float8: sign() and round() of an integer, arithmetic between float4
    and another type (float48mul), sign(numeric) stays numeric; round(int, n) is round(numeric, n)."""
    if isinstance(node, exp.Sign) and not isinstance(node.parent, exp.Cast):
        target = "DECIMAL" if is_decimal(node.this) else "DOUBLE"
        out = exp.Cast(this=node, to=exp.DataType.build(target))
        out.type = out.to
        return out
    if isinstance(node, exp.Round) and _integral(node.this):
        places = node.args.get("decimals")
        node.set("this", exp.Cast(this=node.this, to=exp.DataType.build("DOUBLE" if places is None else "DECIMAL")))
        node.this.type = node.this.to
        node.type = node.this.to.copy()
        return node
    if isinstance(node, exp.Add | exp.Sub | exp.Mul | exp.Div) and _float4(node.this) != _float4(node.expression) \
            and (_float4(node.this) or _float4(node.expression)):
        for key in ("this", "expression"):
            if _float4(node.args[key]):
                widened = exp.Cast(this=node.args[key], to=exp.DataType.build("DOUBLE"))
                widened.type = widened.to
                node.set(key, widened)
        node.type = exp.DataType.build("DOUBLE")
    return node


def _integral(node: exp.Expression) -> bool:
    return node.type is not None and node.is_type(_T.INT, _T.SMALLINT, _T.TINYINT, _T.BIGINT)


def _float4(node: exp.Expression) -> bool:
    return node.type is not None and node.is_type(_T.FLOAT)


def date_trunc_of_date(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.TimestampTrunc | exp.DateTrunc) and node.this.type is not None and node.this.is_type(_T.DATE):
        node.set("this", exp.Cast(this=node.this, to=exp.DataType.build("TIMESTAMPTZ")))
        node.type = exp.DataType.build("TIMESTAMPTZ")
    return node


def timestamptz_results(node: exp.Expression) -> exp.Expression:
    """``to_timestamp(text, fmt)`` is timestamptz; ``generate_series`` over dates runs over timestamptz (the
    date arguments are cast, as PostgreSQL resolves generate_series(timestamptz, timestamptz, interval))."""
    if isinstance(node, exp.StrToTime) and not isinstance(node.parent, exp.Cast):
        out = exp.Cast(this=node, to=exp.DataType.build("TIMESTAMPTZ"))
        out.type = out.to
        return out
    if isinstance(node, exp.GenerateSeries | exp.ExplodingGenerateSeries):
        start, end = node.args.get("start"), node.args.get("end")
        if start is not None and start.type is not None and start.is_type(_T.DATE):
            for key, arg in (("start", start), ("end", end)):
                if arg is not None:
                    node.set(key, exp.Cast(this=arg, to=exp.DataType.build("TIMESTAMPTZ")))
    return node


def numeric_powers(node: exp.Expression) -> exp.Expression:
    """``^``/``power`` with a numeric operand (and no float8) is numeric."""
    if isinstance(node, exp.Pow) and not (is_float(node.this) or is_float(node.expression)) and (
            is_decimal(node.this) or is_decimal(node.expression)):
        node.type = exp.DataType.build("DECIMAL")
        node.meta["pg_numeric_power"] = True
    return node


def numeric_transcendental(node: exp.Expression) -> exp.Expression:
    """ln, log, exp, sqrt and powers with a fractional exponent over numerics are numeric (two-argument log
    always: PostgreSQL has no float8 version): ``meta["pg_numeric_fn"]`` names the function for a renderer."""
    def numeric(arg: exp.Expression | None) -> bool:
        return arg is not None and is_decimal(arg)

    kind = None
    if isinstance(node, exp.Ln | exp.Exp | exp.Sqrt) and numeric(node.this):
        kind = type(node).__name__.lower()
    elif isinstance(node, exp.Log):
        base, value = node.this, node.expression
        if node.meta.get("pg_name") == "log10":  # parsed as log(10, x)
            kind = "log" if numeric(value) else None
        elif value is None and numeric(base):
            kind = "log10"
        elif value is not None and not (is_float(base) or is_float(value)):
            kind = "log"
    elif isinstance(node, exp.Pow) and node.meta.get("pg_numeric_power"):
        exponent = node.expression
        if not (isinstance(exponent, exp.Literal) and exponent.is_int):
            kind = "power"
    if kind is not None:
        node.meta["pg_numeric_fn"] = kind
        node.type = exp.DataType.build("DECIMAL")
    return node


def numeric_functions(node: exp.Expression) -> exp.Expression:
    """Types and facts of numeric functions: trim_scale and to_number are numeric; scale(x) of a value whose
    display scale is the same on every row is that constant; to_hex of an int4 prints 32 bits."""
    if isinstance(node, exp.Anonymous) and node.name.lower() == "trim_scale":
        node.type = exp.DataType.build("DECIMAL")
    if isinstance(node, exp.ToNumber):
        node.type = exp.DataType.build("DECIMAL")
    if isinstance(node, exp.Anonymous) and node.name.lower() == "scale" and len(node.expressions) == 1:
        from rewriter.postgres.display_scale import display_scale

        scale = display_scale(node.expressions[0])
        if isinstance(scale, int):
            node.meta["pg_scale_of"] = scale
    if isinstance(node, exp.Hex) and _is_int4(node.this):
        node.meta["pg_int4"] = True
    return node


def float_marks(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Cast) and isinstance(node.to, exp.DataType) and \
            node.to.is_type(_T.TEXT, _T.VARCHAR) and is_float(node.this):
        node.meta["pg_float_text"] = True
    if isinstance(node, exp.Round) and is_float(node.this) and node.args.get("decimals") is None:
        node.meta["pg_float_round"] = True
    if isinstance(node, exp.TimeToStr) and node.this.type is not None and \
            node.this.is_type(_T.INT, _T.BIGINT, _T.SMALLINT, _T.DECIMAL, _T.DOUBLE, _T.FLOAT):
        node.meta["pg_to_char_number"] = True
    if isinstance(node, exp.Extract) and node.expression.type is not None and node.expression.is_type(_T.DATE):
        node.meta["pg_date_input"] = True
    return node
