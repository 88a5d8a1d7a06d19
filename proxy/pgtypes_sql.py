"""Postgres types in client SQL: parameter type inference and small AST fixes sqlglot's transpiler misses.

``infer_param_types`` answers ParameterDescription for ``$n`` the client sent without a type: a cast gives
the type (``$1::int4``), LIMIT/OFFSET take int8, and a comparison or arithmetic with a lens column or a
typed expression takes that side's type; anything else is text, as Postgres does for ``unknown``. A lens
column has the type the catalog reports for it (``schema``: what queries really return, e.g. a lens
``date`` is a ``timestamp``), so a driver binding a datetime against it (JDBC ``setTimestamp``, an ODBC
``SQL_TYPE_TIMESTAMP``) sends what the column holds.

``fix_pg_types`` rewrites the few Postgres casts DuckDB would get wrong or refuse: ``::name`` (no such
DuckDB type) becomes text, and a ``'\\x0102'::bytea`` literal (hex bytea input) becomes ``from_hex``.
"""

from __future__ import annotations

from sqlglot import exp

from proxy.wire import types as pgt
from rewriter.lens import Lens

_DT = exp.DataType.Type
_OID_BY_DTYPE: dict[exp.DataType.Type, int] = {
    _DT.BOOLEAN: pgt.BOOL.oid,
    _DT.SMALLINT: pgt.INT2.oid,
    _DT.TINYINT: pgt.INT2.oid,
    _DT.INT: pgt.INT4.oid,
    _DT.BIGINT: pgt.INT8.oid,
    _DT.UINT: pgt.OID.oid,  # what proxy.catalog.dialect parses ::oid as
    _DT.FLOAT: pgt.FLOAT4.oid,
    _DT.DOUBLE: pgt.FLOAT8.oid,
    _DT.DECIMAL: pgt.NUMERIC.oid,
    _DT.TEXT: pgt.TEXT.oid,
    _DT.VARCHAR: pgt.VARCHAR.oid,
    _DT.CHAR: pgt.BPCHAR.oid,
    _DT.NAME: pgt.NAME.oid,
    _DT.DATE: pgt.DATE.oid,
    _DT.TIME: pgt.TIME.oid,
    _DT.TIMESTAMP: pgt.TIMESTAMP.oid,
    _DT.TIMESTAMPTZ: pgt.TIMESTAMPTZ.oid,
    _DT.INTERVAL: pgt.INTERVAL.oid,
    _DT.UUID: pgt.UUID.oid,
    _DT.VARBINARY: pgt.BYTEA.oid,
    _DT.JSON: pgt.JSON.oid,
    _DT.JSONB: pgt.JSONB.oid,
}
# Lens member type -> the type the catalog reports when it cannot ask the engine (proxy.catalog.model).
_OID_BY_LENS_TYPE = {
    "string": pgt.TEXT.oid,
    "number": pgt.FLOAT8.oid,
    "boolean": pgt.BOOL.oid,
    "bool": pgt.BOOL.oid,
    "date": pgt.TIMESTAMP.oid,
    "time": pgt.TIMESTAMP.oid,
}
Schema = dict[str, dict[str, str]]  # entity -> column -> Postgres type name (Catalog.entity_types)
_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE, exp.Like, exp.ILike, exp.Add, exp.Sub,
                exp.Mul, exp.Div, exp.NullSafeEQ, exp.NullSafeNEQ, exp.Is)


def param_number(node: exp.Expression) -> int | None:
    """``n`` for a ``$n`` node (sqlglot parses it as Parameter or Placeholder), else None."""
    if isinstance(node, exp.Parameter) and isinstance(node.this, exp.Literal) and node.this.name.isdigit():
        return int(node.this.name)
    if isinstance(node, exp.Placeholder) and node.name.isdigit():
        return int(node.name)
    return None


def count_params(tree: exp.Expression | None) -> int:
    if tree is None:
        return 0
    return max((n for node in tree.find_all(exp.Parameter, exp.Placeholder) if (n := param_number(node))), default=0)


def dtype_oid(dtype: exp.Expression) -> int:
    if not isinstance(dtype, exp.DataType):  # ::oid, ::regclass ... parse as ObjectIdentifier
        return pgt.OID.oid if dtype.name.lower() == "oid" else 0
    if dtype.this == _DT.ARRAY and dtype.expressions:
        element = dtype_oid(dtype.expressions[0])
        scalar = pgt.BY_OID.get(element)
        return scalar.array_oid if scalar is not None and scalar.array_oid else pgt.TEXT_ARRAY.oid
    return _OID_BY_DTYPE.get(dtype.this, 0)


def infer_param_types(tree: exp.Expression | None, declared: list[int], lens: Lens | None,
                      schema: Schema | None = None) -> list[int]:
    """One OID per ``$n`` (1-based): the declared one when non-zero, else inferred, else text (25)."""
    n = count_params(tree)
    types = list(declared[:n]) + [0] * max(0, n - len(declared))
    if tree is None:
        return [t or pgt.TEXT.oid for t in types]
    columns = _Columns(lens, schema or {}, tree)
    for node in tree.find_all(exp.Parameter, exp.Placeholder):
        number = param_number(node)
        if number is None or types[number - 1]:
            continue
        types[number - 1] = _infer(node, columns)
    return [t or pgt.TEXT.oid for t in types]


class _Columns:
    """Lens columns' types: the catalog's (``schema``) when known, else the lens's declared ones; and any
    other expression's type as PostgreSQL gives it (``count(*)`` int8, ``x IS NULL`` bool), from the
    rewriter's type annotation of a copy of the whole query, made once, when first needed."""

    def __init__(self, lens: Lens | None, schema: Schema, tree: exp.Expression) -> None:
        self.lens, self.schema, self.tree = lens, schema, tree
        self._typed: dict[int, exp.Expression] | None = None

    def type_of(self, node: exp.Expression) -> int:
        if self._typed is None:
            from rewriter.postgres.types import annotate

            copy = self.tree.copy()
            try:
                annotate(copy, self.schema)
            except Exception:  # a query the annotator cannot type: its parameters stay text
                self._typed = {}
                return 0
            self._typed = {id(a): b for a, b in zip(self.tree.walk(), copy.walk(), strict=False)}
        typed = self._typed.get(id(node))
        if typed is None or typed.type is None or typed.type.this in (_DT.UNKNOWN, _DT.NULL):
            return 0
        if typed.type.this == _DT.VARCHAR and not typed.type.expressions:
            return pgt.TEXT.oid  # sqlglot's string type: Postgres's string functions return text
        return dtype_oid(typed.type)


def _infer(node: exp.Expression, columns: _Columns) -> int:
    parent = node.parent
    if isinstance(parent, exp.Cast) and parent.this is node:
        return dtype_oid(parent.to)
    if isinstance(parent, exp.Limit | exp.Offset | exp.Fetch):
        return pgt.INT8.oid
    if isinstance(parent, exp.Paren):
        return _infer(parent, columns)
    if isinstance(parent, exp.Any | exp.All) or (
        isinstance(parent, exp.Anonymous) and parent.name.upper() in ("ANY", "ALL", "SOME")
    ):  # x = ANY($1): an array of x's type (psycopg sends a list of str untyped, as '{a,b}')
        comparison = parent.parent
        element = 0
        if isinstance(comparison, _COMPARISONS):
            other = comparison.this if comparison.expression is parent else comparison.expression
            element = _expression_oid(other, columns)
        scalar = pgt.BY_OID.get(element or pgt.TEXT.oid)
        return scalar.array_oid if scalar is not None and scalar.array_oid else pgt.TEXT_ARRAY.oid
    if isinstance(parent, _COMPARISONS):
        other = parent.expression if parent.this is node else parent.this
        return _expression_oid(other, columns)
    if isinstance(parent, exp.In):
        return _expression_oid(parent.this, columns)
    if isinstance(parent, exp.Between):
        return _expression_oid(parent.this, columns)
    return 0


def _expression_oid(node: exp.Expression | None, columns: _Columns) -> int:
    if node is None:
        return 0
    if isinstance(node, exp.Cast):
        return dtype_oid(node.to)
    if isinstance(node, exp.Literal):
        if node.is_string:
            return pgt.TEXT.oid
        return pgt.INT4.oid if node.name.lstrip("-").isdigit() else pgt.NUMERIC.oid
    if isinstance(node, exp.Boolean):
        return pgt.BOOL.oid
    if isinstance(node, exp.Column) and columns.lens is not None:
        found = _column_oid(node, columns.lens, columns.schema)
        if found:
            return found
    if isinstance(node, exp.Paren):
        return _expression_oid(node.this, columns)
    if isinstance(node, exp.Parameter | exp.Placeholder):
        return 0
    return columns.type_of(node)


def _column_oid(column: exp.Column, lens: Lens, schema: Schema) -> int:
    select = column.find_ancestor(exp.Select)
    entities = []
    if select is not None:
        aliases = {}
        for table in select.find_all(exp.Table):
            entity = lens.entity(table.name)
            if entity is not None:
                aliases[(table.alias_or_name or table.name).lower()] = entity
                entities.append(entity)
        if column.table and column.table.lower() in aliases:
            entities = [aliases[column.table.lower()]]
    for entity in entities or list(lens.entities):
        member = entity.member(column.name)
        if member is not None:
            described = pgt.BY_NAME.get(schema.get(entity.name, {}).get(member.name, ""))
            if described is not None:
                return described.oid
            return _OID_BY_LENS_TYPE.get(member.type.lower(), 0)
    return 0


def fix_pg_types(tree: exp.Expression) -> exp.Expression:
    """Rewrite Postgres casts DuckDB cannot take as they are (see the module docstring)."""

    def fix(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Anonymous) and node.name.lower() in _RENAMED_FUNCTIONS:
            return exp.Anonymous(this=_RENAMED_FUNCTIONS[node.name.lower()], expressions=node.expressions)
        if isinstance(node, exp.Cast) and isinstance(node.to, exp.DataType):
            if node.to.this == _DT.ARRAY and isinstance(node.this, exp.Literal) and node.this.is_string:
                elements = _array_literal(node.this.name)
                if elements is not None:  # '{1,2}'::int[] -> CAST(['1', '2'] AS INT[])
                    items = [exp.Null() if e is None else exp.Literal.string(e) for e in elements]
                    return exp.Cast(this=exp.Array(expressions=items), to=node.to.copy())
            if node.to.this == _DT.NAME:
                return exp.cast(node.this, exp.DataType.build("text"))
            if node.to.this == _DT.VARBINARY and isinstance(node.this, exp.Literal) and node.this.is_string:
                text = node.this.name
                if text.startswith("\\x"):
                    return exp.Anonymous(this="from_hex", expressions=[exp.Literal.string(text[2:])])
        return node

    needs = any(
        isinstance(c.to, exp.DataType) and c.to.this in (_DT.NAME, _DT.VARBINARY, _DT.ARRAY)
        for c in tree.find_all(exp.Cast)
    ) or any(a.name.lower() in _RENAMED_FUNCTIONS for a in tree.find_all(exp.Anonymous))
    if not needs:
        return tree
    return tree.copy().transform(fix)


# Postgres functions DuckDB has under another name (same arguments, same result); json_build_object and
# friends are rendered with PostgreSQL's text layout by rewriter.render.duckdb (json_text)
_RENAMED_FUNCTIONS: dict[str, str] = {}


def _array_literal(text: str) -> list[str | None] | None:
    """The elements of a one-dimensional Postgres array literal (``{1,2}``, ``{"a b",NULL}``), or None."""
    text = text.strip()
    if not (text.startswith("{") and text.endswith("}")):
        return None
    body, out, i = text[1:-1], [], 0
    if not body.strip():
        return []
    while i <= len(body):
        if i < len(body) and body[i] == '"':
            j, value = i + 1, []
            while j < len(body) and body[j] != '"':
                if body[j] == "\\" and j + 1 < len(body):
                    j += 1
                value.append(body[j])
                j += 1
            out.append("".join(value))
            i = j + 1
            if i < len(body) and body[i] != ",":
                return None
            i += 1
            continue
        j = body.find(",", i)
        j = len(body) if j < 0 else j
        item = body[i:j].strip()
        if "{" in item or "}" in item:
            return None  # multi-dimensional: left to the engine
        out.append(None if item.upper() == "NULL" else item)
        i = j + 1
    return out
