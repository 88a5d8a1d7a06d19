"""Who may see what of a lens: the policy model, and its resolution for one identity into an ``Access``.

Sources of policy, all in the lens (loaded by ``rewriter.load_policy``):

- Lens 2 ``user_groups`` (lens level): ordered; a user belongs to the **first** group whose ``includes``
  match (``"*"``, ``users:id:<user>``, ``roles:<role>``) and whose ``excludes`` do not. When a lens declares
  user groups, a user in none of them has no access to it (as Lens 2's empty ``default`` group).
  Without ``user_groups``, a user's groups are its roles (the users file; ``SET ROLE`` narrows them to one).
- Lens 2 ``meta.secure`` on a field or dimension: masked (``redact``/``md5``, and our other masks) for the
  groups it ``includes`` except those it ``excludes``.
- Lens 2 ``segments`` with ``meta.secure``: forced as a row filter for the groups they select.
- Our ``policies`` (lens level, optionally for one ``entity``, or on an entity): for the ``groups`` they
  name, member access (``members: {includes, excludes}``), a ``row_filter`` (values from user attributes:
  ``{{ user.states }}``), and ``masks`` per member.

Precedence (documented in the README):

1. An entity no policy names is open (members, rows) to everyone; ``meta.secure`` masks and secured
   segments still apply.
2. An entity some policy names is **denied** to a user no such policy matches ("a policy defined denies
   everyone else"): it is as absent as an unknown table (42P01).
3. Several matching policies **add up** (the union of what each grants): visible members are the union of
   each policy's ``includes`` minus its own ``excludes``; rows are the OR of their row filters (a policy
   without one grants every row); a member is masked only if every matching policy masks it (then with the
   first one's mask).
4. ``meta.secure`` masks apply on top (they are forced), and so do secured segments (ANDed with the rest).
5. A denied member is as absent as an unknown one (42703, never named in a hint or the catalog).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from sqlglot import exp

from rewriter.lens import (
    MASK_FUNCS,
    REDACTED,
    USER_TABLE,
    Entity,
    GroupSelector,
    Lens,
    Mask,
    Policy,
    SecureMember,
    Segment,
    UserGroup,
)

__all__ = ["MASK_FUNCS", "REDACTED", "USER_TABLE", "GroupSelector", "Mask", "Policy", "SecureMember", "Segment",
           "UserGroup"]


class NoAccess(Exception):
    """The identity may not use this lens at all."""

@dataclass(frozen=True, slots=True)
class Identity:
    """Who is asking: the user, the roles it acts with (users file; SET ROLE narrows them), attributes."""

    user: str
    roles: frozenset[str] = frozenset()
    attributes: tuple[tuple[str, Any], ...] = ()

    @classmethod
    def of(cls, user: str, roles: tuple[str, ...] | list[str] = (), attributes: Mapping[str, Any] | None = None) -> Identity:
        attrs = tuple(sorted(((k, _freeze(v)) for k, v in (attributes or {}).items()), key=lambda kv: kv[0]))
        return cls(user, frozenset(r.lower() for r in roles), attrs)

    def attribute(self, name: str) -> Any:
        if name.lower() in ("name", "user"):
            return self.user
        if name.lower() in ("roles", "groups"):
            return sorted(self.roles)
        return dict(self.attributes).get(name)


def _freeze(value: Any) -> Any:
    return tuple(value) if isinstance(value, list | tuple | set) else value


@dataclass(frozen=True)
class Access:
    """What one identity may see of one lens: denied entities and members, row filters (lens-dialect
    conditions with user values in), masks. ``fingerprint`` identifies it for caches."""

    groups: frozenset[str] = frozenset()
    denied_entities: frozenset[str] = frozenset()
    denied_members: Mapping[str, frozenset[str]] = field(default_factory=dict)
    row_filters: Mapping[str, exp.Expression] = field(default_factory=dict)
    masks: Mapping[tuple[str, str], Mask] = field(default_factory=dict)
    fingerprint: str = "all"

    def entity_visible(self, entity: str) -> bool:
        return entity.lower() not in self.denied_entities

    def member_visible(self, entity: str, member: str) -> bool:
        return member.lower() not in self.denied_members.get(entity.lower(), frozenset())

    def mask(self, entity: str, member: str) -> Mask | None:
        return self.masks.get((entity.lower(), member.lower()))

    def row_filter(self, entity: str) -> exp.Expression | None:
        return self.row_filters.get(entity.lower())

    @property
    def unrestricted(self) -> bool:
        return self.fingerprint == "all"


EVERYTHING = Access()


def has_policies(lens: Lens) -> bool:
    return bool(lens.user_groups or lens.policies or any(
        e.policies or e.segments or any(getattr(m, "secure", None) for m in e.members) for e in lens.entities))


def resolve_access(lens: Lens, identity: Identity) -> Access:
    """The ``Access`` of ``identity`` to ``lens`` (raises ``NoAccess`` when it may not use the lens)."""
    if not has_policies(lens):
        return EVERYTHING
    groups = _groups(lens, identity)
    denied_entities: set[str] = set()
    denied_members: dict[str, frozenset[str]] = {}
    row_filters: dict[str, exp.Expression] = {}
    masks: dict[tuple[str, str], Mask] = {}
    for entity in lens.entities:
        key = entity.name.lower()
        applicable = [p for p in lens.policies if p.entity is None or p.entity.lower() == key] + list(entity.policies)
        matching = [p for p in applicable if p.groups.matches(groups)]
        if applicable and not matching:
            denied_entities.add(key)
            continue
        conditions: list[exp.Expression] = []
        if matching:
            hidden = {m.name.lower() for m in entity.members if not any(p.member_visible(m.name) for p in matching)}
            if hidden:
                denied_members[key] = frozenset(hidden)
            filters = [p.row_filter for p in matching]
            if all(f is not None for f in filters):
                conditions.append(_or([_with_user(f, identity) for f in filters]))  # type: ignore[arg-type]
            for member in entity.members:
                per_policy = [p.mask_for(member.name) for p in matching]
                if all(mask is not None for mask in per_policy):
                    masks[(key, member.name.lower())] = per_policy[0]  # type: ignore[assignment]
        for member in entity.members:
            secure = getattr(member, "secure", None)
            if secure is not None and secure.applies_to.matches(groups):
                masks[(key, member.name.lower())] = secure.mask
        for segment in entity.segments:
            if segment.secure is not None and segment.secure.matches(groups):
                conditions.append(_with_user(segment.condition, identity))
        if conditions:
            row_filters[key] = exp.and_(*[exp.Paren(this=c) for c in conditions]) if len(conditions) > 1 else conditions[0]
    fingerprint = _fingerprint(groups, denied_entities, denied_members, row_filters, masks)
    return Access(frozenset(groups), frozenset(denied_entities), denied_members, row_filters, masks, fingerprint)


def _groups(lens: Lens, identity: Identity) -> frozenset[str]:
    if not lens.user_groups:
        return identity.roles
    for group in lens.user_groups:
        if group.matches(identity):
            return frozenset({group.name.lower()})
    raise NoAccess(f"{identity.user} is in none of the lens's user groups")


def _or(conditions: list[exp.Expression]) -> exp.Expression:
    if len(conditions) == 1:
        return conditions[0]
    return exp.or_(*[exp.Paren(this=c) for c in conditions])


def _with_user(condition: exp.Expression, identity: Identity) -> exp.Expression:
    """``{{ user.attr }}`` placeholders replaced by the identity's values: a list becomes the items of an
    ``IN`` (an empty list makes the ``IN`` false), a missing attribute NULL (which matches nothing)."""

    def value(v: Any) -> exp.Expression:
        if v is None:
            return exp.Null()
        if isinstance(v, bool):
            return exp.Boolean(this=v)
        if isinstance(v, int | float):
            return exp.Literal.number(v)
        return exp.Literal.string(str(v))

    def replace(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.In):
            items = []
            for item in node.expressions:
                inner = item.this if isinstance(item, exp.Paren) else item
                if _is_user(inner):
                    attr = identity.attribute(inner.name)
                    items.extend(value(v) for v in (attr if isinstance(attr, tuple | list) else [attr]))
                else:
                    items.append(item)
            if not items:
                return exp.false()
            node.set("expressions", items)
            return node
        if _is_user(node):
            attr = identity.attribute(node.name)
            if isinstance(attr, tuple | list):
                return exp.Array(expressions=[value(v) for v in attr])
            return value(attr)
        return node

    return condition.copy().transform(replace)


def _is_user(node: exp.Expression) -> bool:
    return isinstance(node, exp.Column) and node.table == USER_TABLE


def _fingerprint(groups, denied_entities, denied_members, row_filters, masks) -> str:
    text = repr((sorted(groups), sorted(denied_entities), sorted((k, sorted(v)) for k, v in denied_members.items()),
                 sorted((k, v.sql()) for k, v in row_filters.items()),
                 sorted((k, m.func, m.keep, m.snippet) for k, m in masks.items())))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def visible_entities(lens: Lens, access: Access) -> list[Entity]:
    return [e for e in lens.entities if access.entity_visible(e.name)]


def lens_view(lens: Lens, access: Access) -> Lens:
    """``lens`` as ``access`` shows it: denied entities and members removed (for the catalog), and the
    relationships to removed entities with them."""
    from dataclasses import replace

    if access.unrestricted:
        return lens
    entities = []
    for entity in visible_entities(lens, access):
        def keep(members, entity=entity):
            return tuple(m for m in members if access.member_visible(entity.name, m.name))

        relationships = tuple(r for r in entity.relationships if access.entity_visible(r.target)
                              and access.member_visible(entity.name, r.field)
                              and access.member_visible(r.target, r.target_field))
        entities.append(replace(entity, fields=keep(entity.fields), dimensions=keep(entity.dimensions),
                                measures=keep(entity.measures), relationships=relationships))
    return replace(lens, entities=tuple(entities))
