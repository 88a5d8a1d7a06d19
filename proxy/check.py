"""``lens-proxy check --config FILE``: does every backend have what its lenses read?

For each lens, on its backend: every physical table an entity's SQL names exists (after the backend's table
mapping), every column the entity's SQL reads from it exists, and every entity's members compile and run
there (``LIMIT 0``: nothing is scanned). The report names lens, entity, table and column, and what to fix.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa
import sqlglot
from sqlglot import exp

from proxy.config import ConfigError, load_config
from rewriter.errors import SqlError
from rewriter.lens import Entity, Lens, is_reference
from rewriter.load import LensValidationError, load_lens
from rewriter.load_checks import is_sql_reference
from rewriter.rewrite import rewrite


@dataclass
class Report:
    lines: list[str] = field(default_factory=list)
    problems: int = 0

    def ok(self, text: str) -> None:
        self.lines.append(f"  ok    {text}")

    def bad(self, text: str) -> None:
        self.lines.append(f"  FAIL  {text}")
        self.problems += 1


def check_config(path: str) -> tuple[bool, str]:
    """(everything found, the report)."""
    try:
        config = load_config(path)
    except ConfigError as e:
        return False, str(e)
    from proxy.backends import open_backend

    report = Report()
    opened = {}
    for lens_config in config.lenses:
        backend_config = config.backends[lens_config.backend]
        try:
            lens = load_lens(lens_config.path)
        except LensValidationError as e:
            report.lines.append(f"lens {lens_config.path}:")
            report.bad(f"lens does not load:\n{e}")
            continue
        report.lines.append(f"lens {lens.name} on backend {backend_config.name} ({backend_config.type}):")
        if backend_config.name not in opened:
            try:
                opened[backend_config.name] = open_backend(backend_config)
            except Exception as e:  # a backend we cannot reach is the first thing check must say
                opened[backend_config.name] = None
                report.bad(f"cannot connect: {getattr(e, 'message', None) or e}")
        backend = opened[backend_config.name]
        if backend is None:
            continue
        check_lens(lens, backend, report)
    for backend in opened.values():
        if backend is not None:
            backend.close()
    summary = "all tables and columns found" if not report.problems else f"{report.problems} problem(s)"
    return not report.problems, "\n".join([*report.lines, summary])


def check_lens(lens: Lens, backend, report: Report) -> None:
    seen: dict[tuple[str, ...], pa.Schema | None] = {}
    for entity in lens.entities:
        for table, columns in referenced_columns(entity).items():
            name = ".".join(table)
            if table not in seen:
                try:
                    seen[table] = backend.describe_table(exp.table_(table[-1], db=table[-2] if len(table) > 1 else None,
                                                                     catalog=table[-3] if len(table) > 2 else None))
                except SqlError as e:
                    report.bad(f"{entity.name}: table {name}: {e.message}")
                    seen[table] = None
                    continue
                if seen[table] is None:
                    report.bad(f"{entity.name}: table {name} not found on the backend "
                               "(map it with `tables:` in the backend's configuration)")
                    continue
                report.ok(f"table {name} ({len(seen[table])} columns)")
            schema = seen[table]
            if schema is None:
                continue
            have = {f.name.lower() for f in schema}
            missing = sorted(c for c in columns if c.lower() not in have)
            for column in missing:
                report.bad(f"{entity.name}: column {column} not in table {name}")
        members = [m for m in entity.members if not (m.kind == "dimension" and getattr(m, "sub_query", False))]
        try:
            run_members(lens, entity, members, backend)
            report.ok(f"entity {entity.name}: {len(members)} members run")
        except SqlError as e:
            report.bad(f"entity {entity.name}: its members do not run on the backend: {e.message} (SQLSTATE {e.sqlstate})")


def referenced_columns(entity: Entity) -> dict[tuple[str, ...], set[str]]:
    """Physical table (its parts) -> the column names the entity's SQL reads from it."""
    tables: dict[tuple[str, ...], set[str]] = {}
    query = entity.query
    for select in query.find_all(exp.Select):
        sources = {}
        for table in select.find_all(exp.Table):
            if is_sql_reference(table) or not table.name or table.find_ancestor(exp.Select) is not select:
                continue
            parts = tuple(p for p in (table.catalog, table.db, table.name) if p)
            tables.setdefault(parts, set())
            sources[(table.alias_or_name or table.name).lower()] = parts
        if not sources:
            continue
        if select is query and len(sources) == 1 and any(isinstance(e, exp.Star) for e in select.expressions):
            # SELECT * FROM one table: the entity's fields name that table's columns (a field defined by a
            # snippet reads the columns its snippet names, e.g. trim(feature1))
            fields = {f.column for f in entity.fields if f.column}
            fields |= {c.name for f in entity.fields if not f.column for c in f.expression.find_all(exp.Column)
                       if not is_reference(c) and c.name}
            tables[next(iter(sources.values()))].update(fields)
        for column in select.find_all(exp.Column):
            if column.find_ancestor(exp.Select) is not select or not column.name or column.name == "*":
                continue
            qualifier = column.table.lower()
            if qualifier and qualifier in sources:
                tables[sources[qualifier]].add(column.name)
            elif not qualifier and len(sources) == 1:
                tables[next(iter(sources.values()))].add(column.name)
    return tables


def run_members(lens: Lens, entity: Entity, members, backend) -> None:
    groups = [[m for m in members if m.kind != "measure"], [m for m in members if m.kind == "measure"]]
    cursor = backend.cursor()
    try:
        for group in groups:
            if not group:
                continue
            names = ", ".join('"' + m.name.replace('"', '""') + '"' for m in group)
            quoted = '"' + entity.name.replace('"', '""') + '"'
            query = sqlglot.parse_one(f"SELECT {names} FROM {quoted} LIMIT 0", read="postgres")
            reader = cursor.execute(backend.render(rewrite(query, lens)))
            reader.read_all()
    finally:
        cursor.close()
