"""Embedded DuckDB: the default backend, over DuckDB files and over an Iceberg lakehouse.

One read-only, locked-down connection per server; each client session gets its own cursor on it, so
sessions run queries concurrently (DuckDB releases the GIL while it works) and one session's
``interrupt()`` touches no other. Every call into DuckDB, including pulling the next Arrow batch of a
running query, happens off the event loop (the session runs ``Cursor`` methods in a thread pool).

Lock-down, in this order: attach the data read-only (DuckDB files; Iceberg tables as views over their
snapshot's Parquet files), allow exactly the Iceberg data files and nothing else (``allowed_paths`` with external access disabled: no other file,
no network, no extension loading from SQL), then lock the configuration so no statement can undo any of it.
Clients never send SQL text here anyway: the proxy only executes queries it generated from a checked AST.

Iceberg tables are served as of the snapshot current when the server started (restart to pick up new
commits).
"""

from __future__ import annotations

import logging
import os
import re
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
from sqlglot import exp

from proxy.backends.base import Capabilities, TableMap, empty_reader, table_parts
from proxy.backends.iceberg import IcebergSource, IcebergTable, tables
from proxy.scheduler import thread_ids
from proxy.wire.params import TypedText
from rewriter.errors import SqlError
from rewriter.render import render

DIALECT = "duckdb"
BATCH_ROWS = 16_384
_SUBMIT = hasattr(duckdb.DuckDBPyConnection, "_submit")  # DuckDB 2: one submission per statement
log = logging.getLogger("lens_proxy.backends.duck")


@dataclass(frozen=True, slots=True)
class Attachment:
    """A DuckDB file attached under a catalog name (``icebase`` for the demo data)."""

    path: Path
    catalog: str


def _share_of_memory() -> str:
    """DuckDB's default limit is 80% of RAM per database: with N worker processes (``--workers``), each
    engine gets its share of those 80% unless the config sets ``memory_limit``."""
    workers = int(os.environ.get("LENS_PROXY_WORKERS") or 1)
    if workers <= 1:
        return ""
    total = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return f"{int(total * 0.8 / workers) >> 20}MB"


class DuckBackend:
    dialect = DIALECT
    capabilities = Capabilities(explain_analyze=True, parameters=True, cancel="DuckDB interrupt()")

    def __init__(
        self,
        attachments: Sequence[Attachment] = (),
        *,
        iceberg: Sequence[IcebergSource] = (),
        threads: int | None = None,
        memory_limit: str = "",
        tables: TableMap | None = None,
        name: str = "duckdb",
    ) -> None:
        self.name = name
        self._tables = tables or TableMap()
        self._files = tuple(a.path for a in attachments)
        self._snapshots: tuple = ()
        self._version: tuple = ()
        self._version_at = -1e9
        before = thread_ids()
        self._con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False})
        for a in attachments:
            if not a.path.exists():
                raise FileNotFoundError(f"DuckDB file not found: {a.path}")
            self._con.execute(f"ATTACH '{_sql_string(str(a.path))}' AS {_ident(a.catalog)} (READ_ONLY)")
        readable: list[str] = []
        for source in iceberg:
            readable += self._attach_iceberg(source)
        if threads:
            self._con.execute(f"SET threads = {int(threads)}")
        memory_limit = memory_limit or _share_of_memory()
        if memory_limit:
            self._con.execute("SET memory_limit = ?", [memory_limit])
        self.setting_names = frozenset(
            row[0].lower() for row in self._con.execute("SELECT name FROM duckdb_settings()").fetchall()
        )
        self._con.execute("SET autoload_known_extensions = false")
        if readable:
            self._con.execute("SET allowed_paths = ?", [readable])
        self._con.execute("SET enable_external_access = false")
        self._con.execute("SET lock_configuration = true")
        # DuckDB's own worker threads (started with the database): the scheduler lowers their priority so
        # a light query's calling thread wins the CPU over a heavy query's parallel tasks
        self.worker_threads = frozenset(thread_ids() - before - {t.native_id for t in threading.enumerate()})

    def _attach_iceberg(self, source: IcebergSource) -> list[str]:
        """Views ``catalog.namespace.table`` over each Iceberg table's current data files; their paths."""
        self._con.execute(f"ATTACH ':memory:' AS {_ident(source.catalog)}")
        files: list[str] = []
        namespaces: set[str] = set()
        for table in tables(source):
            if table.namespace not in namespaces:
                self._con.execute(f"CREATE SCHEMA IF NOT EXISTS {_ident(source.catalog)}.{_ident(table.namespace)}")
                namespaces.add(table.namespace)
            name = f"{_ident(source.catalog)}.{_ident(table.namespace)}.{_ident(table.name)}"
            self._con.execute(f"CREATE VIEW {name} AS {self._iceberg_select(table)}")
            files += table.files
            self._snapshots += ((name, table.snapshot_id),)
            log.info("iceberg %s: %d data files (snapshot %s)", name, len(table.files), table.snapshot_id)
        return files

    def _iceberg_select(self, table: IcebergTable) -> str:
        types = self._con.from_arrow(table.schema.empty_table()).dtypes
        if not table.files:  # an empty table: typed columns, no rows
            columns = ", ".join(f"NULL::{t} AS {_ident(f.name)}" for f, t in zip(table.schema, types, strict=True))
            return f"SELECT {columns} WHERE false"
        entries = ", ".join(
            f"{fid}: {{name: '{_sql_string(f.name)}', type: '{t}', default_value: NULL}}"
            for fid, f, t in zip(table.field_ids, table.schema, types, strict=True)
        )
        paths = ", ".join(f"'{_sql_string(p)}'" for p in table.files)
        return f"SELECT * FROM read_parquet([{paths}], schema = MAP {{{entries}}})"

    def data_version(self) -> tuple:
        """What the served data is, for the result cache: each attached file's identity (size and
        modification time, looked at once a second) and each Iceberg table's snapshot (fixed at start)."""
        now = time.monotonic()
        if now - self._version_at > 1.0:
            stamps = []
            for path in self._files:
                try:
                    st = path.stat()
                    stamps.append((str(path), st.st_size, st.st_mtime_ns))
                except OSError:
                    stamps.append((str(path), -1, -1))
            self._version = (tuple(stamps), self._snapshots)
            self._version_at = now
        return self._version

    def render(self, tree: exp.Expression) -> str:
        return render(self._tables.apply(tree), DIALECT)

    def cursor(self) -> Cursor:
        return Cursor(self._con.cursor())

    def describe_table(self, table: exp.Table) -> pa.Schema | None:
        name = ".".join(_ident(p) for p in self._tables.target(table_parts(table)))
        cur = self._con.cursor()
        try:
            return cur.sql(f"SELECT * FROM {name} LIMIT 0").to_arrow_table().schema
        except duckdb.CatalogException:
            return None
        except duckdb.Error as e:
            raise translate_error(e) from None
        finally:
            cur.close()

    def close(self) -> None:
        self._con.close()


class Cursor:
    """One session's handle: run a query, pull Arrow batches, interrupt. Blocking; call off the loop."""

    def __init__(self, cur: duckdb.DuckDBPyConnection) -> None:
        self._cur = cur
        self._lock = threading.Lock()
        self._stream: pa.RecordBatchReader | None = None  # the statement streaming (closed by the next one)

    def execute(self, sql: str, params: Sequence[object] | None = None) -> pa.RecordBatchReader:
        # one call at a time: after a timeout the interrupted call may still be unwinding in its thread
        with self._lock:
            values = [_engine_value(p) for p in params] if params else None
            try:
                reader = self._submit(sql, values)
                if reader is None:  # not a query: nothing to stream
                    return empty_reader()
            except duckdb.Error as e:
                raise translate_error(e) from None
        return pa.RecordBatchReader.from_batches(reader.schema, _translated(reader))

    def _submit(self, sql: str, values: list[object] | None) -> pa.RecordBatchReader | None:
        """Run ``sql`` once and stream its result. DuckDB 2's ``sql(text)`` parses and binds the statement
        for a lazy relation, then ``to_arrow_reader`` submits the text again (200-480 µs per statement
        wasted); the connection's one-shot submit streams the result of a single submission. DuckDB
        before 2.0 has no such call: the relation path is used there."""
        if _SUBMIT:
            if self._stream is not None:  # the previous statement's stream ends when the next one starts
                self._stream.close()
                self._stream = None
            self._stream = self._cur._submit(sql, values, "stream", BATCH_ROWS).arrow_reader()
            return self._stream
        rel = self._cur.sql(sql, params=values)
        return None if rel is None else rel.to_arrow_reader(BATCH_ROWS)

    def explain_analyze(self, sql: str) -> list[str]:
        with self._lock:
            try:
                rows = self._cur.sql(f"EXPLAIN ANALYZE {sql}").fetchall()
            except duckdb.Error as e:
                raise translate_error(e) from None
        return [line for row in rows for line in str(row[-1]).rstrip("\n").split("\n")]

    def interrupt(self) -> None:
        self._cur.interrupt()

    def close(self) -> None:
        try:
            self._cur.close()
        except duckdb.Error:
            pass


def _translated(reader: pa.RecordBatchReader) -> Iterator[pa.RecordBatch]:
    """DuckDB's stream with its errors as SqlErrors (the seam's contract), batch by batch."""
    try:
        while True:
            try:
                yield reader.read_next_batch()
            except StopIteration:
                return
            except duckdb.Error as e:
                raise translate_error(e) from None
            except (pa.ArrowInvalid, OSError) as e:  # DuckDB errors (an interrupt: OSError) through the Arrow stream
                raise _from_message(str(e)) from None
    finally:
        reader.close()


def _engine_value(value: object) -> object:
    """A parameter for DuckDB: a value Python cannot hold (``infinity``, year 10000) goes as typed text."""
    if isinstance(value, TypedText):
        from duckdb.value.constant import Value

        return Value(value.text, duckdb.sqltype(value.type_name))
    return value


# DuckDB exception class -> SQLSTATE. Messages keep DuckDB's text minus its "X Error: " prefix.
_SQLSTATE_BY_CLASS: tuple[tuple[type[BaseException], str], ...] = (
    (duckdb.InterruptException, "57014"),
    (duckdb.ParserException, "42601"),
    (duckdb.CatalogException, "42P01"),
    (duckdb.BinderException, "42703"),
    (duckdb.ConversionException, "22P02"),
    (duckdb.OutOfRangeException, "22003"),
    (duckdb.InvalidInputException, "22023"),
    (duckdb.PermissionException, "42501"),
    (duckdb.NotImplementedException, "0A000"),
    (duckdb.OutOfMemoryException, "53200"),
    (duckdb.ConstraintException, "23000"),
    (duckdb.TransactionException, "25000"),
)


# DuckDB runtime errors whose class maps to another SQLSTATE than PostgreSQL's for the same condition.
_SQLSTATE_BY_MESSAGE: tuple[tuple[str, str], ...] = (
    ("more than one row returned by a subquery", "21000"),
    ("date out of range", "22008"),  # date/time field values
    ("month out of range", "22008"),
    ("day out of range", "22008"),
    ("year out of range", "22008"),
    ("could not parse string", "22007"),
    ("invalid timestamp field format", "22007"),
    ("invalid date field format", "22007"),
    ("not recognized", "22023"),  # extract/date_trunc specifiers
)
_CODED = re.compile(r"^(?:Invalid Input Error: )?([0-9][0-9A-Z]{4}): (.*)$", re.S)


def translate_error(e: duckdb.Error) -> SqlError:
    sqlstate = "XX000"
    for cls, code in _SQLSTATE_BY_CLASS:
        if isinstance(e, cls):
            sqlstate = code
            break
    err = _from_message(str(e), sqlstate)
    return err


def _from_message(text: str, sqlstate: str = "XX000") -> SqlError:
    message = text.split("\n\n")[0]
    head, sep, rest = message.partition(" Error: ")
    if sep and " " not in head.strip():
        message = rest
    coded = _CODED.search(message)  # an emulation's own error: error('22012: division by zero')
    if coded:
        return SqlError(coded.group(2).strip(), sqlstate=coded.group(1))
    lowered = message.lower()
    for needle, code in _SQLSTATE_BY_MESSAGE:
        if needle in lowered:
            sqlstate = code
            break
    if "must appear in the group by" in lowered or "must be part of an aggregate" in lowered:
        sqlstate = "42803"
    elif "division by zero" in lowered:
        sqlstate = "22012"
    elif "interrupted" in lowered:
        sqlstate = "57014"
        message = "canceling statement due to user request"
    elif sqlstate == "42703" and "function" in lowered and "does not exist" in lowered:
        sqlstate = "42883"
    elif sqlstate == "42P01" and "function" in lowered:
        sqlstate = "42883"
    return SqlError(message.strip(), sqlstate=sqlstate)


def _sql_string(s: str) -> str:
    return s.replace("'", "''")


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
