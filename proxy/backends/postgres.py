"""PostgreSQL as a backend: the lens's tables live in a PostgreSQL database.

Arrow comes out through ADBC (``adbc-driver-postgresql``: libpq, ``COPY … TO STDOUT (FORMAT binary)``
decoded in C++ straight into Arrow batches). Chosen by measurement (bench/bench_backends.py ``--pg-arrow``,
1M rows × 5 columns, one run): ADBC 0.99 s, asyncpg ``COPY … csv`` → pyarrow.csv 1.16 s, psycopg rows →
Arrow 5.8 s, asyncpg records → Arrow 7.3 s. The COPY-text path is close, but it buffers the whole result
and re-infers types from text (no numeric scale, NULL and empty string alike); ADBC streams typed batches
(~16 MB each) while the query runs, binds parameters, and cancels with libpq's cancel request.

One connection per cursor (a client session, or a named portal of it), autocommit and read-only
(``default_transaction_read_only``), TimeZone UTC so timestamps mean what they mean on the other backends.

Types: PostgreSQL ``numeric`` arrives as text (an opaque extension type); a declared ``numeric(p,s)``
becomes ``decimal128(p,s)``, an unconstrained numeric (``round(x, 2)``, ``100.0 * a / b``) ``float64``,
as the same expression computes on DuckDB (an exact decimal needs one scale for the whole column, which an
unconstrained numeric does not have).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator, Sequence
from urllib.parse import quote, urlparse, urlunparse

import pyarrow as pa
import pyarrow.compute as pc
from sqlglot import exp

from proxy.backends.base import Capabilities, TableMap, describe_by_query, empty_reader, table_parts
from rewriter.errors import SqlError
from rewriter.render import render

DIALECT = "postgres"
log = logging.getLogger("lens_proxy.backends.postgres")
_SESSION_SETUP = ("SET default_transaction_read_only = on", "SET TimeZone = 'UTC'",
                  "SET DateStyle = 'ISO, MDY'", "SET application_name = 'lens-proxy'")


class PostgresBackend:
    dialect = DIALECT
    capabilities = Capabilities(explain_analyze=True, parameters=True, cancel="PostgreSQL cancel request")
    setting_names: frozenset[str] = frozenset()

    def __init__(self, dsn: str, *, user: str = "", password: str = "", tables: TableMap | None = None,
                 name: str = "postgres") -> None:
        self.name = name
        self._uri = _uri(dsn, user, password)
        self._tables = tables or TableMap(drop_catalog=True)
        with self._connect() as conn:  # fail at start, not at the first query
            names = conn.cursor()
            names.execute("SELECT name FROM pg_settings")
            self.setting_names = frozenset(r[0].lower() for r in names.fetchall())
            names.close()

    def _connect(self):  # -> adbc_driver_manager.dbapi.Connection
        import adbc_driver_postgresql.dbapi as adbc

        try:
            conn = adbc.connect(self._uri, autocommit=True)
        except Exception as e:
            raise translate_error(e) from None
        cur = conn.cursor()
        for statement in _SESSION_SETUP:
            cur.execute(statement)
        cur.close()
        return conn

    def render(self, tree: exp.Expression) -> str:
        return render(self._tables.apply(tree), DIALECT)

    def cursor(self) -> Cursor:
        return Cursor(self._connect())

    def describe_table(self, table: exp.Table) -> pa.Schema | None:
        target = self._tables.target(table_parts(table))
        return describe_by_query(self.cursor(), ".".join(_ident(p) for p in target))

    def close(self) -> None:
        pass


class Cursor:
    """One session's PostgreSQL connection. Blocking; called off the event loop."""

    def __init__(self, conn) -> None:
        self._conn = conn
        self._cur = conn.cursor()
        self._lock = threading.Lock()

    def execute(self, sql: str, params: Sequence[object] | None = None) -> pa.RecordBatchReader:
        with self._lock:  # one call at a time: an interrupted call may still be unwinding in its thread
            try:
                self._cur.execute(sql, tuple(params) if params else None)
                reader = self._cur.fetch_record_batch()
            except Exception as e:
                raise translate_error(e) from None
        if reader is None:
            return empty_reader()
        schema = arrow_schema(reader.schema)
        return pa.RecordBatchReader.from_batches(schema, _converted(reader, schema))

    def explain_analyze(self, sql: str) -> list[str]:
        cur = self._conn.cursor()
        try:  # EXPLAIN cannot run inside COPY, ADBC's default way of reading a result
            cur.adbc_statement.set_options(**{"adbc.postgresql.use_copy": "false"})
            cur.execute(f"EXPLAIN ANALYZE {sql}")
            return [str(row[0]) for row in cur.fetchall()]
        except Exception as e:
            raise translate_error(e) from None
        finally:
            cur.close()

    def interrupt(self) -> None:
        """libpq's cancel request: the server stops the statement, its stream ends with 57014."""
        try:
            self._cur.adbc_cancel()
        except Exception:  # nothing running, or the connection is gone
            log.debug("cancel failed", exc_info=True)

    def close(self) -> None:
        for thing in (self._cur, self._conn):
            try:
                thing.close()
            except Exception:
                pass


# -- types ------------------------------------------------------------------------------------------------


def arrow_schema(schema: pa.Schema) -> pa.Schema:
    """The schema the proxy streams: PostgreSQL numerics as decimals (or doubles when unconstrained)."""
    return pa.schema([pa.field(f.name, _proxy_type(f), f.nullable) for f in schema])


def _proxy_type(f: pa.Field) -> pa.DataType:
    if not _is_numeric(f.type):
        return f.type
    typmod = int((f.metadata or {}).get(b"POSTGRESQL:typmod", b"-1"))
    if typmod < 4:
        return pa.float64()
    precision, scale = ((typmod - 4) >> 16) & 0xFFFF, (typmod - 4) & 0xFFFF
    return pa.decimal128(precision, scale) if precision <= 38 else pa.decimal256(min(precision, 76), scale)


def _is_numeric(t: pa.DataType) -> bool:
    return isinstance(t, pa.BaseExtensionType) and getattr(t, "type_name", "") == "numeric"


def _converted(reader: pa.RecordBatchReader, schema: pa.Schema) -> Iterator[pa.RecordBatch]:
    convert = [i for i, f in enumerate(reader.schema) if _is_numeric(f.type)]
    try:
        while True:
            try:
                batch = reader.read_next_batch()
            except StopIteration:
                return
            except Exception as e:
                raise translate_error(e) from None
            if convert:
                columns = list(batch.columns)
                for i in convert:
                    text = columns[i].storage if hasattr(columns[i], "storage") else columns[i]
                    columns[i] = pc.cast(text, schema.field(i).type)
                batch = pa.RecordBatch.from_arrays(columns, schema=schema)
            yield batch
    finally:
        reader.close()


# -- errors -----------------------------------------------------------------------------------------------

# Errors raised while a result streams come back from libpq as text only: map the common ones.
_STREAM_ERRORS = (
    ("canceling statement due to user request", "57014"),
    ("canceling statement due to statement timeout", "57014"),
    ("division by zero", "22012"),
    ("invalid input syntax", "22P02"),
    ("out of range", "22003"),
)


def translate_error(e: BaseException) -> SqlError:
    """An ADBC/libpq error as the SqlError PostgreSQL meant (its SQLSTATE, message, hint)."""
    details = dict(getattr(e, "details", None) or [])
    sqlstate = getattr(e, "sqlstate", None) or details.get(b"PG_DIAG_SQLSTATE", b"").decode() or ""
    message = details.get(b"PG_DIAG_MESSAGE_PRIMARY", b"").decode()
    hint = details.get(b"PG_DIAG_MESSAGE_HINT", b"").decode() or None
    if not message:
        text = str(e)
        message = text.split("ERROR:", 1)[1].strip() if "ERROR:" in text else text
        message = message.split("\n")[0].strip()
    if not sqlstate:
        lowered = message.lower()
        sqlstate = next((code for text, code in _STREAM_ERRORS if text in lowered), "")
        if not sqlstate:
            sqlstate = "08006" if "connection" in lowered or "server closed" in lowered else "22000"
    return SqlError(message, sqlstate=sqlstate, hint=hint)


# -- connection strings -----------------------------------------------------------------------------------


def _uri(dsn: str, user: str, password: str) -> str:
    """A libpq URI from a URI or ``key=value`` DSN, with the configured user and password filled in."""
    if "://" not in dsn:
        parts = dict(item.split("=", 1) for item in dsn.split())
        user = user or parts.pop("user", "")
        password = password or parts.pop("password", "")
        host, port, dbname = parts.pop("host", "localhost"), parts.pop("port", "5432"), parts.pop("dbname", "")
        query = "&".join(f"{k}={quote(v)}" for k, v in parts.items())
        dsn = f"postgresql://{host}:{port}/{dbname}" + (f"?{query}" if query else "")
    if not user and not password:
        return dsn
    parsed = urlparse(dsn)
    user = user or parsed.username or ""
    password = password or parsed.password or ""
    auth = quote(user, safe="") + (f":{quote(password, safe='')}" if password else "")
    netloc = f"{auth}@{parsed.hostname or 'localhost'}" + (f":{parsed.port}" if parsed.port else "")
    return urlunparse(parsed._replace(netloc=netloc))


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'
