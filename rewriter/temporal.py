"""Temporal (ActivitySchema) relationships in SQL: the cohort's row source, extended with the appended
activity's members picked or aggregated per cohort row.

For a cohort row (customer k, time t, next occurrence t_next) the appended rows of k are numbered 1…N by
(time, primary key). Every window is a range of those numbers, (lo, hi]:

    ever        lo = 0                           hi = N
    before      lo = 0                           hi = #appended rows of k with time <  t
    after       lo = #rows with time <= t        hi = N
    in_between  lo = #rows with time <= t        hi = #rows with time <= t_next (N when t_next is NULL)

"first" picks row lo + 1 and "last" row hi (when lo < hi); an aggregate runs over rows lo+1 … hi. The counts
come from one window pass over the cohort's probe rows and the appended rows of each customer, sorted by
time (a probe at t sorts before appended rows of the same time for "<", after them for "<="): O(n log n)
in portable SQL (window functions, UNION ALL, equi-joins), never a per-customer self-join for picks, and
the same on every engine. Each cohort row gets at most one pick row, joined back on its primary key, so a
temporal relationship never duplicates or drops cohort rows.

The functions here take ``Expander``s (built by ``rewriter.expand``) and never import that module.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlglot import exp

from rewriter.lens import ActivitySchema, Entity, Measure, Temporal

if TYPE_CHECKING:
    from collections.abc import Callable

    from rewriter.expand import Expander

COHORT_ALIAS = "__cohort"
_COUNTS = ("count", "count_distinct", "count_distinct_approx")
# probe kinds in the sort at equal times: "<" probes first, then appended rows, then "<=" probes
_LT, _APPENDED, _LE, _NEXT = 0, 1, 2, 3


def extended_source(
    base: exp.Expression, entity: Entity, used: list[Temporal], expander: Callable[[Entity, str], Expander],
    schema: ActivitySchema,
) -> exp.Select:
    """``SELECT __cohort.*, <appended columns> FROM (<entity SQL>) AS __cohort LEFT JOIN <pick> ON <pk> …``"""
    cohort = expander(entity, COHORT_ALIAS)
    select = exp.Select(expressions=[exp.Column(this=exp.Star(), table=exp.to_identifier(COHORT_ALIAS))])
    select.set("from_", exp.From(this=exp.Subquery(this=base, alias=exp.TableAlias(this=exp.to_identifier(COHORT_ALIAS)))))
    pk = cohort.row_expression(entity.member(entity.primary_key[0]))  # type: ignore[arg-type]
    joins = []
    for temporal in used:
        alias = f"__t_{temporal.name}"
        query = pick_query(temporal, entity, expander, schema)
        joins.append(exp.Join(this=exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier(alias))),
                              on=exp.EQ(this=exp.column("__pk", table=alias), expression=pk.copy()), side="LEFT"))
        target = expander(entity, COHORT_ALIAS).lens.entity(temporal.target)
        assert target is not None
        for name in temporal.members:
            member = target.member(name)
            value: exp.Expression = exp.column(name, table=alias, quoted=True)
            if isinstance(member, Measure) and member.measure_type in _COUNTS:
                value = exp.Coalesce(this=value, expressions=[exp.Literal.number(0)])  # nothing appended: 0
            select.expressions.append(exp.alias_(value, temporal.column(member.name if member else name), quoted=True))
    select.set("joins", joins)
    return select


def pick_query(temporal: Temporal, entity: Entity, expander: Callable[[Entity, str], Expander],
               schema: ActivitySchema) -> exp.Select:
    """One row per cohort primary key (``__pk``) that has appended rows in its window, with the picked
    row's members (or the aggregates), named as the appended entity's members."""
    target = expander(entity, "__c_src").lens.entity(temporal.target)
    assert target is not None
    cohort_rows = _cohort_rows(temporal, expander(entity, "__c_src"), schema)
    appended = expander(target, "__a")
    append_rows = _append_rows(temporal, expander(target, "__a_src"), schema)
    values = []
    for name in temporal.members:
        member = target.member(name)
        assert member is not None
        value = appended.measure_expression(member) if isinstance(member, Measure) else appended.row_expression(member)
        values.append(exp.alias_(value, member.name, quoted=True))
    bounds = _bounds(temporal)
    query = exp.Select(expressions=[exp.column("__pk", table="__b"), *values])
    query.set("from_", exp.From(this=exp.Subquery(this=bounds, alias=exp.TableAlias(this=exp.to_identifier("__b")))))
    same_customer = exp.EQ(this=exp.column("__k", table="__a"), expression=exp.column("__k", table="__b"))
    rn, lo, hi = exp.column("__rn", table="__a"), exp.column("__lo", table="__b"), exp.column("__hi", table="__b")
    if temporal.pick == "first":
        on = exp.and_(same_customer, exp.EQ(this=rn, expression=exp.Add(this=lo, expression=exp.Literal.number(1))))
    elif temporal.pick == "last":
        on = exp.and_(same_customer, exp.EQ(this=rn, expression=hi))
    else:
        on = exp.and_(same_customer, exp.GT(this=rn, expression=lo), exp.LTE(this=rn.copy(), expression=hi))
    query.set("joins", [exp.Join(this=exp.Table(this=exp.to_identifier("__a")), on=on, kind="INNER")])
    query.set("where", exp.Where(this=exp.LT(this=lo.copy(), expression=hi.copy())))
    if temporal.pick is None:
        query.set("group", exp.Group(expressions=[exp.column("__pk", table="__b")]))
    with_ = exp.With(expressions=[
        exp.CTE(this=cohort_rows, alias=exp.TableAlias(this=exp.to_identifier("__c"))),
        exp.CTE(this=append_rows, alias=exp.TableAlias(this=exp.to_identifier("__a"))),
    ])
    query.set("with_", with_)
    return query


def _cohort_rows(temporal: Temporal, cohort: Expander, schema: ActivitySchema) -> exp.Select:
    entity = cohort.entity
    key = cohort.row_expression(entity.member(temporal.field or schema.entity))  # type: ignore[arg-type]
    ts = cohort.row_expression(entity.member(schema.timestamp))  # type: ignore[arg-type]
    columns = [
        exp.alias_(cohort.row_expression(entity.member(entity.primary_key[0])), "__pk"),  # type: ignore[arg-type]
        exp.alias_(key, "__k"),
        exp.alias_(ts, "__t"),
    ]
    if temporal.window == "in_between":
        columns.append(exp.alias_(cohort.row_expression(entity.member(schema.next_occurrence)), "__next"))  # type: ignore[arg-type]
    select = exp.Select(expressions=columns)
    select.set("from_", exp.From(this=cohort.plain_source()))
    select.set("where", exp.Where(this=exp.and_(exp.Not(this=exp.Is(this=key.copy(), expression=exp.Null())),
                                                exp.Not(this=exp.Is(this=ts.copy(), expression=exp.Null())))))
    return select


def _append_rows(temporal: Temporal, append: Expander, schema: ActivitySchema) -> exp.Select:
    """The appended entity's rows (all its columns, so its members expand over them) numbered per customer
    by (time, primary key), with the customer's total."""
    entity = append.entity
    key = append.row_expression(entity.member(temporal.target_field or schema.entity))  # type: ignore[arg-type]
    ts = append.row_expression(entity.member(schema.timestamp))  # type: ignore[arg-type]
    pk = append.row_expression(entity.member(entity.primary_key[0]))  # type: ignore[arg-type]
    order = exp.Order(expressions=[exp.Ordered(this=ts.copy(), nulls_first=False), exp.Ordered(this=pk.copy(), nulls_first=False)])
    select = exp.Select(expressions=[
        exp.Column(this=exp.Star(), table=exp.to_identifier(append.alias)),
        exp.alias_(key, "__k"),
        exp.alias_(ts, "__t"),
        exp.alias_(exp.Window(this=exp.RowNumber(), partition_by=[key.copy()], order=order), "__rn"),
        exp.alias_(exp.Window(this=exp.Count(this=exp.Star()), partition_by=[key.copy()]), "__n"),
    ])
    select.set("from_", exp.From(this=append.plain_source()))
    select.set("where", exp.Where(this=exp.and_(exp.Not(this=exp.Is(this=key.copy(), expression=exp.Null())),
                                                exp.Not(this=exp.Is(this=ts.copy(), expression=exp.Null())))))
    return select


def _bounds(temporal: Temporal) -> exp.Select:
    """(__pk, __k, __lo, __hi) per cohort row: its window as a range of appended row numbers."""
    window = temporal.window
    if window == "ever":  # no probes: the whole of the customer's appended rows
        totals = exp.select("__k", exp.alias_(exp.Count(this=exp.Star()), "__n")).from_("__a").group_by("__k")
        select = exp.select(exp.column("__pk", table="__c"), exp.column("__k", table="__c"),
                            exp.alias_(exp.Literal.number(0), "__lo"), exp.alias_(exp.column("__n", table="__s"), "__hi"))
        select = select.from_("__c").join(exp.Subquery(this=totals, alias=exp.TableAlias(this=exp.to_identifier("__s"))),
                                          on=exp.EQ(this=exp.column("__k", table="__s"), expression=exp.column("__k", table="__c")))
        return select
    probes = {"before": [_LT], "after": [_LE], "in_between": [_LE, _NEXT]}[window]
    parts: list[exp.Select] = []
    for which in probes:
        time = "__next" if which == _NEXT else "__t"
        tag = _LT if which == _LT else _LE
        part = exp.select("__k", exp.alias_(exp.column(time), "__t"), exp.alias_(exp.Literal.number(tag), "__tag"),
                          exp.alias_(exp.Literal.number(which), "__which"), "__pk").from_("__c")
        if which == _NEXT:
            part = part.where(exp.Not(this=exp.Is(this=exp.column("__next"), expression=exp.Null())))
        parts.append(part)
    parts.append(exp.select("__k", "__t", exp.alias_(exp.Literal.number(_APPENDED), "__tag"),
                            exp.alias_(exp.Literal.number(_APPENDED), "__which"),
                            exp.alias_(exp.Null(), "__pk")).from_("__a"))
    union: exp.Expression = parts[0]
    for part in parts[1:]:
        union = exp.Union(this=union, expression=part, distinct=False)
    is_appended = exp.Case(ifs=[exp.If(this=exp.EQ(this=exp.column("__which"), expression=exp.Literal.number(_APPENDED)),
                                       true=exp.Literal.number(1))], default=exp.Literal.number(0))
    running = exp.Window(
        this=exp.Sum(this=is_appended), partition_by=[exp.column("__k")],
        order=exp.Order(expressions=[exp.Ordered(this=exp.column("__t"), nulls_first=False),
                                     exp.Ordered(this=exp.column("__tag"), nulls_first=False)]),
        spec=exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING", end="CURRENT ROW"),
    )
    total = exp.Window(this=exp.Sum(this=is_appended.copy()), partition_by=[exp.column("__k")])
    counted = exp.select("__pk", "__k", "__which", exp.alias_(running, "__cnt"), exp.alias_(total, "__total")).from_(
        exp.Subquery(this=union, alias=exp.TableAlias(this=exp.to_identifier("__probes"))))

    def count_at(which: int) -> exp.Expression:
        return exp.Max(this=exp.Case(ifs=[exp.If(this=exp.EQ(this=exp.column("__which"), expression=exp.Literal.number(which)),
                                                 true=exp.column("__cnt"))]))

    total_n = exp.Max(this=exp.column("__total"))
    if window == "before":
        lo, hi = exp.Literal.number(0), count_at(_LT)
    elif window == "after":
        lo, hi = count_at(_LE), total_n
    else:
        lo, hi = count_at(_LE), exp.Coalesce(this=count_at(_NEXT), expressions=[total_n])
    return (
        exp.select("__pk", "__k", exp.alias_(lo, "__lo"), exp.alias_(hi, "__hi"))
        .from_(exp.Subquery(this=counted, alias=exp.TableAlias(this=exp.to_identifier("__counted"))))
        .where(exp.NEQ(this=exp.column("__which"), expression=exp.Literal.number(_APPENDED)))
        .group_by("__pk", "__k")
    )
