"""Untyped string constants take the type of what they meet, as PostgreSQL resolves ``unknown``.

``'12' + 1`` is ``12 + 1`` (and ``'a' + 1`` is 22P02: ``'a'`` is read as an integer), ``CASE … THEN 1 ELSE '2'
END`` and ``SELECT 1 UNION SELECT '2'`` are integers; engines may instead refuse the mix or make it text. The
rule makes the cast explicit, so every engine reads the constant as PostgreSQL does and a constant that is
not a valid value of the type is refused before anything runs (``rewriter.postgres.errors``).
"""

from __future__ import annotations

from sqlglot import exp

from rewriter.postgres.types import is_decimal, is_float, is_integer

_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod)


def _unknown(node: exp.Expression) -> bool:
    return isinstance(node, exp.Literal) and node.is_string


def _numeric(node: exp.Expression) -> bool:
    return is_integer(node) or is_decimal(node) or is_float(node)


def _cast(literal: exp.Expression, like: exp.Expression) -> exp.Expression:
    """``literal::type`` of ``like`` (an unconstrained numeric: the constant keeps its own scale)."""
    to = exp.DataType.build("DECIMAL") if is_decimal(like) else like.type.copy()  # type: ignore[union-attr]
    out = exp.Cast(this=literal.copy(), to=to)
    out.type = to.copy()
    return out


_TRUE = ("true", "yes", "on", "1")
_FALSE = ("false", "no", "off", "0")


def boolean_literal(text: str) -> bool | None:
    """PostgreSQL's boolin: true/yes/on/1, false/no/off/0, any unique prefix, case and spaces ignored."""
    word = text.strip().lower()
    if not word:
        return None
    found = {True for w in _TRUE if w.startswith(word)} | {False for w in _FALSE if w.startswith(word)}
    return found.pop() if len(found) == 1 else None


def unknown_literals(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Cast) and isinstance(node.this, exp.Literal) and node.this.is_string and \
            isinstance(node.to, exp.DataType) and node.to.is_type(exp.DataType.Type.BOOLEAN):
        value = boolean_literal(node.this.name)
        if value is None:
            from rewriter.errors import SqlError

            raise SqlError(f'invalid input syntax for type boolean: "{node.this.name}"', sqlstate="22P02")
        out = exp.Boolean(this=value)
        out.type = exp.DataType.build("BOOLEAN")
        return out
    if isinstance(node, _ARITHMETIC):
        left, right = node.this, node.expression
        if _unknown(left) and _numeric(right):
            node.set("this", _cast(left, right))
            node.type = right.type
        elif _unknown(right) and _numeric(left):
            node.set("expression", _cast(right, left))
            node.type = left.type
    elif isinstance(node, exp.Case | exp.Coalesce):
        branches = [i.args["true"] for i in node.args.get("ifs") or []] + (
            [node.args["default"]] if isinstance(node, exp.Case) and node.args.get("default") is not None
            else [node.this, *node.expressions] if isinstance(node, exp.Coalesce) else [])
        typed = next((b for b in branches if _numeric(b)), None)
        if typed is not None:
            for branch in branches:
                if _unknown(branch):
                    branch.replace(_cast(branch, typed))
    elif isinstance(node, exp.SetOperation) and isinstance(node.left, exp.Select) and isinstance(node.right, exp.Select):
        left, right = node.left.expressions, node.right.expressions
        if len(left) == len(right):
            for a, b in zip(left, right, strict=True):
                a_value, b_value = a.unalias(), b.unalias()
                if _unknown(a_value) and _numeric(b_value):
                    a_value.replace(_cast(a_value, b_value))
                elif _unknown(b_value) and _numeric(a_value):
                    b_value.replace(_cast(b_value, a_value))
    return node
