"""PostgreSQL numeric on DuckDB: exact values, and each value's display scale.

DuckDB's DECIMAL has one scale per column and 38 digits; PostgreSQL's numeric is exact with a display scale
per value (``rewriter.postgres.display_scale``). On DuckDB:

- a quotient (``/`` over numerics, ``avg`` of integers or numerics) is computed exactly at the scale
  PostgreSQL's ``select_div_scale`` picks for its operands' values, with 128-bit integer arithmetic on the
  operands' unscaled digits and half-away-from-zero rounding; its value is held as DECIMAL(38, ``DIV_SCALE``)
  (quotients below 10^-4, whose PostgreSQL scale exceeds 20, are rounded there) and its exact text is kept for
  when it is a result column;
- an unconstrained ``::numeric`` keeps its input's scale (DuckDB's default is DECIMAL(18,3)); a float8 goes
  through the text of ``%.15g``, as PostgreSQL's ``float8_numeric`` does;
- a result column whose display scale differs per value is sent as its text (declared ``numeric`` by
  ``rewriter.postgres.result_types``); one whose scale is the same for every value is cast to that scale.

Values bound once and used several times are bound with a one-element ``list_transform`` (DuckDB's lambdas),
so the SQL stays linear in the size of the client's expression.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from sqlglot import exp

from rewriter.postgres.display_scale import (
    Scale,
    digits_quotient_scale,
    display_scale,
    literal_scale,
)
from rewriter.postgres.types import is_decimal, is_float, is_integer

DIV_SCALE = 20  # scale at which quotients are held inside expressions
FLOAT_NUMERIC_SCALE = 15  # float8 -> numeric: %.15g has at most 15 significant digits
UNKNOWN_NUMERIC_SCALE = 16  # ::numeric of text or of a parameter
MAX_SCALE = 38
QUOTIENT = "pg_quotient"  # meta on Div/Avg: (container scale of a, of b, display scale of a, of b)
TEXT = "pg_text"  # meta on a rendered quotient: the Cast whose operand is its exact text
QUOTIENT_SCALE = "PG_QUOTIENT_SCALE"  # placeholder for a quotient's display scale, rendered with the tree

_n = exp.Literal.number
_s = exp.Literal.string


def _fn(name: str, *args: exp.Expression) -> exp.Expression:
    return exp.Anonymous(this=name, expressions=list(args))


def decimal_type(scale: int) -> exp.DataType:
    return exp.DataType.build(f"DECIMAL(38, {min(scale, MAX_SCALE)})")


def _int(e: exp.Expression) -> exp.Expression:
    return exp.Cast(this=e, to=exp.DataType.build("INT"))


def _varchar(e: exp.Expression) -> exp.Expression:
    return exp.Cast(this=e, to=exp.DataType.build("VARCHAR"))


def let(value: exp.Expression, name: str, body: Callable[[exp.Expression], exp.Expression]) -> exp.Expression:
    """``body(name)`` with ``name`` bound to ``value``, evaluated once: list_transform([value], λ)[1].

    The value is evaluated outside the lambda, so it may be an aggregate; the body must not contain one (bind
    every aggregate the body needs with ``let_all``)."""
    ref = exp.column(name)
    lam = exp.Lambda(this=body(ref), expressions=[exp.to_identifier(name)])
    return _fn("LIST_EXTRACT", _fn("LIST_TRANSFORM", exp.Array(expressions=[value]), lam), _n(1))


def let_all(values: dict[str, exp.Expression], name: str,
            body: Callable[[dict[str, exp.Expression]], exp.Expression]) -> exp.Expression:
    """``body`` with several values bound at once (a struct ``name``), each evaluated once."""
    struct = exp.Struct(expressions=[exp.PropertyEQ(this=exp.to_identifier(k), expression=v) for k, v in values.items()])
    return let(struct, name, lambda ref: body({k: exp.column(k, table=name) for k in values}))


# -- the scale DuckDB gives a rendered expression ----------------------------------------------------------


def container_scale(node: exp.Expression) -> int:
    """The DECIMAL scale of ``node`` once rendered (integers 0); an upper bound where it cannot be said."""
    if isinstance(node, exp.Paren | exp.Neg | exp.Abs):
        return container_scale(node.this)
    if isinstance(node, exp.Literal):
        return 0 if node.is_string else literal_scale(node.name)
    if is_integer(node) or isinstance(node, exp.Null):
        return 0
    if isinstance(node, exp.Cast | exp.TryCast):
        return cast_scale(node)
    if isinstance(node, exp.Div | exp.Avg) and QUOTIENT in node.meta:
        return DIV_SCALE
    if isinstance(node, exp.Add | exp.Sub | exp.Mod):
        return max(container_scale(node.this), container_scale(node.expression))
    if isinstance(node, exp.Mul):
        return min(MAX_SCALE, container_scale(node.this) + container_scale(node.expression))
    if isinstance(node, exp.Round):
        places = node.args.get("decimals")
        inner = container_scale(node.this)
        if places is None:
            return 0
        return min(inner, int(places.name)) if isinstance(places, exp.Literal) and places.is_int else inner
    if isinstance(node, exp.Floor | exp.Ceil):
        return 0
    if integer_exponent(node) is not None:
        return min(MAX_SCALE, container_scale(node.this) * (integer_exponent(node) or 0))
    if isinstance(node, exp.Coalesce | exp.Greatest | exp.Least):
        return max(container_scale(a) for a in (node.this, *node.expressions))
    if isinstance(node, exp.Case):
        branches = [i.args["true"] for i in node.args.get("ifs") or []]
        if node.args.get("default") is not None:
            branches.append(node.args["default"])
        return max((container_scale(b) for b in branches), default=0)
    if isinstance(node, exp.Nullif | exp.Sum | exp.Min | exp.Max | exp.Window | exp.Filter):
        inner = node.this
        if isinstance(inner, exp.Distinct) and inner.expressions:
            inner = inner.expressions[0]
        return container_scale(inner)
    scale = display_scale(node, let)
    return scale if isinstance(scale, int) else DIV_SCALE


def cast_scale(node: exp.Cast) -> int:
    to = node.to
    if not isinstance(to, exp.DataType) or not to.is_type("decimal"):
        return container_scale(node.this) if is_decimal(node) else 0
    if to.expressions:
        return int(to.expressions[1].name) if len(to.expressions) > 1 else 0
    scale = node.meta.get("pg_scale", UNKNOWN_NUMERIC_SCALE)
    return FLOAT_NUMERIC_SCALE if scale == "float" else int(scale)


# -- quotients ----------------------------------------------------------------------------------------------


def mark_quotients(tree: exp.Expression) -> None:
    """Record on each numeric quotient what rendering it needs from the client's tree (operand scales),
    before the children are rendered."""
    for node in reversed(list(tree.walk())):  # inner quotients first: an outer one reads their scale
        if integer_exponent(node) is not None:
            node.meta["pg_base_scale"] = container_scale(node.this)
            continue
        if isinstance(node, exp.Anonymous) and node.name.lower() == "scale" and len(node.expressions) == 1 \
                and "pg_scale_of" not in node.meta:
            scale = display_scale(node.expressions[0], let)
            if scale is not None:  # rendered with the tree: an expression over the argument's copies
                node.meta["pg_scale_of"] = scale
            continue
        if node.meta.get("pg_numeric_fn") and "pg_arg_scale" not in node.meta:
            scales = [display_scale(a, let) for a in (node.this, node.expression) if isinstance(a, exp.Expression)]
            node.meta["pg_arg_scale"] = max((sc for sc in scales if isinstance(sc, int)), default=0)
            continue
        if isinstance(node, exp.IntDiv) and node.meta.get("pg_numeric_intdiv") is not None:
            node.meta["pg_intdiv_scale"] = max(container_scale(node.this), container_scale(node.expression))
            continue
        if isinstance(node, exp.Div) and node.meta.get("pg_numeric_div") is not None:
            a, b = node.this, node.expression
        elif isinstance(node, exp.Avg) and node.meta.get("pg_numeric_avg") is not None and \
                not isinstance(node.this, exp.Distinct):
            a, b = exp.Sum(this=node.this.copy()), None
        else:
            continue
        ca = container_scale(a)
        da = display_scale(a, let)
        cb = 0 if b is None else container_scale(b)
        db = 0 if b is None else display_scale(b, let)
        spec = (ca, cb, da, db)  # an unknown display scale is read from the operand's text when rendered
        node.meta[QUOTIENT] = spec
        b_value = exp.Count(this=node.this.copy()) if b is None else b.copy()
        placeholder = exp.Anonymous(this=QUOTIENT_SCALE, expressions=[a.copy(), b_value])
        placeholder.meta[QUOTIENT] = spec
        node.meta["pg_display_scale"] = placeholder


def _quotient_stages(a: exp.Expression, b: exp.Expression, spec: tuple[int, int, Scale, Scale],
                     render: Callable[[exp.Expression], exp.Expression],
                     finish: Callable[[dict[str, exp.Expression], dict[str, exp.Expression], exp.Expression],
                                      exp.Expression]) -> exp.Expression:
    """Bind the operands, their unscaled values and digits, then ``finish(values, digits, scale)`` with the
    quotient's scale (``select_div_scale``).

    Each operand is read as an unscaled integer at its container scale (``c``: DuckDB's DECIMAL scale, 0 for
    integers), |x|·10^c as a HUGEINT (``u``), and its digits (``x``, leading zeros dropped) at that scale
    (``s`` = c): no text parsing of the decimal point, and a constant's are worked out here. Simple operands
    (columns, aggregates over them) are bound together with their digits (one lambda); any other is bound
    first, once, and its digits from that binding (two)."""
    ca, cb, da, db = spec
    values: dict[str, exp.Expression] = {"a": a, "b": b}
    constants: dict[str, exp.Expression] = {}
    inner: dict[str, tuple[exp.Expression, int, bool]] = {}
    for side, operand, scale in (("a", a, ca), ("b", b, cb)):
        known = _constant_unscaled(operand, scale)
        if known is not None:  # a constant operand (x / 7.0)
            constants["u" + side], constants["x" + side], constants["s" + side] = known
        elif _simple(operand):
            values.update(_unscaled(operand.copy(), side, scale, integral=is_integer(operand)))
        else:
            inner[side] = (operand, scale, is_integer(operand))
    if isinstance(da, exp.Expression):
        values["da"] = render(da)
    if isinstance(db, exp.Expression):
        values["db"] = render(db)

    def scaled(v: dict[str, exp.Expression], d: dict[str, exp.Expression]) -> exp.Expression:
        shown_a = v.get("da", da if isinstance(da, int) else _n(ca))
        shown_b = v.get("db", db if isinstance(db, int) else _n(cb))
        scale = digits_quotient_scale(d["xa"], d["sa"], d["xb"], d["sb"], shown_a, shown_b)  # type: ignore[arg-type]
        return finish(v, d, scale)

    def with_operands(v: dict[str, exp.Expression]) -> exp.Expression:
        d = {**constants, **{k: v[k] for k in ("ua", "xa", "sa", "ub", "xb", "sb") if k in v}}
        if not inner:
            return scaled(v, d)
        digits: dict[str, exp.Expression] = {}
        for side, (_, scale, integral) in inner.items():
            digits.update(_unscaled(v[side], side, scale, integral=integral))
        return let_all(digits, "_pg_x", lambda w: scaled(v, {**d, **w}))

    return let_all(values, "_pg_q", with_operands)


def _simple(node: exp.Expression) -> bool:
    """Cheap to evaluate twice (a column, a cast of one, an aggregate over one: DuckDB computes identical
    aggregates once)."""
    while isinstance(node, exp.Cast | exp.Paren | exp.Neg | exp.Abs):
        node = node.this
    if isinstance(node, exp.Sum | exp.Count | exp.Min | exp.Max):
        node = node.this
        while isinstance(node, exp.Cast | exp.Paren | exp.Distinct):
            node = node.this if not isinstance(node, exp.Distinct) else (node.expressions or [None])[0]
    return isinstance(node, exp.Column | exp.Literal | exp.Star)


def _unscaled(operand: exp.Expression, side: str, scale: int, *, integral: bool) -> dict[str, exp.Expression]:
    """|operand|·10^scale as a HUGEINT (``u``), its digits (``x``, '' for zero) and their scale (``s``)."""
    hugeint = exp.DataType.build("HUGEINT")
    if integral or scale == 0:
        unscaled = exp.Cast(this=exp.Abs(this=operand), to=hugeint)
        if not integral:
            unscaled = exp.Cast(this=exp.Abs(this=exp.Cast(this=operand, to=decimal_type(0))), to=hugeint)
    else:  # the decimal's text at its scale without the point: exact, whatever its magnitude
        text = _varchar(exp.Cast(this=exp.Abs(this=operand), to=decimal_type(scale)))
        unscaled = exp.Cast(this=_fn("REPLACE", text, _s("."), _s("")), to=hugeint)
    return {"u" + side: unscaled, "x" + side: _fn("LTRIM", _varchar(unscaled.copy()), _s("0")), "s" + side: _n(scale)}


def _constant_unscaled(node: exp.Expression, scale: int) -> tuple[exp.Expression, exp.Expression, exp.Expression] | None:
    """(unscaled value at ``scale``, its digits, ``scale``) of a numeric constant, as SQL literals."""
    while isinstance(node, exp.Neg | exp.Paren):
        node = node.this
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) and not node.to.expressions:
        node = node.this
    if not (isinstance(node, exp.Literal) and not node.is_string):
        return None
    try:
        value = abs(Decimal(node.name)).scaleb(scale)
    except InvalidOperation:
        return None
    if value != value.to_integral_value():
        return None  # more digits than the container scale says: read it from the engine's value
    unscaled = int(value)
    digits = str(unscaled).lstrip("0")
    return exp.Cast(this=_n(unscaled), to=exp.DataType.build("HUGEINT")), _s(digits), _n(scale)


def quotient_display_scale(a: exp.Expression, b: exp.Expression, spec: tuple[int, int, Scale, Scale],
                           render: Callable[[exp.Expression], exp.Expression]) -> exp.Expression:
    """The display scale of ``a / b`` alone (for an enclosing expression's scale: ``sum(x / 7.0)``)."""
    return _quotient_stages(a, b, spec, render, lambda v, d, scale: scale)


def quotient(a: exp.Expression, b: exp.Expression, spec: tuple[int, int, Scale, Scale],
             render: Callable[[exp.Expression], exp.Expression]) -> exp.Expression:
    """``a / b`` as PostgreSQL's numeric division: DECIMAL(38, DIV_SCALE), and (``meta[TEXT]``) its exact text
    at PostgreSQL's scale for when it is a result column.

    The quotient is worked out on the operands' unscaled integers (``_quotient_stages``): the scale
    PostgreSQL's ``select_div_scale`` picks from their leading digits, then round(|a|·10^k / |b|) half away
    from zero in one HUGEINT division when |a|·10^k fits (the common case) and by long division otherwise.
    Used inside an expression (``sum(x / 7.0)``) it is that integer held at DIV_SCALE, no text involved;
    the text is built only for a result column."""
    def rounded(d: dict[str, exp.Expression], scale: exp.Expression) -> exp.Expression:
        return _rounded_unscaled(d, scale)

    def guarded(v: dict[str, exp.Expression], body: exp.Expression) -> exp.Expression:
        return exp.Case(ifs=[exp.If(this=exp.EQ(this=v["b"].copy(), expression=_n(0)),
                                    true=_fn("ERROR", _s("22012: division by zero")))], default=body)

    def value(v: dict[str, exp.Expression], d: dict[str, exp.Expression], scale: exp.Expression) -> exp.Expression:
        return guarded(v, let(scale, "_pg_s", lambda s: let(rounded(d, s), "_pg_u",
                                                           lambda u: _held_value(u, s, _negative(v["a"], v["b"])))))

    def text(v: dict[str, exp.Expression], d: dict[str, exp.Expression], scale: exp.Expression) -> exp.Expression:
        return guarded(v, let(scale, "_pg_s", lambda s: let(rounded(d, s), "_pg_u",
                                                           lambda u: decimal_text(u, s, _negative(v["a"], v["b"])))))

    out = exp.Cast(this=_quotient_stages(a, b, spec, render, value), to=decimal_type(DIV_SCALE))
    out.meta[TEXT] = _quotient_stages(a.copy(), b.copy(), spec, render, text)
    return out


_ONE_AT_DIV_SCALE = exp.Cast(this=_s("0." + "0" * (DIV_SCALE - 1) + "1"), to=decimal_type(DIV_SCALE))


def _held_value(unscaled: exp.Expression, scale: exp.Expression, negative: exp.Expression) -> exp.Expression:
    """±unscaled·10^-scale as DECIMAL(38, DIV_SCALE): exact when scale <= DIV_SCALE, else rounded half away
    from zero (as the text's cast did)."""
    widen = exp.Mul(this=unscaled.copy(), expression=pow10(exp.Sub(this=_n(DIV_SCALE), expression=scale.copy())))
    cut = exp.Sub(this=scale.copy(), expression=_n(DIV_SCALE))
    narrow = exp.IntDiv(this=exp.Paren(this=exp.Add(this=unscaled.copy(), expression=exp.Mul(
        this=_n(5), expression=pow10(exp.Sub(this=cut.copy(), expression=_n(1)))))), expression=pow10(cut))
    at_scale = exp.Case(ifs=[exp.If(this=exp.LTE(this=scale.copy(), expression=_n(DIV_SCALE)), true=widen)],
                        default=narrow)
    magnitude = exp.Mul(this=exp.Cast(this=at_scale, to=decimal_type(0)), expression=_ONE_AT_DIV_SCALE.copy())
    sign = exp.Case(ifs=[exp.If(this=negative, true=_n(-1))], default=_n(1))
    return exp.Mul(this=magnitude, expression=sign)


def _rounded_unscaled(d: dict[str, exp.Expression], scale: exp.Expression) -> exp.Expression:
    """round(|a| / |b| · 10^scale) half away from zero, as a HUGEINT, from the operands' unscaled values
    (``u``) and scales (``s``): with k = scale - sa + sb, (2·ua·10^k + ub) // (2·ub) in one division when
    2·ua·10^k fits in a HUGEINT (or, k < 0, (2·ua + ub·10^-k) // (2·ub·10^-k)); the long division of
    ``_quotient_text`` otherwise."""
    ua, ub = d["ua"], d["ub"]
    k = exp.Paren(this=exp.Add(this=exp.Sub(this=scale.copy(), expression=d["sa"].copy()), expression=d["sb"].copy()))
    two = _n(2)
    fits = exp.And(this=exp.GTE(this=k.copy(), expression=_n(0)), expression=exp.LTE(
        this=exp.Add(this=exp.Length(this=d["xa"].copy()), expression=k.copy()), expression=_n(37)))
    one_step = exp.IntDiv(
        this=exp.Paren(this=exp.Add(this=exp.Mul(this=exp.Mul(this=two, expression=ua.copy()), expression=pow10(k.copy())),
                                    expression=ub.copy())),
        expression=exp.Paren(this=exp.Mul(this=two.copy(), expression=ub.copy())))
    shift = exp.Neg(this=k.copy())
    small = exp.And(this=exp.LT(this=k.copy(), expression=_n(0)), expression=exp.LTE(
        this=exp.Add(this=exp.Length(this=d["xb"].copy()), expression=shift.copy()), expression=_n(36)))
    scaled_b = exp.Mul(this=ub.copy(), expression=pow10(shift.copy()))
    negative_k = exp.IntDiv(
        this=exp.Paren(this=exp.Add(this=exp.Mul(this=two.copy(), expression=ua.copy()), expression=scaled_b)),
        expression=exp.Paren(this=exp.Mul(this=two.copy(), expression=scaled_b.copy())))
    return exp.Case(ifs=[exp.If(this=fits, true=one_step), exp.If(this=small, true=negative_k)],
                    default=_long_division(d, scale))


def pow10(k: exp.Expression) -> exp.Expression:
    """10^k as a HUGEINT, exactly (0 <= k <= 38): an element of a constant list (DuckDB folds the list once)."""
    powers = [exp.Cast(this=_n(1), to=exp.DataType.build("HUGEINT"))] + [_n(10**i) for i in range(1, 39)]
    return _fn("LIST_EXTRACT", exp.Array(expressions=powers), exp.Add(this=_int(k), expression=_n(1)))


_HUGEINT_DIGITS = 37  # a remainder (< divisor) times 10^(37 - divisor's digits) stays in a HUGEINT


def _long_division(d: dict[str, exp.Expression], scale: exp.Expression) -> exp.Expression:
    """round(|a| / |b|, scale) unscaled, half away from zero, when |a|·10^k does not fit a HUGEINT:
    T = floor(|a|·10^(scale+1) / |b|) by long division of the unscaled values on HUGEINTs (the integer part,
    then up to three steps of as many digits as the divisor leaves room for), then (T + 5) // 10."""
    ua, ub = d["ua"].copy(), d["ub"].copy()
    k = exp.Paren(this=exp.Add(this=exp.Add(this=exp.Sub(this=scale.copy(), expression=d["sa"].copy()),
                                           expression=d["sb"].copy()), expression=_n(1)))
    values = {"ua": ua, "ub": ub, "k": k,
              "step": _fn("GREATEST", _n(1), exp.Sub(this=_n(_HUGEINT_DIGITS), expression=exp.Length(this=d["xb"].copy())))}

    def divide(w: dict[str, exp.Expression]) -> exp.Expression:
        ua, ub, k, step = w["ua"], w["ub"], w["k"], w["step"]
        k1 = _fn("LEAST", k.copy(), step.copy())
        k2 = _fn("LEAST", exp.Sub(this=k.copy(), expression=k1.copy()), step.copy())
        k3 = exp.Paren(this=exp.Sub(this=exp.Sub(this=k.copy(), expression=k1.copy()), expression=k2.copy()))

        def steps(m1: exp.Expression) -> exp.Expression:
            def last(m2: exp.Expression) -> exp.Expression:
                f1 = exp.Mul(this=exp.IntDiv(this=m1.copy(), expression=ub.copy()),
                             expression=pow10(exp.Add(this=k2.copy(), expression=k3.copy())))
                f2 = exp.Mul(this=exp.IntDiv(this=m2, expression=ub.copy()), expression=pow10(k3.copy()))
                f3 = exp.IntDiv(this=exp.Mul(this=exp.Paren(this=exp.Mod(this=m2.copy(), expression=ub.copy())),
                                             expression=pow10(k3.copy())), expression=ub.copy())
                whole = exp.Mul(this=exp.IntDiv(this=ua.copy(), expression=ub.copy()), expression=pow10(k.copy()))
                return exp.Add(this=exp.Add(this=exp.Add(this=whole, expression=f1), expression=f2), expression=f3)

            m2 = exp.Mul(this=exp.Paren(this=exp.Mod(this=m1, expression=ub.copy())), expression=pow10(k2.copy()))
            return let(m2, "_pg_m2", last)

        m1 = exp.Mul(this=exp.Paren(this=exp.Mod(this=ua.copy(), expression=ub.copy())), expression=pow10(k1))
        long = let(m1, "_pg_m1", steps)
        # the common case: |a|·10^k fits in a HUGEINT, one division does
        fits = exp.LTE(this=exp.Add(this=exp.Length(this=d["xa"].copy()), expression=k.copy()), expression=_n(37))
        one_step = exp.IntDiv(this=exp.Mul(this=ua.copy(), expression=pow10(k.copy())), expression=ub.copy())
        long = exp.Case(ifs=[exp.If(this=fits, true=one_step)], default=long)
        short = exp.IntDiv(this=exp.IntDiv(this=ua.copy(), expression=pow10(exp.Neg(this=k.copy()))),
                           expression=ub.copy())
        truncated = exp.Case(ifs=[exp.If(this=exp.LT(this=k.copy(), expression=_n(0)), true=short)], default=long)
        return exp.IntDiv(this=exp.Paren(this=exp.Add(this=truncated, expression=_n(5))), expression=_n(10))

    return let_all(values, "_pg_k", divide)


def _negative(a: exp.Expression, b: exp.Expression) -> exp.Expression:
    return exp.NEQ(this=exp.Paren(this=exp.LT(this=a.copy(), expression=_n(0))),
                   expression=exp.Paren(this=exp.LT(this=b.copy(), expression=_n(0))))


def decimal_text(unscaled: exp.Expression, scale: exp.Expression, negative: exp.Expression) -> exp.Expression:
    """The text of ±unscaled·10^-scale with exactly ``scale`` decimals (no sign for zero)."""
    text = _varchar(unscaled.copy())
    width = _fn("GREATEST", exp.Length(this=text.copy()), exp.Add(this=scale.copy(), expression=_n(1)))
    digits = _fn("LPAD", text, _int(width), _s("0"))  # LPAD cuts a longer string

    def body(d: exp.Expression) -> exp.Expression:
        whole = _fn("LEFT", d, _int(exp.Sub(this=exp.Length(this=d.copy()), expression=scale.copy())))
        point = exp.Case(ifs=[exp.If(this=exp.GT(this=scale.copy(), expression=_n(0)),
                                     true=exp.DPipe(this=_s("."), expression=_fn("RIGHT", d.copy(), _int(scale.copy()))))],
                         default=_s(""))
        sign = exp.Case(ifs=[exp.If(this=exp.And(this=negative.copy(), expression=exp.GT(
            this=unscaled.copy(), expression=_n(0))), true=_s("-"))], default=_s(""))
        return exp.DPipe(this=exp.DPipe(this=sign, expression=whole), expression=point)

    return let(digits, "_pg_d", body)


def quotient_scales(node: exp.Expression, render: Callable[[exp.Expression], exp.Expression]) -> exp.Expression:
    if isinstance(node, exp.Anonymous) and node.name == QUOTIENT_SCALE and QUOTIENT in node.meta:
        a, b = node.expressions
        return quotient_display_scale(a, b, node.meta[QUOTIENT], render)
    return node


def numeric_integer_division(node: exp.Expression) -> exp.Expression:
    """``div(a, b)`` of numerics: both at one scale, their unscaled values divided truncating toward zero."""
    scale = node.meta.get("pg_intdiv_scale") if isinstance(node, exp.IntDiv) else None
    if scale is None:
        return node
    hugeint = exp.DataType.build("HUGEINT")

    def unscaled(value: exp.Expression) -> exp.Expression:
        text = _varchar(exp.Cast(this=value, to=decimal_type(scale)))
        return exp.Cast(this=_fn("REPLACE", text, _s("."), _s("")), to=hugeint)

    divisor = unscaled(node.expression)
    quotient = exp.Cast(this=exp.IntDiv(this=unscaled(node.this), expression=divisor), to=decimal_type(0))
    return exp.Case(ifs=[exp.If(this=exp.EQ(this=divisor.copy(), expression=_n(0)),
                                true=_fn("ERROR", _s("22012: division by zero")))], default=quotient)


MAX_EXACT_POWER = 16


def integer_exponent(node: exp.Expression) -> int | None:
    """The exponent of a numeric power when it is a small non-negative integer constant."""
    if not (isinstance(node, exp.Pow) and node.meta.get("pg_numeric_power")):
        return None
    exponent = node.expression
    if isinstance(exponent, exp.Literal) and exponent.is_int and 0 <= int(exponent.name) <= MAX_EXACT_POWER:
        return int(exponent.name)
    return None


def numeric_power(node: exp.Expression) -> exp.Expression:
    """numeric ^ n for a small integer n: the exact product (PostgreSQL's power_var_int); other numeric powers
    are computed in float8."""
    n = integer_exponent(node)
    scale = node.meta.get("pg_base_scale")
    if n is None or scale is None or scale * n > MAX_SCALE:
        return node
    base = exp.Cast(this=node.this, to=decimal_type(scale))
    if n == 0:
        return exp.Cast(this=_n(1), to=decimal_type(0))
    out: exp.Expression = base
    for _ in range(n - 1):
        out = exp.Mul(this=out, expression=base.copy())
    return exp.Paren(this=out)


def transcendental(node: exp.Expression) -> exp.Expression:
    """numeric ln, log, exp, sqrt and fractional powers: computed in float8 (their last digits may differ from
    PostgreSQL's exact computation), shown at the scale PostgreSQL picks from its estimate of the result's
    decimal weight (ln_var, log_var, exp_var, power_var: 16 significant digits; sqrt_var: from the argument's
    base-10000 weight), never below the arguments' scales; log and sqrt of what they refuse raise 2201E/2201F."""
    kind = node.meta.get("pg_numeric_fn")
    if kind is None or node.meta.get("pg_rendered"):
        return node
    double = exp.DataType.build("DOUBLE")
    args = [exp.Cast(this=a, to=double) for a in (node.this, node.expression) if isinstance(a, exp.Expression)]
    if kind == "ln":
        value = _fn("LN", args[0])
    elif kind == "log10":
        value = _fn("LOG10", args[0])
    elif kind == "log":  # log10 ratios are exact for powers of ten
        value = exp.Div(this=_fn("LOG10", args[1]), expression=_fn("LOG10", args[0]))
    elif kind == "exp":
        value = _fn("EXP", args[0])
    elif kind == "sqrt":
        value = _fn("SQRT", args[0])
    else:
        value = _fn("POW", args[0], args[1])
    floor_scale = node.meta.get("pg_arg_scale", 0)

    def trunc_log10(x: exp.Expression) -> exp.Expression:  # (int) log10(|x|), 0 for 0
        return exp.Case(ifs=[exp.If(this=exp.EQ(this=x, expression=_n(0)), true=_n(0))],
                        default=_fn("TRUNC", _fn("LOG10", exp.Abs(this=x.copy()))))

    def body(v: exp.Expression) -> exp.Expression:
        if kind == "sqrt":  # 16 - ((weight + 1) * 4 / 2 - 1), weight: the argument's base-10000 weight
            weight = _fn("FLOOR", exp.Div(this=_fn("FLOOR", _fn("LOG10", args[0].copy())), expression=_n(4)))
            estimate = exp.Sub(this=_n(16), expression=exp.Paren(this=exp.Sub(
                this=exp.IntDiv(this=exp.Mul(this=exp.Paren(this=exp.Add(this=weight, expression=_n(1))),
                                             expression=_n(4)), expression=_n(2)), expression=_n(1))))
        elif kind == "ln":
            estimate = exp.Sub(this=_n(16), expression=trunc_log10(v.copy()))
        elif kind in ("log", "log10"):
            base = _fn("LN", args[0].copy()) if kind == "log" else _fn("LN", exp.Literal.number(10))
            target = _fn("LN", args[-1].copy())
            estimate = exp.Sub(this=_n(16), expression=exp.Paren(
                this=exp.Sub(this=trunc_log10(target), expression=trunc_log10(base))))
        else:
            estimate = exp.Sub(this=_n(16), expression=trunc_log10(v.copy()))
        scale = _int(_fn("GREATEST", estimate, _n(floor_scale), _n(0)))
        return _fn("PRINTF", _s("%.*f"), scale, v)

    text = let(value, "_pg_f", body)
    guard = args[-1].copy() if kind in ("ln", "log", "log10", "sqrt") else None
    if guard is not None:
        problem = exp.LT(this=guard, expression=_n(0)) if kind == "sqrt" else exp.LTE(this=guard, expression=_n(0))
        message = "2201F: cannot take square root of a negative number" if kind == "sqrt" else \
            "2201E: cannot take logarithm of a negative number"
        text = exp.Case(ifs=[exp.If(this=problem, true=_fn("ERROR", _s(message)))], default=text)
    out = exp.Cast(this=text, to=decimal_type(DIV_SCALE))
    out.meta[TEXT] = True
    out.meta["pg_rendered"] = True
    return out


def numeric_division(node: exp.Expression, render: Callable[[exp.Expression], exp.Expression]) -> exp.Expression:
    spec = node.meta.get(QUOTIENT) if isinstance(node, exp.Div) else None
    if spec is None:
        return node
    return quotient(node.this, node.expression, spec, render)


def numeric_avg(node: exp.Expression, render: Callable[[exp.Expression], exp.Expression]) -> exp.Expression:
    """avg(x) = sum(x) / count(x) at PostgreSQL's scale; over a window, both aggregates over that window."""
    if isinstance(node, exp.Window) and isinstance(node.this, exp.Avg) and QUOTIENT in node.this.meta:
        avg = node.this
        total, count = node.copy(), node.copy()
        total.set("this", exp.Sum(this=avg.this.copy()))
        count.set("this", exp.Count(this=avg.this.copy()))
        return quotient(total, count, avg.meta[QUOTIENT], render)
    if not isinstance(node, exp.Avg) or QUOTIENT not in node.meta or isinstance(node.parent, exp.Window):
        return node
    if isinstance(node.parent, exp.Filter):  # avg(x) FILTER (WHERE …): the Filter node is rendered as it is
        return exp.Cast(this=exp.Avg(this=node.this), to=decimal_type(DIV_SCALE))
    return quotient(exp.Sum(this=node.this.copy()), exp.Count(this=node.this.copy()), node.meta[QUOTIENT], render)


def numeric_casts(node: exp.Expression) -> exp.Expression:
    """``::numeric`` at its input's scale; a float8 through ``%.15g``."""
    if not (isinstance(node, exp.Cast) and isinstance(node.to, exp.DataType) and node.to.is_type("decimal")):
        return node
    if node.meta.get(TEXT):
        return node
    float_input = node.meta.get("pg_scale") == "float" or node.meta.get("pg_float_input")
    if node.to.expressions:
        if float_input:  # numeric(p, s) of a float8: rounded from its %.15g text, as PostgreSQL does
            node.set("this", exp.Cast(this=float_text(node.this), to=decimal_type(FLOAT_NUMERIC_SCALE)))
        return node
    if float_input:
        return exp.Cast(this=float_text(node.this), to=decimal_type(FLOAT_NUMERIC_SCALE))
    return exp.Cast(this=node.this, to=decimal_type(cast_scale(node)))


def float_text(value: exp.Expression) -> exp.Expression:
    return _fn("PRINTF", _s("%.15g"), value)


# -- result columns -----------------------------------------------------------------------------------------


_AS_TEXT = "pg_as_text"  # a scale marker: this column is sent as its value's own text (a set operation's branch)
Outputs = list[tuple[exp.Select, int, "Scale | str"]]


def output_scales(tree: exp.Expression) -> Outputs:
    """(select, position, display scale) of each numeric result column of ``tree`` (computed on the client's
    nodes, before rendering). For a set operation, the columns of each branch: when the branches' scales
    differ, every branch sends its own text (PostgreSQL keeps each value's scale across UNION)."""
    if isinstance(tree, exp.Select):
        return [(tree, i, scale) for i, scale in _numeric_columns(tree).items()]
    if not isinstance(tree, exp.SetOperation):
        return []
    leaves = _leaves(tree)
    if not leaves or len({len(leaf.expressions) for leaf in leaves}) != 1:
        return []
    out: Outputs = []
    per_leaf = [_numeric_columns(leaf) for leaf in leaves]
    for i in range(len(leaves[0].expressions)):
        scales = [columns.get(i, _scale_of(leaf, i)) for leaf, columns in zip(leaves, per_leaf, strict=True)]
        if not any(i in columns for columns in per_leaf) or any(_is_float(leaf, i) for leaf in leaves):
            continue
        if len(set(map(repr, scales))) == 1 and isinstance(scales[0], int):
            out += [(leaf, i, scales[0]) for leaf in leaves]
            continue
        # every branch as text: a constant scale too (as a literal), or the engine would unify the branches
        out += [(leaf, i, _AS_TEXT if scale is None else _n(scale) if isinstance(scale, int) else scale)
                for leaf, scale in zip(leaves, scales, strict=True)]
        _sort_set_by_value(tree, leaves[0], i)
    return out


def _numeric_columns(select: exp.Select) -> dict[int, Scale]:
    out: dict[int, Scale] = {}
    for i, projection in enumerate(select.expressions):
        node = projection.this if isinstance(projection, exp.Alias) else projection
        value = node.this if isinstance(node, exp.Window) else node
        if is_decimal(value) and not is_float(value):
            out[i] = display_scale(node, let)
    return out


def _scale_of(select: exp.Select, i: int) -> Scale:
    node = select.expressions[i]
    return display_scale(node.this if isinstance(node, exp.Alias) else node, let)


def _is_float(select: exp.Select, i: int) -> bool:
    node = select.expressions[i]
    return is_float(node.this if isinstance(node, exp.Alias) else node)


def _leaves(query: exp.Expression) -> list[exp.Select]:
    if isinstance(query, exp.Subquery):
        return _leaves(query.this)
    if isinstance(query, exp.SetOperation):
        return _leaves(query.left) + _leaves(query.right)
    return [query] if isinstance(query, exp.Select) else []


def _sort_set_by_value(tree: exp.SetOperation, first: exp.Select, index: int) -> None:
    """The set operation's ORDER BY items naming column ``index`` sort by its numeric value, not its text."""
    order = tree.args.get("order")
    projection = first.expressions[index]
    name = projection.alias_or_name
    for item in order.expressions if order is not None else []:
        term = item.this if isinstance(item, exp.Ordered) else item
        named = isinstance(term, exp.Column) and not term.table and term.name == name
        positional = isinstance(term, exp.Literal) and term.is_int and int(term.name) == index + 1
        if named or positional:
            term.replace(exp.Cast(this=exp.column(name, quoted=True), to=decimal_type(DIV_SCALE)))


def format_outputs(outputs: Outputs, render: Callable[[exp.Expression], exp.Expression]) -> None:
    """Give each numeric result column its display scale: a cast when it is the same for every value, the
    value's text otherwise (a quotient's own exact text)."""
    for select, i, scale in outputs:
        projection = select.expressions[i]
        node = projection.this if isinstance(projection, exp.Alias) else projection
        if scale is None and not node.meta.get(TEXT):
            continue
        if isinstance(scale, int) and not node.meta.get(TEXT):
            if 0 <= scale <= MAX_SCALE and not _cast_to_scale(node, scale):
                _replace(projection, node, exp.Cast(this=node, to=decimal_type(scale)))
            continue
        if select.args.get("distinct") is not None:
            continue  # DISTINCT compares values, and ORDER BY must name the select list: keep the value
        if node.meta.get(TEXT):
            text = node.meta[TEXT] if isinstance(node.meta[TEXT], exp.Expression) else node.this
        elif scale == _AS_TEXT:
            text = _varchar(node.copy())
        else:
            values = {"t": _varchar(node.copy()), "d": render(scale)}  # type: ignore[arg-type]
            text = let_all(values, "_pg_o", lambda v: scaled_text(v["t"], v["d"]))
        _refer_to_value(select, i, node, text)
        _replace(projection, node, text)


def _cast_to_scale(node: exp.Expression, scale: int) -> bool:
    """Already a cast to numeric(p, scale): its precision stays what the client wrote (numeric(10,2))."""
    return isinstance(node, exp.Cast) and isinstance(node.to, exp.DataType) and node.to.is_type("decimal") and \
        len(node.to.expressions) == 2 and node.to.expressions[1].name == str(scale)


def scaled_text(text: exp.Expression, scale: exp.Expression) -> exp.Expression:
    """A decimal text cut or padded to ``scale`` decimals (the value is exact at that scale)."""
    whole = _fn("SPLIT_PART", text, _s("."), _n(1))
    fraction = _fn("RPAD", _fn("LEFT", _fn("SPLIT_PART", text.copy(), _s("."), _n(2)), _int(scale)),
                   _int(scale.copy()), _s("0"))
    return exp.DPipe(this=whole, expression=exp.Case(
        ifs=[exp.If(this=exp.GT(this=scale.copy(), expression=_n(0)),
                    true=exp.DPipe(this=_s("."), expression=fraction))], default=_s("")))


def _replace(projection: exp.Expression, node: exp.Expression, new: exp.Expression) -> None:
    if projection is node:
        projection.replace(new)
    else:
        projection.set("this", new)


def _refer_to_value(select: exp.Select, index: int, value: exp.Expression, text: exp.Expression) -> None:
    """ORDER BY items naming result column ``index`` (by alias or position) sort by its value, not by the text
    it is sent as. When GROUP BY names the column too, the groups are those of the text (its value is a
    function of it) and ORDER BY reads the value back from the text."""
    projection = select.expressions[index]
    alias = projection.alias if isinstance(projection, exp.Alias) else None

    def references(clause: str) -> list[exp.Expression]:
        node = select.args.get(clause)
        found = []
        for item in node.expressions if node is not None else []:
            term = item.this if isinstance(item, exp.Ordered) else item
            named = isinstance(term, exp.Column) and not term.table and alias is not None and term.name == alias
            positional = isinstance(term, exp.Literal) and term.is_int and int(term.name) == index + 1
            if named or positional:
                found.append(term)
        return found

    grouped = references("group")
    for term in grouped:
        term.replace(text.copy())
    for term in references("order"):
        term.replace(exp.Cast(this=text.copy(), to=decimal_type(DIV_SCALE)) if grouped else value.copy())
