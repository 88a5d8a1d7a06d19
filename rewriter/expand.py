"""Expand lens members into SQL over an entity's rows.

A field becomes ``alias.column``; a dimension becomes its snippet with every ``${entity.member}`` reference
expanded recursively and every bare column qualified by the entity's alias; a measure becomes its
aggregate (``count`` → ``COUNT(x)``, ``count_distinct`` → ``COUNT(DISTINCT x)``, ``number`` → the snippet,
which already aggregates). Snippets stay ASTs parsed in the lens dialect; the caller renders the whole
query in the backend dialect, which is where the dialect translation happens.
"""

from __future__ import annotations

from sqlglot import exp

from rewriter.errors import FeatureNotSupported, SqlError
from rewriter.lens import Dimension, Entity, Field, Lens, Measure, Member, is_reference, reference_target

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


class Expander:
    """Expands members of one entity instance (``entity`` read through the row source ``alias``)."""

    def __init__(self, lens: Lens, entity: Entity, alias: str) -> None:
        self.lens = lens
        self.entity = entity
        self.alias = alias

    def row_expression(self, member: Member) -> exp.Expression:
        """A field or dimension as a per-row expression."""
        if isinstance(member, Measure):
            raise SqlError(f"{member.name} is a measure, not a per-row value", sqlstate="42803")
        return self._expand_row(member, ())

    def measure_expression(self, measure: Measure) -> exp.Expression:
        """A measure as an aggregate expression over the entity's rows."""
        return self._expand_measure(measure, ())

    # -- internals ------------------------------------------------------------------------------------

    def _expand_row(self, member: Member, stack: tuple[str, ...]) -> exp.Expression:
        if isinstance(member, Field) and member.column:
            return exp.column(exp.to_identifier(member.column), table=exp.to_identifier(self.alias))
        if isinstance(member, Dimension) and member.sub_query:
            raise FeatureNotSupported(
                f"dimension {self.entity.name}.{member.name} is a sub_query dimension, not supported yet",
                hint="select the related entity's measure grouped by this entity's key instead",
            )
        return self._expand_snippet(member, stack, in_aggregate=False)

    def _expand_measure(self, measure: Measure, stack: tuple[str, ...]) -> exp.Expression:
        if measure.rolling_window is not None or measure.measure_type == "running_total":
            raise FeatureNotSupported(
                f"measure {self.entity.name}.{measure.name} ({measure.measure_type}"
                f"{', rolling_window' if measure.rolling_window else ''}) is not supported yet",
                hint="use a window function over the grouped query instead",
            )
        inner = self._expand_snippet(measure, stack, in_aggregate=True)
        kind = measure.measure_type
        agg = AGGREGATES.get(kind)
        if kind == "number":
            return inner
        if agg is None:
            raise FeatureNotSupported(f"measure type {kind!r} is not supported")
        if kind == "count_distinct":
            return exp.Count(this=exp.Distinct(expressions=[inner]))
        return agg(this=inner)

    def _expand_snippet(self, member: Member, stack: tuple[str, ...], *, in_aggregate: bool) -> exp.Expression:
        key = f"{self.entity.name}.{member.name}"
        if key in stack:
            raise SqlError(f"reference cycle: {' -> '.join((*stack, key))}", sqlstate="42P17")
        stack = (*stack, key)

        def replace(node: exp.Expression) -> exp.Expression:
            if not isinstance(node, exp.Column):
                return node
            if is_reference(node):
                entity_name, member_name = reference_target(node)
                if entity_name.lower() != self.entity.name.lower():
                    raise FeatureNotSupported(
                        f"{key} references another entity ({entity_name}.{member_name}); "
                        "cross-entity references are not supported yet"
                    )
                target = self.entity.member(member_name)
                if target is None:
                    raise SqlError(f"{key} references unknown member {entity_name}.{member_name}", sqlstate="42703")
                if isinstance(target, Measure):
                    if not in_aggregate:
                        raise FeatureNotSupported(f"dimension {key} references measure {member_name}")
                    return _parenthesize(self._expand_measure(target, stack))
                return _parenthesize(self._expand_row(target, stack))
            if not node.table and not isinstance(node.this, exp.Star):
                return exp.column(node.this.copy(), table=exp.to_identifier(self.alias))
            return node

        expression = member.sql()
        if isinstance(expression, exp.Column):  # transform() replaces the root too, but keep it explicit
            return replace(expression)
        return expression.transform(replace)


def _parenthesize(node: exp.Expression) -> exp.Expression:
    """Keep operator precedence when a reference expands into a compound expression."""
    if isinstance(node, exp.Column | exp.Literal | exp.Func | exp.Paren):
        return node
    return exp.Paren(this=node)
