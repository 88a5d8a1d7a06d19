"""The rules a lens must follow, for ``rewriter.load``: snippet templating/parsing and whole-lens checks.

``load.py`` reads the YAML and reports what one node can tell (unknown keys, bad types). This module
holds the rest, kept free of YAML:

* ``parse_snippet`` / ``parse_condition``: replace a snippet's placeholders (see ``load.py``'s docstring)
  and parse it with sqlglot, returning the tree and the problems found;
* the whole-lens checks (``CHECKS``): duplicate names, ``${entity.member}`` references, reference
  cycles, relationships, measures used where no aggregate may appear. Each is a small function over the
  built entities returning a list of ``LensIssue``; ``load.py`` runs them all so that one broken check
  never hides the others.

A check reports at the line of the YAML value at fault. The model only keeps each object's own
location, so ``load.py`` passes ``Where``: (object location, key) → location of that key's value
(``sql_snippet``, ``query``, ``field``, ``target.name``, ...).
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect
from sqlglot.errors import ParseError, SqlglotError
from sqlglot.tokens import TokenType

from rewriter.lens import (
    REF_CATALOG,
    USER_TABLE,
    Dimension,
    Entity,
    Location,
    Measure,
    Member,
    is_reference,
    reference_target,
)

SQL_REF_MEMBER = "__sql__"  # ``${entity.sql()}`` is parsed as the table "__lens_ref__"."entity"."__sql__"

Where = Mapping[tuple[Location, str], Location]

NAME_PATTERN = r"[A-Za-z_][A-Za-z0-9_]*"  # entity and member names
_N = NAME_PATTERN
_PLACEHOLDER_RE = re.compile(rf"\$\{{([^{{}}]*)\}}|\$\(\s*({_N}(?:\s*\.\s*{_N})?)\s*\)")
_SQL_REF_RE = re.compile(rf"\s*({_N})\s*\.\s*sql\s*\(\s*\)\s*\Z")
_MEMBER_REF_RE = re.compile(rf"\s*(?:({_N})\s*\.\s*)?({_N})\s*\Z")
_PARAM_RE = re.compile(rf"\{{\{{\s*({_N})\s*(?::([^{{}}]*))?\}}\}}")
_USER_RE = re.compile(rf"\{{\{{\s*user\s*\.\s*({_N})\s*\}}\}}")  # {{ user.states }} in a policy
_LENS2_REF_RE = re.compile(rf"\{{\s*(?:TABLE|CUBE)\s*\.\s*({_N})\s*\}}")  # Lens 2's {TABLE.col}: ${ENTITY.col}
_SELF = "ENTITY"  # ${ENTITY.member}: the declaring entity
_NOT_EXPRESSIONS = (exp.Alias, exp.Block, exp.Command, exp.DDL, exp.DML)


@dataclass(frozen=True, slots=True)
class LensIssue:
    """One problem in a lens, where it was written and what is wrong."""

    location: Location
    message: str

    def __str__(self) -> str:
        loc = self.location
        where = f"{loc.file}:{loc.line} {loc.path}" if loc.path else f"{loc.file}:{loc.line}"
        return f"{where}: {self.message}"


def did_you_mean(word: str, candidates: Iterable[str]) -> str:
    """`` (did you mean 'x'?)`` for the closest candidate (case-insensitive), else ``""``."""
    by_lower = {c.lower(): c for c in candidates}
    close = difflib.get_close_matches(word.lower(), list(by_lower), n=1, cutoff=0.6)
    return f" (did you mean '{by_lower[close[0]]}'?)" if close else ""


def is_sql_reference(node: exp.Expression) -> bool:
    """True for a parsed ``${entity.sql()}`` placeholder (a table)."""
    return isinstance(node, exp.Table) and node.catalog == REF_CATALOG and node.name == SQL_REF_MEMBER


def sql_reference_target(node: exp.Table) -> str:
    """The entity named by a ``${entity.sql()}`` placeholder."""
    return node.db


def at(where: Where, owner: Location | None, key: str) -> Location:
    """Location of ``key``'s value inside the object written at ``owner``."""
    if owner is None:
        return Location("<lens>", 1, key)
    return where.get((owner, key)) or Location(owner.file, owner.line, f"{owner.path}.{key}")


# --- snippets ----------------------------------------------------------------------------------------


PARAM_TABLE = "__lens_param__"


def _template(text: str, dialect: str, self_name: str, problems: list[str]) -> str:
    """The snippet with its placeholders replaced by SQL (see ``rewriter.load``'s docstring)."""

    def ident(name: str) -> str:
        return exp.to_identifier(name, quoted=True).sql(dialect=dialect)

    def ref(match: re.Match[str]) -> str:
        body = match.group(1) if match.group(1) is not None else match.group(2)
        if sql_ref := _SQL_REF_RE.match(body):
            entity, member = sql_ref.group(1), SQL_REF_MEMBER
        elif member_ref := _MEMBER_REF_RE.match(body):
            entity, member = member_ref.group(1) or _SELF, member_ref.group(2)
        else:
            problems.append(
                f"malformed reference '{match.group(0)}': write ${{entity.member}} or ${{entity.sql()}}"
            )
            return "NULL"
        entity = self_name if entity == _SELF else entity
        return ".".join(ident(part) for part in (REF_CATALOG, entity, member))

    def param(match: re.Match[str]) -> str:
        # A query parameter {{name:default}}: the session's value (SET lens.name = …) when it has one, else
        # the default. The rewriter replaces the placeholder column with the value or NULL.
        default = (match.group(2) or "").strip() or "NULL"
        return f"COALESCE({ident(PARAM_TABLE)}.{ident(match.group(1))}, ({default}))"

    def user(match: re.Match[str]) -> str:
        # a user attribute in a policy: the column "__lens_user__"."attr", replaced per identity
        # (rewriter.policy); parenthesized so that `x IN {{ user.states }}` parses
        return f"({ident(USER_TABLE)}.{ident(match.group(1))})"

    text = _USER_RE.sub(user, text)
    text = _LENS2_REF_RE.sub(lambda m: "${ENTITY." + m.group(1) + "}", text)
    return _PARAM_RE.sub(param, _PLACEHOLDER_RE.sub(ref, text))


def _describe(err: SqlglotError) -> str:
    if isinstance(err, ParseError) and err.errors:
        first = err.errors[0]
        near = f" near '{first['highlight']}'" if first.get("highlight") else ""
        return re.sub(r"<class '(?:\w+\.)*(\w+)'>", r"\1", f"{first['description']}{near}")
    return str(err).splitlines()[0] if str(err) else type(err).__name__


def _parse(templated: str, dialect: str, what: str, problems: list[str]) -> exp.Expression | None:
    try:
        tree = sqlglot.parse_one(templated, read=dialect)
    except SqlglotError as err:
        problems.append(f"cannot parse {what}: {_describe(err)}")
        return None
    for column in list(tree.find_all(exp.Column)):  # "__lens_ref__"."e"."m" parses with db=REF_CATALOG
        db = column.args.get("db")
        if db is not None and db.name == REF_CATALOG and column.args.get("catalog") is None:
            column.set("catalog", db)
            column.set("db", None)
    return tree


def parse_snippet(
    text: str, dialect: str, self_name: str, *, what: str = "sql_snippet"
) -> tuple[exp.Expression | None, list[str]]:
    """(tree, problems) for a member snippet (one expression) or, with ``what="query"``, an entity's SQL."""
    problems: list[str] = []
    tree = _parse(_template(text, dialect, self_name, problems), dialect, what, problems)
    if tree is None:
        return None, problems
    if what == "query":
        if not isinstance(tree, exp.Query):
            problems.append("sql.query must be a query (SELECT ...)")
    elif isinstance(tree, _NOT_EXPRESSIONS) or (
        isinstance(tree, exp.Query) and not isinstance(tree, exp.Subquery)
    ):
        hint = "; wrap a subquery in parentheses" if isinstance(tree, exp.Query) else ""
        problems.append(f"{what} must be one SQL expression, not {type(tree).__name__.lower()}{hint}")
    return tree, problems


def parse_condition(
    text: str, dialect: str, self_name: str, *, what: str = "sql_snippet"
) -> tuple[exp.Expression | None, list[str]]:
    """(tree, problems) for a relationship's extra join condition: ``and <condition>`` or a bare condition.

    A condition starting with ``or`` is refused: ``Relationship`` has no field to say the join is
    ``key = key OR condition``, and such a join would no longer be a key join.
    """
    problems: list[str] = []
    templated = _template(text, dialect, self_name, problems)
    try:
        tokens = Dialect.get_or_raise(dialect).tokenize(templated)
    except SqlglotError as err:
        return None, [*problems, f"cannot parse {what}: {_describe(err)}"]
    if tokens and tokens[0].token_type == TokenType.OR:
        return None, [
            *problems,
            "an extra join condition starting with 'or' is not supported (only 'and ...')",
        ]
    if tokens and tokens[0].token_type == TokenType.AND:
        if len(tokens) == 1:
            return None, [*problems, f"'{what}' has nothing after 'and'"]
        templated = templated[tokens[1].start :]
    tree = _parse(templated, dialect, what, problems)
    if tree is not None and isinstance(tree, (*_NOT_EXPRESSIONS, exp.Query)):
        problems.append(f"{what} must be one condition, not {type(tree).__name__.lower()}")
    return tree, problems


# --- whole-lens checks --------------------------------------------------------------------------------


def _fmt(loc: Location | None) -> str:
    return str(loc) if loc else "?"


def _all_members(entities: tuple[Entity, ...]) -> Iterator[tuple[Entity, Member]]:
    """Every (entity, member) of the lens."""
    for entity in entities:
        for member in entity.members:
            yield entity, member


def check_duplicate_entities(entities: tuple[Entity, ...], where: Where) -> list[LensIssue]:
    seen: dict[str, Entity] = {}
    issues = []
    for entity in entities:
        first = seen.setdefault(entity.name.lower(), entity)
        if first is not entity:
            issues.append(
                LensIssue(
                    at(where, entity.location, "name"),
                    f"duplicate entity '{entity.name}' (first defined at {_fmt(first.location)})",
                )
            )
    return issues


def check_duplicate_members(entities: tuple[Entity, ...], where: Where) -> list[LensIssue]:
    issues = []
    for entity in entities:
        seen: dict[str, Member] = {}
        for member in entity.members:
            first = seen.setdefault(member.name.lower(), member)
            if first is not member:
                issues.append(
                    LensIssue(
                        at(where, member.location, "name"),
                        f"duplicate member name '{member.name}' in entity '{entity.name}' "
                        f"(first defined at {_fmt(first.location)})",
                    )
                )
    return issues


def _resolve(
    entities: tuple[Entity, ...], ref_entity: str, ref_member: str, text: str
) -> tuple[Member | None, str | None]:
    """(member, None) when ``${ref_entity.ref_member}`` exists, else (None, why not)."""
    target = _entity(entities, ref_entity)
    if target is None:
        hint = did_you_mean(ref_entity, [e.name for e in entities])
        return None, f"unknown entity '{ref_entity}' in {text}{hint}"
    member = target.member(ref_member)
    if member is None:
        hint = did_you_mean(ref_member, [m.name for m in target.members])
        return None, f"unknown member '{ref_member}' of entity '{target.name}' in {text}{hint}"
    return member, None


def _entity(entities: tuple[Entity, ...], name: str) -> Entity | None:
    lowered = name.lower()
    return next((e for e in entities if e.name.lower() == lowered), None)


def _reference_issues(
    entities: tuple[Entity, ...],
    tree: exp.Expression,
    loc: Location,
    *,
    allow_members: bool = True,
    allowed_entities: tuple[str, ...] | None = None,
) -> list[LensIssue]:
    issues = []
    for node in tree.find_all(exp.Column, exp.Table):
        if isinstance(node, exp.Column) and is_reference(node):
            ref_entity, ref_member = reference_target(node)
            text = f"${{{ref_entity}.{ref_member}}}"
            if not allow_members:
                issues.append(LensIssue(loc, f"{text}: an entity's SQL may only use ${{entity.sql()}}"))
                continue
            if allowed_entities is not None and ref_entity.lower() not in allowed_entities:
                names = " and ".join(f"'{e}'" for e in allowed_entities)
                issues.append(LensIssue(loc, f"{text}: a join condition may only reference {names}"))
                continue
            _, problem = _resolve(entities, ref_entity, ref_member, text)
            if problem:
                issues.append(LensIssue(loc, problem))
        elif isinstance(node, exp.Table) and node.catalog == REF_CATALOG:
            if node.name != SQL_REF_MEMBER:
                issues.append(
                    LensIssue(loc, f"${{{node.db}.{node.name}}} used as a table; write ${{{node.db}.sql()}}")
                )
            elif _entity(entities, node.db) is None:
                hint = did_you_mean(node.db, [e.name for e in entities])
                issues.append(LensIssue(loc, f"unknown entity '{node.db}' in ${{{node.db}.sql()}}{hint}"))
    return issues


def check_references(entities: tuple[Entity, ...], where: Where) -> list[LensIssue]:
    """Every ``${entity.member}`` / ``${entity.sql()}`` names something that exists."""
    issues = []
    for entity in entities:
        issues += _reference_issues(
            entities, entity.query, at(where, entity.location, "query"), allow_members=False
        )
        for member in entity.members:
            issues += _reference_issues(
                entities, member.expression, at(where, member.location, "sql_snippet")
            )
        for rel in entity.relationships:
            if rel.extra_condition is not None:
                sides = tuple(dict.fromkeys((entity.name.lower(), rel.target.lower())))
                issues += _reference_issues(
                    entities,
                    rel.extra_condition,
                    at(where, rel.location, "sql_snippet"),
                    allowed_entities=sides,
                )
    return issues


def _find_cycles(graph: dict[str, list[str]]) -> list[list[str]]:
    """Each elementary cycle found by a depth-first walk, once, starting at its earliest node."""
    order = {node: i for i, node in enumerate(graph)}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    path: list[str] = []
    cycles: list[list[str]] = []
    seen: set[frozenset[str]] = set()

    def visit(node: str) -> None:
        state[node] = 1
        path.append(node)
        for nxt in graph.get(node, ()):
            if state.get(nxt) == 1:
                cycle = path[path.index(nxt) :]
                key = frozenset(cycle)
                if key not in seen:
                    seen.add(key)
                    start = min(range(len(cycle)), key=lambda i: order.get(cycle[i], len(order)))
                    cycles.append(cycle[start:] + cycle[:start])
            elif nxt not in state:
                visit(nxt)
        path.pop()
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node)
    return cycles


def check_cycles(entities: tuple[Entity, ...], where: Where) -> list[LensIssue]:
    """No member may depend on itself, and no entity's SQL on itself through ``${x.sql()}``."""
    issues = []
    members: dict[str, Member] = {}
    graph: dict[str, list[str]] = {}
    for entity, member in _all_members(entities):
        key = f"{entity.name}.{member.name}"
        members.setdefault(key.lower(), member)
        deps = []
        for ref_entity, ref_member in member.references():
            target, _ = _resolve(entities, ref_entity, ref_member, "")
            if target is not None:
                owner = _entity(entities, ref_entity)
                assert owner is not None
                deps.append(f"{owner.name}.{target.name}".lower())
        graph.setdefault(key.lower(), deps)
    display = {k.lower(): k for k in (f"{e.name}.{m.name}" for e, m in _all_members(entities))}
    for cycle in _find_cycles(graph):
        names = " → ".join(display[n] for n in [*cycle, cycle[0]])
        loc = at(where, members[cycle[0]].location, "sql_snippet")
        issues.append(LensIssue(loc, f"reference cycle: {names}"))

    sql_graph: dict[str, list[str]] = {}
    by_name = {e.name.lower(): e for e in entities}
    for entity in entities:
        refs = [t for t in entity.query.find_all(exp.Table) if is_sql_reference(t)]
        sql_graph[entity.name.lower()] = [
            sql_reference_target(t).lower() for t in refs if sql_reference_target(t).lower() in by_name
        ]
    for cycle in _find_cycles(sql_graph):
        names = " → ".join(by_name[n].name for n in [*cycle, cycle[0]])
        loc = at(where, by_name[cycle[0]].location, "query")
        issues.append(LensIssue(loc, f"${{entity.sql()}} cycle: {names}"))
    return issues


def check_relationships(entities: tuple[Entity, ...], where: Where) -> list[LensIssue]:
    """Both join keys exist, and neither is a measure."""
    issues = []
    for entity in entities:
        for rel in entity.relationships:
            issues += _join_key_issues(entity, rel.field, at(where, rel.location, "field"))
            target = _entity(entities, rel.target)
            if target is None:
                hint = did_you_mean(rel.target, [e.name for e in entities])
                issues.append(
                    LensIssue(at(where, rel.location, "target.name"), f"unknown entity '{rel.target}'{hint}")
                )
                continue
            issues += _join_key_issues(target, rel.target_field, at(where, rel.location, "target.field"))
    return issues


def _join_key_issues(entity: Entity, name: str, loc: Location) -> list[LensIssue]:
    member = entity.member(name)
    if member is None:
        hint = did_you_mean(name, [m.name for m in entity.members])
        return [LensIssue(loc, f"unknown member '{name}' of entity '{entity.name}'{hint}")]
    if member.kind == "measure":
        return [
            LensIssue(
                loc, f"'{entity.name}.{member.name}' is a measure; a join key must be a field or dimension"
            )
        ]
    return []


def check_member_kinds(entities: tuple[Entity, ...], where: Where) -> list[LensIssue]:
    """Measures are only referenced where an aggregate may appear.

    A dimension that embeds a measure must say ``sub_query: true`` (and a ``sub_query`` dimension must
    embed one); an aggregating measure (sum, count, ...) cannot wrap another measure: only ``number``
    measures combine measures.
    """
    issues = []
    for entity in entities:
        for member in (*entity.dimensions, *entity.measures):
            measures = []
            for ref_entity, ref_member in member.references():
                target, _ = _resolve(entities, ref_entity, ref_member, "")
                if target is not None and target.kind == "measure":
                    measures.append(f"{ref_entity}.{ref_member}")
            loc = at(where, member.location, "sql_snippet")
            if isinstance(member, Dimension) and measures and not member.sub_query:
                message = f"dimension '{member.name}' references measure '{measures[0]}'; set sub_query: true"
                issues.append(LensIssue(loc, message))
            elif isinstance(member, Dimension) and member.sub_query and not measures:
                issues.append(LensIssue(loc, f"sub_query dimension '{member.name}' must reference a measure"))
            elif isinstance(member, Measure) and measures and member.measure_type != "number":
                message = (
                    f"{member.measure_type} measure '{member.name}' references measure '{measures[0]}'; "
                    "only type number can combine measures"
                )
                issues.append(LensIssue(loc, message))
    return issues


def check_cross_entity_references(entities: tuple[Entity, ...], where: Where) -> list[LensIssue]:
    """A snippet reading another entity needs a relationship between the two; a per-row value (a dimension
    without ``sub_query``) may only read an entity with at most one row per row of its own (N:1 or 1:1 from
    it, without an extra condition): anything else would repeat or pick rows silently."""
    issues = []
    for entity in entities:
        for member in (*entity.dimensions, *entity.measures):
            for ref_entity, ref_member in member.references():
                other = _entity(entities, ref_entity)
                if other is None or other.name.lower() == entity.name.lower():
                    continue
                target = other.member(ref_member)
                kinds = _relationship_kinds(entity, other)
                loc = at(where, member.location, "sql_snippet")
                if not kinds:
                    issues.append(LensIssue(
                        loc, f"'{member.name}' references {other.name}, but no relationship is declared between "
                        f"{entity.name} and {other.name}"))
                elif isinstance(member, Dimension) and not member.sub_query and target is not None \
                        and target.kind != "measure" and "one" not in kinds:
                    issues.append(LensIssue(
                        loc, f"dimension '{member.name}' reads {other.name}.{ref_member}, but {entity.name} has many "
                        f"{other.name} rows per row; aggregate it with a measure of {other.name} in a sub_query "
                        "dimension"))
    return issues


def _relationship_kinds(entity: Entity, other: Entity) -> set[str]:
    """How many ``other`` rows a relationship gives one ``entity`` row: {"one", "many"} (empty: unrelated)."""
    kinds = set()
    for rel in entity.relationships:
        if rel.target.lower() == other.name.lower():
            kinds.add("one" if rel.kind in ("N:1", "1:1") and rel.extra_condition is None else "many")
    for rel in other.relationships:
        if rel.target.lower() == entity.name.lower():
            kinds.add("one" if rel.kind in ("1:N", "1:1") and rel.extra_condition is None else "many")
    return kinds


CHECKS = (
    check_duplicate_entities,
    check_duplicate_members,
    check_references,
    check_cycles,
    check_relationships,
    check_member_kinds,
    check_cross_entity_references,
)
