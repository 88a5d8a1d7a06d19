"""Temporal (ActivitySchema) relationships in SQL: the cohort's row source, extended with the appended
activity's members picked or aggregated per cohort row.

For a cohort row (customer k, time t, next occurrence t_next) the appended rows of k are numbered 1…N by
(time, primary key). Every window is a range of those numbers, (lo, hi]:

    ever        lo = 0                           hi = N
    before      lo = 0                           hi = #appended rows of k with time <  t
    after       lo = #rows with time <= t        hi = N
    in_between  lo = #rows with time <= t        hi = #rows with time <= t_next (N when t_next is NULL)

"first" picks row lo + 1 and "last" row hi (when lo < hi); an aggregate runs over rows lo+1 … hi. Plans, each
portable SQL (window functions, UNION ALL, equi-joins), the same on every engine:

- ``ever`` kinds, ``first_before`` and ``last_after`` need no per-row window: the customer's first/last
  appended row (or its aggregates) joined on the customer key, with a time condition for the latter two
  (the first row overall is the first before t exactly when it is before t).
- the others count appended rows at each cohort row's bounds in one window pass over "probe" rows and the
  appended rows, sorted by time (a probe at t sorts before appended rows of the same time for "<", after
  them for "<="): O(n log n), never a per-customer self-join; the pick is then an equi-join on (customer,
  row number), and ``count``/``sum`` aggregates come from running totals at lo and hi (other measure
  types join the rows lo+1 … hi).

Each cohort row gets at most one pick row, joined on its customer (and time, and next occurrence), so a temporal
relationship never duplicates or drops cohort rows. Keys, times and ordering use raw values; the appended
members come out as the querying identity may see them (row filters on both entities, masks). The functions here take ``Expander``s (built by
``rewriter.expand``, typed here by the ``Expander`` protocol) and never import that module.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from sqlglot import exp

from rewriter.lens import ActivitySchema, Entity, Lens, Measure, Member, Temporal


class Expander(Protocol):
    """What this module needs of ``rewriter.expand.Expander``: members of one entity instance as SQL."""

    lens: Lens
    entity: Entity
    alias: str

    def row_expression(self, member: Member) -> exp.Expression: ...

    def raw_expression(self, member: Member) -> exp.Expression: ...

    def measure_expression(self, measure: Measure) -> exp.Expression: ...

    def plain_source(self) -> exp.Expression: ...


MakeExpander = Callable[[Entity, str], Expander]

COHORT_ALIAS = "__cohort"
_COUNTS = ("count", "count_distinct", "count_distinct_approx")
# probe kinds, and their place at equal times: "<" probes first, then appended rows, then "<=" probes
_LT, _APPENDED, _LE, _NEXT = 0, 1, 2, 3


def extended_source(base: exp.Expression, entity: Entity, used: list[Temporal], expander: MakeExpander,
                    schema: ActivitySchema) -> exp.Select:
    """``SELECT __cohort.*, <appended columns> FROM (<entity SQL>) AS __cohort LEFT JOIN <pick> ON … ``"""
    cohort = expander(entity, COHORT_ALIAS)
    lens = cohort.lens
    select = exp.Select(expressions=[exp.Column(this=exp.Star(), table=exp.to_identifier(COHORT_ALIAS))])
    select.set("from_", exp.From(this=_sub(base, COHORT_ALIAS)))
    joins = []
    for temporal in used:
        target = lens.entity(temporal.target)
        assert target is not None
        alias = f"__t_{temporal.name}"
        query, on = _plan(temporal, entity, target, expander, schema, alias, cohort)
        query = _own_names(query, temporal.name)
        joins.append(exp.Join(this=_sub(query, alias), on=on, side="LEFT"))
        for name in temporal.members:
            member = target.member(name)
            assert member is not None
            value: exp.Expression = exp.column(exp.to_identifier(member.name, quoted=True), table=exp.to_identifier(alias))
            if isinstance(member, Measure) and member.measure_type in _COUNTS:
                value = exp.Coalesce(this=value, expressions=[exp.Literal.number(0)])  # nothing appended: 0
            select.expressions.append(exp.alias_(value, temporal.column(member.name), quoted=True))
    select.set("joins", joins)
    return select


def _plan(temporal: Temporal, entity: Entity, target: Entity, expander: MakeExpander, schema: ActivitySchema,
          alias: str, cohort: Expander) -> tuple[exp.Select, exp.Expression]:
    """(pick query, join condition with the cohort row) for one relationship."""
    key = cohort.raw_expression(_member(entity, temporal.field or schema.entity))
    ts = cohort.raw_expression(_member(entity, schema.timestamp))
    append_rows = _append_rows(temporal, expander(target, "__a_src"), schema)
    members = [_member(target, name) for name in temporal.members]
    if temporal.window == "ever" or temporal.kind in ("first_before", "last_after"):
        query = _per_customer(temporal, members, expander(target, "__a"))
        query.set("with_", exp.With(expressions=[_cte(append_rows, "__a")]))
        on: exp.Expression = exp.EQ(this=exp.column("__k", table=alias), expression=key)
        if temporal.kind == "first_before":
            on = exp.and_(on, exp.LT(this=exp.column("__t", table=alias), expression=ts))
        elif temporal.kind == "last_after":
            on = exp.and_(on, exp.GT(this=exp.column("__t", table=alias), expression=ts))
        return query, on
    cohort_rows = _cohort_rows(temporal, expander(entity, "__c_src"), schema)
    query = _windowed(temporal, members, expander(target, "__a"))
    query.set("with_", exp.With(expressions=[_cte(cohort_rows, "__c"), _cte(append_rows, "__a")]))
    # a window depends on the cohort row's customer and time (and next occurrence) only: picks are made per
    # distinct (customer, time[, next]) and joined back on them, not per row on its key
    on = exp.and_(exp.EQ(this=exp.column("__k", table=alias), expression=key),
                  exp.EQ(this=exp.column("__t", table=alias), expression=ts))
    if temporal.window == "in_between":
        nxt = cohort.raw_expression(_member(entity, schema.next_occurrence))
        # NULL-safe and hashable on every engine: both NULL, or both equal
        on = exp.and_(on, exp.EQ(this=exp.Paren(this=exp.Is(this=exp.column("__next", table=alias), expression=exp.Null())),
                                 expression=exp.Paren(this=exp.Is(this=nxt.copy(), expression=exp.Null()))),
                      exp.EQ(this=exp.Coalesce(this=exp.column("__next", table=alias), expressions=[exp.column("__t", table=alias)]),
                             expression=exp.Coalesce(this=nxt, expressions=[ts.copy()])))
    return query, on


def _per_customer(temporal: Temporal, members: list[Member], appended: Expander) -> exp.Select:
    """One row per customer: its first or last appended row's members (and time), or its aggregates."""
    if temporal.pick is None:
        values = [exp.alias_(appended.measure_expression(m), m.name, quoted=True) for m in members]  # type: ignore[arg-type]
        return exp.select(exp.column("__k", table="__a"), *values).from_("__a").group_by(exp.column("__k", table="__a"))
    values = [exp.alias_(appended.row_expression(m), m.name, quoted=True) for m in members]
    which = exp.Literal.number(1) if temporal.pick == "first" else exp.column("__n", table="__a")
    return (exp.select(exp.column("__k", table="__a"), exp.column("__t", table="__a"), *values).from_("__a")
            .where(exp.EQ(this=exp.column("__rn", table="__a"), expression=which)))


def _windowed(temporal: Temporal, members: list[Member], appended: Expander) -> exp.Select:
    """One row per cohort (customer, time[, next occurrence]) with appended rows in its window: the picked
    row's members, or the aggregates over the window."""
    bounds = _bounds(temporal)
    b = "__b"
    keys = [exp.column(c, table=b) for c in _key_columns(temporal)]
    same_customer = exp.EQ(this=exp.column("__k", table="__a"), expression=exp.column("__k", table=b))
    rn, lo, hi = exp.column("__rn", table="__a"), exp.column("__lo", table=b), exp.column("__hi", table=b)
    nonempty = exp.Where(this=exp.LT(this=lo.copy(), expression=hi.copy()))
    if temporal.pick is not None:
        picked = exp.Add(this=lo.copy(), expression=exp.Literal.number(1)) if temporal.pick == "first" else hi.copy()
        values = [exp.alias_(appended.row_expression(m), m.name, quoted=True) for m in members]
        query = exp.select(*keys, *values).from_(_sub(bounds, b))
        query.set("joins", [exp.Join(this=exp.to_table("__a"), kind="INNER",
                                     on=exp.and_(same_customer, exp.EQ(this=rn, expression=picked)))])
        query.set("where", nonempty)
        if temporal.kind in ("first_in_between", "last_in_between"):
            picked_time = exp.column("__t", table="__a")
            if temporal.kind == "first_in_between":  # the first row after t, if not after t_next
                limit = exp.or_(exp.Is(this=exp.column("__next", table=b), expression=exp.Null()),
                                exp.LTE(this=picked_time, expression=exp.column("__next", table=b)))
            else:  # the last row up to t_next, if after t
                limit = exp.GT(this=picked_time, expression=exp.column("__t", table=b))
            query = query.where(limit)
        return query
    if all(_running(m) is not None for m in members):  # count/sum: running totals at hi minus at lo
        return _from_running_totals(members, appended, bounds, keys)
    values = [exp.alias_(appended.measure_expression(m), m.name, quoted=True) for m in members]  # type: ignore[arg-type]
    query = exp.select(*keys, *values).from_(_sub(bounds, b))
    query.set("joins", [exp.Join(this=exp.to_table("__a"), kind="INNER", on=exp.and_(
        same_customer, exp.GT(this=rn, expression=lo), exp.LTE(this=rn.copy(), expression=hi)))])
    query.set("where", nonempty)
    return query.group_by(*[k.copy() for k in keys])


def _running(member: Member) -> str | None:
    """The decomposable measure types, whose value over rows lo+1…hi is a difference of running totals."""
    return member.measure_type if isinstance(member, Measure) and member.measure_type in ("count", "sum") else None


def _key_columns(temporal: Temporal) -> list[str]:
    """What a cohort row's window depends on: its customer and time, and its next occurrence in between."""
    return ["__k", "__t", "__next"] if temporal.window == "in_between" else ["__k", "__t"]


def _from_running_totals(members: list[Member], appended: Expander, bounds: exp.Select,
                         keys: list[exp.Expression]) -> exp.Select:
    """``count``: C(hi) - C(lo); ``sum``: S(hi) - S(lo) when some row had a value (else NULL, as SQL's sum)."""
    order = exp.Order(expressions=[exp.Ordered(this=exp.column("__rn", table="__a"), nulls_first=False)])
    spec = exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING", end="CURRENT ROW")
    totals = [exp.column("__k", table="__a"), exp.column("__rn", table="__a")]
    for i, m in enumerate(members):
        argument = appended.measure_expression(m).this  # type: ignore[arg-type]  # count(x) / sum(x): x
        totals.append(exp.alias_(exp.Window(this=exp.Count(this=argument.copy()), partition_by=[exp.column("__k", table="__a")],
                                            order=order.copy(), spec=spec.copy()), f"__c{i}"))
        if _running(m) == "sum":
            totals.append(exp.alias_(exp.Window(this=exp.Sum(this=argument.copy()), partition_by=[exp.column("__k", table="__a")],
                                                order=order.copy(), spec=spec.copy()), f"__s{i}"))
    running = exp.select(*totals).from_("__a")
    b = "__b"
    values = []
    for i, m in enumerate(members):
        count = exp.Sub(this=exp.column(f"__c{i}", table="__h"),
                        expression=exp.Coalesce(this=exp.column(f"__c{i}", table="__l"), expressions=[exp.Literal.number(0)]))
        if _running(m) == "count":
            values.append(exp.alias_(count, m.name, quoted=True))
            continue
        total = exp.Sub(this=exp.column(f"__s{i}", table="__h"),
                        expression=exp.Coalesce(this=exp.column(f"__s{i}", table="__l"), expressions=[exp.Literal.number(0)]))
        values.append(exp.alias_(exp.Case(ifs=[exp.If(this=exp.GT(this=count, expression=exp.Literal.number(0)), true=total)]),
                                 m.name, quoted=True))
    query = exp.select(*[k.copy() for k in keys], *values).from_(_sub(bounds, b))
    at = [("__h", exp.column("__hi", table=b), "INNER"), ("__l", exp.column("__lo", table=b), "LEFT")]
    joins = []
    for alias, number, side in at:
        on = exp.and_(exp.EQ(this=exp.column("__k", table=alias), expression=exp.column("__k", table=b)),
                      exp.EQ(this=exp.column("__rn", table=alias), expression=number))
        join = exp.Join(this=_sub(running.copy(), alias), on=on, **({"side": side} if side == "LEFT" else {"kind": side}))
        joins.append(join)
    query.set("joins", joins)
    query.set("where", exp.Where(this=exp.LT(this=exp.column("__lo", table=b), expression=exp.column("__hi", table=b))))
    return query


def _cohort_rows(temporal: Temporal, cohort: Expander, schema: ActivitySchema) -> exp.Select:
    entity = cohort.entity
    key = cohort.raw_expression(_member(entity, temporal.field or schema.entity))
    ts = cohort.raw_expression(_member(entity, schema.timestamp))
    columns = [exp.alias_(key, "__k"), exp.alias_(ts, "__t")]
    if temporal.window == "in_between":
        columns.append(exp.alias_(cohort.raw_expression(_member(entity, schema.next_occurrence)), "__next"))
    select = exp.Select(expressions=columns, distinct=exp.Distinct())
    select.set("from_", exp.From(this=cohort.plain_source()))
    return select.where(_not_null(key), _not_null(ts))


def _append_rows(temporal: Temporal, append: Expander, schema: ActivitySchema) -> exp.Select:
    """The appended entity's rows (all its columns, so its members expand over them) numbered per customer
    by (time, primary key), with the customer's total."""
    entity = append.entity
    key = append.raw_expression(_member(entity, temporal.target_field or schema.entity))
    ts = append.raw_expression(_member(entity, schema.timestamp))
    pk = append.raw_expression(_member(entity, entity.primary_key[0]))
    order = exp.Order(expressions=[exp.Ordered(this=ts.copy(), nulls_first=False), exp.Ordered(this=pk, nulls_first=False)])
    select = exp.Select(expressions=[
        exp.Column(this=exp.Star(), table=exp.to_identifier(append.alias)),
        exp.alias_(key, "__k"),
        exp.alias_(ts, "__t"),
        exp.alias_(exp.Window(this=exp.RowNumber(), partition_by=[key.copy()], order=order), "__rn"),
        exp.alias_(exp.Window(this=exp.Count(this=exp.Star()), partition_by=[key.copy()]), "__n"),
    ])
    select.set("from_", exp.From(this=append.plain_source()))
    return select.where(_not_null(key), _not_null(ts))


def _bounds(temporal: Temporal) -> exp.Select:
    """(__k, __t[, __next], __lo, __hi) per distinct cohort (customer, time[, next]): its window as a range
    of appended row numbers.

    A pick in between needs one bound only: the first is the first row after t (kept if it is not after
    t_next, by ``__limit``), the last the last row up to t_next (kept if after t)."""
    window = temporal.window
    probes = {"before": [_LT], "after": [_LE], "in_between": [_LE, _NEXT]}[window]
    if temporal.kind == "first_in_between":
        probes = [_LE]
    elif temporal.kind == "last_in_between":
        probes = [_NEXT]
    keys = _key_columns(temporal)
    carried = [k for k in keys if k != "__k"]  # the cohort row's own time (and next), whatever the probe's time
    parts: list[exp.Select] = []
    for which in probes:
        part = exp.select("__k", exp.alias_(exp.column("__next" if which == _NEXT else "__t"), "__pt"),
                          exp.alias_(exp.Literal.number(_LT if which == _LT else _LE), "__tag"),
                          exp.alias_(exp.Literal.number(which), "__which"), *carried).from_("__c")
        if which == _NEXT and len(probes) > 1:
            part = part.where(_not_null(exp.column("__next")))  # no next occurrence: hi is the total
        parts.append(part)
    parts.append(exp.select("__k", exp.alias_(exp.column("__t"), "__pt"), exp.alias_(exp.Literal.number(_APPENDED), "__tag"),
                            exp.alias_(exp.Literal.number(_APPENDED), "__which"),
                            *[exp.alias_(exp.Null(), c) for c in carried]).from_("__a"))
    union: exp.Expression = parts[0]
    for part in parts[1:]:
        union = exp.Union(this=union, expression=part, distinct=False)
    appended = exp.Case(ifs=[exp.If(this=exp.EQ(this=exp.column("__which"), expression=exp.Literal.number(_APPENDED)),
                                    true=exp.Literal.number(1))], default=exp.Literal.number(0))
    running = exp.Window(
        this=exp.Sum(this=appended), partition_by=[exp.column("__k")],
        order=exp.Order(expressions=[exp.Ordered(this=exp.column("__pt"), nulls_first=False),
                                     exp.Ordered(this=exp.column("__tag"), nulls_first=False)]),
        spec=exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING", end="CURRENT ROW"),
    )
    total = exp.Window(this=exp.Sum(this=appended.copy()), partition_by=[exp.column("__k")])
    bigint = exp.DataType.build("BIGINT")  # engines sum integers into wider types; row numbers are BIGINT
    counted = exp.select(*keys, "__which", exp.alias_(exp.Cast(this=running, to=bigint), "__cnt"),
                         exp.alias_(exp.Cast(this=total, to=bigint.copy()), "__total")).from_(_sub(union, "__probes"))
    probe_rows = exp.NEQ(this=exp.column("__which"), expression=exp.Literal.number(_APPENDED))
    if len(probes) == 1:  # one probe per cohort row: its count is a bound, no pivot needed
        # (a probe at a NULL next occurrence sorts after every appended row: its count is the total)
        lo = exp.column("__cnt") if probes == [_LE] else exp.Literal.number(0)
        hi = exp.column("__total") if probes == [_LE] else exp.column("__cnt")
        return exp.select(*keys, exp.alias_(lo, "__lo"), exp.alias_(hi, "__hi")).from_(
            _sub(counted, "__counted")).where(probe_rows)

    def count_at(which: int) -> exp.Expression:
        return exp.Max(this=exp.Case(ifs=[exp.If(this=exp.EQ(this=exp.column("__which"), expression=exp.Literal.number(which)),
                                                 true=exp.column("__cnt"))]))

    hi = exp.Coalesce(this=count_at(_NEXT), expressions=[exp.Max(this=exp.column("__total"))])
    return (exp.select(*keys, exp.alias_(count_at(_LE), "__lo"), exp.alias_(hi, "__hi"))
            .from_(_sub(counted, "__counted")).where(probe_rows).group_by(*keys))


def _own_names(query: exp.Select, name: str) -> exp.Select:
    """The pick's CTEs (``__c``, ``__a``) renamed after its relationship: an engine may refuse two sibling
    subqueries defining the same CTE name (Spark), and the names then say what they hold."""
    names = {"__c": f"__c_{name}", "__a": f"__a_{name}"}

    def rename(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.TableAlias) and isinstance(node.parent, exp.CTE) and node.name in names:
            return exp.TableAlias(this=exp.to_identifier(names[node.name]))
        if isinstance(node, exp.Table) and not node.db and node.name in names:
            renamed = node.copy()
            renamed.set("this", exp.to_identifier(names[node.name]))
            if not node.alias:
                renamed.set("alias", exp.TableAlias(this=exp.to_identifier(node.name)))  # columns keep their qualifier
            return renamed
        return node

    return query.transform(rename)


def _member(entity: Entity, name: str) -> Member:
    member = entity.member(name)
    assert member is not None, f"{entity.name}.{name} (checked when the lens loaded)"
    return member


def _sub(query: exp.Expression, alias: str) -> exp.Subquery:
    return exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier(alias)))


def _cte(query: exp.Expression, alias: str) -> exp.CTE:
    return exp.CTE(this=query, alias=exp.TableAlias(this=exp.to_identifier(alias)))


def _not_null(node: exp.Expression) -> exp.Expression:
    return exp.Not(this=exp.Is(this=node.copy(), expression=exp.Null()))
