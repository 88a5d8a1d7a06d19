"""Plans shared by queries that differ only in their literals: ``WHERE customer_id = 'C1'`` and ``'C2'``.

Dashboards, apps and notebooks send the same statement again and again with other constants inlined. A
query's **shape** is its token stream with each string and number literal replaced by its class
(``shape_of``: the tokenizer only, ~40 µs, no parse). The first time a shape is seen for a session's lens,
identity and settings, the statement is parsed and **parameterized** (``parameterize``): each literal that is
compared with a lens column of a matching type inside a ``WHERE`` (``col = 'x'``, ``col <> 5``,
``col IN ('a', 'b')``) becomes a bound parameter ``$n``, and the template is rewritten once. Every later
statement of the same shape is answered from the ``Plan``: its literals are read from the tokens and bound
as the parameters' values, so no parse, no AST copy and no tree walk happens on a hit.

Only literals whose value cannot change the rewrite are parameterized (a comparison's operand has no say in
joins, types, names or display scale); every other literal (``LIMIT 5``, ``GROUP BY 1``, ``round(x, 2)``,
``interval '1 day'``, a date compared with a string) stays in the template and is part of the plan's key, so
a different value there is a different plan. A string becomes a ``text`` parameter only against a ``text``
or ``varchar`` column, an integer an ``int8`` one only against an integer column: what PostgreSQL would
resolve the untyped constant to anyway.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa
from sqlglot import exp
from sqlglot.errors import TokenError
from sqlglot.tokens import TokenType

from proxy.router import _TOKENIZER, Statement
from rewriter.cache import Compiled, LruCache

_LITERAL = {TokenType.STRING: "s", TokenType.NUMBER: "n"}
_NO_PLAN = frozenset({TokenType.PARAMETER, TokenType.PLACEHOLDER})
_TEXT_TYPES = frozenset({"text", "character varying", "varchar"})
_INT_TYPES = frozenset({"bigint", "integer", "smallint", "int8", "int4", "int2"})
_COMPARISONS = (exp.EQ, exp.NEQ, exp.GT, exp.GTE, exp.LT, exp.LTE)
_INT8 = range(-(2**63), 2**63)


@dataclass(frozen=True, slots=True)
class Shape:
    """A statement's tokens with its literals taken out."""

    key: tuple[str, ...]  # token texts; each literal as "\0s" (string), "\0i" (integer), "\0n" (other number)
    literals: tuple[str, ...]  # the literals' values (strings unescaped), in order
    starts: tuple[int, ...]  # where each literal starts in the statement text


def shape_of(sql: str) -> Shape | None:
    """The shape of a single SELECT/WITH statement; None for anything else (several statements, ``$n``)."""
    try:
        tokens = _TOKENIZER().tokenize(sql)
    except TokenError:
        return None
    if not tokens or tokens[0].text.upper() not in ("SELECT", "WITH"):
        return None
    key: list[str] = []
    literals: list[str] = []
    starts: list[int] = []
    last = len(tokens) - 1
    for i, token in enumerate(tokens):
        kind = token.token_type
        if kind is TokenType.SEMICOLON:
            if i != last:
                return None
            continue
        if kind in _NO_PLAN:
            return None
        cls = _LITERAL.get(kind)
        if cls is None:
            key.append('"' + token.text + '"' if kind is TokenType.IDENTIFIER else token.text)
            continue
        if cls == "n":
            cls = "i" if token.text.isdigit() else "n"
        key.append("\0" + cls)
        literals.append(token.text)
        starts.append(token.start)
    return Shape(tuple(key), tuple(literals), tuple(starts))


@dataclass(frozen=True, slots=True)
class Template:
    """A statement with its parameterizable literals replaced by ``$n``."""

    statement: Statement
    slots: tuple[tuple[int, str], ...]  # (literal index, "s" | "i") for $first, $first+1, …
    fixed: tuple[int, ...]  # indexes of the literals kept in the SQL (their values are part of the key)


def parameterize(statement: Statement, shape: Shape, column_types: Mapping[str, Mapping[str, str]],
                 first: int = 1) -> Template:
    """``statement`` (a parsed QUERY of ``shape``) with each literal that may be bound as a parameter
    replaced by ``$first``, ``$first+1``, …; ``column_types``: entity -> column -> PostgreSQL type name."""
    assert statement.ast is not None
    by_start = {start - statement.ast_offset: i for i, start in enumerate(shape.starts)}
    tree = statement.ast.copy()
    chosen: list[tuple[int, str, exp.Literal]] = []
    for literal in list(tree.find_all(exp.Literal)):
        index = by_start.get(literal.meta.get("start", -1))
        if index is None or shape.literals[index] != literal.this:
            continue
        kind = _bindable(literal, column_types)
        if kind is not None:
            chosen.append((index, kind, literal))
    chosen.sort(key=lambda c: c[0])
    for n, (_, _, literal) in enumerate(chosen):
        literal.replace(exp.Parameter(this=exp.Literal.number(first + n)))
    slots = tuple((index, kind) for index, kind, _ in chosen)
    taken = {index for index, _ in slots}
    fixed = tuple(i for i in range(len(shape.literals)) if i not in taken)
    return Template(dataclasses.replace(statement, ast=tree), slots, fixed)


def _bindable(literal: exp.Literal, column_types: Mapping[str, Mapping[str, str]]) -> str | None:
    """"s"/"i" when ``literal`` is one side of a comparison with a lens column of its type in a WHERE."""
    parent = literal.parent
    if isinstance(parent, exp.In):
        column = parent.this
        if literal.arg_key != "expressions":
            return None
    elif isinstance(parent, _COMPARISONS):
        column = parent.left if parent.right is literal else parent.right
    else:
        return None
    if not isinstance(column, exp.Column) or not isinstance(column.this, exp.Identifier):
        return None
    if not _in_where(parent):
        return None
    pg_type = _column_type(column, column_types)
    if literal.is_string:
        return "s" if pg_type in _TEXT_TYPES else None
    if literal.is_int and pg_type in _INT_TYPES and literal.this.isdigit() and int(literal.this) in _INT8:
        return "i"
    return None


def _in_where(node: exp.Expression) -> bool:
    """Inside a WHERE clause (before any enclosing SELECT, JOIN, HAVING or other clause)."""
    while node is not None:
        if isinstance(node, exp.Where):
            return True
        if isinstance(node, exp.Select | exp.Join | exp.Having | exp.Order | exp.Group | exp.Subquery | exp.Query):
            return False
        node = node.parent
    return False


def _column_type(column: exp.Column, column_types: Mapping[str, Mapping[str, str]]) -> str | None:
    """The PostgreSQL type of a lens column reference, None unless it resolves to exactly one entity column."""
    select = column.find_ancestor(exp.Select)
    if select is None:
        return None
    sources: dict[str, str] = {}  # alias or name -> entity
    root = select.root()
    ctes = {cte.alias_or_name.lower() for cte in root.find_all(exp.CTE)}
    for table in select.find_all(exp.Table):
        if table.find_ancestor(exp.Select) is not select or table.db or table.catalog:
            continue
        if table.name.lower() in ctes:
            return None  # a CTE may shadow an entity's name: its columns are not the entity's
        entity = table.name.lower()
        if entity in column_types:
            sources[table.alias_or_name.lower()] = entity
    name = column.name.lower()
    if column.table:
        entity = sources.get(column.table.lower())
        return None if entity is None else column_types[entity].get(name)
    owners = [e for e in set(sources.values()) if name in column_types[e]]
    return column_types[owners[0]][name] if len(owners) == 1 else None


def bound_values(shape: Shape, slots: tuple[tuple[int, str], ...]) -> list[Any]:
    """The parameter values a statement of ``shape`` binds for a plan's ``slots``."""
    return [shape.literals[i] if kind == "s" else int(shape.literals[i]) for i, kind in slots]


@dataclass(slots=True)
class Plan:
    """What a shape compiles to, for one lens, identity and set of session settings."""

    statement: Statement  # the template (never mutated: every user reads it)
    slots: tuple[tuple[int, str], ...]
    compiled: Compiled | None = None  # None: answered here (constant)
    constant: pa.RecordBatch | None = None  # SELECT 1 and friends
    schemas: dict[pa.Schema, pa.Schema] = field(default_factory=dict)  # engine schema -> with origins
    cost: float = -1.0  # the engine's seconds, smoothed (-1: never run); the scheduler's lane

    def values(self, shape: Shape) -> list[Any]:
        return bound_values(shape, self.slots)


class PlanCache:
    """Plans by (shape, session key) and, within, by the values of the literals kept in the SQL."""

    def __init__(self, maxsize: int = 2048, variants: int = 64) -> None:
        self._shapes: LruCache = LruCache(maxsize)
        self._variants = variants

    def get(self, shape: Shape, session_key: tuple) -> Plan | None:
        entry = self._shapes.get((shape.key, session_key))
        if entry is None:
            return None
        fixed, plans = entry
        return plans.get(tuple(shape.literals[i] for i in fixed))

    def put(self, shape: Shape, session_key: tuple, fixed: tuple[int, ...], plan: Plan) -> None:
        key = (shape.key, session_key)
        entry = self._shapes.peek(key)
        if entry is None or entry[0] != fixed:
            entry = (fixed, {})
            self._shapes.put(key, entry)
        plans = entry[1]
        if len(plans) >= self._variants:
            plans.clear()
        plans[tuple(shape.literals[i] for i in fixed)] = plan

    def stats(self) -> dict[str, float]:
        return {"plans_hits_total": self._shapes.hits, "plans_misses_total": self._shapes.misses,
                "plans_entries": len(self._shapes)}

    def clear(self) -> None:
        self._shapes.clear()


def cost_update(plan: Plan, seconds: float) -> None:
    """Smoothed engine time of a plan (the scheduler's estimate of its next run)."""
    plan.cost = seconds if plan.cost < 0 else 0.7 * plan.cost + 0.3 * seconds

