"""The embedded lakehouse: Iceberg tables written by pyiceberg, served by the locked-down DuckDB backend.

Checked on the engine itself (the proxy never sends it client SQL; these prove the lock-down would hold if it
did): only the snapshot's data files are readable, and Iceberg's column identity (field ids) is honoured
through renames and added columns. Plus the table-name mapping every backend applies.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pyarrow as pa
import pytest
import sqlglot

from proxy.backends.base import TableMap
from proxy.backends.duck import DuckBackend
from proxy.backends.iceberg import IcebergSource
from rewriter.errors import SqlError


@pytest.fixture(scope="module")
def warehouse(tmp_path_factory) -> Path:
    """A warehouse with one table whose schema evolved after its first data file was written."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from pyiceberg.catalog.sql import SqlCatalog
        from pyiceberg.types import StringType
    root = tmp_path_factory.mktemp("warehouse")
    catalog = SqlCatalog("icebase", uri=f"sqlite:///{root / 'catalog.db'}", warehouse=root.as_uri())
    catalog.create_namespace("audience")
    first = pa.table({"id": pa.array([1, 2], pa.int64()), "name": ["ann", "bob"]})
    table = catalog.create_table("audience.people", schema=first.schema)
    table.append(first)
    with table.update_schema() as update:
        update.rename_column("name", "full_name")
        update.add_column("email", StringType())
    table = catalog.load_table("audience.people")
    table.append(pa.table({"id": pa.array([3], pa.int64()), "full_name": ["cid"], "email": ["c@x"]}))
    (root / "secret.txt").write_text("not for clients\n")
    return root


@pytest.fixture(scope="module")
def lakehouse(warehouse):
    backend = DuckBackend(iceberg=[IcebergSource.from_warehouse(warehouse)])
    yield backend
    backend.close()


def _rows(backend, sql):
    cursor = backend.cursor()
    try:
        return cursor.execute(sql).read_all().to_pylist()
    finally:
        cursor.close()


def test_renamed_and_added_columns_read_by_field_id(lakehouse):
    rows = _rows(lakehouse, "SELECT id, full_name, email FROM icebase.audience.people ORDER BY id")
    assert rows == [{"id": 1, "full_name": "ann", "email": None}, {"id": 2, "full_name": "bob", "email": None},
                    {"id": 3, "full_name": "cid", "email": "c@x"}]


@pytest.mark.parametrize("sql,sqlstate", [
    ("SELECT * FROM read_csv('/etc/passwd')", "42501"),
    ("SELECT * FROM read_text('{warehouse}/catalog.db')", "42501"),
    ("SELECT * FROM read_text('{warehouse}/secret.txt')", "42501"),
    ("SELECT * FROM read_parquet('{warehouse}/**/*.parquet')", "42501"),
    ("ATTACH '{warehouse}/x.duckdb' AS x", "42501"),
    ("INSTALL iceberg", "42501"),
    ("SET enable_external_access = true", "22023"),  # the configuration is locked
])
def test_only_the_snapshots_data_files_are_readable(lakehouse, warehouse, sql, sqlstate):
    with pytest.raises(SqlError) as info:
        _rows(lakehouse, sql.format(warehouse=warehouse))
    assert info.value.sqlstate == sqlstate, info.value.message


def test_a_missing_catalog_is_a_clear_error(tmp_path):
    with pytest.raises(Exception, match="Iceberg catalog database not found"):
        DuckBackend(iceberg=[IcebergSource.from_warehouse(tmp_path / "nowhere")])


@pytest.mark.parametrize("mapping,drop_catalog,sql,expected", [
    ({}, True, "SELECT * FROM icebase.audience.t", 'SELECT * FROM "audience"."t"'),
    ({"icebase.audience": "public"}, True, "SELECT * FROM icebase.audience.t", 'SELECT * FROM "public"."t"'),
    ({"icebase.audience": "public", "icebase.audience.t": "crm.Clients"}, True,
     "SELECT * FROM icebase.audience.t JOIN icebase.audience.u ON true",
     'SELECT * FROM "crm"."Clients" JOIN "public"."u" ON TRUE'),
    ({}, False, "SELECT * FROM icebase.audience.t", "SELECT * FROM icebase.audience.t"),
    ({}, True, "WITH t AS (SELECT 1) SELECT * FROM t, x.y", 'WITH t AS (SELECT 1) SELECT * FROM t, x.y'),
])
def test_table_names_map_per_backend(mapping, drop_catalog, sql, expected):
    tree = sqlglot.parse_one(sql, read="postgres")
    assert TableMap.of(mapping, drop_catalog=drop_catalog).apply(tree).sql("postgres") == expected
