"""Rewrite a client query (Postgres AST) over lens entities into a query over the entities' own SQL.

Each SELECT scope is planned on its own (``sqlglot.optimizer.scope``): CTEs, subqueries and set operations
around lens tables stay as the client wrote them. Within a scope:

1. **Bind** every FROM/JOIN table that names a lens entity to an ``Expander`` for that entity under the
   alias the client used; any other table is not part of the lens and is refused (42P01), and table
   functions are refused (42501), so a client can reach nothing but the lens.
2. **Name** every projection as Postgres would, from the client's expression (``rewriter.naming``).
3. **Resolve** each column to a member of a bound entity (qualified by alias or entity name, or unqualified),
   to a select-list alias (ORDER BY/GROUP BY/HAVING), or to a column of a non-lens source (a CTE or a
   derived table); otherwise 42703 with a did-you-mean hint and the position in the client's SQL.
4. **Expand** fields and dimensions into per-row expressions, measures into their aggregates. ``MEASURE(m)``
   and an aggregate matching the measure's type (``SUM(monetary)`` for a ``sum``) mean the measure itself;
   a mismatched one is 42803. A measure in WHERE is 42803 (hint: HAVING).
5. **Group**: a scope that uses a measure and has no GROUP BY groups by every projection that does not
   aggregate (semantic-layer convention: ``SELECT state, count_customers FROM customer``).
6. **Replace** each bound table by ``(<entity SQL>) AS alias``.

One entity per scope for now: joins across entities (with fan-out-safe measures) are planned in a later
step and refused with 0A000 until then, never answered wrongly.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.optimizer.scope import Scope, traverse_scope

from rewriter.errors import (
    AmbiguousColumn,
    FeatureNotSupported,
    GroupingError,
    InsufficientPrivilege,
    SqlError,
    UndefinedColumn,
    UndefinedTable,
)
from rewriter.expand import AGGREGATES, Expander
from rewriter.lens import Entity, Lens, Measure, Member
from rewriter.naming import postgres_column_name

LENS_SCHEMAS = ("", "public")
# Table functions a client may use: they compute, they read nothing.
ALLOWED_TABLE_FUNCTIONS = frozenset({"generate_series", "unnest", "range"})
# Scalar functions that would reveal or reach the engine rather than compute.
_DENIED_FUNCTION_PREFIXES = (
    "read_", "glob", "duckdb_", "pragma_", "getenv", "query", "sniff_", "parquet_", "iceberg_", "delta_",
    "sqlite_", "postgres_", "mysql_", "load", "install", "which_secret", "icu_", "checkpoint", "force_",
    "enable_", "disable_", "arrow_scan", "seq_scan", "index_scan", "test_", "json_execute",
)


@dataclass
class Binding:
    """An entity instance in one FROM clause."""

    entity: Entity
    alias: str
    table: exp.Table
    expander: Expander


@dataclass
class _ScopeState:
    scope: Scope
    bindings: list[Binding] = field(default_factory=list)
    other_sources: dict[str, Scope | exp.Table] = field(default_factory=dict)
    uses_measure: bool = False


def rewrite(expression: exp.Expression, lens: Lens) -> exp.Expression:
    """Rewrite a parsed client query over ``lens``; returns a new tree ready to render for the backend."""
    tree = expression.copy()
    _check_functions(tree)
    _name_projections(tree)
    states = [_bind_scope(scope, lens) for scope in traverse_scope(tree)]
    by_select = {id(s.scope.expression): s for s in states}
    for state in states:
        if isinstance(state.scope.expression, exp.Select):
            _resolve_scope(state, by_select)
    for state in states:
        if state.uses_measure:
            _add_implicit_group_by(state.scope.expression)
        for binding in state.bindings:
            _replace_table(binding)
    return tree


def uses_lens(expression: exp.Expression, lens: Lens) -> bool:
    """True if any table of the query names an entity of the lens."""
    return any(_entity_for_table(t, lens) is not None for t in expression.find_all(exp.Table))


# -- step 1: bind ---------------------------------------------------------------------------------------


def _entity_for_table(table: exp.Table, lens: Lens) -> Entity | None:
    if not isinstance(table.this, exp.Identifier):
        return None
    if table.db.lower() not in LENS_SCHEMAS or table.catalog.lower() not in ("", lens.name.lower()):
        return None
    return lens.entity(table.name)


def _bind_scope(scope: Scope, lens: Lens) -> _ScopeState:
    state = _ScopeState(scope)
    for name, source in scope.sources.items():
        if not isinstance(source, exp.Table):
            state.other_sources[name] = source
            continue
        if not isinstance(source.this, exp.Identifier):
            _check_table_function(source)
            state.other_sources[name] = source
            continue
        entity = _entity_for_table(source, lens)
        if entity is None:
            raise UndefinedTable(
                f'relation "{source.sql("postgres")}" does not exist',
                hint=_suggest(source.name, [e.name for e in lens.entities], "the lens's tables are"),
                position=_position(source.this),
            )
        alias = source.alias_or_name
        state.bindings.append(Binding(entity, alias, source, Expander(lens, entity, alias)))
    if len(state.bindings) > 1:
        names = ", ".join(b.entity.name for b in state.bindings)
        raise FeatureNotSupported(
            f"queries joining several lens entities ({names}) are not supported yet",
            hint="query one entity per SELECT and join the results in an outer query",
        )
    return state


def _check_table_function(table: exp.Table) -> None:
    fn = table.this
    if isinstance(fn, exp.GenerateSeries | exp.ExplodingGenerateSeries | exp.Unnest):
        return
    name = (fn.name if isinstance(fn, exp.Anonymous) else fn.sql_name() if isinstance(fn, exp.Func) else "").lower()
    if name not in ALLOWED_TABLE_FUNCTIONS or is_denied_function(name):
        raise InsufficientPrivilege(
            f"permission denied for function {name or fn.sql('postgres')}",
            hint="clients may read lens tables only",
        )


def is_denied_function(name: str) -> bool:
    """Functions that read files, reach the engine's internals or change it: never available to clients."""
    return name.lower().startswith(_DENIED_FUNCTION_PREFIXES)


def _check_functions(tree: exp.Expression) -> None:
    for node in tree.find_all(exp.Func):
        if isinstance(node, exp.Anonymous):
            name = node.name.lower()
        elif isinstance(node, exp.ReadCSV | exp.ReadParquet):
            name = "read_"
        else:
            continue
        if is_denied_function(name):
            raise InsufficientPrivilege(
                f"permission denied for function {node.name or name}",
                hint="clients may read lens tables only; engine and file functions are not available",
            )


# -- step 2: name ---------------------------------------------------------------------------------------


def _name_projections(tree: exp.Expression) -> None:
    for select in tree.find_all(exp.Select):
        named = []
        for proj in select.expressions:
            if isinstance(proj, exp.Alias) or isinstance(proj, exp.Star) or (
                isinstance(proj, exp.Column) and isinstance(proj.this, exp.Star)
            ):
                named.append(proj)
            else:
                named.append(exp.alias_(proj, postgres_column_name(proj), quoted=True))
        select.set("expressions", named)


# -- steps 3 and 4: resolve and expand ------------------------------------------------------------------


def _own_nodes(select: exp.Select) -> list[exp.Expression]:
    """Nodes of this SELECT, not of nested queries (those are scopes of their own)."""
    out: list[exp.Expression] = []

    def walk(node: exp.Expression) -> None:
        for child in node.iter_expressions():
            if isinstance(child, exp.Query):
                continue
            out.append(child)
            walk(child)

    walk(select)
    return out


def _resolve_scope(state: _ScopeState, by_select: dict[int, _ScopeState]) -> None:
    select = state.scope.expression
    _expand_stars(state)
    aliases = {p.alias.lower() for p in select.expressions if isinstance(p, exp.Alias)}
    columns = [n for n in _own_nodes(select) if isinstance(n, exp.Column) and not isinstance(n.this, exp.Star)]
    for column in columns:
        if column.parent is None and column is not select:
            continue  # already replaced as part of an enclosing MEASURE()/aggregate
        resolved = _lookup(column, state, by_select, aliases)
        if resolved is None:
            continue
        binding, member = resolved
        if isinstance(member, Measure):
            if binding not in state.bindings:
                raise FeatureNotSupported(f"measure {member.name} of an enclosing query cannot be used in a subquery")
            _replace_measure(column, binding, member)
            state.uses_measure = True
        else:
            column.replace(binding.expander.row_expression(member))


def _lookup(
    column: exp.Column, state: _ScopeState, by_select: dict[int, _ScopeState], aliases: set[str]
) -> tuple[Binding, Member] | None:
    name = column.name
    qualifier = column.table
    if qualifier:
        for binding in _visible_bindings(state, by_select):
            if binding.alias.lower() == qualifier.lower():
                member = binding.entity.member(name)
                if member is None:
                    raise _unknown_column(column, binding.entity, qualified=True)
                return binding, member
        return None  # a non-lens source (CTE, derived table) or an outer one: left as written
    candidates = [(b, b.entity.member(name)) for b in state.bindings]
    found = [(b, m) for b, m in candidates if m is not None]
    if len(found) > 1:
        raise AmbiguousColumn(f'column reference "{name}" is ambiguous', position=_position(column.this))
    if found:
        return found[0]
    if name.lower() in aliases and _in_output_clause(column):
        return None
    for source in state.other_sources.values():
        if isinstance(source, Scope) and name.lower() in {s.lower() for s in source.expression.named_selects}:
            return None
        if isinstance(source, exp.Table):  # table function: its columns are whatever it returns
            return None
    outer = [b for b in _visible_bindings(state, by_select) if b not in state.bindings]
    for binding in outer:
        member = binding.entity.member(name)
        if member is not None:
            return binding, member
    if state.bindings:
        raise _unknown_column(column, state.bindings[0].entity, qualified=False)
    if not state.other_sources and not outer:
        raise UndefinedColumn(f'column "{name}" does not exist', position=_position(column.this))
    return None


def _visible_bindings(state: _ScopeState, by_select: dict[int, _ScopeState]) -> list[Binding]:
    out = list(state.bindings)
    scope = state.scope.parent
    while scope is not None:
        outer = by_select.get(id(scope.expression))
        if outer is not None:
            out.extend(outer.bindings)
        scope = scope.parent
    return out


def _in_output_clause(column: exp.Column) -> bool:
    return column.find_ancestor(exp.Order, exp.Group, exp.Having) is not None


def _unknown_column(column: exp.Column, entity: Entity, *, qualified: bool) -> SqlError:
    shown = f"{column.table}.{column.name}" if qualified else column.name
    return UndefinedColumn(
        f'column "{shown}" does not exist',
        hint=_suggest(column.name, [m.name for m in entity.members], f"{entity.name} has"),
        position=_position(column.this),
    )


def _replace_measure(column: exp.Column, binding: Binding, measure: Measure) -> None:
    if isinstance(_clause_of(column), exp.Where | exp.Join):
        raise GroupingError(
            f"measure {measure.name} cannot be used in WHERE",
            hint="filter on measures with HAVING; WHERE filters rows before aggregation",
            position=_position(column.this),
        )
    aggregate = binding.expander.measure_expression(measure)
    parent = column.parent
    target: exp.Expression = column
    if isinstance(parent, exp.Anonymous) and parent.name.lower() == "measure":
        if len(parent.expressions) != 1:
            raise SqlError("MEASURE() takes exactly one measure", sqlstate="42883")
        target = parent
    elif isinstance(parent, exp.AggFunc) and parent.this is column and _only_argument(parent, column):
        if not _aggregate_matches(parent, measure):
            raise GroupingError(
                f"measure {measure.name} is a {measure.measure_type}; it cannot be aggregated with "
                f"{parent.sql_name().lower()}()",
                hint=f"write {measure.name} or MEASURE({measure.name}) to get the measure's own value",
                position=_position(column.this),
            )
        target = parent
    elif isinstance(parent, exp.Distinct) and isinstance(parent.parent, exp.Count):
        if measure.measure_type != "count_distinct":
            raise GroupingError(
                f"measure {measure.name} is a {measure.measure_type}; COUNT(DISTINCT …) does not apply",
                hint=f"write {measure.name} or MEASURE({measure.name})",
                position=_position(column.this),
            )
        target = parent.parent
    target.replace(aggregate)


def _clause_of(node: exp.Expression) -> exp.Expression | None:
    """The clause of the enclosing SELECT that holds ``node`` (WHERE, JOIN, GROUP BY, ...)."""
    while node.parent is not None and not isinstance(node.parent, exp.Select):
        node = node.parent
    return node


def _only_argument(fn: exp.Expression, column: exp.Column) -> bool:
    return all(v is column or v is None or v == [] for k, v in fn.args.items() if k != "this") or isinstance(
        fn, exp.Count
    )


def _aggregate_matches(fn: exp.AggFunc, measure: Measure) -> bool:
    kind = measure.measure_type
    if isinstance(fn, exp.Count):
        return kind in ("count", "count_distinct", "count_distinct_approx")
    expected = AGGREGATES.get(kind)
    return expected is not None and type(fn) is expected


def _expand_stars(state: _ScopeState) -> None:
    if not state.bindings:
        return
    select = state.scope.expression
    projections: list[exp.Expression] = []
    changed = False
    for proj in select.expressions:
        star_of = None
        if isinstance(proj, exp.Star):
            star_of = ""
        elif isinstance(proj, exp.Column) and isinstance(proj.this, exp.Star):
            star_of = proj.table
        if star_of is None:
            projections.append(proj)
            continue
        changed = True
        for binding in state.bindings:
            if star_of and binding.alias.lower() != star_of.lower():
                continue
            for member in binding.entity.members:
                if isinstance(member, Measure) or member.hidden:
                    continue
                col = exp.column(exp.to_identifier(member.name), table=exp.to_identifier(binding.alias))
                projections.append(exp.alias_(col, member.name, quoted=True))
        if not star_of:
            projections.extend(exp.column(exp.Star(), table=exp.to_identifier(n)) for n in state.other_sources)
        elif not any(b.alias.lower() == star_of.lower() for b in state.bindings):
            projections.append(proj)
    if changed:
        select.set("expressions", projections)


# -- steps 5 and 6: group and replace -------------------------------------------------------------------


def _add_implicit_group_by(select: exp.Expression) -> None:
    if not isinstance(select, exp.Select) or select.args.get("group"):
        return
    keys = []
    for proj in select.expressions:
        inner = proj.this if isinstance(proj, exp.Alias) else proj
        if isinstance(inner, exp.Literal) or _aggregates(inner):
            continue
        keys.append(inner.copy())
    if keys:
        select.set("group", exp.Group(expressions=keys))


def _aggregates(node: exp.Expression) -> bool:
    return any(not _inside_window_or_query(agg, node) for agg in node.find_all(exp.AggFunc))


def _inside_window_or_query(agg: exp.Expression, root: exp.Expression) -> bool:
    if agg is root:
        return False
    node = agg.parent
    while node is not None and node is not root:
        if isinstance(node, exp.Window | exp.Query):
            return True
        node = node.parent
    return False


def _replace_table(binding: Binding) -> None:
    subquery = exp.Subquery(
        this=binding.entity.query.copy(), alias=exp.TableAlias(this=exp.to_identifier(binding.alias))
    )
    binding.table.replace(subquery)


# -- helpers --------------------------------------------------------------------------------------------


def _position(node: exp.Expression | None) -> int | None:
    """1-based character position of a node in the client's SQL, from sqlglot's token metadata."""
    if node is None:
        return None
    start = node.meta.get("start") if node.meta else None
    return start + 1 if isinstance(start, int) else None


def _suggest(name: str, choices: list[str], intro: str) -> str | None:
    close = difflib.get_close_matches(name.lower(), [c.lower() for c in choices], n=3, cutoff=0.6)
    if close:
        by_lower = {c.lower(): c for c in choices}
        return "Perhaps you meant " + " or ".join(f'"{by_lower[c]}"' for c in close) + "."
    if choices and len(choices) <= 40:
        return f"{intro}: {', '.join(choices)}."
    return None
