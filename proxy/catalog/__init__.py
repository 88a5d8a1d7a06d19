"""The Postgres catalog (pg_catalog, information_schema, catalog functions) built from the served lenses.

Placeholder seam: ``Catalog.handles`` decides whether a query is a catalog query; the session then runs it on
``Catalog.cursor()`` instead of the lens backend. The real implementation replaces this module.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
from sqlglot import exp

from rewriter.lens import Lens


@dataclass(frozen=True, slots=True)
class CatalogContext:
    """What a catalog query may need to know about the session that sent it."""

    database: str
    user: str
    pid: int
    settings: Any  # proxy.settings.SessionSettings (get(name) -> str)
    server_version: str


class Catalog:
    def __init__(self, lenses: dict[str, Lens]) -> None:
        self.lenses = lenses

    def handles(self, ast: exp.Expression) -> bool:
        """True if ``ast`` reads catalog relations or calls catalog functions and reads no lens entity."""
        return False

    def cursor(self) -> CatalogCursor:
        return CatalogCursor(self)


class CatalogCursor:
    """One session's handle on the catalog; blocking methods, called off the event loop."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    def execute(self, ast: exp.Expression, params: Sequence[object] | None, context: CatalogContext) -> pa.RecordBatchReader:
        raise NotImplementedError

    def interrupt(self) -> None:
        pass

    def close(self) -> None:
        pass
