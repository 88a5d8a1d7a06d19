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


def parse_array_literal(text: str) -> list[str | None]:
    """PostgreSQL's one-dimensional array input (``'{CA,"New York",NULL}'``): the elements as text (None
    for an unquoted NULL); anything else is 22P02 "malformed array literal", as in PostgreSQL."""
    from rewriter.errors import SqlError

    def malformed(why: str) -> SqlError:
        return SqlError(f'malformed array literal: "{text}"', sqlstate="22P02", detail=why)

    body = text.strip()
    if not (body.startswith("{") and body.endswith("}")):
        raise malformed('Array value must start with "{" or dimension information.')
    inner, items, i = body[1:-1], [], 0
    if not inner.strip():
        return []
    while True:
        while i < len(inner) and inner[i].isspace():
            i += 1
        if i < len(inner) and inner[i] == '"':
            i, chars = i + 1, []
            while i < len(inner) and inner[i] != '"':
                if inner[i] == "\\" and i + 1 < len(inner):
                    i += 1
                chars.append(inner[i])
                i += 1
            if i >= len(inner):
                raise malformed("Unexpected end of input.")
            items.append("".join(chars))
            i += 1
            while i < len(inner) and inner[i].isspace():
                i += 1
        else:
            start = i
            while i < len(inner) and inner[i] not in ',{}"':
                i += 1
            if i < len(inner) and inner[i] in '{}"':
                raise malformed(f'Unexpected "{inner[i]}" character.')
            word = inner[start:i].strip()
            if not word:
                raise malformed("Unexpected \",\" character.")
            items.append(None if word.upper() == "NULL" else word)
        if i >= len(inner):
            return items
        if inner[i] != ",":
            raise malformed(f'Unexpected "{inner[i]}" character.')
        i += 1


def any_all_arrays(node: exp.Expression) -> exp.Expression:
    """``x = ANY('{a,b}')``: the untyped constant is an array of x's type (PostgreSQL reads it so); the
    right side of ANY/ALL must be an array (42809 otherwise)."""
    from rewriter.errors import SqlError

    is_all = isinstance(node, exp.Anonymous) and node.name.upper() == "ALL" and len(node.expressions) == 1
    if not (isinstance(node, exp.Any) or is_all):
        return node
    argument = node.expressions[0] if is_all else node.this
    inner = argument.this if isinstance(argument, exp.Paren) else argument
    partner = node.parent.this if isinstance(node.parent, exp.Binary) and node.parent.expression is node else None
    if _unknown(inner):
        elements = []
        for item in parse_array_literal(inner.name):
            element: exp.Expression = exp.Null() if item is None else exp.Literal.string(item)
            if item is not None and partner is not None and _numeric(partner):
                element = _cast(element, partner)
            elements.append(element)
        array = exp.Array(expressions=elements)
        if is_all:
            node.set("expressions", [array])
        else:
            node.set("this", array)
        return node
    known = inner.type is not None and not inner.is_type(exp.DataType.Type.UNKNOWN, exp.DataType.Type.NULL)
    if known and not inner.is_type(exp.DataType.Type.ARRAY) and not isinstance(inner, exp.Query | exp.Array):
        raise SqlError("op ANY/ALL (array) requires array on right side", sqlstate="42809")
    return node
