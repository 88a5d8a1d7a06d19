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
    if to in _INT_RANGES and isinstance(value, exp.Literal) and value.is_string and not _INTEGER_TEXT.match(value.name):
        raise SqlError(f'invalid input syntax for type {_INT_RANGES[to][0]}: "{value.name}"', sqlstate="22P02")
    if to in (_T.DOUBLE, _T.FLOAT) and isinstance(value, exp.Literal):
        try:
            number = float(value.name)
        except ValueError:
            number = None
        if number is not None and number in (float("inf"), float("-inf")) and "inf" not in value.name.lower():
            kind = "double precision" if to == _T.DOUBLE else "real"
            raise SqlError(f'"{value.name}" is out of range for type {kind}', sqlstate="22003")
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


_EXTRACT_FIELDS = _DATE_UNITS | {"epoch", "dow", "doy", "isodow", "isoyear", "julian", "timezone", "timezone_hour",
                                  "timezone_minute", "microsecond", "millisecond", "seconds", "minutes", "hours",
                                  "days", "weeks", "months", "quarters", "years", "decades", "centuries",
                                  "millenniums", "millennia", "milliseconds", "microseconds", "mon", "mons", "min",
                                  "mins", "sec", "secs", "h", "hr", "hrs", "d", "m", "s", "y", "yr", "yrs", "w",
                                  "ms", "us", "msec", "usec", "msecs", "usecs"}


def _extract_fields(node: exp.Expression) -> None:
    if isinstance(node, exp.Extract) and isinstance(node.this, exp.Var | exp.Identifier | exp.Literal):
        field = node.this.name.lower()
        if field and field not in _EXTRACT_FIELDS:
            raise SqlError(f'unit "{field}" not recognized for type {_type_name(node.expression)}'
                           if node.expression.type is not None else f'unit "{field}" not recognized', sqlstate="22023")


_ARITHMETIC_OPS = {exp.Add: "+", exp.Sub: "-", exp.Mul: "*", exp.Div: "/", exp.Mod: "%"}


def _operators(node: exp.Expression) -> None:
    """Operators PostgreSQL has no definition for (42883): date + date, arithmetic on booleans or text,
    ``- text``; ``NOT`` of a non-boolean (42804); a row compared with a scalar."""
    op = _ARITHMETIC_OPS.get(type(node))
    if op is not None:
        left, right = node.this, node.expression
        kinds = (_kind(left), _kind(right))
        undefined = (op == "+" and kinds == ("date", "date")) or "boolean" in kinds or (
            op == "%" and (is_float(left) or is_float(right))) or "text" in kinds
        if undefined:
            raise UndefinedFunction(
                f"operator does not exist: {_type_name(left)} {op} {_type_name(right)}",
                hint="No operator matches the given name and argument types. You might need to add explicit type casts.")
    if isinstance(node, exp.Neg) and _kind(node.this) in ("text", "boolean", "date"):
        raise UndefinedFunction(f"operator does not exist: - {_type_name(node.this)}",
                                hint="No operator matches the given name and argument types. You might need to add "
                                     "explicit type casts.")
    if isinstance(node, exp.Not) and _kind(node.this) in ("text", "number", "date"):
        raise SqlError(f"argument of NOT must be type boolean, not type {_type_name(node.this)}", sqlstate="42804")
    if isinstance(node, exp.EQ | exp.NEQ | exp.LT | exp.GT | exp.LTE | exp.GTE):
        sides = (node.this, node.expression)
        rows = [isinstance(_unparen(s), exp.Tuple) for s in sides]
        if rows[0] != rows[1] and not any(isinstance(_unparen(s), exp.Subquery | exp.Select) for s in sides):
            left = "record" if rows[0] else _type_name(node.this)
            right = "record" if rows[1] else _type_name(node.expression)
            raise UndefinedFunction(f"operator does not exist: {left} {_COMPARISONS[type(node)]} {right}",
                                    hint="No operator matches the given name and argument types.")


def _unparen(node: exp.Expression) -> exp.Expression:
    while isinstance(node, exp.Paren):
        node = node.this
    return node


def _kind(node: exp.Expression) -> str | None:
    """A type category: number, text, boolean, date (None: other or unknown; a string literal is unknown)."""
    if isinstance(node, exp.Literal) and node.is_string or isinstance(node, exp.Null) or node.type is None:
        return None
    if is_integer(node) or is_float(node) or node.is_type(_T.DECIMAL, _T.BIGDECIMAL):
        return "number"
    if is_text(node):
        return "text"
    if node.is_type(_T.BOOLEAN):
        return "boolean"
    if node.is_type(_T.DATE):
        return "date"
    return None


def _common_types(node: exp.Expression) -> None:
    """CASE, COALESCE and set operations resolve one type for their branches (42804 when number meets text);
    a string literal among numbers is read as a number (22P02 when it is not one)."""
    if isinstance(node, exp.Case):
        branches = ([node.args["default"]] if node.args.get("default") is not None else []) + \
            [i.args["true"] for i in node.args.get("ifs") or []]  # PostgreSQL considers ELSE first
        _resolve("CASE", branches)
    elif isinstance(node, exp.Coalesce):
        _resolve("COALESCE", [node.this, *node.expressions])
    elif isinstance(node, exp.SetOperation) and isinstance(node.left, exp.Query) and isinstance(node.right, exp.Query):
        left, right = node.left.selects, node.right.selects
        if len(left) == len(right) and not any(isinstance(p, exp.Star) for p in (*left, *right)):
            kind = type(node).__name__.upper()
            for a, b in zip(left, right, strict=True):
                _resolve(kind, [a.unalias() if isinstance(a, exp.Alias) else a,
                                b.unalias() if isinstance(b, exp.Alias) else b])


def _resolve(context: str, branches: list[exp.Expression]) -> None:
    seen: exp.Expression | None = None
    for branch in branches:
        kind = _kind(branch)
        if kind is None:
            continue
        if seen is not None and {kind, _kind(seen)} == {"number", "text"}:
            raise SqlError(f"{context} types {_type_name(seen)} and {_type_name(branch)} cannot be matched",
                           sqlstate="42804")
        seen = seen or branch
    if seen is not None and is_integer(seen):
        for branch in branches:
            if isinstance(branch, exp.Literal) and branch.is_string and not _INTEGER_TEXT.match(branch.name):
                raise SqlError(f'invalid input syntax for type {_type_name(seen)}: "{branch.name}"', sqlstate="22P02")


_INTEGER_TEXT = re.compile(r"^\s*[+-]?\d+\s*$")


def _series(node: exp.Expression) -> None:
    if isinstance(node, exp.GenerateSeries | exp.ExplodingGenerateSeries):
        step = node.args.get("step")
        if step is not None and _number(step) == 0:
            raise SqlError("step size cannot equal zero", sqlstate="22023")


CHECKS: tuple[Callable[[exp.Expression], None], ...] = (
    _text_vs_number, _function_domain, _limits, _clauses, _set_operations, _regex, _constant_casts, _extract_fields,
    _operators, _common_types, _series,
)


def check_errors(tree: exp.Expression) -> None:
    for node in tree.walk():
        for check in CHECKS:
            check(node)
