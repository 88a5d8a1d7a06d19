"""Iceberg tables as lists of Parquet data files, for an engine that reads Parquet itself (DuckDB).

An Iceberg table is a snapshot: a schema plus the data files (and possibly delete files) that hold its rows.
pyiceberg reads the catalog (here its SQL catalog: a sqlite or PostgreSQL database of table pointers) and
plans the scan without a JVM; when the snapshot has no delete files, its rows are exactly the union of its
data files, which DuckDB's ``read_parquet([...])`` reads at native speed (the DuckDB ``iceberg`` extension
cannot be installed here: no extension repository). A snapshot with delete files is refused rather than
served wrong.

Column names: Iceberg identifies columns by field id; a renamed column keeps its id but its Parquet files
keep the old name. Each file is therefore read with DuckDB's ``read_parquet(schema := …)`` field-id mapping
from the table's current schema, so renames, added columns (NULL in older files) and reordering read right.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import pyarrow as pa


@dataclass(frozen=True, slots=True)
class IcebergSource:
    """An Iceberg catalog served under the catalog name the lens uses (``icebase``)."""

    catalog: str  # the name lens SQL uses, and the SQL catalog's name: icebase.audience.customers_large_data
    uri: str  # the SQL catalog's database: sqlite:///data/warehouse/catalog.db
    warehouse: Path  # where the table files are

    @classmethod
    def from_warehouse(cls, warehouse: str | Path, catalog: str = "icebase") -> IcebergSource:
        """A warehouse directory written by ``lens-proxy generate --format iceberg`` (catalog.db inside)."""
        path = Path(warehouse).resolve()
        return cls(catalog, f"sqlite:///{path / 'catalog.db'}", path)


@dataclass(frozen=True, slots=True)
class IcebergTable:
    namespace: str
    name: str
    files: tuple[str, ...]  # local paths of the snapshot's Parquet data files
    schema: pa.Schema  # the current Iceberg schema as Arrow, with field ids in the field metadata
    field_ids: tuple[int, ...]
    snapshot_id: int | None


class IcebergError(Exception):
    pass


def load_catalog(source: IcebergSource):  # -> pyiceberg.catalog.sql.SqlCatalog
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pyiceberg.catalog.sql import SqlCatalog
    if source.uri.startswith("sqlite:///"):
        db = Path(source.uri.removeprefix("sqlite:///"))
        if not db.exists():
            raise IcebergError(f"Iceberg catalog database not found: {db} (generate one with "
                               f"`lens-proxy generate customer_360 --format iceberg --out {source.warehouse}`)")
    return SqlCatalog(source.catalog, uri=source.uri, warehouse=source.warehouse.as_uri())


def tables(source: IcebergSource) -> Iterator[IcebergTable]:
    """Every table of the catalog, as its current snapshot's data files."""
    catalog = load_catalog(source)
    for namespace in catalog.list_namespaces():
        for identifier in catalog.list_tables(namespace):
            yield snapshot(catalog.load_table(identifier), ".".join(namespace))
    if not catalog.list_namespaces():
        raise IcebergError(f"Iceberg catalog {source.catalog!r} at {source.uri} has no tables "
                           "(the SQL catalog keeps tables per catalog name: is the name right?)")


def snapshot(table, namespace: str) -> IcebergTable:  # table: pyiceberg.table.Table
    from pyiceberg.io.pyarrow import schema_to_pyarrow

    name = table.name()[-1]
    files: list[str] = []
    for task in table.scan().plan_files():
        if task.delete_files:
            raise IcebergError(
                f"Iceberg table {namespace}.{name} has delete files (merge-on-read deletes): "
                "compact it (rewrite data files) before serving it from DuckDB"
            )
        files.append(_local_path(task.file.file_path))
    iceberg_schema = table.schema()
    snap = table.current_snapshot()
    return IcebergTable(
        namespace, name, tuple(files), schema_to_pyarrow(iceberg_schema),
        tuple(f.field_id for f in iceberg_schema.fields), snap.snapshot_id if snap else None,
    )


def _local_path(location: str) -> str:
    parsed = urlparse(location)
    if parsed.scheme in ("", "file"):
        return parsed.path if parsed.scheme else location
    raise IcebergError(f"only local warehouses are served by the embedded engine; {location!r} is remote")
