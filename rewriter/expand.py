"""Expand lens members into SQL over an entity's rows.

A field becomes ``alias.column``; a dimension becomes its snippet with every ``${entity.member}`` reference
expanded recursively and every bare column qualified by the entity's alias; a measure becomes its
aggregate (``count`` → ``COUNT(x)``, ``count_distinct`` → ``COUNT(DISTINCT x)``, ``number`` → the snippet,
which already aggregates). Snippets stay ASTs parsed in the lens dialect; the caller renders the whole
query in the backend dialect, which is where the dialect translation happens.
"""

from __future__ import annotations

from sqlglot import exp

from rewriter import temporal as temporal_sql
from rewriter.errors import FeatureNotSupported, SqlError
from rewriter.lens import (
    REF_CATALOG,
    Appended,
    Dimension,
    Entity,
    Field,
    Lens,
    Measure,
    Member,
    is_reference,
    reference_target,
)
from rewriter.load_checks import PARAM_TABLE, SQL_REF_MEMBER
from rewriter.policy import EVERYTHING, REDACTED, Access, Mask

# measure type -> the aggregate it applies to its snippet (None: the snippet is already an aggregate)
AGGREGATES: dict[str, type[exp.AggFunc] | None] = {
    "count": exp.Count,
    "count_distinct": exp.Count,
    "count_distinct_approx": exp.ApproxDistinct,
    "sum": exp.Sum,
    "avg": exp.Avg,
    "min": exp.Min,
    "max": exp.Max,
    "number": None,
}


RUNNING_TOTAL_META = "lens_running_total"
ROLLING_META = "lens_rolling_window"


def accumulate(node: exp.Expression, order: list[exp.Expression]) -> exp.Expression:
    """A running total: the grouped sum, summed again over the grain in order (cumulative)."""
    spec = exp.WindowSpec(kind="ROWS", start="UNBOUNDED", start_side="PRECEDING", end="CURRENT ROW")
    return exp.Window(
        this=exp.Sum(this=node),
        order=exp.Order(expressions=[exp.Ordered(this=o.copy(), nulls_first=False) for o in order]) if order else None,
        spec=spec,
    )


class Expander:
    """Expands members of one entity instance (``entity`` read through the row source ``alias``).

    ``access`` (``rewriter.policy``) is what the querying identity may see: every row source it builds
    keeps only the rows its row filters allow, and every member value the client can observe comes out
    masked where a mask applies (``row_expression``); the lens's own structure (relationship keys,
    primary keys, temporal ordering, row filters) uses raw values (``raw_expression``).
    """

    def __init__(self, lens: Lens, entity: Entity, alias: str, params: dict[str, str] | None = None,
                 access: Access = EVERYTHING, filtering: tuple[str, ...] = ()) -> None:
        self.lens = lens
        self.entity = entity
        self.alias = alias
        self.params = params or {}
        self.access = access
        self.filtering = filtering  # entities whose row filter is being expanded (no filter recursion)
        self.appended: list[str] = []  # temporal relationships whose columns were used (their order of use)
        self.related: dict[str, tuple[Entity, Measure]] = {}  # sub_query measures used, by their column name

    def other(self, entity: Entity, alias: str) -> Expander:
        """An expander for another entity instance of the same query (same parameters and access)."""
        return Expander(self.lens, entity, alias, self.params, self.access, self.filtering)

    def plain_source(self) -> exp.Expression:
        """``(<entity SQL>) AS alias``, only the rows the access allows."""
        return entity_source(self.lens, self.entity, self.alias, self.params, self.access, self.filtering)

    def source(self) -> exp.Expression:
        """The entity's row source under this alias, with the columns the expanded members used beyond the
        entity's own: temporal relationships' (each joined once, however many of its columns are used) and
        ``sub_query`` measures' (each an aggregate per row of this entity, joined on its primary key)."""
        if not self.appended and not self.related:
            return self.plain_source()
        used = [t for name in self.appended if (t := self.entity.temporal(name)) is not None]
        base = entity_query(self.lens, self.entity, self.params, (), self.access, self.filtering)
        query = temporal_sql.extended_source(base, self.entity, used, self.other, self.lens.activity_schema)
        for column, (other, measure) in self.related.items():
            self._join_related(query, column, other, measure)
        return exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier(self.alias)))

    def _join_related(self, query: exp.Select, column: str, other: Entity, measure: Measure) -> None:
        """``LEFT JOIN (SELECT <pk>, <measure> FROM <this entity> JOIN <other> ON <relationship>
        GROUP BY <pk>) ON <pk>``: a sub_query value for every row at once, which engines without
        decorrelation (PostgreSQL) run as one hash join instead of a scan per row."""
        rows, related = self.other(self.entity, "__c_src"), self.other(other, "__s")
        condition, _ = rows._correlation(related)
        key = rows.raw_expression(self.entity.member(self.entity.primary_key[0]))  # type: ignore[arg-type]
        inner = exp.select(exp.alias_(key, "__pk"), exp.alias_(related._expand_measure(measure, ()), "__v"))
        inner.set("from_", exp.From(this=rows.source()))
        inner.set("joins", [exp.Join(this=related.source(), on=condition, kind="INNER")])
        inner.set("group", exp.Group(expressions=[key.copy()]))
        alias = f"__r_{len(query.args.get('joins') or [])}"
        cohort_key = self.other(self.entity, temporal_sql.COHORT_ALIAS).raw_expression(
            self.entity.member(self.entity.primary_key[0]))  # type: ignore[arg-type]
        query.append("joins", exp.Join(this=exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(alias))),
                                       on=exp.EQ(this=exp.column("__pk", table=alias), expression=cohort_key), side="LEFT"))
        value: exp.Expression = exp.column("__v", table=alias)
        if measure.measure_type in ("count", "count_distinct", "count_distinct_approx"):
            value = exp.Coalesce(this=value, expressions=[exp.Literal.number(0)])  # no related rows: 0
        query.append("expressions", exp.alias_(value, column, quoted=True))

    def row_expression(self, member: Member) -> exp.Expression:
        """A field or dimension as a per-row expression, masked where the access masks it."""
        if isinstance(member, Measure):
            raise SqlError(f"{member.name} is a measure, not a per-row value", sqlstate="42803")
        return self._expand_row(member, ())

    def raw_expression(self, member: Member) -> exp.Expression:
        """The unmasked value, for the lens's own structure (join keys, primary keys, ordering)."""
        return self._expand_row(member, (), raw=True)

    def condition(self, condition: exp.Expression) -> exp.Expression:
        """A policy condition over this entity (``${entity.member}`` references, raw values)."""
        probe = Dimension(name="__condition", type="bool", expression=condition, snippet="")
        return self._expand_snippet(probe, (), in_aggregate=False, raw=True)

    def measure_expression(self, measure: Measure) -> exp.Expression:
        """A measure as an aggregate expression over the entity's rows."""
        return self._expand_measure(measure, ())

    # -- internals ------------------------------------------------------------------------------------

    def _expand_row(self, member: Member, stack: tuple[str, ...], raw: bool = False) -> exp.Expression:
        if isinstance(member, Appended):  # a column of the extended row source (see ``source``)
            if member.relationship not in self.appended:
                self.appended.append(member.relationship)
            value = exp.column(exp.to_identifier(member.name, quoted=True), table=exp.to_identifier(self.alias))
        elif isinstance(member, Field) and member.column:
            value = exp.column(exp.to_identifier(member.column), table=exp.to_identifier(self.alias))
        else:
            value = self._expand_snippet(member, stack, in_aggregate=False, raw=raw)
        mask = None if raw else self.access.mask(self.entity.name, member.name)
        return self._masked(mask, value, member) if mask is not None else value

    def _masked(self, mask: Mask, value: exp.Expression, member: Member) -> exp.Expression:
        if mask.func == "sql":
            probe = Dimension(name="__mask", type=member.type, expression=mask.expression, snippet="")
            return _parenthesize(self._expand_snippet(probe, (), in_aggregate=isinstance(member, Measure), raw=True))
        return apply_mask(mask, value, is_text=member.type == "string" and not isinstance(member, Measure))

    def _expand_measure(self, measure: Measure, stack: tuple[str, ...]) -> exp.Expression:
        result = self._measure_value(measure, stack)
        mask = self.access.mask(self.entity.name, measure.name)
        if mask is not None:
            masked = self._masked(mask, result, measure)
            masked.meta.update(result.meta)
            return masked
        return result

    def _measure_value(self, measure: Measure, stack: tuple[str, ...]) -> exp.Expression:
        inner = self._expand_snippet(measure, stack, in_aggregate=True)
        inner = self._own_rows_counted(inner)
        kind = measure.measure_type
        if kind == "running_total":
            total = exp.Sum(this=inner)
            total.meta[RUNNING_TOTAL_META] = True  # the rewriter accumulates it over the query's grain
            return total
        if kind == "number":
            result = _null_if_divided_by_zero(inner)
        else:
            result = self._aggregate(kind, inner)
        if measure.rolling_window is not None:
            result.meta[ROLLING_META] = measure.rolling_window  # the rewriter windows it over the time grain
        return result

    def _own_rows_counted(self, node: exp.Expression) -> exp.Expression:
        """``count(*)`` in a measure counts the entity's own rows: its primary key's non-NULL values. A plan
        may LEFT JOIN the entity (a group with none of its rows keeps its row of NULLs), where ``count(*)``
        would count that row; without a primary key it stays ``count(*)``."""
        key = self.entity.primary_key
        if not key:
            return node

        def replace(n: exp.Expression) -> exp.Expression:
            if isinstance(n, exp.Count) and isinstance(n.this, exp.Star):
                return exp.Count(this=self._field(key[0]))  # raw: the key counts rows, masked or not
            return n

        return node.transform(replace)

    def _aggregate(self, kind: str, inner: exp.Expression) -> exp.Expression:
        agg = AGGREGATES.get(kind)
        if agg is None:
            raise FeatureNotSupported(f"measure type {kind!r} is not supported")
        if kind == "count_distinct":
            return exp.Count(this=exp.Distinct(expressions=[inner]))
        return agg(this=inner)

    def _related_measure(self, entity_name: str, measure_name: str, stack: tuple[str, ...]) -> exp.Expression:
        """A ``sub_query`` dimension's ``${other.measure}``: that measure over the related rows of this row,
        as a correlated scalar subquery along the relationship declared between the two entities (its key
        equality and its ``sql_snippet``). Over no related rows a count is 0, any other measure NULL."""
        other = self.lens.entity(entity_name)
        measure = other.member(measure_name) if other is not None else None
        if other is None or not isinstance(measure, Measure):
            raise SqlError(f"{entity_name}.{measure_name} is not a measure", sqlstate="42703")
        if self.entity.primary_key:  # joined once for every row (see ``source``)
            column = f"__sub_{other.name}_{measure.name}"
            self.related.setdefault(column, (other, measure))
            return exp.column(exp.to_identifier(column, quoted=True), table=exp.to_identifier(self.alias))
        inner = self.other(other, f"__sub_{other.name}")  # no key to join back on: a correlated subquery
        condition, _ = self._correlation(inner)
        return self._scalar(inner, inner._expand_measure(measure, stack), condition)

    def _related_value(self, entity_name: str, member_name: str, stack: tuple[str, ...], raw: bool = False) -> exp.Expression:
        """A dimension's ``${other.field}`` (no ``sub_query``): the related row's value, along a relationship
        on which this row has at most one related row (N:1 or 1:1 from here); NULL without one."""
        other = self.lens.entity(entity_name)
        member = other.member(member_name) if other is not None else None
        if other is None or member is None:
            raise SqlError(f"unknown member {entity_name}.{member_name}", sqlstate="42703")
        if isinstance(member, Measure):
            raise FeatureNotSupported(
                f"{self.entity.name} references measure {other.name}.{member.name} in a per-row value",
                hint="declare the dimension with sub_query: true",
            )
        inner = self.other(other, f"__ref_{other.name}")
        condition, one = self._correlation(inner)
        if not one:
            raise FeatureNotSupported(
                f"{self.entity.name} references {other.name}.{member.name} across a relationship with many "
                f"{other.name} rows per {self.entity.name} row",
                hint=f"aggregate it: a measure of {other.name} in a sub_query dimension",
            )
        return self._scalar(inner, inner._expand_row(member, stack, raw=raw), condition)

    def _correlation(self, inner: Expander) -> tuple[exp.Expression, bool]:
        """The join condition between this entity's row and ``inner``'s rows (relationship keys and extra
        condition), and whether it matches at most one ``inner`` row (N:1 or 1:1 seen from here)."""
        other = inner.entity
        for rel in self.entity.relationships:
            if rel.target.lower() == other.name.lower():
                condition: exp.Expression = exp.EQ(this=self._field(rel.field), expression=inner._field(rel.target_field))
                if rel.extra_condition is not None:  # the relationship's sql_snippet is part of the join
                    condition = exp.and_(condition, expand_pair(rel.extra_condition, self, inner))
                return condition, rel.kind in ("N:1", "1:1") and rel.extra_condition is None
        for rel in other.relationships:
            if rel.target.lower() == self.entity.name.lower():
                condition = exp.EQ(this=inner._field(rel.field), expression=self._field(rel.target_field))
                if rel.extra_condition is not None:
                    condition = exp.and_(condition, expand_pair(rel.extra_condition, inner, self))
                return condition, rel.kind in ("1:N", "1:1") and rel.extra_condition is None
        raise FeatureNotSupported(
            f"{self.entity.name} references {other.name}, but no relationship is declared between them",
            hint=f"declare a relationship between {self.entity.name} and {other.name}",
        )

    def _scalar(self, inner: Expander, value: exp.Expression, condition: exp.Expression) -> exp.Expression:
        select = exp.Select(expressions=[value])
        select.set("from_", exp.From(this=inner.source()))
        select.set("where", exp.Where(this=condition))
        return exp.Subquery(this=select)

    def _field(self, name: str) -> exp.Expression:
        """A member's raw value, for keys and join conditions the lens defines."""
        member = self.entity.member(name)
        if member is None:
            raise SqlError(f"{self.entity.name} has no member {name}", sqlstate="42703")
        return self._expand_row(member, (), raw=True)

    def _expand_snippet(self, member: Member, stack: tuple[str, ...], *, in_aggregate: bool,
                        raw: bool = False) -> exp.Expression:
        key = f"{self.entity.name}.{member.name}"
        if key in stack:
            raise SqlError(f"reference cycle: {' -> '.join((*stack, key))}", sqlstate="42P17")
        stack = (*stack, key)

        def replace(node: exp.Expression) -> exp.Expression:
            if not isinstance(node, exp.Column):
                return node
            if node.table == PARAM_TABLE and not node.db:
                return param_literal(self.params.get(node.name.lower()))
            if is_reference(node):
                entity_name, member_name = reference_target(node)
                if entity_name.lower() != self.entity.name.lower() and getattr(member, "sub_query", False):
                    return self._related_measure(entity_name, member_name, stack)
                if entity_name.lower() != self.entity.name.lower():
                    return self._related_value(entity_name, member_name, stack, raw)
                target = self.entity.member(member_name)
                if target is None:
                    raise SqlError(f"{key} references unknown member {entity_name}.{member_name}", sqlstate="42703")
                if isinstance(target, Measure):
                    if not in_aggregate:
                        raise FeatureNotSupported(f"dimension {key} references measure {member_name}")
                    return _parenthesize(self._expand_measure(target, stack))
                return _parenthesize(self._expand_row(target, stack, raw))
            if not node.table and not isinstance(node.this, exp.Star):
                return exp.column(node.this.copy(), table=exp.to_identifier(self.alias))
            return node

        expression = member.sql()
        if isinstance(expression, exp.Column):  # transform() replaces the root too, but keep it explicit
            return replace(expression)
        return expression.transform(replace)


def expand_pair(condition: exp.Expression, first: Expander, second: Expander) -> exp.Expression:
    """A relationship's extra condition (its ``sql_snippet``), whose ``${entity.member}`` references name
    either side: ``first`` is the declaring entity's instance, ``second`` the target's."""

    def replace(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and is_reference(node):
            entity_name, member_name = reference_target(node)
            for expander in (first, second):
                if expander.entity.name.lower() == entity_name.lower():
                    return _parenthesize(expander._field(member_name))
        return node

    return condition.copy().transform(replace)


def entity_source(lens: Lens, entity: Entity, alias: str, params: dict[str, str] | None = None,
                  access: Access = EVERYTHING, filtering: tuple[str, ...] = ()) -> exp.Expression:
    """``(<entity SQL>) AS alias``, with ``${other.sql()}`` inlined, ``{{param}}`` values applied and only
    the rows ``access``'s row filters allow."""
    query = entity_query(lens, entity, params or {}, (), access, filtering)
    return exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier(alias)))


def entity_query(lens: Lens, entity: Entity, params: dict[str, str], stack: tuple[str, ...],
                 access: Access = EVERYTHING, filtering: tuple[str, ...] = ()) -> exp.Expression:
    if entity.name in stack:
        raise SqlError(f"${{{entity.name}.sql()}} cycle: {' -> '.join((*stack, entity.name))}", sqlstate="42P17")

    def replace(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and node.table == PARAM_TABLE and not node.db:
            return param_literal(params.get(node.name.lower()))
        if isinstance(node, exp.Table) and node.catalog == REF_CATALOG and node.name == SQL_REF_MEMBER:
            other = lens.entity(node.db)
            if other is None:
                raise SqlError(f"unknown entity {node.db} in ${{{node.db}.sql()}}", sqlstate="42P01")
            inner = entity_query(lens, other, params, (*stack, entity.name), access, filtering)
            return exp.Subquery(this=inner, alias=exp.TableAlias(this=exp.to_identifier(node.alias or other.name)))
        return node

    query = entity.query.copy().transform(replace)
    condition = access.row_filter(entity.name)
    if condition is None or entity.name in filtering:
        return query
    rows = Expander(lens, entity, "__rows", params, access, (*filtering, entity.name))
    return exp.select("*").from_(exp.Subquery(this=query, alias=exp.TableAlias(this=exp.to_identifier("__rows")))).where(
        rows.condition(condition))


def apply_mask(mask: Mask, value: exp.Expression, *, is_text: bool) -> exp.Expression:
    """A value as a mask shows it (NULL stays NULL; a non-text value redacted is NULL, keeping its type)."""
    text = exp.Cast(this=value.copy(), to=exp.DataType.build("text"))

    def unless_null(shown: exp.Expression) -> exp.Expression:
        return exp.Case(ifs=[exp.If(this=exp.Is(this=value.copy(), expression=exp.Null()), true=exp.Null())],
                        default=shown)

    if mask.func == "md5":
        return exp.MD5(this=text)
    if mask.func == "sha256":
        return exp.SHA2(this=text, length=exp.Literal.number(256))
    if mask.func == "redact" and is_text:
        return unless_null(exp.Literal.string(REDACTED))
    if mask.func == "keep_last":
        n = exp.Literal.number(mask.keep)
        stars = exp.Repeat(this=exp.Literal.string("*"), times=exp.Greatest(
            this=exp.Sub(this=exp.Length(this=text.copy()), expression=n), expressions=[exp.Literal.number(0)]))
        return unless_null(exp.Concat(expressions=[stars, exp.Right(this=text.copy(), expression=n.copy())]))
    # null, and redact of a non-text value: NULL of the value's own type
    return exp.Case(ifs=[exp.If(this=exp.false(), true=value.copy())])


def param_literal(value: str | None) -> exp.Expression:
    """A session's ``SET lens.name = value`` as a typed literal: a value, never SQL to parse."""
    if value is None:
        return exp.Null()
    try:
        float(value)
    except ValueError:
        return exp.Literal.string(value)
    return exp.Literal.number(value)


def _null_if_divided_by_zero(node: exp.Expression) -> exp.Expression:
    """A ``number`` measure's divisions over aggregates give NULL for a zero divisor (a ratio of nothing),
    on every backend, rather than an error, NaN or infinity. Row-level divisions inside an aggregate keep
    their own meaning."""

    def replace(n: exp.Expression) -> exp.Expression:
        if isinstance(n, exp.Div) and n.find_ancestor(exp.AggFunc) is None:
            n.set("expression", exp.Nullif(this=n.expression, expression=exp.Literal.number(0)))
        return n

    return node.transform(replace)


def _parenthesize(node: exp.Expression) -> exp.Expression:
    """Keep operator precedence when a reference expands into a compound expression."""
    if isinstance(node, exp.Column | exp.Literal | exp.Func | exp.Paren):
        return node
    return exp.Paren(this=node)
