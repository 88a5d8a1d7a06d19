"""Errors PostgreSQL raises where an engine would answer: checked on the typed client AST, so the client gets
PostgreSQL's SQLSTATE and message before anything runs.

Each check is a function ``(node) -> None`` raising ``SqlError``; ``check_errors`` walks the tree once. Checks
on values (a negative ``sqrt`` argument, an out-of-range cast) apply to constants; the same conditions on
column values are the engine's (see the corpus's xfails).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable

from sqlglot import exp

from rewriter.errors import GroupingError, SqlError, UndefinedFunction
from rewriter.postgres.types import is_float, is_integer, is_text

_T = exp.DataType.Type
_PG_TYPE = {_T.TEXT: "text", _T.VARCHAR: "character varying", _T.INT: "integer", _T.BIGINT: "bigint",
            _T.SMALLINT: "smallint", _T.DOUBLE: "double precision", _T.FLOAT: "real", _T.DECIMAL: "numeric",
            _T.BOOLEAN: "boolean", _T.DATE: "date", _T.TIMESTAMP: "timestamp without time zone",
            _T.TIMESTAMPTZ: "timestamp with time zone", _T.INTERVAL: "interval"}
_COMPARISONS = {exp.EQ: "=", exp.NEQ: "<>", exp.GT: ">", exp.GTE: ">=", exp.LT: "<", exp.LTE: "<="}
_INT_RANGES = {_T.SMALLINT: ("smallint", -(2**15), 2**15 - 1), _T.INT: ("integer", -(2**31), 2**31 - 1),
               _T.BIGINT: ("bigint", -(2**63), 2**63 - 1)}
_DATE_UNITS = {"microseconds", "milliseconds", "second", "minute", "hour", "day", "week", "month", "quarter",
               "year", "decade", "century", "millennium"}


def _type_name(node: exp.Expression) -> str:
    if isinstance(node, exp.Literal) and node.is_string:
        return "unknown"
    if node.type is None:
        return "unknown"
    return _PG_TYPE.get(node.type.this, node.type.sql("postgres").lower())


def _number(node: exp.Expression) -> float | None:
    if isinstance(node, exp.Neg):
        inner = _number(node.this)
        return None if inner is None else -inner
    if isinstance(node, exp.Paren):
        return _number(node.this)
    if isinstance(node, exp.Cast):
        return _number(node.this)
    if isinstance(node, exp.Literal) and not node.is_string:
        try:
            return float(node.name)
        except ValueError:
            return None
    return None


def _text_vs_number(node: exp.Expression) -> None:
    op = _COMPARISONS.get(type(node))
    if op is None:
        return
    left, right = node.this, node.expression
    for a, b in ((left, right), (right, left)):
        if is_text(a) and not (isinstance(a, exp.Literal)) and (is_integer(b) or is_float(b)) and \
                not isinstance(b, exp.Literal | exp.Neg) or (
                is_text(a) and not isinstance(a, exp.Literal) and isinstance(b, exp.Literal) and not b.is_string):
            first, second = (a, b) if a is left else (b, a)
            raise UndefinedFunction(
                f"operator does not exist: {_type_name(first)} {op} {_type_name(second)}",
                hint="No operator matches the given name and argument types. You might need to add explicit type casts.",
            )


def _function_domain(node: exp.Expression) -> None:
    if isinstance(node, exp.Sqrt):
        value = _number(node.this)
        if value is not None and value < 0:
            raise SqlError("cannot take square root of a negative number", sqlstate="2201F")
    if isinstance(node, exp.Ln | exp.Log):
        arg = node.expression if isinstance(node, exp.Log) and node.expression is not None else node.this
        value = _number(arg)
        if value is not None and value <= 0:
            word = "zero" if value == 0 else "a negative number"
            raise SqlError(f"cannot take logarithm of {word}", sqlstate="2201E")
    if isinstance(node, exp.Round) and node.args.get("decimals") is not None and is_float(node.this):
        raise UndefinedFunction(
            "function round(double precision, integer) does not exist",
            hint="No function matches the given name and argument types. You might need to add explicit type "
                 "casts: round(x::numeric, n).",
        )
    if isinstance(node, exp.Substring):
        length = node.args.get("length")
        value = _number(length) if length is not None else None
        if value is not None and value < 0:
            raise SqlError("negative substring length not allowed", sqlstate="22011")
    if isinstance(node, exp.Sum | exp.Avg) and is_text(node.this):
        name = "sum" if isinstance(node, exp.Sum) else "avg"
        raise UndefinedFunction(f"function {name}({_type_name(node.this)}) does not exist",
                                hint="No function matches the given name and argument types.")
    if isinstance(node, exp.Upper | exp.Lower | exp.Length) and isinstance(node.this, exp.Literal) \
            and not node.this.is_string:
        name = node.sql_name().lower()
        raise UndefinedFunction(f"function {name}(integer) does not exist",
                                hint="No function matches the given name and argument types.")
    if isinstance(node, exp.TimestampTrunc | exp.DateTrunc):
        unit = node.args.get("unit")
        if unit is not None and unit.name and unit.name.lower() not in _DATE_UNITS | {"milliseconds", "microseconds"}:
            raise SqlError(f'unit "{unit.name.lower()}" not recognized for type timestamp without time zone',
                           sqlstate="22023")


def _limits(node: exp.Expression) -> None:
    if isinstance(node, exp.Limit | exp.Fetch):
        value = _number(node.expression if isinstance(node, exp.Limit) else node.args.get("count") or exp.null())
        if value is not None and value < 0:
            raise SqlError("LIMIT must not be negative", sqlstate="2201W")
    if isinstance(node, exp.Offset):
        value = _number(node.expression)
        if value is not None and value < 0:
            raise SqlError("OFFSET must not be negative", sqlstate="2201X")


def _own(node: exp.Expression, kinds: tuple[type, ...]) -> exp.Expression | None:
    """The first node of ``kinds`` under ``node`` that is not inside a nested query."""
    for child in node.walk(prune=lambda n: isinstance(n, exp.Query) and n is not node):
        if isinstance(child, kinds) and not isinstance(child, exp.Query):
            return child
    return None


def _clauses(node: exp.Expression) -> None:
    if not isinstance(node, exp.Select):
        return
    where = node.args.get("where")
    if where is not None:
        if _own(where, (exp.Window,)) is not None:
            raise SqlError("window functions are not allowed in WHERE", sqlstate="42P20")
        agg = _own(where, (exp.AggFunc,))
        if agg is not None and not agg.find_ancestor(exp.Window):
            raise GroupingError("aggregate functions are not allowed in WHERE")
        cond = where.this
        if cond.type is not None and not cond.is_type(_T.BOOLEAN, _T.UNKNOWN, _T.NULL) and not isinstance(cond, exp.Column) \
                or (isinstance(cond, exp.Column) and is_text(cond)) or (isinstance(cond, exp.Literal) and not cond.is_string):
            raise SqlError(f"argument of WHERE must be type boolean, not type {_type_name(cond)}", sqlstate="42804")
    having = node.args.get("having")
    if having is not None and _own(having, (exp.Window,)) is not None:
        raise SqlError("window functions are not allowed in HAVING", sqlstate="42P20")
    width = len(node.expressions)
    star = any(isinstance(p, exp.Star) or (isinstance(p, exp.Column) and isinstance(p.this, exp.Star))
               for p in node.expressions)
    order = node.args.get("order")
    for item in order.expressions if order is not None and not star else []:
        term = item.this if isinstance(item, exp.Ordered) else item
        if isinstance(term, exp.Literal) and term.is_int and not 1 <= int(term.name) <= width:
            raise SqlError(f"ORDER BY position {term.name} is not in select list", sqlstate="42P10")
    group = node.args.get("group")
    for term in group.expressions if group is not None and not star else []:
        if isinstance(term, exp.Literal) and term.is_int and not 1 <= int(term.name) <= width:
            raise SqlError(f"GROUP BY position {term.name} is not in select list", sqlstate="42P10")
    for agg in node.find_all(exp.AggFunc):
        inner = agg.this
        if isinstance(inner, exp.Expression) and _own(inner, (exp.AggFunc,)) is not None and \
                not agg.find_ancestor(exp.Window) and not isinstance(agg.parent, exp.Window):
            raise GroupingError("aggregate function calls cannot be nested")


def _set_operations(node: exp.Expression) -> None:
    if isinstance(node, exp.SetOperation):
        left, right = node.left, node.right
        if isinstance(left, exp.Query) and isinstance(right, exp.Query):
            stars = any(isinstance(p, exp.Star) for q in (left, right) for p in q.selects)
            if not stars and len(left.selects) != len(right.selects):
                kind = type(node).__name__.upper()
                raise SqlError(f"each {kind} query must have the same number of columns", sqlstate="42601")


def _regex(node: exp.Expression) -> None:
    pattern = None
    if isinstance(node, exp.RegexpLike | exp.RegexpILike):
        pattern = node.expression
    elif isinstance(node, exp.RegexpReplace | exp.RegexpExtract):
        pattern = node.expression
    if isinstance(pattern, exp.Literal) and pattern.is_string:
        try:
            re.compile(pattern.name)
        except re.error as e:
            raise SqlError(f"invalid regular expression: {e}", sqlstate="2201B") from None


def _constant_casts(node: exp.Expression) -> None:
    if not isinstance(node, exp.Cast) or not isinstance(node.to, exp.DataType):
        return
    to = node.to.this
    value = node.this
    if to in _INT_RANGES:
        number = _number(value)
        name, lo, hi = _INT_RANGES[to]
        if number is not None and not isinstance(value, exp.Cast) and not lo <= round(number) <= hi:
            raise SqlError(f"{name} out of range", sqlstate="22003")
    if to == _T.DECIMAL and len(node.to.expressions) >= 1:
        number = _number(value)
        precision = int(node.to.expressions[0].name)
        scale = int(node.to.expressions[1].name) if len(node.to.expressions) > 1 else 0
        if number is not None and abs(round(number, scale)) >= 10 ** (precision - scale):
            raise SqlError("numeric field overflow", sqlstate="22003",
                           detail=f"A field with precision {precision}, scale {scale} must round to an absolute "
                                  f"value less than 10^{precision - scale}.")
    if to in (_T.DATE, _T.TIMESTAMP) and isinstance(value, exp.Literal) and value.is_string:
        _check_datetime_text(value.name, "date" if to == _T.DATE else "timestamp without time zone")


_DATE_SHAPE = re.compile(r"^\s*(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.\d+)?)?)?\s*$")


def _check_datetime_text(text: str, type_name: str) -> None:
    match = _DATE_SHAPE.match(text)
    if match is None:
        if re.search(r"\d", text) is None and text.strip().lower() not in (
                "today", "tomorrow", "yesterday", "now", "epoch", "infinity", "-infinity", "allballs"):
            raise SqlError(f'invalid input syntax for type {type_name}: "{text}"', sqlstate="22007")
        return
    year, month, day, hour, minute, second = (int(g) if g else 0 for g in match.groups())
    try:
        dt.datetime(year, month, day)
    except ValueError:
        raise SqlError(f'date/time field value out of range: "{text}"', sqlstate="22008") from None
    if hour > 24 or minute > 59 or second > 60:
        raise SqlError(f'date/time field value out of range: "{text}"', sqlstate="22008")


CHECKS: tuple[Callable[[exp.Expression], None], ...] = (
    _text_vs_number, _function_domain, _limits, _clauses, _set_operations, _regex, _constant_casts,
)


def check_errors(tree: exp.Expression) -> None:
    for node in tree.walk():
        for check in CHECKS:
            check(node)
