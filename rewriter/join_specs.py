"""Read what a client's FROM clause says about joining lens entities: one ``JoinSpec`` per joined entity.

Postgres rules first: an ON may name only the entities to its left and the one it joins (42P01 otherwise,
with Postgres's message), ``USING (x)`` needs ``x`` in exactly one entity to the left and in the joined one
(42703/42702 otherwise) and means ``left.x = right.x``. Then lens rules:

- an ON conjunct ``left.f = right.g`` that is a declared relationship makes the join that relationship
  (with the client's join type); the ON's other conjuncts stay on that join when they name only the two
  entities, otherwise the whole ON is kept as written;
- an ON naming no other entity (``JOIN b ON b.x > 1``) or no ON at all (``FROM a, b``, ``CROSS JOIN``):
  the lens connects the entity (``rewriter.join_paths``), and the ON's conjuncts filter that join.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlglot import exp

from rewriter.errors import AmbiguousColumn, FeatureNotSupported, UndefinedColumn, UndefinedTable
from rewriter.joins import JoinSpec, conjuncts
from rewriter.lens import Entity, Lens


@dataclass(frozen=True, slots=True)
class UsingColumn:
    """A column merged by ``JOIN … USING``: an unqualified reference means the left entity's column (the
    right one's for a RIGHT join, the first non-NULL of both for a FULL join), as in Postgres."""

    name: str
    left: str  # aliases
    right: str
    side: str | None


def read_join_specs(
    select: exp.Select, entities: dict[str, Entity], lens: Lens
) -> tuple[dict[str, JoinSpec], dict[str, UsingColumn]]:
    """``entities`` maps each lens alias of the scope (lower-case) to its entity. Returns the specs by alias
    and the USING columns by name; converts every USING between entities into the equivalent ON."""
    from_ = select.args.get("from_")
    placed = [_alias(from_.this)] if from_ is not None else []
    every = set(placed) | {_alias(j.this) for j in select.args.get("joins") or []}
    specs: dict[str, JoinSpec] = {}
    using: dict[str, UsingColumn] = {}
    for join in select.args.get("joins") or []:
        alias = _alias(join.this)
        if alias not in entities or not isinstance(join.this, exp.Table):
            placed.append(alias)
            continue
        side = (join.args.get("side") or "").upper() or None
        kind = (join.args.get("kind") or "").upper()
        if join.args.get("using"):
            _using_to_on(join, alias, placed, entities, side, using)
        on = join.args.get("on")
        if kind == "CROSS" or on is None or (isinstance(on, exp.Boolean) and on.this is True):
            specs[alias] = JoinSpec(side=side)
        else:
            specs[alias] = _spec_for_on(join, alias, side or "INNER", placed, every, entities, lens)
        placed.append(alias)
    return specs, using


def _alias(source: exp.Expression) -> str:
    return source.alias_or_name.lower()


def _using_to_on(join: exp.Join, alias: str, placed: list[str], entities: dict[str, Entity], side: str | None,
                 using: dict[str, UsingColumn]) -> None:
    equalities = []
    for column in join.args["using"]:
        name = column.name
        lefts = [a for a in placed if a in entities and entities[a].member(name) is not None]
        if any(a not in entities for a in placed) and not lefts:
            raise FeatureNotSupported(
                "JOIN … USING between a lens entity and a non-lens source is not supported",
                hint="write JOIN … ON",
            )
        if not lefts:
            raise UndefinedColumn(f'column "{name}" specified in USING clause does not exist in left table')
        if len(lefts) > 1:
            raise AmbiguousColumn(f'common column name "{name}" appears more than once in left table')
        if entities[alias].member(name) is None:
            raise UndefinedColumn(f'column "{name}" specified in USING clause does not exist in right table')
        equalities.append(exp.EQ(this=exp.column(name, table=lefts[0]), expression=exp.column(name, table=alias)))
        using.setdefault(name.lower(), UsingColumn(name, lefts[0], alias, side))
    join.set("using", None)
    join.set("on", exp.and_(*equalities))


def _spec_for_on(join: exp.Join, alias: str, side: str, placed: list[str], every: set[str],
                 entities: dict[str, Entity], lens: Lens) -> JoinSpec:
    parts = conjuncts(join.args["on"])
    named = [_aliases_named(p, alias, placed, every, entities) for p in parts]
    others = [a for names in named for a in names if a != alias]
    if any(a not in entities for a in others):
        raise FeatureNotSupported(
            "a JOIN condition between lens entities cannot name a non-lens source",
            hint="join the lens entities first, then the CTE or subquery",
        )
    for i, part in enumerate(parts):
        match = _relationship(part, alias, placed, entities)
        if match is None:
            continue
        partner, rel, forward = match
        extras = tuple(j for j in range(len(parts)) if j != i)
        if all(named[j] <= {alias, partner} for j in extras):
            return JoinSpec(side, partner, rel, forward, join if extras else None, extras)
        break
    if others:
        partner = max(others, key=placed.index)  # the latest: every entity the ON names is joined by then
        return JoinSpec(side, partner, None, True, join, None)
    return JoinSpec(side, None, None, True, join, None)


def _aliases_named(part: exp.Expression, alias: str, placed: list[str], every: set[str],
                   entities: dict[str, Entity]) -> set[str]:
    names = set()
    scope = part.find_ancestor(exp.Query)
    for column in part.find_all(exp.Column):
        if column.find_ancestor(exp.Query) is not scope:
            continue  # a column of a subquery inside the ON is that subquery's business
        table = column.table.lower()
        if table:
            if table != alias and table not in placed and table in every:
                raise UndefinedTable(
                    f'invalid reference to FROM-clause entry for table "{column.table}"',
                    hint=f'There is an entry for table "{column.table}", but it cannot be referenced from this '
                    "part of the query.",
                )
            if table == alias or table in placed:
                names.add(table)
            continue
        owners = [a for a in [*placed, alias] if a in entities and entities[a].member(column.name) is not None]
        if len(owners) == 1:
            names.add(owners[0])
    return names


def _relationship(part: exp.Expression, alias: str, placed: list[str], entities: dict[str, Entity]):
    """(partner alias, relationship, partner declares it) when ``part`` is ``x.f = alias.g`` for a declared
    relationship between an earlier entity ``x`` and this one."""
    if not isinstance(part, exp.EQ):
        return None
    sides = [_member_of(c, alias, placed, entities) for c in (part.this, part.expression)]
    if None in sides:
        return None
    (a1, f1), (a2, f2) = sides  # type: ignore[misc]
    if a1 == alias:
        (a1, f1), (a2, f2) = (a2, f2), (a1, f1)
    if a2 != alias or a1 == alias:
        return None
    partner, mine = entities[a1], entities[alias]
    for rel in partner.relationships:
        if rel.target.lower() == mine.name.lower() and rel.field.lower() == f1 and rel.target_field.lower() == f2:
            return a1, rel, True
    for rel in mine.relationships:
        if rel.target.lower() == partner.name.lower() and rel.field.lower() == f2 and rel.target_field.lower() == f1:
            return a1, rel, False
    return None


def _member_of(node: exp.Expression, alias: str, placed: list[str], entities: dict[str, Entity]):
    if not isinstance(node, exp.Column):
        return None
    candidates = [a for a in [*placed, alias] if a in entities]
    if node.table:
        table = node.table.lower()
        if table in candidates and entities[table].member(node.name) is not None:
            return table, node.name.lower()
        return None
    owners = [a for a in candidates if entities[a].member(node.name) is not None]
    return (owners[0], node.name.lower()) if len(owners) == 1 else None

