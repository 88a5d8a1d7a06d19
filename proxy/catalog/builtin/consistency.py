"""Keep the built-in catalog rows self-consistent: every OID a row references resolves.

The dump keeps only some rows of ``pg_type`` (no composite row types of the system catalogs: lens-proxy has
no such tables), so rows that point at a dropped row must go too, or a client that loads the catalog and
follows its references (sqlsmith asserts every ``proargtypes`` entry is a ``pg_type`` row; drivers map
``typelem``) finds a hole. Which column references which relation is PostgreSQL's own answer,
``pg_get_catalog_foreign_keys()``; dropping repeats until nothing dangles (a dropped type drops its array
type, which drops the functions taking that array, …).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

__all__ = ["ForeignKey", "drop_dangling", "dangling"]


@dataclass(frozen=True, slots=True)
class ForeignKey:
    """One row of ``pg_get_catalog_foreign_keys()`` with a single column on each side."""

    table: str  # pg_catalog relation holding the reference, e.g. "pg_proc"
    column: str  # e.g. "proargtypes"
    target: str  # e.g. "pg_type"
    target_column: str  # e.g. "oid"
    is_array: bool  # the column holds several OIDs (oidvector, oid[])


Data = dict[str, dict]


def _column(data: Data, table: str, name: str) -> int | None:
    names = [c for c, _ in data[f"pg_catalog.{table}"]["columns"]]
    return names.index(name) if name in names else None


def _oids(value: object) -> Iterable[int]:
    if isinstance(value, list):
        return (v for v in value if isinstance(v, int))
    return (value,) if isinstance(value, int) else ()


def dangling(data: Data, keys: Iterable[ForeignKey]) -> dict[str, set[int]]:
    """Row indexes, by relation, whose references (among ``keys``) do not resolve within ``data``.

    Only relations whose rows are all in ``data`` (static ones) are checked; references into relations
    filled from the lenses at run time (namespaces, roles, classes) are not decided here.
    """
    out: dict[str, set[int]] = {}
    for key in keys:
        source, target = data.get(f"pg_catalog.{key.table}"), data.get(f"pg_catalog.{key.target}")
        if not source or not target or not source["rows"] or not target["rows"]:
            continue
        col, target_col = _column(data, key.table, key.column), _column(data, key.target, key.target_column)
        if col is None or target_col is None:
            continue
        present = {row[target_col] for row in target["rows"]}
        for i, row in enumerate(source["rows"]):
            if any(oid != 0 and oid not in present for oid in _oids(row[col])):
                out.setdefault(key.table, set()).add(i)
    return out


def drop_dangling(data: Data, keys: Iterable[ForeignKey]) -> dict[str, int]:
    """Remove rows with unresolved references from ``data`` (in place) until none is left; returns how
    many rows each relation lost."""
    keys = tuple(keys)
    dropped: dict[str, int] = {}
    while bad := dangling(data, keys):
        for table, indexes in bad.items():
            rel = data[f"pg_catalog.{table}"]
            rel["rows"] = [row for i, row in enumerate(rel["rows"]) if i not in indexes]
            dropped[table] = dropped.get(table, 0) + len(indexes)
    return dropped
