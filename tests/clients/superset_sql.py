"""The SQL Superset's Explore view generates for a chart, built the way Superset builds it.

Superset itself (``apache-superset``) is too large a test dependency, so this follows its query builder
(``superset/models/helpers.py``: ``ExploreMixin.get_sqla_query``) and its Postgres engine spec
(``superset/db_engine_specs/postgres.py``) closely, with the same library, SQLAlchemy Core:

- the source is ``table(name, schema="public")``; columns are ``column(name)``; SQL is compiled with the
  Postgres dialect and ``literal_binds`` (Superset runs the rendered SQL text, not bound parameters);
- the x-axis is the time grain expression of ``PostgresEngineSpec._time_grain_expressions``
  (``DATE_TRUNC('month', activity_ts)``) labelled with the column's own name, grouped by the expression;
- metrics: ``count`` is ``COUNT(*) AS count``; simple metrics ``AGG(col)`` are labelled ``"AGG(col)"``,
  ``COUNT_DISTINCT`` is ``COUNT(DISTINCT col)``;
- the time range is ``col >= TO_TIMESTAMP('…', 'YYYY-MM-DD HH24:MI:SS.US') AND col < …``
  (``PostgresEngineSpec.convert_dttm``);
- a series limit joins the top groups of an inner query (``series_limit``, ``__`` suffixed labels,
  ``mme_inner__``), ordering by the first metric descending unless the chart sorts by the x-axis.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import and_, column, literal_column, select, table
from sqlalchemy.dialects import postgresql

TIME_GRAINS = {
    "PT1S": "DATE_TRUNC('second', {col})", "PT1M": "DATE_TRUNC('minute', {col})",
    "PT1H": "DATE_TRUNC('hour', {col})", "P1D": "DATE_TRUNC('day', {col})",
    "P1W": "DATE_TRUNC('week', {col})", "P1M": "DATE_TRUNC('month', {col})",
    "P3M": "DATE_TRUNC('quarter', {col})", "P1Y": "DATE_TRUNC('year', {col})",
}
SPEC_KEYS = {"chart", "table", "x_axis", "time_grain", "metrics", "groupby", "time_range", "filters", "row_limit",
             "order_desc", "series_limit", "columns", "order_by", "order_by_x"}


def convert_dttm(value: str) -> str:
    stamp = dt.datetime.fromisoformat(value).strftime("%Y-%m-%d %H:%M:%S.%f")
    return f"TO_TIMESTAMP('{stamp}', 'YYYY-MM-DD HH24:MI:SS.US')"


def metric(spec: str) -> Any:
    if spec == "count":
        return literal_column("COUNT(*)").label("count")
    agg, col = spec.rstrip(")").split("(", 1)
    if agg == "COUNT_DISTINCT":
        return literal_column(f"COUNT(DISTINCT {col})").label(spec)
    return literal_column(f"{agg}({col})").label(spec)


def _filter(col: str, op: str, value: object) -> Any:
    c = column(col)
    if op == "IN":
        return c.in_(value)
    return {"==": c == value, "!=": c != value, ">": c > value, "<": c < value, ">=": c >= value,
            "<=": c <= value}[op]


def _time_filter(col: str, time_range: list[str] | None) -> list[Any]:
    if not time_range:
        return []
    since, until = time_range
    return [literal_column(col) >= literal_column(convert_dttm(since)),
            literal_column(col) < literal_column(convert_dttm(until))]


def chart_sql(spec: dict[str, Any]) -> str:
    """The SQL text Superset sends for one chart's form data (see the module docstring)."""
    unknown = set(spec) - SPEC_KEYS
    assert not unknown, f"unknown chart keys {unknown}"
    source = table(spec["table"], schema="public")
    where = [_filter(*f) for f in spec.get("filters") or []]
    if spec.get("columns"):  # raw records mode
        query = select(*(column(c).label(c) for c in spec["columns"])).select_from(source)
        if where:
            query = query.where(and_(*where))
        if spec.get("order_by"):
            query = query.order_by(column(spec["order_by"]))
        return _render(query.limit(spec.get("row_limit", 1000)))
    metrics = [metric(m) for m in spec["metrics"]]
    groups: list[Any] = []
    selected: list[Any] = []
    x_axis = spec.get("x_axis")
    if x_axis:
        grain = literal_column(TIME_GRAINS[spec["time_grain"]].format(col=x_axis))
        selected.append(grain.label(x_axis))
        groups.append(grain)
        where += _time_filter(x_axis, spec.get("time_range"))
    for g in spec.get("groupby") or []:
        selected.append(column(g).label(g))
        groups.append(column(g))
    query = select(*selected, *metrics).select_from(source)
    if spec.get("series_limit") and spec.get("groupby"):
        inner_groups = [column(g).label(f"{g}__") for g in spec["groupby"]]
        inner_metric = literal_column(metrics[0].element.name).label("mme_inner__")
        inner = select(*inner_groups, inner_metric).select_from(source)
        if where:
            inner = inner.where(and_(*where))
        inner = inner.group_by(*(column(g) for g in spec["groupby"])).order_by(
            literal_column("mme_inner__").desc()).limit(spec["series_limit"]).subquery("series_limit")
        on = and_(*(column(g) == literal_column(f"{g}__") for g in spec["groupby"]))
        query = query.select_from(source.join(inner, on))
    if where:
        query = query.where(and_(*where))
    if groups:
        query = query.group_by(*groups)
    if spec.get("order_by_x") and x_axis:
        query = query.order_by(literal_column(x_axis))
    elif spec.get("order_desc", True) and (groups or spec.get("row_limit")):
        query = query.order_by(literal_column(f'"{metrics[0].name}"' if metrics[0].name != "count" else "count").desc())
    limit = spec.get("row_limit", 50000 if not groups else 10000)
    return _render(query.limit(limit))


def _render(query: Any) -> str:
    return str(query.compile(dialect=postgresql.dialect(), compile_kwargs={"literal_binds": True})).replace("\n", " ")
