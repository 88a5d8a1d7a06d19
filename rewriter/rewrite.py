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
   aggregate (semantic-layer convention: ``SELECT state, count_customers FROM customer``); running totals
   accumulate over that grain and rolling windows become a per-bucket window over the entity's rows.
6. **Replace** each bound table by ``(<entity SQL>) AS alias``.

A scope naming several entities is connected along the lens's relationships (``rewriter.joins``) and, when
it uses measures, planned fan-out-safe by ``rewriter.plan`` (one aggregate per owning entity, joined on the
grain), so a measure never depends on which other entities the query joins.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass, field

from sqlglot import exp
from sqlglot.optimizer.scope import Scope, traverse_scope

from rewriter import postgres
from rewriter.errors import (
    AmbiguousColumn,
    FeatureNotSupported,
    GroupingError,
    SqlError,
    UndefinedColumn,
    UndefinedTable,
)
from rewriter.expand import (
    ROLLING_META,
    RUNNING_TOTAL_META,
    Expander,
    accumulate,
    expand_pair,
)
from rewriter.functions import check_calls, check_engine_bound
from rewriter.join_groups import flatten_join_groups
from rewriter.join_specs import UsingColumn, read_join_specs
from rewriter.joins import JoinNode, JoinTree, build_tree, conjuncts
from rewriter.lens import Entity, Lens, Measure, Member
from rewriter.naming import postgres_column_name
from rewriter.plan import MEASURE_META, plan_aggregate
from rewriter.policy import EVERYTHING, Access, visible_entities

LENS_SCHEMAS = ("", "public")


@dataclass
class Binding:
    """An entity instance in one FROM clause."""

    entity: Entity
    alias: str
    table: exp.Table
    expander: Expander

    def member(self, name: str) -> Member | None:
        """The member the client may name (a member the access denies is as absent as an unknown one)."""
        member = self.entity.member(name)
        if member is None or not self.expander.access.member_visible(self.entity.name, member.name):
            return None
        return member


@dataclass
class _ScopeState:
    scope: Scope
    bindings: list[Binding] = field(default_factory=list)
    other_sources: dict[str, Scope | exp.Table] = field(default_factory=dict)
    uses_measure: bool = False
    tree: JoinTree | None = None
    expanders: dict[str, Expander] = field(default_factory=dict)  # by lower-case alias, incl. intermediates
    using: dict[str, UsingColumn] = field(default_factory=dict)  # JOIN … USING columns, by lower-case name
    params: dict[str, str] = field(default_factory=dict)
    access: Access = EVERYTHING


def rewrite(
    expression: exp.Expression,
    lens: Lens,
    *,
    params: dict[str, str] | None = None,
    notes: list[str] | None = None,
    notices: list[tuple[str, str | None]] | None = None,
    schema: postgres.EntityTypes | None = None,
    access: Access = EVERYTHING,
) -> exp.Expression:
    """Rewrite a parsed client query over ``lens``; returns a new tree ready to render for the backend.

    ``params`` are the session's lens parameters (``SET lens.month = 3`` gives ``{"month": "3"}``), used
    for ``{{month:default}}`` placeholders in the lens's snippets. ``notes`` receives a line per join the
    rewriter chose (for EXPLAIN); ``notices`` a (message, hint) per choice the client should hear about (a NOTICE).
    ``schema`` gives entity column types (entity -> member -> type) for the PostgreSQL semantics rules
    (``rewriter.postgres``). ``access`` is what the querying identity may see (``rewriter.policy``):
    entities and members it may not see are as absent as unknown ones, row filters are part of every
    entity's row source and masked members are masked wherever they appear.
    """
    tree = expression.copy()
    check_calls(tree)  # the router already checked the client's spelling; this guards direct callers
    check_engine_bound(tree)
    for select in list(tree.find_all(exp.Select)):
        flatten_join_groups(select)
    _scalar_functions_in_from(tree)
    postgres.fold_identifiers(tree)
    _name_projections(tree)
    tree = postgres.prepare(tree, _member_types(lens, schema))
    states = [_bind_scope(scope, lens, params or {}, access) for scope in traverse_scope(tree)]
    by_select = {id(s.scope.expression): s for s in states}
    for state in states:
        if isinstance(state.scope.expression, exp.Select):
            _resolve_scope(state, by_select)
    for state in states:
        if state.tree is not None:
            if notes is not None:
                notes.extend(state.tree.describe())
            if notices is not None and state.tree.notice:
                notices.append(state.tree.notice)
            _plan_joined_scope(state, lens)
            continue
        if state.uses_measure:
            _add_implicit_group_by(state.scope.expression)
            _accumulate_running_totals(state.scope.expression)
            _window_rolling_measures(state)
        for binding in state.bindings:
            _replace_table(binding)
    return postgres.finish(tree)


_COUNT_MEASURES = ("count", "count_distinct", "count_distinct_approx")


def _member_types(lens: Lens, schema: postgres.EntityTypes | None) -> postgres.EntityTypes:
    """Entity column types: those the backend reports (``schema``) over what the lens declares (counts are
    bigint, strings text), so hidden members are typed too."""
    out: dict[str, dict[str, str]] = {}
    for entity in lens.entities:
        declared = {}
        for member in entity.members:
            if isinstance(member, Measure) and member.measure_type in _COUNT_MEASURES:
                declared[member.name] = "int8"
            elif member.type == "string" and not isinstance(member, Measure):
                declared[member.name] = "text"
        out[entity.name] = {**declared, **dict((schema or {}).get(entity.name, {}))}
    return out


def _entity_for_table(table: exp.Table, lens: Lens) -> Entity | None:
    if not isinstance(table.this, exp.Identifier):
        return None
    if table.db.lower() not in LENS_SCHEMAS or table.catalog.lower() not in ("", lens.name.lower()):
        return None
    return lens.entity(table.name)


def _bind_scope(scope: Scope, lens: Lens, params: dict[str, str], access: Access) -> _ScopeState:
    state = _ScopeState(scope, params=params, access=access)
    selected = {name: source for name, (_, source) in scope.selected_sources.items()}
    for name, source in selected.items():
        if not isinstance(source, exp.Table):
            state.other_sources[name] = source
            continue
        if not isinstance(source.this, exp.Identifier):
            _check_table_function(source)
            state.other_sources[name] = source
            continue
        entity = _entity_for_table(source, lens)
        if entity is None or not access.entity_visible(entity.name):  # a denied entity is no entity at all
            raise UndefinedTable(
                f'relation "{source.sql("postgres")}" does not exist',
                hint=_suggest(source.name, [e.name for e in visible_entities(lens, access)], "the lens's tables are"),
                position=_position(source.this),
            )
        alias = source.alias_or_name
        state.bindings.append(Binding(entity, alias, source, Expander(lens, entity, alias, params, state.access)))
    state.expanders = {b.alias.lower(): b.expander for b in state.bindings}
    if len(state.bindings) > 1:
        state.tree = _join_tree(state, lens)
    return state


_SET_RETURNING = (exp.GenerateSeries, exp.ExplodingGenerateSeries, exp.Unnest, exp.Explode)


def _scalar_functions_in_from(tree: exp.Expression) -> None:
    """A function that returns one value, written in FROM (Grafana's ``FROM string_to_array($v, ',') AS s``),
    is one row whose one column is named by the alias (else by the function): Postgres's rule for functions
    that do not return sets. Only functions sqlglot knows as scalar; others meet ``_check_table_function``."""
    for table in list(tree.find_all(exp.Table)):
        fn = table.this
        if not isinstance(fn, exp.Func) or isinstance(fn, (exp.Anonymous, *_SET_RETURNING)):
            continue
        alias = table.args.get("alias")
        name = alias.name if isinstance(alias, exp.TableAlias) and alias.name else postgres_column_name(fn)
        column = alias.columns[0].name if isinstance(alias, exp.TableAlias) and alias.columns else name
        row = exp.select(exp.alias_(fn.copy(), column, quoted=True))
        table.replace(exp.Subquery(this=row, alias=exp.TableAlias(this=exp.to_identifier(name))))


def _check_table_function(table: exp.Table) -> None:
    """A function in FROM is a call like any other: PostgreSQL's functions only (``rewriter.functions``)."""
    check_calls(table)


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
        merged = state.using.get(column.name.lower()) if not column.table else None
        if merged is not None and merged.side == "FULL":  # FULL JOIN … USING (x): x is whichever side has it
            column.replace(exp.Coalesce(this=_using_side(state, merged.left, merged.name),
                                        expressions=[_using_side(state, merged.right, merged.name)]))
            continue
        whole = _whole_row(column, state)
        if whole is not None:
            _replace_whole_row(column, whole)
            continue
        resolved = _lookup(column, state, by_select, aliases)
        if resolved is None:
            continue
        binding, member = resolved
        parent = column.parent
        if isinstance(parent, exp.Anonymous) and parent.name.lower() == "measure" and not isinstance(member, Measure):
            raise SqlError(
                f"MEASURE() takes a measure; {member.name} is a {member.kind} of {binding.entity.name}",
                sqlstate="42883",
                hint="select the column without MEASURE()",
                position=_position(column.this),
            )
        if isinstance(member, Measure):
            if binding not in state.bindings:
                raise FeatureNotSupported(f"measure {member.name} of an enclosing query cannot be used in a subquery")
            _replace_measure(column, binding, member)
            state.uses_measure = True
        else:
            column.replace(postgres.keep_type(binding.expander.row_expression(member), column))


def _whole_row(column: exp.Column, state: _ScopeState) -> exp.Expression | None:
    """``SELECT c FROM customer c``: a name that is a table's alias and no column of the query is the row
    itself, as in Postgres; a struct of what ``c.*`` lists (the wire sends it as a record)."""
    if column.table or not isinstance(column.this, exp.Identifier):
        return None
    binding = next((b for b in state.bindings if b.alias.lower() == column.name.lower()), None)
    if binding is None or any(b.member(column.name) is not None for b in state.bindings):
        return None
    fields = [exp.PropertyEQ(this=exp.to_identifier(m.name), expression=binding.expander.row_expression(m))
              for m in binding.entity.members
              if not isinstance(m, Measure) and not m.hidden and binding.member(m.name) is not None]
    return exp.Struct(expressions=fields)


def _replace_whole_row(column: exp.Column, row: exp.Struct) -> None:
    """A row in place of ``column``; a row's NULL tests are PostgreSQL's: ``row IS NULL`` when every field
    is NULL, ``row IS NOT NULL`` when none is (so the two are not each other's negation)."""
    test = column.parent
    if isinstance(test, exp.Is) and isinstance(test.expression, exp.Null) and test.this is column:
        checks = [exp.Is(this=f.expression.copy(), expression=exp.Null(), negate=bool(test.args.get("negate")))
                  for f in row.expressions]
        test.replace(exp.Paren(this=exp.and_(*checks)) if checks else exp.true())
        return
    column.replace(row)


def _lookup(
    column: exp.Column, state: _ScopeState, by_select: dict[int, _ScopeState], aliases: set[str]
) -> tuple[Binding, Member] | None:
    name = column.name
    qualifier = column.table
    if not qualifier and name.lower() in aliases and isinstance(column.parent, exp.Ordered) \
            and isinstance(column.parent.parent, exp.Order) and column.parent.parent.parent is state.scope.expression:
        return None  # ORDER BY <output column name>: the select-list alias wins over input columns
    if qualifier:
        for binding in _visible_bindings(state, by_select):
            if binding.alias.lower() == qualifier.lower():
                member = binding.member(name)
                if member is None:
                    raise _unknown_column(column, binding, qualified=True)
                return binding, member
        return None  # a non-lens source (CTE, derived table) or an outer one: left as written
    merged = state.using.get(name.lower())
    if merged is not None:  # JOIN … USING (x): an unqualified x is the left side's (the right's for RIGHT)
        wanted = merged.right if merged.side == "RIGHT" else merged.left
        binding = next(b for b in state.bindings if b.alias.lower() == wanted)
        return binding, binding.member(name)  # type: ignore[return-value]
    candidates = [(b, b.member(name)) for b in state.bindings]
    found = [(b, m) for b, m in candidates if m is not None]
    if len(found) > 1:
        raise AmbiguousColumn(
            f'column reference "{name}" is ambiguous',
            hint="qualify it: " + " or ".join(f"{b.alias}.{name}" for b, _ in found),
            position=_position(column.this),
        )
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
        member = binding.member(name)
        if member is not None:
            return binding, member
    if state.bindings:
        raise _unknown_column(column, state.bindings[0], qualified=False)
    if not state.other_sources and not outer:
        raise UndefinedColumn(f'column "{name}" does not exist', position=_position(column.this))
    return None


def _using_side(state: _ScopeState, alias: str, name: str) -> exp.Expression:
    binding = next(b for b in state.bindings if b.alias.lower() == alias)
    return binding.expander.row_expression(_member(binding.entity, name))


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


def _unknown_column(column: exp.Column, binding: Binding, *, qualified: bool) -> SqlError:
    shown = f"{column.table}.{column.name}" if qualified else column.name
    visible = [m.name for m in binding.entity.members if binding.member(m.name) is not None]
    return UndefinedColumn(
        f'column "{shown}" does not exist',
        hint=_suggest(column.name, visible, f"{binding.entity.name} has"),
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
    aggregate.meta[MEASURE_META] = binding.alias
    parent = column.parent
    target: exp.Expression = column
    if isinstance(parent, exp.Anonymous) and parent.name.lower() == "measure":
        if len(parent.expressions) != 1:
            raise SqlError("MEASURE() takes exactly one measure", sqlstate="42883")
        target = parent
    elif (
        isinstance(parent, exp.AggFunc)
        and parent.this is column
        and _only_argument(parent, column)
        and not isinstance(parent.parent, exp.Window)  # sum(m) OVER (…) is a window over the measure
    ):
        if not _aggregate_matches(parent, measure):
            fn = parent.sql_name().lower()
            raise GroupingError(
                f"measure {measure.name} is a {measure.measure_type}; {fn}() of it is not that measure at this "
                "query's grain",
                hint=f"write {measure.name} or MEASURE({measure.name}) for its value per group; to {fn}() its "
                f"values over a finer grain, compute it per finer group in a subquery and aggregate outside",
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
    target.replace(postgres.keep_type(aggregate, target))


def _clause_of(node: exp.Expression) -> exp.Expression | None:
    """The clause of the enclosing SELECT that holds ``node`` (WHERE, JOIN, GROUP BY, ...)."""
    while node.parent is not None and not isinstance(node.parent, exp.Select):
        node = node.parent
    return node


def _only_argument(fn: exp.Expression, column: exp.Column) -> bool:
    return all(v is column or v is None or v == [] for k, v in fn.args.items() if k != "this") or isinstance(
        fn, exp.Count
    )


# What a BI tool's default aggregate around a measure means: the measure itself at the query's grain
# (Tableau sends SUM(count_customers), Power BI and Looker Studio the like). Only combinations that are that
# measure whatever the grain are accepted; anything else is 42803.
REAGGREGATES: dict[type[exp.AggFunc], frozenset[str]] = {
    exp.Sum: frozenset({"count", "count_distinct", "count_distinct_approx", "sum", "running_total"}),
    exp.Count: frozenset({"count", "count_distinct", "count_distinct_approx"}),
    exp.Min: frozenset({"min"}),
    exp.Max: frozenset({"max"}),
    exp.Avg: frozenset({"avg"}),
}


def _aggregate_matches(fn: exp.AggFunc, measure: Measure) -> bool:
    return measure.measure_type in REAGGREGATES.get(type(fn), frozenset())


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
        merged = set() if star_of else set(state.using)  # `*` lists each USING column once, first
        projections.extend(exp.alias_(exp.column(state.using[n].name), state.using[n].name, quoted=True) for n in merged)
        for binding in state.bindings:
            if star_of and binding.alias.lower() != star_of.lower():
                continue
            for member in binding.entity.members:
                if isinstance(member, Measure) or member.hidden or member.name.lower() in merged \
                        or binding.member(member.name) is None:
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


def _accumulate_running_totals(select: exp.Expression) -> None:
    group = select.args.get("group")
    keys = list(group.expressions) if group is not None else []
    for node in list(select.find_all(exp.Sum)):
        if node.meta.get(RUNNING_TOTAL_META):
            node.meta.pop(RUNNING_TOTAL_META)
            node.replace(accumulate(node.copy(), keys))


def _window_rolling_measures(state: _ScopeState) -> None:
    """A measure with a ``rolling_window`` becomes, per row of the time-grouped query, the same aggregate
    over the entity's rows whose time falls in the window around that row's bucket (a correlated scalar
    subquery; DuckDB decorrelates it into a join). The window is anchored at the bucket's end (``offset:
    end``, the default) or start, reaching ``trailing`` back and ``leading`` forward; other group keys
    and the WHERE filter apply inside the window too."""
    select = state.scope.expression
    nodes = [n for n in _own_nodes(select) if n.meta and ROLLING_META in n.meta]
    if not nodes:
        return
    binding = state.bindings[0]
    group = select.args.get("group")
    keys = list(group.expressions) if group is not None else []
    time_keys = [k for k in keys if isinstance(k, exp.TimestampTrunc | exp.DateTrunc)
                 and any(c.table.lower() == binding.alias.lower() for c in k.find_all(exp.Column))]
    if not time_keys:
        raise FeatureNotSupported(
            "a rolling_window measure needs the query grouped by a time bucket of its entity",
            hint="GROUP BY date_trunc('month', <time field>) (or day, week, …)",
        )
    bucket = time_keys[0]
    inner_alias = f"__rolling_{binding.alias}"

    def rename(node: exp.Expression) -> exp.Expression:
        def fn(n: exp.Expression) -> exp.Expression:
            if isinstance(n, exp.Column) and n.table.lower() == binding.alias.lower():
                return exp.column(n.this.copy(), table=exp.to_identifier(inner_alias))
            return n

        return node.copy().transform(fn)

    unit = bucket.args["unit"].name if bucket.args.get("unit") is not None else "DAY"
    where = select.args.get("where")
    for node in nodes:
        window = node.meta.pop(ROLLING_META)
        start = bucket.copy()
        anchor = start if window.offset == "start" else exp.Add(
            this=start, expression=exp.Interval(this=exp.Literal.string("1"), unit=exp.Var(this=unit))
        )
        ts = rename(bucket.this)
        conditions: list[exp.Expression] = []
        if window.trailing and window.trailing.strip().lower() != "unbounded":
            lower = exp.Sub(this=anchor.copy(), expression=exp.Interval(this=exp.Literal.string(window.trailing)))
            conditions.append(exp.GTE(this=ts.copy(), expression=lower))
        if window.leading and window.leading.strip().lower() == "unbounded":
            pass
        elif window.leading:
            upper = exp.Add(this=anchor.copy(), expression=exp.Interval(this=exp.Literal.string(window.leading)))
            conditions.append(exp.LT(this=ts.copy(), expression=upper))
        else:
            conditions.append(exp.LT(this=ts.copy(), expression=anchor.copy()))
        conditions += [exp.NullSafeEQ(this=rename(k), expression=k.copy()) for k in keys if k is not bucket]
        if where is not None:
            conditions.append(rename(where.this))
        e = binding.expander
        inner = exp.Select(expressions=[rename(node)])
        inner.set("from_", exp.From(this=e.other(e.entity, inner_alias).plain_source()))
        inner.set("where", exp.Where(this=exp.and_(*conditions)))
        node.replace(exp.Subquery(this=inner))


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
    binding.table.replace(binding.expander.source())


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


# -- several entities in one SELECT -----------------------------------------------------------------------


def _join_tree(state: _ScopeState, lens: Lens) -> JoinTree:
    """Connect the scope's entities: explicit ON conditions first, the lens's rule for the rest."""
    select = state.scope.expression
    entities = {b.alias.lower(): _visible_view(b.entity, state.access) for b in state.bindings}
    specs, state.using = read_join_specs(select, entities, lens)
    counter = iter(range(1, 1000))
    taken = {b.alias.lower() for b in state.bindings} | {n.lower() for n in state.other_sources}

    def fresh_alias(entity: str) -> str:
        while True:
            name = f"{entity}_{next(counter)}"
            if name.lower() not in taken:
                taken.add(name.lower())
                return name

    user = [(b.alias, b.entity.name) for b in state.bindings]
    tree = build_tree(lens, user, specs, fresh_alias)
    for node in tree.nodes:
        if node.alias.lower() not in state.expanders:
            entity = lens.entity(node.entity)
            assert entity is not None
            state.expanders[node.alias.lower()] = Expander(lens, entity, node.alias, state.params, state.access)
    return tree


def _visible_view(entity: Entity, access: Access) -> Entity:
    """The entity as the identity sees it (denied members removed), for reading the client's joins."""
    if access.unrestricted:
        return entity
    keep = lambda ms: tuple(m for m in ms if access.member_visible(entity.name, m.name))  # noqa: E731
    return dataclasses.replace(entity, fields=keep(entity.fields), dimensions=keep(entity.dimensions),
                               measures=keep(entity.measures))


def _plan_joined_scope(state: _ScopeState, lens: Lens) -> None:
    select = state.scope.expression
    tree = state.tree
    assert tree is not None and isinstance(select, exp.Select)

    def source(node: JoinNode) -> exp.Expression:
        return state.expanders[node.alias.lower()].source()

    def client_conjuncts(node: JoinNode) -> list[exp.Expression]:
        """The part of the client's (rewritten) ON that belongs to this edge."""
        parts = conjuncts(node.on.args.get("on")) if node.on is not None else []
        return [p.copy() for i, p in enumerate(parts) if node.keep is None or i in node.keep]

    def condition(node: JoinNode) -> exp.Expression:
        if node.relationship is None:
            parts = client_conjuncts(node)
            return exp.and_(*parts) if parts else exp.true()
        parent, rel = node.parent, node.relationship
        assert parent is not None
        declaring, target = (parent, node) if node.forward else (node, parent)
        d_exp, t_exp = state.expanders[declaring.alias.lower()], state.expanders[target.alias.lower()]
        cond: exp.Expression = exp.EQ(
            this=d_exp.raw_expression(_member(d_exp.entity, rel.field)),
            expression=t_exp.raw_expression(_member(t_exp.entity, rel.target_field)),
        )
        if rel.extra_condition is not None:
            cond = exp.and_(cond, expand_pair(rel.extra_condition, d_exp, t_exp))
        extra = client_conjuncts(node)
        return exp.and_(cond, *extra) if extra else cond

    def primary_key(alias: str) -> list[exp.Expression]:
        expander = state.expanders[alias.lower()]
        return [expander.raw_expression(_member(expander.entity, k)) for k in expander.entity.primary_key]

    tree_aliases = {n.alias.lower() for n in tree.nodes}
    joins = [j for j in select.args.get("joins") or [] if not (
        isinstance(j.this, exp.Table) and j.this.alias_or_name.lower() in tree_aliases)]
    if state.uses_measure and any(n.meta and ROLLING_META in n.meta for n in _own_nodes(select)):
        raise FeatureNotSupported(
            "rolling_window measures in queries joining several entities are not supported yet",
            hint="compute the rolling measure over its own entity in a CTE, then join",
        )
    if state.uses_measure:
        if state.other_sources:
            raise FeatureNotSupported(
                "measures over several entities joined with a non-lens source are not supported yet",
                hint="compute the lens query in a CTE, then join it",
            )
        outer = plan_aggregate(select, tree, source, condition, primary_key)
        for key in list(select.args):
            if key != "with":
                select.set(key, None)
        for key, value in outer.args.items():
            select.set(key, value)
        return
    from_, tree_joins = tree.render(tree.nodes, source, condition)
    select.set("from_", exp.From(this=from_))
    select.set("joins", tree_joins + joins)


def _member(entity: Entity, name: str) -> Member:
    member = entity.member(name)
    if member is None:
        raise UndefinedColumn(f"{entity.name} has no member {name}")
    return member
