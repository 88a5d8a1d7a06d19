"""Spark SQL (Spark Connect): Postgres meaning rendered for Spark.

Spark differs from PostgreSQL where these transforms step in (each checked on a real Spark Connect server
by tests/backends):

* ``date - date`` is an ``INTERVAL DAY`` in Spark, an integer number of days in PostgreSQL:
  ``DATEDIFF(a, b)``.
* ``day(x - y)`` of two datetimes (a Trino lens snippet's "days between") reads the day field of an interval:
  ``EXTRACT(DAY FROM x - y)``; Spark's ``DAY`` accepts only dates.
* ``date_trunc`` returns Spark's session-zoned ``TIMESTAMP`` whatever it is given; PostgreSQL returns the
  argument's type, and lens timestamps are ``timestamp without time zone``: cast back to
  ``TIMESTAMP_NTZ`` (unless the argument is explicitly a ``timestamptz``).
* Bound parameters ``$n`` are Spark's named markers ``:pn`` (the backend binds ``{"pn": value}``).

Integer division is not decided here: Spark's ``/`` always divides exactly, and which divisions are integral
is the rewriter's AST's to say (its explicit ``IntDiv`` renders as Spark's ``DIV``).
"""

from __future__ import annotations

from sqlglot import exp

DIALECT = "spark"


def render(tree: exp.Expression) -> str:
    for rule in (_date_difference, _day_of_interval, _date_trunc_keeps_type, _named_parameters):
        tree = tree.transform(rule, copy=False)
    return tree.sql(dialect=DIALECT)


def _is_date(node: exp.Expression) -> bool:
    if isinstance(node, exp.Paren):
        return _is_date(node.this)
    if isinstance(node, exp.Cast | exp.TryCast):
        return node.to.is_type(exp.DataType.Type.DATE)
    return isinstance(node, exp.CurrentDate | exp.Date | exp.DateFromParts | exp.TsOrDsToDate)


def _date_difference(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Sub) and _is_date(node.this) and _is_date(node.expression):
        return exp.DateDiff(this=node.this, expression=node.expression)
    return node


def _day_of_interval(node: exp.Expression) -> exp.Expression:
    if not isinstance(node, exp.Day):
        return node
    arg = node.this.unnest() if isinstance(node.this, exp.Paren) else node.this
    if isinstance(arg, exp.Sub) and not isinstance(arg.expression, exp.Interval):
        return exp.Extract(this=exp.var("DAY"), expression=exp.Paren(this=arg))
    return node


def _date_trunc_keeps_type(node: exp.Expression) -> exp.Expression:
    if not isinstance(node, exp.TimestampTrunc | exp.DateTrunc) or isinstance(node.parent, exp.Cast):
        return node
    arg = node.this
    if isinstance(arg, exp.Cast) and arg.to.is_type(exp.DataType.Type.TIMESTAMPTZ, exp.DataType.Type.TIMESTAMPLTZ):
        return node
    if isinstance(node, exp.DateTrunc) and _is_date(arg):
        return node
    return exp.Cast(this=node, to=exp.DataType.build("TIMESTAMP_NTZ", dialect=DIALECT))


def _named_parameters(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Parameter) and isinstance(node.this, exp.Literal) and not node.this.is_string:
        return exp.Placeholder(this=f"p{node.this.name}")
    return node
