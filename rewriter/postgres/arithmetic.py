"""Arithmetic with PostgreSQL's types: integer division truncates, numeric is exact, and aggregates of
integers widen as PostgreSQL's do.

The rules leave PostgreSQL's meaning in the backend-neutral AST and note in ``meta`` what a renderer needs to
keep it on an engine with other semantics (``rewriter.render.duckdb``):

- ``int / int`` becomes ``IntDiv`` (truncating, the result an integer of the wider type);
- a numeric division keeps ``Div`` with ``meta["pg_numeric_div"] = (scale_a, scale_b, result_scale)`` and
  ``avg`` of integers or numerics ``meta["pg_numeric_avg"] = (scale, result_scale)``: PostgreSQL computes them
  exactly to at least 16 decimal places (``select_div_scale``; the display scale it picks for quotients
  outside [1, 10000) differs, see the corpus's xfails);
- ``sum`` of int2/int4 is int8 and of int8 numeric; an unconstrained ``::numeric`` keeps its input's scale
  (``meta["pg_scale"]``, or ``"float"`` for a float input, which PostgreSQL converts through its shortest
  text form); a literal with an exponent (``1e3``) is numeric.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from sqlglot import exp

from rewriter.postgres.types import decimal_scale, is_decimal, is_float, is_integer

MIN_DIV_SCALE = 16  # NUMERIC_MIN_SIG_DIGITS
_T = exp.DataType.Type
_WIDTH = {_T.TINYINT: 1, _T.SMALLINT: 2, _T.INT: 4, _T.BIGINT: 8}


def _numeric(node: exp.Expression) -> bool:
    return is_integer(node) or is_decimal(node)


def _wider_int(a: exp.Expression, b: exp.Expression) -> exp.DataType:
    left, right = a.type.this, b.type.this  # type: ignore[union-attr]
    wide = left if _WIDTH.get(left, 8) >= _WIDTH.get(right, 8) else right
    return exp.DataType.build("INT" if wide in (_T.TINYINT, _T.SMALLINT) else wide.value)


def integer_division(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Div) and is_integer(node.this) and is_integer(node.expression):
        out = exp.IntDiv(this=node.this, expression=node.expression)
        out.type = _wider_int(node.this, node.expression)
        return out
    return node


def numeric_division(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Div) and _numeric(node.this) and _numeric(node.expression) and (
        is_decimal(node.this) or is_decimal(node.expression)
    ):
        sa, sb = decimal_scale(node.this), decimal_scale(node.expression)
        node.meta["pg_numeric_div"] = (sa, sb, max(MIN_DIV_SCALE, sa, sb))
        node.type = exp.DataType.build("DECIMAL")
    return node


def float_division(node: exp.Expression) -> exp.Expression:
    """float8 ``/`` and ``%`` by zero raise 22012 in PostgreSQL (an engine may answer Infinity or NaN)."""
    if isinstance(node, exp.Div | exp.Mod) and (is_float(node.this) or is_float(node.expression)):
        node.meta["pg_float_division"] = True
    return node


def numeric_integer_division(node: exp.Expression) -> exp.Expression:
    """``div(a, b)`` of numerics: the quotient truncated toward zero, numeric with scale 0."""
    if isinstance(node, exp.Cast) and node.meta.get("pg_name") == "div" and isinstance(node.this, exp.IntDiv):
        node.meta["pg_scale"] = 0
        inner = node.this
        if is_decimal(inner.this) or is_decimal(inner.expression):
            inner.meta["pg_numeric_intdiv"] = (decimal_scale(inner.this), decimal_scale(inner.expression))
    return node


def aggregate_types(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Avg) and _numeric(node.this) and not isinstance(node.this, exp.Distinct):
        scale = decimal_scale(node.this)
        node.meta["pg_numeric_avg"] = (scale, max(MIN_DIV_SCALE, scale))
        node.type = exp.DataType.build("DECIMAL")
        return node
    total = node
    while isinstance(total, exp.Window | exp.Filter):  # sum(x) FILTER (…) OVER (…): cast the whole call
        total = total.this
    if isinstance(total, exp.Sum) and is_integer(total.this) and not isinstance(node.parent, exp.Window | exp.Filter):
        bigint = total.this.type.this in (_T.TINYINT, _T.SMALLINT, _T.INT)  # type: ignore[union-attr]
        out = exp.Cast(this=node, to=exp.DataType.build("BIGINT" if bigint else "DECIMAL"))
        out.meta["pg_scale"] = 0
        out.type = out.to
        return out
    return node


def numeric_casts(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Cast) and isinstance(node.to, exp.DataType) and node.to.is_type(_T.DECIMAL) \
            and is_float(node.this):
        node.meta["pg_float_input"] = True
    if isinstance(node, exp.Cast) and isinstance(node.to, exp.DataType) and node.to.is_type(_T.DECIMAL) \
            and not node.to.expressions and "pg_scale" not in node.meta:
        inner = node.this
        if is_float(inner):
            node.meta["pg_scale"] = "float"
        elif isinstance(inner, exp.Literal) and inner.is_string:
            try:
                exponent = Decimal(inner.name.strip()).as_tuple().exponent
                node.meta["pg_scale"] = max(0, -exponent) if isinstance(exponent, int) else 0
            except InvalidOperation:
                node.meta["pg_scale"] = 0
        elif is_integer(inner) or is_decimal(inner) or isinstance(inner, exp.Literal):
            node.meta["pg_scale"] = decimal_scale(inner)
    return node


def exponent_literals(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Literal) and not node.is_string and "e" in node.name.lower():
        if isinstance(node.parent, exp.Cast):
            return node
        exponent = Decimal(node.name).as_tuple().exponent
        out = exp.Cast(this=exp.Literal.string(node.name), to=exp.DataType.build("DECIMAL"))
        out.meta["pg_scale"] = max(0, -exponent) if isinstance(exponent, int) else 0
        out.type = exp.DataType.build("DECIMAL")
        return out
    return node
