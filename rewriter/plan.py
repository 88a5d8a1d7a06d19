"""Fan-out-safe aggregation for a SELECT that joins several lens entities.

The rule: a measure's value never depends on which other entities the query joins; it equals the measure
over its own entity's rows, grouped by the query's dimensions and filtered by its filters. The approach
(Cube's and MetricFlow's, "per-entity aggregate subqueries joined on the dimensions"):

1. **Atoms.** Every measure reference is an atom owned by its entity; every ordinary aggregate the client
   wrote (``avg(order_invoiced.order_value)``) is an atom owned by the whole join, computed with plain SQL
   join semantics as written.
2. **Grain.** The GROUP BY expressions (or, without GROUP BY, every projection that does not aggregate).
3. **One component per owner.** Its join tree is pruned to the owner plus the entities the grain and the
   WHERE filter need (a sibling fact never joins into another fact's component, so no chasm trap).
   - If no join in that tree can repeat the owner's rows (every edge away from it leads to a "one" side),
     aggregate directly: ``SELECT grain, aggregates FROM tree WHERE filter GROUP BY grain``.
   - Otherwise (Cube's "keys subquery"): ``SELECT DISTINCT grain, owner.pk FROM tree WHERE filter``, then
     join the owner's own rows back on its primary key and aggregate by the grain. Each owner row is then
     counted once per grain value, whatever the join repeats; any measure type works, ``number`` measures
     built from aggregates included, since the owner's rows are aggregated exactly as on their own.
4. **Combine** the components with FULL OUTER JOINs on the grain (NULL-safe), keys coalesced, and
   evaluate the client's projections, HAVING (as the outer WHERE), ORDER BY, LIMIT over the result.

An owner without a primary key cannot be deduplicated: if its rows could repeat, the query is refused
(0A000) rather than answered wrong.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlglot import exp

from rewriter.errors import FeatureNotSupported, GroupingError
from rewriter.expand import RUNNING_TOTAL_META, accumulate
from rewriter.joins import JoinNode, JoinTree

MEASURE_META = "lens_measure"


@dataclass
class _Component:
    owner: str | None  # alias of the owning entity; None = ordinary aggregates over the whole join
    atoms: list[exp.Expression] = field(default_factory=list)
    alias: str = ""


def is_measure(node: exp.Expression) -> bool:
    return bool(node.meta) and MEASURE_META in node.meta


def is_count(node: exp.Expression) -> bool:
    """A count (a measure of type count, count_distinct or count_distinct_approx, or a client's COUNT):
    over no rows it is 0, where every other aggregate is NULL."""
    return isinstance(node, exp.Count | exp.ApproxDistinct)


def _measure_atoms(node: exp.Expression) -> list[exp.Expression]:
    out = []
    for n in node.walk():
        if is_measure(n) and not any(is_measure(a) for a in _ancestors(n, node)):
            out.append(n)
    return out


def _ancestors(node: exp.Expression, stop: exp.Expression) -> list[exp.Expression]:
    out = []
    cur = node.parent
    while cur is not None and cur is not stop.parent:
        out.append(cur)
        if cur is stop:
            break
        cur = cur.parent
    return out


def _plain_atoms(node: exp.Expression) -> list[exp.Expression]:
    """Client-written aggregates outside measures, windows and subqueries."""
    out = []
    for n in node.walk():
        if not isinstance(n, exp.AggFunc) or is_measure(n):
            continue
        chain = _ancestors(n, node)
        if any(is_measure(a) or isinstance(a, exp.Query | exp.Window) for a in chain[:-1] if a is not node):
            continue
        if isinstance(n.parent, exp.Window):
            continue
        out.append(n)
    return out


def aliases_in(node: exp.Expression) -> set[str]:
    return {c.table.lower() for c in node.find_all(exp.Column) if c.table}


def plan_aggregate(
    select: exp.Select,
    tree: JoinTree,
    source: Callable[[JoinNode], exp.Expression],
    condition: Callable[[JoinNode], exp.Expression],
    primary_key: Callable[[str], list[exp.Expression]],
) -> exp.Select:
    """The fan-out-safe rewrite of ``select`` (columns already expanded; measures marked)."""
    group = select.args.get("group")
    sets = grouping_sets(group) if group is not None else None
    if sets is not None:
        return _plan_grouping_sets(select, sets, tree, source, condition, primary_key)
    return _plan_one(select, tree, source, condition, primary_key, None)


def _plan_one(select, tree, source, condition, primary_key, grain_override) -> exp.Select:
    projections = [p.this if isinstance(p, exp.Alias) else p for p in select.expressions]
    grain = grain_override if grain_override is not None else _grain(select, projections)
    where = select.args.get("where")
    filter_expr = where.this if where is not None else None
    clauses: list[exp.Expression] = [*select.expressions]
    if select.args.get("having"):
        clauses.append(select.args["having"])
    if select.args.get("order"):
        clauses.append(select.args["order"])

    components: dict[str | None, _Component] = {}
    for clause in clauses:
        for atom in _measure_atoms(clause):
            owner = atom.meta[MEASURE_META].lower()
            components.setdefault(owner, _Component(owner)).atoms.append(atom)
        for atom in _plain_atoms(clause):
            components.setdefault(None, _Component(None)).atoms.append(atom)

    needed_base: set[str] = set()
    for g in grain:
        needed_base |= aliases_in(g)
    if filter_expr is not None:
        needed_base |= aliases_in(filter_expr)
    needed_base |= {n.alias.lower() for n in tree.nodes if n.side == "INNER"}

    keys = [f"__k{i}" for i in range(len(grain))]
    atom_columns: list[tuple[exp.Expression, str, str]] = []  # (atom, component alias, column)
    subqueries: list[tuple[str, exp.Expression]] = []
    for i, comp in enumerate(components.values()):
        comp.alias = f"__c{i}"
        needed = set(needed_base)
        if comp.owner is None:
            needed |= {n.alias.lower() for n in tree.nodes if n.user}
        else:
            needed.add(comp.owner)
        subset = tree.subtree(needed)
        columns = [f"__m{i}_{j}" for j in range(len(comp.atoms))]
        for atom, col in zip(comp.atoms, columns, strict=True):
            atom_columns.append((atom, comp.alias, col))
        if comp.owner is not None and tree.multiplied(comp.owner, subset):
            query = _keys_aggregate(comp, subset, tree, grain, keys, columns, filter_expr, source, condition, primary_key)
        else:
            query = _direct_aggregate(comp, subset, tree, grain, keys, columns, filter_expr, source, condition)
        subqueries.append((comp.alias, query))

    return _combine(select, subqueries, grain, keys, atom_columns, {n.alias.lower() for n in tree.nodes})


def grouping_sets(group: exp.Group) -> list[list[exp.Expression]] | None:
    """The grouping sets a GROUP BY with ROLLUP/CUBE/GROUPING SETS stands for; None for a plain one."""
    items = group.expressions
    if not any(isinstance(i, exp.Rollup | exp.Cube | exp.GroupingSets) for i in items):
        return None
    sets: list[list[exp.Expression]] = [[]]
    for item in items:
        if isinstance(item, exp.Rollup):
            options = [item.expressions[:n] for n in range(len(item.expressions), -1, -1)]
        elif isinstance(item, exp.Cube):
            exprs = item.expressions
            options = [[e for j, e in enumerate(exprs) if mask >> (len(exprs) - 1 - j) & 1]
                       for mask in range(2 ** len(exprs) - 1, -1, -1)]
        elif isinstance(item, exp.GroupingSets):
            options = [list(o.expressions) if isinstance(o, exp.Tuple) else [o.this] if isinstance(o, exp.Paren)
                       else [o] for o in item.expressions]
        else:
            options = [[item]]
        sets = [s + o for s in sets for o in options]
    return sets


def _plan_grouping_sets(select, sets, tree, source, condition, primary_key) -> exp.Select:
    """One fan-out-safe query per grouping set, stacked with UNION ALL: measures are recomputed per set,
    never summed from a finer one (a count_distinct is not additive)."""
    projections = [p.this if isinstance(p, exp.Alias) else p for p in select.expressions]
    resolved = [[_resolve_group_item(e, select, projections) for e in s] for s in sets]
    every_key: list[exp.Expression] = []
    for s in resolved:
        for e in s:
            if not any(e == k for k in every_key):
                every_key.append(e)
    order = select.args.get("order")
    if order is not None and any(
        not (isinstance(o.this, exp.Literal) or (isinstance(o.this, exp.Column) and not o.this.table))
        for o in order.expressions
    ):
        raise FeatureNotSupported(
            "ORDER BY with grouping sets over several entities must use output column names or positions",
            hint="ORDER BY 1, 2 or by the column aliases",
        )
    branches = []
    for s in resolved:
        missing = [k for k in every_key if not any(k == e for e in s)]
        branch = select.copy()
        for arg in ("group", "order", "limit", "offset"):
            branch.set(arg, None)

        def blank(node: exp.Expression, missing=missing) -> exp.Expression:
            if isinstance(node, exp.Grouping) or (isinstance(node, exp.Anonymous) and node.name.lower() == "grouping"):
                return exp.Literal.number(int(any(any(a == k for k in missing) for a in node.expressions)))
            if is_measure(node) or isinstance(node, exp.AggFunc):
                return node.copy()  # a replacement, so not descended into: aggregates keep their arguments
            if any(node == k for k in missing):
                return exp.Null()
            return node

        branch.set("expressions", [_transform_by_identity(p, blank) for p in branch.expressions])
        if branch.args.get("having"):
            branch.set("having", _transform_by_identity(branch.args["having"], blank))
        branches.append(_plan_one(branch, tree, source, condition, primary_key, [e.copy() for e in s]))
    union: exp.Expression = branches[0]
    for b in branches[1:]:
        union = exp.Union(this=union, expression=b, distinct=False)
    outer = exp.select("*").from_(exp.Subquery(this=union, alias=exp.TableAlias(this=exp.to_identifier("__sets"))))
    for arg in ("order", "limit", "offset"):
        if select.args.get(arg):
            outer.set(arg, select.args[arg].copy())
    return outer


def _resolve_group_item(e: exp.Expression, select: exp.Select, projections: list[exp.Expression]) -> exp.Expression:
    aliases = {p.alias.lower(): p.this for p in select.expressions if isinstance(p, exp.Alias)}
    if isinstance(e, exp.Literal) and e.is_int:
        return projections[int(e.name) - 1]
    if isinstance(e, exp.Column) and not e.table and e.name.lower() in aliases:
        return aliases[e.name.lower()]
    return e


def _grain(select: exp.Select, projections: list[exp.Expression]) -> list[exp.Expression]:
    group = select.args.get("group")
    if group is None:
        return [p for p in projections if not isinstance(p, exp.Literal | exp.Null) and not _has_aggregate(p)]
    out = []
    aliases = {p.alias.lower(): p.this for p in select.expressions if isinstance(p, exp.Alias)}
    for g in group.expressions:
        if isinstance(g, exp.Literal) and g.is_int:
            out.append(projections[int(g.name) - 1])
        elif isinstance(g, exp.Column) and not g.table and g.name.lower() in aliases:
            out.append(aliases[g.name.lower()])
        else:
            out.append(g)
    return out


def _has_aggregate(node: exp.Expression) -> bool:
    return bool(_measure_atoms(node) or _plain_atoms(node))


def _from_subset(select: exp.Select, subset, tree: JoinTree, source, condition) -> exp.Select:
    from_, joins = tree.render(subset, source, condition)
    select.set("from_", exp.From(this=from_))
    if joins:
        select.set("joins", joins)
    return select


def _direct_aggregate(comp, subset, tree, grain, keys, columns, filter_expr, source, condition) -> exp.Select:
    q = exp.Select()
    q.set("expressions", [exp.alias_(g.copy(), k) for g, k in zip(grain, keys, strict=True)]
          + [exp.alias_(a.copy(), c) for a, c in zip(comp.atoms, columns, strict=True)])
    _from_subset(q, subset, tree, source, condition)
    if filter_expr is not None:
        q.set("where", exp.Where(this=filter_expr.copy()))
    if grain:
        q.set("group", exp.Group(expressions=[g.copy() for g in grain]))
    return q


def _keys_aggregate(comp, subset, tree, grain, keys, columns, filter_expr, source, condition, primary_key) -> exp.Select:
    owner_node = tree.node(comp.owner)
    pk = primary_key(comp.owner)
    if not pk:
        raise FeatureNotSupported(
            f"entity {owner_node.entity} has no primary key, so its measures cannot be computed without "
            "double counting across this join",
            hint=f"mark a field of {owner_node.entity} with primary: true in the lens",
        )
    pk_names = [f"__pk{i}" for i in range(len(pk))]
    distinct = exp.Select(distinct=exp.Distinct())
    distinct.set("expressions", [exp.alias_(g.copy(), k) for g, k in zip(grain, keys, strict=True)]
                 + [exp.alias_(p.copy(), n) for p, n in zip(pk, pk_names, strict=True)])
    _from_subset(distinct, subset, tree, source, condition)
    if filter_expr is not None:
        distinct.set("where", exp.Where(this=filter_expr.copy()))

    keys_alias = "__keys"
    on = exp.and_(*[exp.EQ(this=p.copy(), expression=exp.column(n, table=keys_alias))
                    for p, n in zip(pk, pk_names, strict=True)])
    q = exp.Select()
    q.set("expressions", [exp.alias_(exp.column(k, table=keys_alias), k) for k in keys]
          + [exp.alias_(a.copy(), c) for a, c in zip(comp.atoms, columns, strict=True)])
    q.set("from_", exp.From(this=exp.Subquery(this=distinct, alias=exp.TableAlias(this=exp.to_identifier(keys_alias)))))
    # LEFT: a grain value whose join rows hold no owner row still gets its group (count 0, sum NULL),
    # exactly as the direct path over a LEFT-joined tree gives it.
    q.set("joins", [exp.Join(this=source(owner_node), on=on, side="LEFT")])
    if keys:
        q.set("group", exp.Group(expressions=[exp.column(k, table=keys_alias) for k in keys]))
    return q


def _combine(select, subqueries, grain, keys, atom_columns, tree_aliases: set[str]) -> exp.Select:
    outer = exp.Select()
    first_alias, first_query = subqueries[0]
    outer.set("from_", exp.From(this=exp.Subquery(this=first_query, alias=exp.TableAlias(this=exp.to_identifier(first_alias)))))
    joined = [first_alias]
    joins = []
    for alias, query in subqueries[1:]:
        if keys:
            on = exp.and_(*[
                exp.NullSafeEQ(this=_coalesced(k, joined), expression=exp.column(k, table=alias)) for k in keys
            ])
            join = exp.Join(this=exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier(alias))),
                            on=on, side="FULL", kind="OUTER")
        else:
            join = exp.Join(this=exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier(alias))),
                            kind="CROSS")
        joins.append(join)
        joined.append(alias)
    if joins:
        outer.set("joins", joins)

    replacements: dict[int, exp.Expression] = {}
    for atom, comp, col in atom_columns:
        ref: exp.Expression = exp.column(col, table=comp)
        if joins and (is_count(atom) or atom.meta.get(RUNNING_TOTAL_META)):
            # a group this component has no row for: a count of nothing is 0, never NULL
            ref = exp.Coalesce(this=ref, expressions=[exp.Literal.number(0)])
        if atom.meta.get(RUNNING_TOTAL_META):
            ref = accumulate(ref, [_coalesced(k, joined) for k in keys])
        replacements[id(atom)] = ref
    key_refs = [(g, _coalesced(k, joined)) for g, k in zip(grain, keys, strict=True)]

    def to_outer(node: exp.Expression) -> exp.Expression:
        def fn(n: exp.Expression) -> exp.Expression:
            if id(n) in replacements:
                return replacements[id(n)].copy()
            for g, ref in key_refs:
                if n == g:
                    return ref.copy()
            return n

        out = _transform_by_identity(node, fn)
        for col in out.find_all(exp.Column):
            if col.table.lower() in tree_aliases and col.find_ancestor(exp.Query) is None:
                raise GroupingError(
                    f'column "{col.table}.{col.name}" must appear in the GROUP BY clause or be used in an aggregate function',
                )
        return out

    outer.set("expressions", [to_outer(p) for p in select.expressions])
    if select.args.get("having"):
        outer.set("where", exp.Where(this=to_outer(select.args["having"].this)))
    if select.args.get("order"):
        outer.set("order", to_outer(select.args["order"]))
    for arg in ("limit", "offset", "distinct"):
        if select.args.get(arg):
            outer.set(arg, select.args[arg].copy())
    return outer


def _coalesced(key: str, aliases: list[str]) -> exp.Expression:
    if len(aliases) == 1:
        return exp.column(key, table=aliases[0])
    return exp.Coalesce(this=exp.column(key, table=aliases[0]),
                        expressions=[exp.column(key, table=a) for a in aliases[1:]])


def _transform_by_identity(node: exp.Expression, fn: Callable[[exp.Expression], exp.Expression]) -> exp.Expression:
    """A rebuilt copy of ``node`` where ``fn`` may replace any original node (it sees originals, so it can
    match by identity; ``Expression.transform`` hands it copies)."""
    replaced = fn(node)
    if replaced is not node:
        return replaced
    args: dict[str, object] = {}
    for key, value in node.args.items():
        if isinstance(value, exp.Expression):
            args[key] = _transform_by_identity(value, fn)
        elif isinstance(value, list):
            args[key] = [_transform_by_identity(v, fn) if isinstance(v, exp.Expression) else v for v in value]
        else:
            args[key] = value
    new = type(node)(**args)
    if node.meta:
        new.meta.update(node.meta)
    return new
