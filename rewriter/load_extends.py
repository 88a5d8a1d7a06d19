"""``extends`` in a lens: an entity inherits its parent's definition, node by node, and a snippet written
against the parent's name means the inheriting entity (as ``${ENTITY.member}`` does).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from sqlglot import exp

from rewriter.lens import Entity, Relationship, is_reference
from rewriter.load_nodes import Src, peek

MEMBER_KINDS = ("fields", "dimensions", "measures")


@dataclass
class Body:
    """What an entity defines, after ``extends``: its sql node and member/relationship nodes."""

    sql: Src | None
    members: dict[str, list[Src]]
    relationships: list[Src]


def merge(parent: Body, own: Body) -> Body:
    """``own`` over ``parent``: same-named members are replaced in place, new ones appended."""
    own_names = {(peek(s, "name") or "").lower() for kind in MEMBER_KINDS for s in own.members[kind]}
    members: dict[str, list[Src]] = {}
    for kind in MEMBER_KINDS:
        own_by_name: dict[str, Src] = {}
        for s in own.members[kind]:
            own_by_name.setdefault((peek(s, "name") or "").lower(), s)
        merged: list[Src] = []
        for s in parent.members[kind]:
            name = (peek(s, "name") or "").lower()
            if name in own_by_name:
                merged.append(own_by_name[name])
            elif name not in own_names:
                merged.append(s)
        merged += [s for s in own.members[kind] if all(s is not m for m in merged)]
        members[kind] = merged
    own_targets = {(peek(r, "target", "name") or "").lower() for r in own.relationships}
    inherited = [
        r for r in parent.relationships if (peek(r, "target", "name") or "").lower() not in own_targets
    ]
    return Body(own.sql or parent.sql, members, inherited + own.relationships)


def ancestors(name: str, parents: dict[str, str]) -> tuple[str, ...]:
    """The entities ``name`` extends (``parents``: entity -> the one it extends, lower case), nearest
    first (cycles are reported elsewhere; stopped here)."""
    chain: list[str] = []
    current = parents.get(name.lower(), "")
    while current and current not in chain and current != name.lower():
        chain.append(current)
        current = parents.get(current, "")
    return tuple(chain)


def rebind_ancestors(entity: Entity, ancestors: tuple[str, ...]) -> Entity:
    """In an entity that extends others, ``${parent.member}`` means this entity's member, as ``${ENTITY.member}``
    does: an inherited snippet written against its parent's name belongs to whichever entity inherits it."""
    if not ancestors:
        return entity

    def rebind(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Column) and is_reference(node) and node.table.lower() in ancestors:
            rebound = node.copy()
            rebound.set("table", exp.to_identifier(entity.name, quoted=True))
            return rebound
        return node

    def member(m):
        return replace(m, expression=m.expression.copy().transform(rebind))

    def relationship(r: Relationship) -> Relationship:
        if r.extra_condition is None:
            return r
        return replace(r, extra_condition=r.extra_condition.copy().transform(rebind))

    return replace(entity, fields=tuple(map(member, entity.fields)), dimensions=tuple(map(member, entity.dimensions)),
                   measures=tuple(map(member, entity.measures)),
                   relationships=tuple(map(relationship, entity.relationships)))


