"""Temporal (ActivitySchema) relationships at load time: check each one and give its cohort the appended
columns, so the catalog, name resolution and the rewriter see them as ordinary cohort columns.

Checked here, each with file and line: the appended entity exists; cohort and appended entity both have the
activity schema's members (entity key, time; the cohort also the next occurrence for ``in_between``
kinds); the cohort and the appended entity have primary keys (picks are made per cohort row and ordered by
time then key); ``members`` name fields or dimensions of the appended entity for a pick, measures for an
aggregate; the new column names collide with no other member
(reported by ``load_checks``' duplicate-member check).
"""

from __future__ import annotations

from dataclasses import replace

from sqlglot import exp

from rewriter.lens import ActivitySchema, Appended, Entity, Measure, Temporal
from rewriter.load_checks import LensIssue


def attach_appended(entities: tuple[Entity, ...], schema: ActivitySchema) -> tuple[tuple[Entity, ...], list[LensIssue]]:
    by_name = {e.name.lower(): e for e in entities}
    issues: list[LensIssue] = []
    out = []
    for entity in entities:
        appended = []
        for temporal in entity.temporals:
            appended += _appended(entity, temporal, by_name, schema, issues)
        out.append(replace(entity, dimensions=entity.dimensions + tuple(appended)) if appended else entity)
    return tuple(out), issues


def _appended(entity: Entity, temporal: Temporal, by_name: dict[str, Entity], schema: ActivitySchema,
              issues: list[LensIssue]) -> list[Appended]:
    where = temporal.location
    target = by_name.get(temporal.target.lower())
    if target is None:
        issues.append(_issue(where, f"temporal relationship '{temporal.name}': unknown entity '{temporal.target}'"))
        return []
    needs = [(entity, temporal.field or schema.entity), (entity, schema.timestamp),
             (target, temporal.target_field or schema.entity), (target, schema.timestamp)]
    if temporal.window == "in_between":
        needs.append((entity, schema.next_occurrence))
    for owner, name in needs:
        member = owner.member(name)
        if member is None or member.kind == "measure":
            issues.append(_issue(where, f"temporal relationship '{temporal.name}' needs {owner.name}.{name} (a field or "
                                 "dimension; set the lens's activity_schema to name yours)"))
    for owner in (entity, target):
        if not owner.primary_key:
            issues.append(_issue(where, f"temporal relationship '{temporal.name}' needs a primary key on {owner.name}"))
    if not temporal.members:
        issues.append(_issue(where, f"temporal relationship '{temporal.name}' lists no members"))
    columns = []
    for name in temporal.members:
        member = target.member(name)
        if member is None:
            issues.append(_issue(where, f"temporal relationship '{temporal.name}': {target.name} has no member '{name}'"))
            continue
        if temporal.pick is None and not isinstance(member, Measure):
            issues.append(_issue(where, f"'{temporal.kind}' aggregates: '{name}' must be a measure of {target.name}"))
            continue
        if temporal.pick is not None and isinstance(member, Measure):
            issues.append(_issue(where, f"'{temporal.kind}' picks a row: '{name}' must be a field or dimension of "
                                 f"{target.name}, not a measure"))
            continue
        description = f"{temporal.kind} {target.name}: {member.description or member.name}"
        columns.append(Appended(
            name=temporal.column(member.name), type=member.type, expression=exp.column(temporal.column(member.name)),
            snippet="", description=description, location=where, relationship=temporal.name, source=member.name,
        ))
    return columns


def _issue(where, message: str) -> LensIssue:
    return LensIssue(where, message)
