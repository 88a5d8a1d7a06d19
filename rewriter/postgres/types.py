"""Type annotation of a client query: every expression gets the type PostgreSQL would give it.

sqlglot's ``TypeAnnotator`` does the work; this module only tells it the types of the columns it cannot
see: entity columns (``schema``: entity -> member -> type, as the proxy reports them) and columns of CTEs and
derived tables, resolved scope by scope (inner scopes first), qualified or not. Rules that depend on types
(integer division, numeric results, type errors) read ``node.type`` afterwards.
"""

from __future__ import annotations

from collections.abc import Mapping

from sqlglot import exp
from sqlglot.optimizer.annotate_types import TypeAnnotator
from sqlglot.optimizer.scope import Scope, traverse_scope
from sqlglot.schema import MappingSchema

EntityTypes = Mapping[str, Mapping[str, str]]  # entity -> member -> type (Postgres spelling)

T = exp.DataType.Type
INTEGER = (T.TINYINT, T.SMALLINT, T.INT, T.BIGINT)  # narrowest first
FLOATS = (T.FLOAT, T.DOUBLE)
TEXTUAL = (T.TEXT, T.VARCHAR, T.CHAR, T.NAME)


def annotate(tree: exp.Expression, schema: EntityTypes | None) -> exp.Expression:
    """Annotate ``tree`` in place (and return it)."""
    by_entity = {e.lower(): {c.lower(): t for c, t in cols.items()} for e, cols in (schema or {}).items()}
    annotator = TypeAnnotator(MappingSchema(dialect="postgres"), overwrite_types=False)
    for literal in tree.find_all(exp.Literal):
        if not literal.is_string:
            literal.type = literal_type(literal)
    for scope in traverse_scope(tree):
        _type_columns(scope, by_entity)
        annotator.annotate_scope(scope)
    annotator.annotate_expression(tree)
    _float_wins(tree)
    return tree


_ARITHMETIC = (exp.Add, exp.Sub, exp.Mul, exp.Div, exp.Mod, exp.Pow)


def _float_wins(tree: exp.Expression) -> None:
    """float8 with numeric is float8 in PostgreSQL (sqlglot coerces to DECIMAL): retype bottom-up."""
    double = exp.DataType.build("DOUBLE")
    for node in reversed(list(tree.walk())):
        if isinstance(node, exp.Neg | exp.Paren | exp.Window | exp.Filter) and (
                node.type is None or node.is_type(T.UNKNOWN)):
            node.type = node.this.type  # -7.5 is numeric like 7.5
        if isinstance(node, exp.Extract):  # extract() is numeric, date_part() float8
            node.type = exp.DataType.build("DOUBLE" if node.meta.get("pg_name") == "date_part" else "DECIMAL")
        if isinstance(node, _ARITHMETIC) and (is_float(node.this) or is_float(node.expression)):
            node.type = double
        elif isinstance(node, _ARITHMETIC) and (is_decimal(node.this) or is_decimal(node.expression)) and \
                not isinstance(node, exp.Div | exp.Pow):
            node.type = exp.DataType.build("DECIMAL")  # the rules type numeric / and ^ themselves
        elif isinstance(node, exp.Paren | exp.Floor | exp.Ceil | exp.Abs | exp.Neg) and is_float(node.this):
            node.type = double
        elif isinstance(node, exp.Floor | exp.Ceil | exp.Abs | exp.Round) and is_decimal(node.this):
            node.type = exp.DataType.build("DECIMAL")


def literal_type(literal: exp.Literal) -> exp.DataType:
    """PostgreSQL's type of a numeric constant: int4, int8 or numeric (a decimal point or exponent)."""
    text = literal.name.lower()
    if text.lstrip("-").isdigit():
        return exp.DataType.build("INT" if -(2**31) <= int(text) < 2**31 else
                                  "BIGINT" if -(2**63) <= int(text) < 2**63 else "DECIMAL")
    if "e" in text:
        return exp.DataType.build("DECIMAL")
    digits = text.lstrip("-").replace(".", "")
    scale = len(text.split(".", 1)[1]) if "." in text else 0
    return exp.DataType.build(f"DECIMAL({max(len(digits), scale, 1)}, {scale})")


def _type_columns(scope: Scope, by_entity: dict[str, dict[str, str]]) -> None:
    for column in scope.columns:
        if column.type is not None and not column.is_type(T.UNKNOWN):
            continue
        found = _column_type(column, scope, by_entity)
        if found is not None:
            column.type = found


def _column_type(column: exp.Column, scope: Scope, by_entity: dict[str, dict[str, str]]) -> exp.DataType | None:
    name = column.name.lower()
    current: Scope | None = scope
    while current is not None:
        sources = current.sources
        candidates = [sources[column.table]] if column.table in sources else (
            [] if column.table else list(sources.values()))
        for source in candidates:
            found = _source_column_type(source, name, by_entity)
            if found is not None:
                return found
        current = current.parent
    return None


def _source_column_type(source: object, name: str, by_entity: dict[str, dict[str, str]]) -> exp.DataType | None:
    if isinstance(source, exp.Table) and isinstance(source.this, exp.GenerateSeries | exp.ExplodingGenerateSeries):
        return _series_type(source.this)
    if isinstance(source, exp.Table):
        spelled = by_entity.get(source.name.lower(), {}).get(name)
        return exp.DataType.build(spelled, dialect="postgres") if spelled else None
    if isinstance(source, Scope):
        query = source.expression
        if isinstance(query, exp.Values):
            return values_column_type(query, name)
        if isinstance(query, exp.SetOperation):
            query = query.selects and query
        for select in getattr(query, "selects", []):
            if select.alias_or_name.lower() == name and select.type is not None and not select.is_type(T.UNKNOWN):
                return select.type
    return None


def _series_type(series: exp.Expression) -> exp.DataType | None:
    """generate_series's column: its arguments' type (int4, int8, numeric, timestamp…)."""
    args = [series.args[k] for k in ("start", "end") if series.args.get(k) is not None]
    for arg in args:
        if arg.type is None:
            annotate_literal(arg)
    typed = [a.type for a in args if a.type is not None and not a.is_type(T.UNKNOWN)]
    if not typed:
        return None
    if all(t.is_type(*INTEGER) for t in typed):
        return max(typed, key=lambda t: INTEGER.index(t.this))
    return typed[0]


def annotate_literal(node: exp.Expression) -> None:
    if isinstance(node, exp.Literal) and not node.is_string:
        node.type = literal_type(node)


def values_column_type(values: exp.Values, name: str) -> exp.DataType | None:
    """A VALUES column's type: its rows' common type (integers widen, numeric beats integers, float8 beats
    numeric, as PostgreSQL resolves a VALUES column); columns are ``t(a, b)`` or ``column1, column2, …``."""
    alias = values.args.get("alias")
    names = [c.name.lower() for c in alias.columns] if isinstance(alias, exp.TableAlias) and alias.columns else []
    index = names.index(name) if name in names else (
        int(name[6:]) - 1 if name.startswith("column") and name[6:].isdigit() else -1)
    cells = [row.expressions[index] for row in values.expressions
             if isinstance(row, exp.Tuple) and 0 <= index < len(row.expressions)]
    typed = [c.type for c in cells if c.type is not None and not c.is_type(T.UNKNOWN, T.NULL)
             and not isinstance(c, exp.Null)]
    if not typed:
        return None
    if all(t.is_type(*INTEGER) for t in typed):
        return max(typed, key=lambda t: INTEGER.index(t.this) if t.this in INTEGER else 0)
    if all(t.is_type(*INTEGER, *FLOATS, T.DECIMAL, T.BIGDECIMAL) for t in typed):
        if any(t.is_type(*FLOATS) for t in typed):
            return exp.DataType.build("DOUBLE")
        return exp.DataType.build("DECIMAL")
    return typed[0]


def is_integer(node: exp.Expression) -> bool:
    return node.type is not None and node.is_type(*INTEGER)


def is_decimal(node: exp.Expression) -> bool:
    return node.type is not None and node.is_type(T.DECIMAL, T.BIGDECIMAL)


def is_float(node: exp.Expression) -> bool:
    return node.type is not None and node.is_type(*FLOATS)


def is_text(node: exp.Expression) -> bool:
    return node.type is not None and node.is_type(*TEXTUAL)


def decimal_scale(node: exp.Expression) -> int:
    """The scale of a numeric-typed expression (0 for integers, the literal's digits for a literal)."""
    if isinstance(node, exp.Literal) and not node.is_string:
        text = node.name.lower()
        if "e" in text:
            return 0
        return len(text.split(".", 1)[1]) if "." in text else 0
    dtype = node.type
    if dtype is None or not dtype.is_type(T.DECIMAL, T.BIGDECIMAL):
        return 0
    params = dtype.expressions
    if len(params) >= 2:
        try:
            return int(params[1].name)
        except ValueError:
            return 0
    return 0
