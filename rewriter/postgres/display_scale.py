"""PostgreSQL's display scale of numeric values, as SQL.

A PostgreSQL ``numeric`` value carries its own display scale (``dscale``): ``coalesce(1, 2.5)`` prints ``1``
on one row and ``2.5`` on another, ``2::numeric / 3`` prints twenty decimals and ``7::numeric / 2`` sixteen
(``select_div_scale`` picks the scale of a quotient from its operands' leading digits), ``x::numeric`` of a
float8 prints the digits of ``%.15g``. Engines with a fixed scale per column (DuckDB, Spark) need the scale of
each value computed beside it; this module says what it is, following PostgreSQL's numeric.c:

- ``display_scale(node)``: an ``int`` when the scale is the same for every value, an SQL expression over the
  node's operands when it depends on the values, ``None`` when it cannot be said (a numeric column of a
  derived table computed with a per-value scale, a function outside the rules);
- ``quotient_scale(a, b, da, db)``: ``select_div_scale`` as SQL (weights and first base-10000 digits read
  exactly from the operands' decimal text).

Both take ``bind``, how a renderer binds a value used several times (plain SQL repeats it).

The expressions are backend-neutral SQL (CASE, GREATEST, string functions); a renderer places them.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from sqlglot import exp

from rewriter.postgres.types import is_decimal, is_float, is_integer, is_text

Scale = int | exp.Expression | None
# How an expression used several times is bound once: ``bind(value, name, body)`` is ``body`` applied to a
# reference to ``value``. Plain SQL repeats the value (``substitute``); a renderer may bind it (DuckDB's
# lambdas: ``rewriter.render.duckdb_numeric.let``).
Bind = Callable[[exp.Expression, str, Callable[[exp.Expression], exp.Expression]], exp.Expression]


def substitute(value: exp.Expression, name: str, body: Callable[[exp.Expression], exp.Expression]) -> exp.Expression:
    return body(value)

NUMERIC_MIN_SIG_DIGITS = 16
DEC_DIGITS = 4
_T = exp.DataType.Type
_n = exp.Literal.number


def literal_scale(text: str) -> int:
    """The display scale of a numeric constant as written (``2.50``: 2, ``1e3``: 0, ``1.5e-3``: 4)."""
    try:
        exponent = Decimal(text.strip()).as_tuple().exponent
    except InvalidOperation:
        return 0
    return max(0, -exponent) if isinstance(exponent, int) else 0


def display_scale(node: exp.Expression, bind: Bind = substitute) -> Scale:
    """PostgreSQL's display scale of the numeric ``node`` (see the module docstring). A node carrying
    ``meta["pg_display_scale"]`` (set by a renderer: a quotient's scale) has that scale."""
    given = node.meta.get("pg_display_scale") if node.meta else None
    if given is not None:
        return given.copy() if isinstance(given, exp.Expression) else given
    if isinstance(node, exp.Paren | exp.Neg | exp.Abs):
        return display_scale(node.this, bind)
    if isinstance(node, exp.Literal):
        return 0 if node.is_string else literal_scale(node.name)
    if is_integer(node) or isinstance(node, exp.Null):
        return 0
    rule = _RULES.get(type(node))
    if rule is not None:
        return rule(node, bind)
    if isinstance(node, exp.Cast | exp.TryCast):
        return _cast_scale(node, bind)
    if isinstance(node, exp.Column):
        return _type_scale(node)
    return None


def _type_scale(node: exp.Expression) -> Scale:
    """A column of type ``numeric(p, s)``: s; an unconstrained numeric column: unknown."""
    dtype = node.type
    if dtype is None or not dtype.is_type(_T.DECIMAL, _T.BIGDECIMAL) or len(dtype.expressions) < 2:
        return None
    try:
        return int(dtype.expressions[1].name)
    except ValueError:
        return None


def _cast_scale(node: exp.Cast, bind: Bind) -> Scale:
    to = node.to
    if not isinstance(to, exp.DataType) or not to.is_type(_T.DECIMAL, _T.BIGDECIMAL):
        return None
    if to.expressions:
        return _int_value(to.expressions[1]) if len(to.expressions) > 1 else 0
    inner = node.this
    if isinstance(inner, exp.Literal):
        return literal_scale(inner.name)
    if is_integer(inner):
        return 0
    if is_decimal(inner):
        return display_scale(inner, bind)
    if is_float(inner):
        return float_text_scale(exp.Anonymous(this="PRINTF", expressions=[exp.Literal.string("%.15g"), inner.copy()]),
                                bind)
    if is_text(inner):
        return bind(exp.Trim(this=inner.copy()), "_pg_txt", text_scale)
    return None


def _int_value(node: exp.Expression) -> int | None:
    try:
        return int(node.name)
    except (TypeError, ValueError):
        return None


def _greatest(scales: list[Scale]) -> Scale:
    if any(s is None for s in scales):
        return None
    if all(isinstance(s, int) for s in scales):
        return max(scales)  # type: ignore[type-var]
    static = [s for s in scales if isinstance(s, int)]
    dynamic = [s for s in scales if isinstance(s, exp.Expression)]
    args = dynamic + ([_n(max(static))] if static else [])
    return args[0] if len(args) == 1 else _fn("GREATEST", *args)


def _sum(a: Scale, b: Scale) -> Scale:
    if a is None or b is None:
        return None
    if isinstance(a, int) and isinstance(b, int):
        return a + b
    return exp.Paren(this=exp.Add(this=_expr(a), expression=_expr(b)))


def _expr(scale: int | exp.Expression) -> exp.Expression:
    return _n(scale) if isinstance(scale, int) else scale


def _chosen(pairs: list[tuple[exp.Expression, Scale]], default: Scale) -> Scale:
    """The scale of the branch a CASE-like node picked: CASE WHEN cond THEN scale … END."""
    scales = [s for _, s in pairs] + [default]
    if any(s is None for s in scales):
        return None
    if all(isinstance(s, int) for s in scales) and len(set(scales)) == 1:
        return scales[0]
    return exp.Case(ifs=[exp.If(this=cond.copy(), true=_expr(s)) for cond, s in pairs],  # type: ignore[arg-type]
                    default=_expr(default))  # type: ignore[arg-type]


def _binary_max(node: exp.Expression, bind: Bind) -> Scale:
    return _greatest([display_scale(node.this, bind), display_scale(node.expression, bind)])


def _product(node: exp.Expression, bind: Bind) -> Scale:
    return _sum(display_scale(node.this, bind), display_scale(node.expression, bind))


def _rounded(node: exp.Expression, bind: Bind) -> Scale:
    places = node.args.get("decimals") or (node.expression if isinstance(node, exp.Func) and
                                           isinstance(node.args.get("expression"), exp.Expression) else None)
    if places is None:
        return 0
    value = _int_value(places) if isinstance(places, exp.Literal) else None
    if isinstance(places, exp.Neg) and isinstance(places.this, exp.Literal):
        return 0
    return None if value is None else max(0, value)


def _coalesce(node: exp.Expression, bind: Bind) -> Scale:
    args = [node.this, *node.expressions]
    pairs = [(exp.Not(this=exp.Is(this=a.copy(), expression=exp.Null())), display_scale(a, bind)) for a in args[:-1]]
    return _chosen(pairs, display_scale(args[-1], bind))


def _case(node: exp.Expression, bind: Bind) -> Scale:
    subject = node.this
    pairs = []
    for branch in node.args.get("ifs") or []:
        cond = branch.this if subject is None else exp.EQ(this=subject.copy(), expression=branch.this.copy())
        pairs.append((cond, display_scale(branch.args["true"], bind)))
    default = node.args.get("default")
    return _chosen(pairs, display_scale(default, bind) if default is not None else 0)


def _if(node: exp.Expression, bind: Bind) -> Scale:
    false = node.args.get("false")
    return _chosen([(node.this, display_scale(node.args["true"], bind))], display_scale(false, bind) if false is not None else 0)


def _extreme(node: exp.Expression, bind: Bind) -> Scale:
    args = [node.this, *node.expressions]
    pairs = [(exp.EQ(this=a.copy(), expression=node.copy()), display_scale(a, bind)) for a in args[:-1]]
    return _chosen(pairs, display_scale(args[-1], bind))


def _sum_aggregate(node: exp.Expression, bind: Bind) -> Scale:
    inner = node.this
    if isinstance(inner, exp.Distinct):
        inner = inner.expressions[0] if inner.expressions else inner
    scale = display_scale(inner, bind)
    if scale is None or isinstance(scale, int):
        return scale
    if node.find_ancestor(exp.Window) is not None or isinstance(node.parent, exp.Window | exp.Filter):
        return None
    return exp.Max(this=scale)


def _same_static(node: exp.Expression, bind: Bind) -> Scale:
    inner = node.this
    if isinstance(inner, exp.Distinct):
        inner = inner.expressions[0] if inner.expressions else inner
    scale = display_scale(inner, bind)
    return scale if isinstance(scale, int) else None


def _quotient(node: exp.Expression, bind: Bind) -> Scale:
    """A quotient's scale depends on its operands' digits, which only a renderer that knows the operands'
    exact decimal form can read (``quotient_scale``): unknown here."""
    return None


def _power(node: exp.Expression, bind: Bind) -> Scale:
    """numeric ^ integer: at least 16 decimals (power_var_int's scale); other exponents are not exact here."""
    exponent = node.expression
    if not (node.meta.get("pg_numeric_power") and isinstance(exponent, exp.Literal) and exponent.is_int):
        return None
    return _greatest([NUMERIC_MIN_SIG_DIGITS, display_scale(node.this, bind)])


def _trim_scale(node: exp.Expression, bind: Bind) -> Scale:
    """trim_scale(x): the decimals of x's text without trailing zeros."""
    if not (isinstance(node, exp.Anonymous) and node.name.lower() == "trim_scale" and node.expressions):
        return None
    text = exp.Cast(this=node.expressions[0].copy(), to=exp.DataType.build("VARCHAR"))
    return bind(text, "_pg_trim", lambda t: exp.Case(
        ifs=[exp.If(this=exp.GT(this=_fn("STRPOS", t, exp.Literal.string(".")), expression=_n(0)),
                    true=text_scale(_fn("RTRIM", _fn("RTRIM", t.copy(), exp.Literal.string("0")),
                                        exp.Literal.string("."))))], default=_n(0)))


def _to_number(node: exp.Expression, bind: Bind) -> Scale:
    fmt = node.args.get("format")
    if isinstance(fmt, exp.Literal) and fmt.is_string:
        _, _, decimals = fmt.name.upper().replace("D", ".").partition(".")
        return len([c for c in decimals if c in "90"])
    return None


def _extract(node: exp.Expression, bind: Bind) -> Scale:
    """extract() is numeric: seconds and epochs have 6 decimals (0 for the epoch of a date), milliseconds 3."""
    field = node.this.name.lower() if isinstance(node.this, exp.Expression) else ""
    source = node.expression
    if field in ("epoch",):
        return 0 if source.type is not None and source.is_type(_T.DATE) else 6
    if field in ("second", "seconds"):
        return 6
    if field in ("millisecond", "milliseconds"):
        return 3
    return 0


_RULES = {
    exp.Add: _binary_max, exp.Sub: _binary_max, exp.Mod: _binary_max, exp.Mul: _product, exp.Div: _quotient,
    exp.Round: _rounded, exp.Floor: lambda n, b: 0 if n.args.get("decimals") is None else _rounded(n, b),
    exp.Ceil: lambda n, b: 0 if n.args.get("decimals") is None else _rounded(n, b),
    exp.Coalesce: _coalesce, exp.Case: _case, exp.If: _if, exp.Nullif: lambda n, b: display_scale(n.this, b),
    exp.Greatest: _extreme, exp.Least: _extreme, exp.Sum: _sum_aggregate, exp.Min: _same_static,
    exp.Max: _same_static, exp.Avg: _quotient, exp.Sign: lambda n, b: 0, exp.Pow: _power, exp.Anonymous: _trim_scale,
    exp.ToNumber: _to_number, exp.Extract: _extract,
}


# -- select_div_scale ------------------------------------------------------------------------------------


def quotient_scale(a: exp.Expression, ca: int, b: exp.Expression, cb: int, da: int | exp.Expression,
                   db: int | exp.Expression, bind: Bind = substitute) -> exp.Expression:
    """``select_div_scale(a, b)`` for decimals ``a``, ``b`` of scales ``ca``, ``cb`` (their text has exactly
    that many decimals): 16 significant digits for the estimated quotient weight, at least the operands'
    display scales ``da``, ``db``.

    ``qweight = weight(a) - weight(b)``, less one when ``a``'s first base-10000 digit is not above ``b``'s;
    the scale is ``max(16 - 4 * qweight, da, db, 0)``.
    """
    return bind(significant_digits(a), "_pg_da", lambda x: bind(significant_digits(b), "_pg_db",
                                                                lambda y: digits_quotient_scale(x, ca, y, cb, da, db)))


def digits_quotient_scale(digits_a: exp.Expression, ca: int | exp.Expression, digits_b: exp.Expression,
                          cb: int | exp.Expression,
                          da: int | exp.Expression, db: int | exp.Expression) -> exp.Expression:
    """``quotient_scale`` from the operands' significant digits (``significant_digits``)."""
    wa, fa = weight_and_first_digit(digits_a, ca)
    wb, fb = weight_and_first_digit(digits_b, cb)
    smaller = exp.Case(ifs=[exp.If(this=exp.LTE(this=fa, expression=fb), true=_n(1))], default=_n(0))
    qweight = exp.Paren(this=exp.Sub(this=exp.Sub(this=wa, expression=wb), expression=smaller))
    digits = exp.Sub(this=_n(NUMERIC_MIN_SIG_DIGITS), expression=exp.Mul(this=_n(DEC_DIGITS), expression=qweight))
    return _fn("GREATEST", digits, _expr(da), _expr(db), _n(0))


def significant_digits(value: exp.Expression) -> exp.Expression:
    """The digits of a decimal's absolute value without the point and leading zeros ('' for zero)."""
    text = exp.Cast(this=exp.Abs(this=value), to=exp.DataType.build("VARCHAR"))
    return _fn("LTRIM", _fn("REPLACE", text, exp.Literal.string("."), exp.Literal.string("")), exp.Literal.string("0"))


def weight_and_first_digit(digits: exp.Expression, scale: int | exp.Expression) -> tuple[exp.Expression, exp.Expression]:
    """PostgreSQL's base-10000 weight and first digit of a decimal of ``scale`` given its significant
    ``digits`` (0, 0 for zero): with n digits the leading one is 10^E, E = n - 1 - scale; the weight is
    floor(E / 4) and the first base-10000 digit is made of the E - 4·weight + 1 leading digits (groups are
    aligned on the point)."""
    n = exp.Length(this=digits)
    # floor((n - 1 - scale) / 4) with a truncating integer division kept on non-negative operands
    shifted = exp.Add(this=n, expression=_n(399 - scale)) if isinstance(scale, int) else \
        exp.Add(this=exp.Sub(this=n, expression=scale.copy()), expression=_n(399))
    weight = exp.Paren(this=exp.Sub(this=exp.IntDiv(this=exp.Paren(this=shifted), expression=_n(4)), expression=_n(100)))
    lead = _int(exp.Sub(this=exp.Sub(this=n.copy(), expression=_expr(scale)), expression=exp.Mul(this=_n(4), expression=weight)))
    group = _fn("RPAD", _fn("LEFT", digits.copy(), lead), lead.copy(), exp.Literal.string("0"))  # .7 is 7000
    first = _fn("COALESCE", exp.TryCast(this=group, to=exp.DataType.build("INT")), _n(0))
    zero = exp.EQ(this=n.copy(), expression=_n(0))
    return exp.Case(ifs=[exp.If(this=zero, true=_n(0))], default=weight.copy()), first


def _fn(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def _int(e: exp.Expression) -> exp.Expression:
    """An integer argument of a string function (lengths): INT, which every engine's LPAD/LEFT accept."""
    return exp.Cast(this=e, to=exp.DataType.build("INT"))


# -- scales read from text -------------------------------------------------------------------------------


def text_scale(text: exp.Expression) -> exp.Expression:
    """The display scale numeric_in gives a decimal text: its digits after the point (no exponent)."""
    point = _fn("STRPOS", text, exp.Literal.string("."))
    return exp.Case(ifs=[exp.If(this=exp.GT(this=point, expression=_n(0)),
                                true=exp.Sub(this=exp.Length(this=text.copy()), expression=point.copy()))],
                    default=_n(0))


def float_text_scale(text: exp.Expression, bind: Bind = substitute) -> exp.Expression:
    """The display scale of a float8 converted to numeric: the decimals of its ``%.15g`` text, whose exponent
    (``1.5e-07``) shifts them."""
    return bind(text, "_pg_g", _float_text_scale)


def _float_text_scale(text: exp.Expression) -> exp.Expression:
    mantissa = _fn("SPLIT_PART", text, exp.Literal.string("e"), _n(1))
    exponent = _fn("SPLIT_PART", text.copy(), exp.Literal.string("e"), _n(2))
    shift = exp.Case(ifs=[exp.If(this=exp.EQ(this=exponent, expression=exp.Literal.string("")), true=_n(0))],
                     default=exp.Cast(this=exponent.copy(), to=exp.DataType.build("INT")))
    return _fn("GREATEST", exp.Sub(this=text_scale(mantissa), expression=shift), _n(0))


# -- VALUES lists ------------------------------------------------------------------------------------------


def mark_values_scales(tree: exp.Expression) -> None:
    """A column read from a VALUES list of numeric constants with different scales (``VALUES (1), (2.5)``)
    shows each row's own scale: its display scale is looked up from its value (``meta["pg_display_scale"]``:
    CASE x WHEN 1 THEN 0 WHEN 2.5 THEN 1 END)."""
    from sqlglot.optimizer.scope import Scope, traverse_scope

    for scope in traverse_scope(tree):
        for column in scope.columns:
            source = scope.sources.get(column.table) if column.table else (
                next(iter(scope.sources.values())) if len(scope.sources) == 1 else None)
            if isinstance(source, Scope) and isinstance(source.expression, exp.Values):
                lookup = _values_lookup(source.expression, column)
                if lookup is not None:
                    column.meta["pg_display_scale"] = lookup


def _values_lookup(values: exp.Values, column: exp.Column) -> exp.Expression | None:
    alias = values.args.get("alias")
    names = [c.name for c in alias.columns] if isinstance(alias, exp.TableAlias) else []
    if column.name not in names:
        return None
    index = names.index(column.name)
    cells = [row.expressions[index] for row in values.expressions if isinstance(row, exp.Tuple)]
    scales: dict[str, int] = {}
    for cell in cells:
        if isinstance(cell, exp.Null):
            continue
        if not (isinstance(cell, exp.Literal) and not cell.is_string):
            return None
        scales.setdefault(cell.name, literal_scale(cell.name))
    if len(set(scales.values())) < 2:
        return None
    return exp.Case(ifs=[exp.If(this=exp.EQ(this=column.copy(), expression=exp.Literal.number(v)), true=_n(d))
                         for v, d in scales.items()], default=_n(max(scales.values())))
