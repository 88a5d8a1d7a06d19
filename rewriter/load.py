"""Load a Lens 1.0 YAML model into the immutable ``rewriter.lens`` model, reporting every problem at once.

Why this module is strict: the proxy answers SQL from whatever the lens says, so a typo in a lens (an
unknown key, a misspelt ``${entity.member}``, a measure type that does not exist) must fail at load time,
naming file, line and YAML path, and never surface later as a wrong number. Every problem is collected and
reported together; nothing stops at the first one.

Pipeline:
1. read each file as YAML *nodes* (``yaml.compose``), which keep line numbers;
2. collect the lens header (exactly one file of a directory gives ``name``) and the entity nodes;
3. resolve ``extends`` on the nodes, so inherited snippets are rebuilt for the inheriting entity;
4. build the model, checking each node (keys, types, snippets parsed with sqlglot in the lens dialect);
5. run the whole-lens checks of ``rewriter.load_checks`` (references, cycles, relationships, duplicates).

Placeholders. Lens snippets are templates; before a snippet is parsed its placeholders are replaced by SQL
the rewriter can find in the AST (this templating is the only text substitution done on SQL):

* ``${entity.member}``  → the column ``"__lens_ref__"."entity"."member"``; after parsing, the qualifier is
  moved so that ``catalog == REF_CATALOG``, ``table == entity``, ``name == member``
  (``rewriter.lens.is_reference`` / ``reference_target``). ``$(entity.member)``, the docs' sub_query
  spelling, is read the same way.
* ``${member}`` and ``${ENTITY.member}`` → the same, naming the declaring entity (for an inherited member,
  the inheriting entity).
* ``${entity.sql()}`` → the table ``"__lens_ref__"."entity"."__sql__"`` (``SQL_REF_MEMBER``; find it with
  ``is_sql_reference`` / ``sql_reference_target``).
* ``{{name:default}}`` query parameters → the default's text (``{{name}}`` → ``NULL``). Parameters are
  not recorded in the model yet: they are only substituted so that the snippet parses.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

import yaml
from sqlglot import exp
from sqlglot.dialects.dialect import Dialect

from rewriter.lens import (
    RELATIONSHIP_KINDS,
    TEMPORAL_KINDS,
    ActivitySchema,
    Dimension,
    Entity,
    Field,
    Lens,
    Location,
    Measure,
    Relationship,
    RollingWindow,
    Temporal,
    is_reference,
    reference_target,
)
from rewriter.load_checks import (
    CHECKS,
    SQL_REF_MEMBER,
    LensIssue,
    did_you_mean,
    is_sql_reference,
    sql_reference_target,
)
from rewriter.load_extends import MEMBER_KINDS, Body, ancestors, merge, rebind_ancestors
from rewriter.load_nodes import Src, peek
from rewriter.load_policy import PolicyLoading, check_policies
from rewriter.load_temporal import attach_appended

__all__ = [
    "SQL_REF_MEMBER",
    "LensIssue",
    "LensValidationError",
    "is_sql_reference",
    "load_lens",
    "sql_reference_target",
    "validate_lens",
]

LENS_KEYS = ("name", "description", "owner", "contract", "tags", "entities", "dialect", "activity_schema",
             "user_groups", "policies", "include")
ACTIVITY_SCHEMA_KEYS = ("entity", "timestamp", "next_occurrence")
TEMPORAL_KEYS = ("type", "name", "target", "field", "members", "description", "verified", "tags")
ENTITY_KEYS = ("name", "description", "tags", "extends", "extend", "sql", "fields", "dimensions", "measures",
               "relationships", "hidden", "segments", "policies")  # fmt: skip
SQL_KEYS = ("query", "columns", "verified", "tables", "lenses")
COLUMN_KEYS = ("name", "description", "type")
FIELD_KEYS = ("name", "type", "description", "column", "sql_snippet", "primary", "tags", "hidden", "sub_query", "meta")
DIMENSION_KEYS = ("name", "type", "description", "sql_snippet", "sub_query", "hidden", "tags", "primary", "meta")
MEASURE_KEYS = ("name", "type", "sql_snippet", "description", "hidden", "tags", "rolling_window", "meta")
ROLLING_WINDOW_KEYS = ("trailing", "leading", "offset")
RELATIONSHIP_KEYS = ("type", "field", "target", "sql_snippet", "verified", "description")
TARGET_KEYS = ("name", "field")
DEFAULT_DIALECT = "trino"

_WINDOW_RE = re.compile(
    r"(unbounded|[+-]?\d+\s*(minute|hour|day|week|month|quarter|year)s?)\Z", re.IGNORECASE
)
_PLACEHOLDER_EXPR = exp.Null()  # stands in for a snippet that failed to parse; never leaves a failed load

T = TypeVar("T")


class LensValidationError(Exception):
    """A lens that cannot be loaded; ``issues`` lists every problem, and so does ``str(err)``."""

    def __init__(self, issues: list[LensIssue] | tuple[LensIssue, ...]) -> None:
        self.issues = tuple(issues)
        super().__init__("\n".join(str(i) for i in self.issues) or "invalid lens")


def load_lens(path: str | Path) -> Lens:
    """The lens at ``path`` (a YAML file or a directory of them); raises ``LensValidationError``."""
    lens, issues = validate_lens(path)
    if issues or lens is None:
        raise LensValidationError(issues)
    return lens


def validate_lens(path: str | Path) -> tuple[Lens | None, list[LensIssue]]:
    """(lens, []) for a valid lens, else (None, every issue sorted by file and line). Never raises for lens problems."""
    loader = _Loader(Path(path))
    try:
        lens = loader.run()
    except Exception as exc:  # a bug in the loader must still come back as an issue, not a traceback
        loader.report(
            Location(str(path), 1, ""), f"internal error while loading: {type(exc).__name__}: {exc}"
        )
        lens = None
    issues = loader.issues()
    return (None if issues else lens), issues


@dataclass
class _RawEntity:
    src: Src
    keys: dict[str, Src]
    name: str | None
    parent: Src | None
    body: Body


@dataclass
class _Sql:
    text: str
    query: exp.Expression
    tables: tuple[str, ...] = ()
    columns: tuple[str, ...] | None = None


# --- the loader -----------------------------------------------------------------------------------------


@dataclass
class _Loader(PolicyLoading):  # node reading: rewriter.load_nodes.NodeReader
    root: Path
    dialect: str = DEFAULT_DIALECT
    found: list[LensIssue] = field(default_factory=list)
    where: dict[tuple[Location, str], Location] = field(default_factory=dict)

    def run(self) -> Lens | None:
        docs = [doc for f in self._files() if (doc := self._read(f)) is not None]
        roots = [(doc, self.mapping(doc, LENS_KEYS, what="lens file") or {}) for doc in docs]
        header = self._header(roots)
        roots += self._included(header.get("include"))
        raws = [raw for _, keys in roots for raw in self._entity_nodes(keys)]
        bodies = self._resolve_extends(raws)
        built = [self.guard(raw.src, self._entity, raw, bodies[id(raw)]) for raw in raws]
        parents = {r.name.lower(): (peek(r.src, 'extends') or peek(r.src, 'extend') or '').lower() for r in raws if r.name}
        entities = tuple(rebind_ancestors(e, ancestors(e.name, parents)) for e in built if e is not None)
        schema = self._activity_schema(header.get("activity_schema"))
        entities, temporal_issues = attach_appended(entities, schema)
        self.found += temporal_issues
        if docs and not raws:
            self.report(header.get("name") or docs[0], "a lens needs at least one entity")
        for check in CHECKS:
            try:
                self.found += check(entities, self.where)
            except Exception as exc:
                self.report(Location(str(self.root), 1, ""), f"internal error in {check.__name__}: {exc!r}")
        if "name" not in header:
            return None
        lens = Lens(
            name=self.text(header["name"]) or "",
            entities=_infer_measure_types(entities),
            dialect=self.dialect,
            description=self.text(header.get("description")),
            owner=self.text(header.get("owner")),
            contract=self.text(header.get("contract")),
            tags=self.texts(header.get("tags")),
            source=str(self.root),
            activity_schema=schema,
            user_groups=self._user_groups(header.get("user_groups")),
            policies=self._policies(header.get("policies"), None),
        )
        self.found += check_policies(lens)
        return lens

    def _activity_schema(self, src: Src | None) -> ActivitySchema:
        """Which members play the activity-schema roles (defaults: the seed's spelling)."""
        if src is None:
            return ActivitySchema()
        m = self.mapping(src, ACTIVITY_SCHEMA_KEYS, what="activity_schema") or {}
        names = {k: self.text(v) for k, v in m.items()}
        return ActivitySchema(**{k: v for k, v in names.items() if v})

    # files and documents

    def _files(self) -> list[Path]:
        if self.root.is_dir():
            files = sorted(
                (p for p in self.root.iterdir() if p.suffix in (".yml", ".yaml") and p.is_file()),
                key=lambda p: p.name,
            )
            if not files:
                self.report(Location(str(self.root), 1, ""), "no *.yml or *.yaml file in this directory")
            return files
        if not self.root.is_file():
            self.report(Location(str(self.root), 1, ""), "no such file or directory")
            return []
        return [self.root]

    def _included(self, src: Src | None) -> list[tuple[Src, dict[str, Src]]]:
        """``include: [../other_lens]``: the entities of other lens files or directories join this lens
        (their own header keys are ignored), so a lens can add governance to a model defined once."""
        out = []
        for item in self.sequence(src):
            base = Path(item.file).parent
            target = (base / (self.text(item) or "")).resolve()
            paths = sorted(p for p in target.iterdir() if p.suffix in (".yml", ".yaml")) if target.is_dir() else [target]
            if not target.exists():
                self.report(item, f"included lens file or directory not found: {target}")
                continue
            for path in paths:
                doc = self._read(path)
                if doc is None:
                    continue
                keys = self.mapping(doc, LENS_KEYS, what="lens file") or {}
                out.append((doc, {"entities": keys["entities"]} if "entities" in keys else {}))
        return out

    def _read(self, path: Path) -> Src | None:
        try:
            node = yaml.compose(path.read_text(encoding="utf-8"), Loader=yaml.SafeLoader)
        except yaml.MarkedYAMLError as err:
            mark = err.problem_mark or err.context_mark
            context = f" ({err.context})" if err.context else ""
            if err.context and err.context_mark and err.context_mark is not mark:
                context = f" ({err.context} started at line {err.context_mark.line + 1})"
            self.report(
                Location(str(path), mark.line + 1 if mark else 1, ""), f"invalid YAML: {err.problem}{context}"
            )
            return None
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as err:
            self.report(Location(str(path), 1, ""), f"cannot read lens file: {err}")
            return None
        if node is None:  # an empty file
            node = yaml.MappingNode("tag:yaml.org,2002:map", [], yaml.Mark(str(path), 0, 0, 0, None, None))
        return Src(str(path), node, "")

    def _header(self, roots: list[tuple[Src, dict[str, Src]]]) -> dict[str, Src]:
        header: dict[str, Src] = {}
        header_file: str | None = None
        for doc, keys in roots:
            if "name" not in keys:
                for key in keys.keys() - {"entities"}:
                    self.report(
                        keys[key], f"'{key}' belongs in the lens header (the file that gives the lens 'name')"
                    )
                continue
            if header_file is not None:
                self.report(
                    keys["name"], f"duplicate lens header: {header_file} already gives the lens 'name'"
                )
                continue
            header_file, header = doc.file, keys
        if roots and header_file is None:
            message = (
                "missing required key 'name'"
                if len(roots) == 1
                else "no lens header: no file gives the lens 'name'"
            )
            self.report(Location(roots[0][0].file, 1, ""), message)
        self.text(header.get("name"))
        if "dialect" in header:
            self.dialect = self._dialect(header["dialect"])
        return header

    def _dialect(self, src: Src) -> str:
        name = (self.text(src) or DEFAULT_DIALECT).strip().lower()
        try:
            Dialect.get_or_raise(name)
        except ValueError:
            names = [n for n in Dialect.classes if n]
            self.report(
                src, f"unknown SQL dialect '{name}'{did_you_mean(name, names)}; parsing as {DEFAULT_DIALECT}"
            )
            return DEFAULT_DIALECT
        return name

    def _entity_nodes(self, keys: dict[str, Src]) -> list[_RawEntity]:
        entities = keys.get("entities")
        if entities is None or entities.is_null:
            return []
        if not isinstance(entities.node, yaml.SequenceNode):
            self.report(entities, "'entities' must be a list of entities")
            return []
        raws = []
        for item in entities.items():
            m = self.mapping(item, ENTITY_KEYS, required=("name",), what="entity")
            if m is None:
                continue
            if "extend" in m and "extends" in m:
                self.report(m["extend"], "give either 'extends' or 'extend', not both")
            parent = m.get("extends") or m.get("extend")
            body = Body(
                m.get("sql"),
                {k: self.sequence(m.get(k)) for k in MEMBER_KINDS},
                self.sequence(m.get("relationships")),
            )
            raws.append(_RawEntity(item, m, self.name(m.get("name")), parent, body))
        return raws

    def _resolve_extends(self, raws: list[_RawEntity]) -> dict[int, Body]:
        by_name: dict[str, _RawEntity] = {}
        for raw in raws:
            if raw.name:
                by_name.setdefault(raw.name.lower(), raw)
        bodies: dict[int, Body] = {}

        def resolve(raw: _RawEntity, chain: list[_RawEntity]) -> Body:
            if id(raw) in bodies:
                return bodies[id(raw)]
            body = raw.body
            parent_name = self.text(raw.parent)
            if raw.parent is not None and parent_name:
                parent = by_name.get(parent_name.lower())
                stack = [*chain, raw]
                if parent is None:
                    self.report(
                        raw.parent,
                        f"unknown entity '{parent_name}'{did_you_mean(parent_name, list(by_name))}",
                    )
                elif any(parent is r for r in stack):
                    cycle = stack[next(i for i, r in enumerate(stack) if r is parent) :] + [parent]
                    self.report(raw.parent, "extends cycle: " + " → ".join(r.name or "?" for r in cycle))
                else:
                    body = merge(resolve(parent, stack), raw.body)
            bodies[id(raw)] = body
            return body

        for raw in raws:
            resolve(raw, [])
        return bodies

    # building the model

    def _entity(self, raw: _RawEntity, body: Body) -> Entity | None:
        loc = raw.src.loc()
        self.record(loc, raw.keys)
        self_name = raw.name or "ENTITY"
        sql = self.guard(body.sql, self._sql, body.sql, self_name, loc) if body.sql else None
        if body.sql is None and "name" in raw.keys:
            self.report(raw.src, "missing required key 'sql'")
        columns = sql.columns if sql else None
        built = self._members(body.members["fields"], self._field, self_name, columns)
        fields = tuple(f for f in built if isinstance(f, Field))
        dimensions = tuple(d for d in built if isinstance(d, Dimension))  # sub_query fields
        dimensions += self._members(body.members["dimensions"], self._dimension, self_name)
        measures = self._members(body.members["measures"], self._measure, self_name)
        declared = self._members(body.relationships, self._relationship, self_name)
        relationships = tuple(r for r in declared if isinstance(r, Relationship))
        temporals = tuple(r for r in declared if isinstance(r, Temporal))
        self.flag(raw.keys.get("hidden"))  # accepted and checked; the model has no hidden entities yet
        if not raw.name:
            return None
        return Entity(
            name=raw.name,
            sql_query=sql.text if sql else "",
            query=sql.query if sql else _PLACEHOLDER_EXPR,
            fields=fields,
            dimensions=dimensions,
            measures=measures,
            relationships=relationships,
            description=self.text(raw.keys.get("description")),
            tags=self.texts(raw.keys.get("tags")),
            tables=sql.tables if sql else (),
            extends=self.text(raw.parent),
            location=loc,
            temporals=temporals,
            segments=self._segments(raw.keys.get("segments"), self_name),
            policies=self._policies(raw.keys.get("policies"), raw.name),
        )

    def _members(self, items: list[Src], build: Callable[..., T | None], *args: object) -> tuple[T, ...]:
        built = (self.guard(item, build, item, *args) for item in items)
        return tuple(b for b in built if b is not None)

    def _sql(self, src: Src, self_name: str, owner: Location) -> _Sql | None:
        if isinstance(src.node, yaml.SequenceNode):  # the docs also write `sql: [ {query: ...} ]`
            items = src.items()
            if len(items) != 1:
                self.report(src, "'sql' must be a mapping (or a one-item list of one)")
                return None
            src = items[0]
        m = self.mapping(src, SQL_KEYS, required=("query",), what="sql")
        if m is None or "query" not in m:
            return None
        self.where[(owner, "query")] = m["query"].loc()
        query = self.parse(m["query"], self_name)
        self.flag(m.get("verified"))
        self.texts(m.get("lenses"))
        columns = None
        if "columns" in m:
            cols = [
                self.mapping(c, COLUMN_KEYS, required=("name",), what="column")
                for c in self.sequence(m["columns"])
            ]
            columns = tuple(n.lower() for c in cols if c and (n := self.text(c.get("name"))))
        text = (self.text(m["query"]) or "").strip()
        return _Sql(
            text, query if query is not None else _PLACEHOLDER_EXPR, self.texts(m.get("tables")), columns
        )

    def _common(self, src: Src, m: dict[str, Src], self_name: str = "ENTITY") -> dict:
        return {
            "description": self.text(m.get("description")),
            "hidden": bool(self.flag(m.get("hidden"))),
            "tags": self.texts(m.get("tags")),
            "location": src.loc(),
            "secure": self._secure(m.get("meta"), self_name),
        }

    def _field(self, src: Src, self_name: str, columns: tuple[str, ...] | None) -> Field | Dimension | None:
        m = self.mapping(src, FIELD_KEYS, required=("name", "type"), what="field")
        if m is None:
            return None
        if self.flag(m.get("sub_query")):  # the Lens 1 recipes put sub_query members under fields
            if "column" in m:
                self.report(m["column"], "a sub_query field is computed: give 'sql_snippet', not 'column'")
            return self._dimension(src, self_name)
        self.record(src.loc(), m)
        name, kind = self.name(m.get("name")), self.member_type(m.get("type"))
        column, snippet = self.text(m.get("column")), self.text(m.get("sql_snippet"))
        primary = bool(self.flag(m.get("primary")))
        if column is not None and snippet is not None:
            self.report(m["sql_snippet"], "give either 'column' or 'sql_snippet', not both")
        if snippet is not None:
            expression, column = self.parse(m["sql_snippet"], self_name), None
        else:
            column = column or name
            expression = exp.column(column) if column else None
            if columns is not None and column and "column" in m and column.lower() not in columns:
                hint = did_you_mean(column, columns)
                self.report(m["column"], f"column '{column}' is not listed in the entity's sql.columns{hint}")
        if not name:
            return None
        return Field(name=name, type=kind or "string", expression=expression or _PLACEHOLDER_EXPR,
                     snippet=(snippet if snippet is not None else column or "").strip(), column=column,
                     primary=primary, **self._common(src, m, self_name))  # fmt: skip

    def _dimension(self, src: Src, self_name: str) -> Dimension | None:
        keys = DIMENSION_KEYS + (("column",) if src.path.split(".")[-1].startswith("fields") else ())
        m = self.mapping(src, keys, required=("name", "type", "sql_snippet"), what="dimension")
        if m is None:
            return None
        self.record(src.loc(), m)
        name, kind = self.name(m.get("name")), self.member_type(m.get("type"))
        expression = self.parse(m["sql_snippet"], self_name) if "sql_snippet" in m else None
        sub_query, primary = bool(self.flag(m.get("sub_query"))), bool(self.flag(m.get("primary")))
        if not name:
            return None
        return Dimension(name=name, type=kind or "string", expression=expression or _PLACEHOLDER_EXPR,
                         snippet=(self.text(m.get("sql_snippet")) or "").strip(), sub_query=sub_query,
                         primary=primary, **self._common(src, m, self_name))  # fmt: skip

    def _measure(self, src: Src, self_name: str) -> Measure | None:
        m = self.mapping(src, MEASURE_KEYS, required=("name", "type", "sql_snippet"), what="measure")
        if m is None:
            return None
        self.record(src.loc(), m)
        name, measure_type = self.name(m.get("name")), self.measure_type(m.get("type"))
        expression = self.parse(m["sql_snippet"], self_name) if "sql_snippet" in m else None
        window = self._rolling_window(m["rolling_window"]) if "rolling_window" in m else None
        if not name:
            return None
        return Measure(name=name, type="number", expression=expression or _PLACEHOLDER_EXPR,
                       snippet=(self.text(m.get("sql_snippet")) or "").strip(),
                       measure_type=measure_type or "count", rolling_window=window,
                       **self._common(src, m, self_name))  # fmt: skip

    def _rolling_window(self, src: Src) -> RollingWindow | None:
        m = self.mapping(src, ROLLING_WINDOW_KEYS, what="rolling_window")
        if m is None:
            return None
        trailing, leading = self.text(m.get("trailing")), self.text(m.get("leading"))
        offset = (self.text(m.get("offset")) or "end").strip().lower()
        for key, value in (("trailing", trailing), ("leading", leading)):
            if value is not None and not _WINDOW_RE.match(value.strip()):
                self.report(
                    m[key], f"bad window size '{value}': write e.g. '7 day', '-1 month' or 'unbounded'"
                )
        if offset not in ("start", "end"):
            self.report(m["offset"], f"rolling_window offset must be 'start' or 'end', not '{offset}'")
        if trailing is None and leading is None:
            self.report(src, "rolling_window needs 'trailing' or 'leading'")
        return RollingWindow(trailing=trailing, leading=leading, offset=offset)

    def _relationship(self, src: Src, self_name: str) -> Relationship | Temporal | None:
        kind_src = src.node.value if isinstance(src.node, yaml.MappingNode) else []
        declared = next((str(v.value) for k, v in kind_src if getattr(k, "value", None) == "type"
                         and isinstance(v, yaml.ScalarNode)), "")
        if declared.strip().lower() in TEMPORAL_KINDS:
            return self._temporal(src)
        m = self.mapping(src, RELATIONSHIP_KEYS, required=("type", "field", "target"), what="relationship")
        if m is None:
            return None
        loc = src.loc()
        self.record(loc, m)
        target = (
            self.mapping(m["target"], TARGET_KEYS, required=("name", "field"), what="target")
            if "target" in m
            else None
        )
        if target:
            self.where.update({(loc, f"target.{k}"): v.loc() for k, v in target.items()})
        kind = (self.text(m.get("type")) or "").strip().upper()
        if "type" in m and kind not in RELATIONSHIP_KINDS:
            hint = did_you_mean(kind.lower(), (*RELATIONSHIP_KINDS, *TEMPORAL_KINDS))
            self.report(
                m["type"],
                f"unknown relationship type '{kind}'{hint}; use one of {', '.join(RELATIONSHIP_KINDS)} or a "
                f"temporal one ({', '.join(TEMPORAL_KINDS)})",
            )
        condition = self.parse(m["sql_snippet"], self_name, condition=True) if "sql_snippet" in m else None
        verified = bool(self.flag(m.get("verified")))
        fld, target_name = self.text(m.get("field")), self.text(target.get("name")) if target else None
        target_field = self.text(target.get("field")) if target else None
        if not (fld and target_name and target_field and kind):
            return None
        snippet = self.text(m.get("sql_snippet"))
        return Relationship(kind=kind, field=fld, target=target_name, target_field=target_field,
                            extra_condition=condition, extra_snippet=snippet.strip() if snippet else None,
                            description=self.text(m.get("description")), verified=verified, location=loc)  # fmt: skip

    def _temporal(self, src: Src) -> Temporal | None:
        """``type: first_after`` (…): an ActivitySchema relationship to an appended activity."""
        m = self.mapping(src, TEMPORAL_KEYS, required=("type", "name", "target", "members"), what="relationship")
        if m is None:
            return None
        self.record(src.loc(), m)
        self.flag(m.get("verified"))
        self.texts(m.get("tags"))
        target, target_field = None, None
        if "target" in m and isinstance(m["target"].node, yaml.MappingNode):
            t = self.mapping(m["target"], TARGET_KEYS, required=("name",), what="target") or {}
            target, target_field = self.text(t.get("name")), self.text(t.get("field"))
        elif "target" in m:
            target = self.text(m["target"])
        name = self.name(m.get("name"))
        members = self.texts(m.get("members"))
        if not (name and target):
            return None
        return Temporal(kind=(self.text(m["type"]) or "").strip().lower(), name=name, target=target,
                        members=members, field=self.text(m.get("field")), target_field=target_field,
                        description=self.text(m.get("description")), location=src.loc())  # fmt: skip

    # snippets

def _infer_measure_types(entities: tuple[Entity, ...]) -> tuple[Entity, ...]:
    """A min/max measure over a single member has that member's type (a MIN of a date is a date)."""
    by_name = {e.name.lower(): e for e in entities}

    def typed(measure: Measure) -> Measure:
        ref = measure.expression
        if (
            measure.measure_type not in ("min", "max")
            or not isinstance(ref, exp.Column)
            or not is_reference(ref)
        ):
            return measure
        entity_name, member_name = reference_target(ref)
        entity = by_name.get(entity_name.lower())
        target = entity.member(member_name) if entity else None
        if target is None or target.kind == "measure":
            return measure
        return replace(measure, type=target.type)

    return tuple(replace(e, measures=tuple(typed(m) for m in e.measures)) for e in entities)
