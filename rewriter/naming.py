"""Result column names as PostgreSQL would give them (its ``FigureColname``).

The backend names columns its own way (DuckDB calls ``count(*)`` ``count_star()``); clients see the names
Postgres would give, so every projection is aliased with the name computed from the *client's* expression,
before the rewriter replaces measures with their aggregates.

>>> import sqlglot
>>> [postgres_column_name(e) for e in sqlglot.parse_one("select a.b, count(*), 1 + 2, x::int, 'q'::text", read="postgres").expressions]
['b', 'count', '?column?', 'x', 'text']

Function calls are named as the client wrote them (``ceiling``, ``substr``, ``date_part``): the client
dialect (``proxy.catalog.dialect``) records the written name in ``meta["pg_name"]``, since sqlglot builds
one node for several spellings.
"""

from __future__ import annotations

from sqlglot import exp

UNNAMED = "?column?"

# sqlglot builds typed nodes for many functions; Postgres names them by the function as written.
_FUNCTION_NAMES: dict[type[exp.Expression], str] = {
    exp.Count: "count",
    exp.Sum: "sum",
    exp.Avg: "avg",
    exp.Min: "min",
    exp.Max: "max",
    exp.Coalesce: "coalesce",
    exp.Greatest: "greatest",
    exp.Least: "least",
    exp.Nullif: "nullif",
    exp.Case: "case",
    exp.Array: "array",
    exp.CurrentDate: "current_date",
    exp.CurrentTimestamp: "now",
    exp.CurrentTime: "current_time",
    exp.CurrentUser: "current_user",
    exp.Exists: "exists",
    exp.Extract: "extract",
    exp.Round: "round",
    exp.Abs: "abs",
    exp.Upper: "upper",
    exp.Lower: "lower",
    exp.Length: "length",
    exp.Substring: "substring",
    exp.Trim: "btrim",
    exp.DateTrunc: "date_trunc",
    exp.TimestampTrunc: "date_trunc",
    exp.ArrayAgg: "array_agg",
    exp.GroupConcat: "string_agg",
    exp.Stddev: "stddev",
    exp.StddevSamp: "stddev_samp",
    exp.StddevPop: "stddev_pop",
    exp.Variance: "variance",
    exp.RowNumber: "row_number",
    exp.Floor: "floor",
    exp.Ceil: "ceil",
    exp.Concat: "concat",
    exp.If: "case",
}

_TYPE_NAMES: dict[exp.DataType.Type, str] = {
    exp.DataType.Type.INT: "int4",
    exp.DataType.Type.BIGINT: "int8",
    exp.DataType.Type.SMALLINT: "int2",
    exp.DataType.Type.DOUBLE: "float8",
    exp.DataType.Type.FLOAT: "float4",
    exp.DataType.Type.BOOLEAN: "bool",
    exp.DataType.Type.VARCHAR: "varchar",
    exp.DataType.Type.CHAR: "bpchar",
    exp.DataType.Type.TEXT: "text",
    exp.DataType.Type.DECIMAL: "numeric",
    exp.DataType.Type.DATE: "date",
    exp.DataType.Type.TIMESTAMP: "timestamp",
    exp.DataType.Type.TIMESTAMPTZ: "timestamptz",
    exp.DataType.Type.INTERVAL: "interval",
}


def postgres_column_name(node: exp.Expression) -> str:
    """The output column name Postgres gives a select-list expression."""
    if isinstance(node, exp.Alias):
        return node.alias
    name = _figure(node)
    return name if name is not None else UNNAMED


def _figure(node: exp.Expression) -> str | None:
    written = node.meta.get("pg_name") if node.meta else None
    if isinstance(node, exp.Trim) and written is None:  # trim(leading …) is ltrim in Postgres
        position = (node.args.get("position") or "").upper()
        return {"LEADING": "ltrim", "TRAILING": "rtrim"}.get(position, "btrim")
    if isinstance(written, str) and isinstance(node, exp.Func | exp.Binary | exp.Cast):
        return written.rsplit(".", 1)[-1].lower()  # mod(a, b) is a Mod node, div(a, b) a cast
    if isinstance(node, exp.AtTimeZone):
        return "timezone"
    if isinstance(node, exp.Interval):
        return "interval"
    if isinstance(node, exp.WithinGroup):
        return _figure(node.this)
    if isinstance(node, exp.Paren):
        return _figure(node.this)
    if isinstance(node, exp.Column):
        return None if isinstance(node.this, exp.Star) else node.name
    if isinstance(node, exp.Cast | exp.TryCast):
        inner = _figure(node.this)
        if inner is not None:
            return inner
        to = node.to
        if isinstance(to, exp.DataType) and to.this == exp.DataType.Type.ARRAY and to.expressions:
            to = to.expressions[0]  # Postgres names '{1,2}'::int[] after the element type: int4
        return _TYPE_NAMES.get(to.this, to.sql("postgres").lower()) if isinstance(to, exp.DataType) else None
    if isinstance(node, exp.Window):
        return _figure(node.this)
    if isinstance(node, exp.Filter):
        return _figure(node.this)
    if isinstance(node, exp.Distinct):
        return None
    if isinstance(node, exp.Subquery):
        inner = node.this
        if isinstance(inner, exp.Select) and len(inner.expressions) == 1:
            return postgres_column_name(inner.expressions[0])
        return None
    if isinstance(node, exp.Anonymous):
        return node.name.lower()
    for cls, name in _FUNCTION_NAMES.items():
        if type(node) is cls:
            return name
    if isinstance(node, exp.Func) and not isinstance(node, exp.Binary):
        # the name the function has in Postgres (sqlglot's class may be named otherwise:
        # ExplodingGenerateSeries is generate_series)
        rendered = node.sql("postgres")
        head = rendered.split("(", 1)[0].strip()
        if head and head.replace("_", "").replace(".", "").isalnum() and " " not in head:
            return head.rsplit(".", 1)[-1].lower()
        sql_name = node.sql_name()
        return sql_name.lower() if sql_name else None
    return None
