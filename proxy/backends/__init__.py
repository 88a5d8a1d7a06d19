"""Backends: where a lens's data lives and runs (see ``base`` for the interface).

``duck`` (embedded DuckDB over DuckDB files and Iceberg warehouses), ``postgres`` (a PostgreSQL server,
Arrow through ADBC), ``spark`` (Spark Connect: a local server, a cluster or Databricks). Engine client
libraries are imported only by the backend that needs them.
"""

from __future__ import annotations

from proxy.backends.base import Backend, Capabilities, Cursor, TableMap, next_batch
from proxy.config import BackendConfig

__all__ = ["Backend", "Capabilities", "Cursor", "TableMap", "next_batch", "open_backend"]


def open_backend(config: BackendConfig) -> Backend:
    """Connect to (or start, for DuckDB) the backend ``config`` describes; errors are the engine's own."""
    if config.type == "duckdb":
        from proxy.backends.duck import Attachment, DuckBackend
        from proxy.backends.iceberg import IcebergSource

        sources = [
            IcebergSource(w.catalog, w.uri, w.warehouse.resolve()) if w.uri
            else IcebergSource.from_warehouse(w.warehouse, w.catalog)
            for w in config.iceberg
        ]
        return DuckBackend([Attachment(f.path, f.catalog) for f in config.duckdb_files], iceberg=sources,
                           threads=config.threads, memory_limit=config.memory_limit,
                           tables=TableMap.of(config.tables), name=config.name)
    if config.type == "postgres":
        from proxy.backends.postgres import PostgresBackend

        return PostgresBackend(config.dsn, user=config.user, password=config.password,
                               tables=TableMap.of(config.tables, drop_catalog=True), name=config.name)
    if config.type == "spark":
        from proxy.backends.spark import SparkBackend

        return SparkBackend(config.url, token=config.token, conf=dict(config.conf),
                            tables=TableMap.of(config.tables, drop_catalog=True), name=config.name)
    raise ValueError(f"unknown backend type {config.type!r}")
