"""The immutable lens model: what a lens YAML says, loaded once (see ``rewriter.load``).

A lens names business entities; each entity is a virtual table whose columns are its fields (columns of the
entity's SQL), dimensions (derived per-row expressions) and measures (aggregates). SQL snippets are kept both
as written (``snippet``) and parsed (``expression``) in the lens dialect. A ``${entity.member}`` reference
inside a snippet is parsed as a column qualified by the reserved catalog ``REF_CATALOG``
(``"__lens_ref__"."entity"."member"``), so the rewriter finds references by walking the AST, never by
matching text.

sqlglot expressions are mutable: the model hands out copies (``Member.sql()``), never its own tree.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from sqlglot import exp

REF_CATALOG = "__lens_ref__"

MEASURE_TYPES = (
    "count",
    "count_distinct",
    "count_distinct_approx",
    "sum",
    "avg",
    "min",
    "max",
    "number",
    "running_total",
)
MEMBER_TYPES = ("string", "number", "date", "time", "bool", "boolean")
RELATIONSHIP_KINDS = ("1:1", "1:N", "N:1")
# ActivitySchema relationships (AS 2.0, plus the Lens 1 recipes' aggregate_after / aggregate_all_ever):
# kind -> (which appended rows, which one is picked: "first"/"last", or None for an aggregate)
TEMPORAL_KINDS: dict[str, tuple[str, str | None]] = {
    "first_ever": ("ever", "first"),
    "last_ever": ("ever", "last"),
    "first_before": ("before", "first"),
    "last_before": ("before", "last"),
    "first_after": ("after", "first"),
    "last_after": ("after", "last"),
    "first_in_between": ("in_between", "first"),
    "last_in_between": ("in_between", "last"),
    "aggregate_in_between": ("in_between", None),
    "aggregate_before": ("before", None),
    "aggregate_after": ("after", None),
    "aggregate_all_ever": ("ever", None),
}

MemberKind = Literal["field", "dimension", "measure"]


def is_reference(node: exp.Expression) -> bool:
    """True for a parsed ``${entity.member}`` placeholder."""
    return isinstance(node, exp.Column) and node.catalog == REF_CATALOG


def reference_target(node: exp.Column) -> tuple[str, str]:
    """(entity, member) named by a ``${entity.member}`` placeholder."""
    return node.table, node.name


@dataclass(frozen=True, slots=True)
class Location:
    """Where a thing was written: file, 1-based line, YAML path (``entities[1].measures[0]``)."""

    file: str
    line: int
    path: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} {self.path}"


# -- governance: the policy model (its resolution for one identity is rewriter.policy) -------------------------

USER_TABLE = "__lens_user__"  # ``{{ user.attr }}`` in a policy snippet parses as the column "__lens_user__"."attr"
MASK_FUNCS = ("redact", "md5", "sha256", "null", "keep_last", "sql")
REDACTED = "--redact--"  # Lens 2's redact text


@dataclass(frozen=True, slots=True)
class GroupSelector:
    """Groups a rule applies to: ``includes`` (``"*"``: every group) minus ``excludes``."""

    includes: tuple[str, ...] = ("*",)
    excludes: tuple[str, ...] = ()

    def matches(self, groups: frozenset[str]) -> bool:
        def named(selector: tuple[str, ...]) -> bool:
            return "*" in selector or any(g.lower() in groups for g in selector)

        return named(self.includes) and not (self.excludes and named(self.excludes))


@dataclass(frozen=True, slots=True)
class UserGroup:
    """A Lens 2 user group: ``includes``/``excludes`` entries are ``"*"``, ``users:id:<user>`` or
    ``roles:<role>`` (a bare name means a user)."""

    name: str
    includes: tuple[str, ...]
    excludes: tuple[str, ...] = ()
    description: str | None = None
    location: Location | None = None

    def matches(self, identity) -> bool:  # rewriter.policy.Identity
        return _selects(self.includes, identity) and not _selects(self.excludes, identity)


def _selects(entries: tuple[str, ...], identity) -> bool:
    for entry in entries:
        text = entry.strip().lower()
        if text == "*":
            return True
        kind, _, name = text.rpartition(":")
        if kind in ("", "users:id", "user", "users") and name == identity.user.lower():
            return True
        if kind in ("roles", "role", "groups", "group") and name in identity.roles:
            return True
    return False


@dataclass(frozen=True, slots=True)
class Mask:
    """How a member's values are hidden. ``keep_last``: all but the last ``keep`` characters starred;
    ``sql``: ``expression`` (lens dialect, ``${entity.member}`` references) replaces the value."""

    func: str
    keep: int = 0
    expression: exp.Expression | None = None
    snippet: str | None = None
    location: Location | None = None


@dataclass(frozen=True, slots=True)
class SecureMember:
    """Lens 2 ``meta.secure`` on a member: masked with ``mask`` for the groups ``applies_to`` selects."""

    mask: Mask
    applies_to: GroupSelector


@dataclass(frozen=True, slots=True)
class Segment:
    """A Lens 2 segment: a named condition; with ``secure``, forced as a row filter for those groups."""

    name: str
    condition: exp.Expression
    snippet: str
    secure: GroupSelector | None = None
    location: Location | None = None


@dataclass(frozen=True, slots=True)
class Policy:
    name: str
    groups: GroupSelector
    entity: str | None = None  # lens-level policy for one entity; None: every entity (or the declaring one)
    members_include: tuple[str, ...] | None = None  # None: every member
    members_exclude: tuple[str, ...] = ()
    row_filter: exp.Expression | None = None
    row_filter_snippet: str | None = None
    masks: tuple[tuple[str, Mask], ...] = ()  # (member, mask)
    location: Location | None = None

    def member_visible(self, name: str) -> bool:
        lowered = name.lower()
        included = self.members_include is None or "*" in self.members_include or any(
            m.lower() == lowered for m in self.members_include)
        return included and not any(m.lower() == lowered for m in self.members_exclude)

    def mask_for(self, member: str) -> Mask | None:
        return next((mask for name, mask in self.masks if name.lower() == member.lower()), None)




@dataclass(frozen=True, slots=True)
class Member:
    """A column of an entity's virtual table: a field, a dimension or a measure."""

    name: str
    type: str
    expression: exp.Expression  # parsed snippet (or the field's column), lens dialect
    snippet: str
    description: str | None = None
    hidden: bool = False
    tags: tuple[str, ...] = ()
    location: Location | None = None
    secure: SecureMember | None = None  # Lens 2 meta.secure: masked for some groups (rewriter.policy)

    kind: MemberKind = field(default="field", init=False)

    def sql(self) -> exp.Expression:
        """A fresh copy of the parsed expression, safe to splice into a query."""
        return self.expression.copy()

    def references(self) -> tuple[tuple[str, str], ...]:
        """The ``${entity.member}`` references of this member's snippet, in order of appearance."""
        return tuple(reference_target(c) for c in self.expression.find_all(exp.Column) if is_reference(c))


@dataclass(frozen=True, slots=True)
class Field(Member):
    """A column of the entity's SQL, exposed under a lens name."""

    column: str | None = None
    primary: bool = False
    kind: MemberKind = field(default="field", init=False)


@dataclass(frozen=True, slots=True)
class Dimension(Member):
    """A per-row expression; ``sub_query`` dimensions embed a measure of a related entity."""

    sub_query: bool = False
    primary: bool = False
    kind: MemberKind = field(default="dimension", init=False)


@dataclass(frozen=True, slots=True)
class RollingWindow:
    trailing: str | None = None
    leading: str | None = None
    offset: str = "end"


@dataclass(frozen=True, slots=True)
class Measure(Member):
    """An aggregate. ``number`` snippets already aggregate; every other type wraps its snippet."""

    measure_type: str = "count"
    rolling_window: RollingWindow | None = None
    kind: MemberKind = field(default="measure", init=False)


@dataclass(frozen=True, slots=True)
class Relationship:
    """A declared join: ``entity.field = target.target_field`` (plus an optional extra condition).

    The declaring entity is the left side of a LEFT join (Lens semantics). ``kind`` reads from the
    declaring side: ``1:N`` means one row here matches many rows of the target.
    """

    kind: str
    field: str
    target: str
    target_field: str
    extra_condition: exp.Expression | None = None
    extra_snippet: str | None = None
    description: str | None = None
    verified: bool = False
    location: Location | None = None


@dataclass(frozen=True, slots=True)
class ActivitySchema:
    """Which members of a stream entity play the activity-schema roles (names of fields or dimensions,
    the same in every stream entity of the lens): the entity key (the customer), the activity's time, and
    the time of the same activity's next occurrence for that entity (NULL for the last)."""

    entity: str = "entity_id"
    timestamp: str = "activity_ts"
    next_occurrence: str = "activity_repeated_at"


@dataclass(frozen=True, slots=True)
class Temporal:
    """An ActivitySchema relationship declared on a cohort entity: each cohort row gets members of the
    appended activity (``target``) picked or aggregated over that customer's appended rows in a window
    relative to the cohort row's time. ``members`` become cohort columns named ``<name>_<member>``.

    Appended rows are ordered by (time, primary key); "first"/"last" pick the lowest/highest in that
    order (so ties on time go to the smaller/larger key). Windows: ``ever`` all rows; ``before`` time < t;
    ``after`` time > t; ``in_between`` t < time <= next occurrence (no upper bound when there is none).
    """

    kind: str
    name: str
    target: str
    members: tuple[str, ...]
    field: str | None = None  # the customer key on the cohort (default: the activity schema's entity)
    target_field: str | None = None  # ... and on the appended entity
    description: str | None = None
    location: Location | None = None

    @property
    def window(self) -> str:
        return TEMPORAL_KINDS[self.kind][0]

    @property
    def pick(self) -> str | None:
        return TEMPORAL_KINDS[self.kind][1]

    def column(self, member: str) -> str:
        return f"{self.name}_{member}"


@dataclass(frozen=True, slots=True)
class Appended(Dimension):
    """A cohort column brought by a temporal relationship: ``relationship``'s pick (or aggregate) of the
    appended entity's member ``source``."""

    relationship: str = ""
    source: str = ""
    kind: MemberKind = field(default="dimension", init=False)


@dataclass(frozen=True, slots=True)
class Entity:
    name: str
    sql_query: str
    query: exp.Expression  # the entity's SQL parsed in the lens dialect
    fields: tuple[Field, ...]
    dimensions: tuple[Dimension, ...] = ()
    measures: tuple[Measure, ...] = ()
    relationships: tuple[Relationship, ...] = ()
    description: str | None = None
    tags: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()
    extends: str | None = None
    location: Location | None = None
    temporals: tuple[Temporal, ...] = ()
    segments: tuple[Segment, ...] = ()  # Lens 2 segments (secured ones are forced row filters)
    policies: tuple[Policy, ...] = ()  # access policies declared on this entity (rewriter.policy)

    def temporal(self, name: str) -> Temporal | None:
        lowered = name.lower()
        return next((t for t in self.temporals if t.name.lower() == lowered), None)

    @property
    def members(self) -> tuple[Member, ...]:
        """Fields, then dimensions, then measures: the order the catalog lists columns in."""
        return (*self.fields, *self.dimensions, *self.measures)

    def member(self, name: str) -> Member | None:
        lowered = name.lower()
        for m in self.members:
            if m.name.lower() == lowered:
                return m
        return None

    @property
    def primary_key(self) -> tuple[str, ...]:
        keys = [f.name for f in self.fields if f.primary]
        keys += [d.name for d in self.dimensions if d.primary]
        return tuple(keys)


@dataclass(frozen=True, slots=True)
class Lens:
    name: str
    entities: tuple[Entity, ...]
    dialect: str = "trino"
    description: str | None = None
    owner: str | None = None
    contract: str | None = None
    tags: tuple[str, ...] = ()
    source: str | None = None  # the file or directory it was loaded from
    activity_schema: ActivitySchema = ActivitySchema()
    user_groups: tuple[UserGroup, ...] = ()  # Lens 2 user groups, first match wins (rewriter.policy)
    policies: tuple[Policy, ...] = ()  # lens-level access policies

    def entity(self, name: str) -> Entity | None:
        lowered = name.lower()
        for e in self.entities:
            if e.name.lower() == lowered:
                return e
        return None
