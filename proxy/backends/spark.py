"""Spark as a backend, through Spark Connect: a local server, a cluster, or Databricks (``sc://host:15002``).

The client is pyspark's Connect client (``pyspark-client``, or the full ``pyspark``): SQL goes over gRPC,
results come back as Arrow IPC batches, which are streamed here as they arrive (the client's
``to_table_as_iterator``, the iterator behind ``DataFrame.toLocalIterator``) rather than collected.

* One Spark Connect session per backend, shared by the proxy's client sessions: Spark runs their queries
  concurrently; each query carries its own tag, and ``interrupt()`` is ``interruptTag(tag)`` (the server
  stops it, SQLSTATE HY008, reported as 57014 as PostgreSQL does).
* Session configuration: ``spark.sql.session.timeZone=UTC`` and ANSI mode (Spark 4's default: division by
  zero, bad casts and overflow are errors, as in PostgreSQL), plus whatever ``conf:`` sets.
* Bound parameters are Spark's named parameter markers (the renderer writes ``$1`` as ``:p1``).
* Errors carry Spark's SQLSTATEs (most are PostgreSQL's: 42703, 42P01, 22012, …); the few that differ are
  mapped.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Iterator, Sequence

import pyarrow as pa
from sqlglot import exp

from proxy.backends.base import Capabilities, TableMap, describe_by_query, empty_reader, table_parts
from rewriter.errors import SqlError
from rewriter.render import render

DIALECT = "spark"
log = logging.getLogger("lens_proxy.backends.spark")
_DEFAULT_CONF = {"spark.sql.session.timeZone": "UTC", "spark.sql.ansi.enabled": "true"}
# Spark SQLSTATE -> PostgreSQL's, where they differ
_SQLSTATES = {"HY008": "57014", "22018": "22P02", "42K01": "42601", "42K03": "42P01", "42K09": "42804",
              "42000": "42601", "38000": "22023", "XX000": "XX000"}


def _spark_session(url: str):
    with warnings.catch_warnings():  # pyspark warns about pandas versions it has not seen
        warnings.simplefilter("ignore")
        from pyspark.sql import SparkSession
    logging.getLogger("SQLQueryContextLogger").setLevel(logging.CRITICAL)  # errors are ours to report
    return SparkSession.builder.remote(url).create()


class SparkBackend:
    dialect = DIALECT
    capabilities = Capabilities(explain_analyze=False, parameters=True, cancel="Spark Connect interruptTag")
    setting_names: frozenset[str] = frozenset()

    def __init__(self, url: str, *, token: str = "", conf: dict[str, str] | None = None,
                 tables: TableMap | None = None, name: str = "spark") -> None:
        self.name = name
        self._tables = tables or TableMap(drop_catalog=True)
        remote = url + (f"/;token={token}" if token and ";token=" not in url else "")
        try:
            self.spark = _spark_session(remote)
            for key, value in {**_DEFAULT_CONF, **(conf or {})}.items():
                self.spark.conf.set(key, value)
        except Exception as e:
            raise translate_error(e) from None

    def render(self, tree: exp.Expression) -> str:
        return render(self._tables.apply(tree), DIALECT)

    def cursor(self) -> Cursor:
        return Cursor(self.spark)

    def describe_table(self, table: exp.Table) -> pa.Schema | None:
        target = self._tables.target(table_parts(table))
        return describe_by_query(self.cursor(), ".".join(_ident(p) for p in target))

    def close(self) -> None:
        try:
            self.spark.stop()
        except Exception:
            log.debug("closing the Spark Connect session failed", exc_info=True)


class Cursor:
    """A client session's queries on the shared Spark Connect session, each under its own tag.

    A tag can only be interrupted once the server has registered the operation carrying it; a cancel that
    arrives earlier (while Spark still analyses the query, or before the request is sent) would be lost, and
    the query would run on. So ``interrupt()`` keeps interrupting the tag until the query has ended.
    """

    REPEAT_SECONDS = 0.2
    GIVE_UP_SECONDS = 60.0

    def __init__(self, spark) -> None:
        self._spark = spark
        self._tag: str | None = None  # the running query's tag, None when nothing runs
        self._lock = threading.Lock()

    def execute(self, sql: str, params: Sequence[object] | None = None) -> pa.RecordBatchReader:
        tag = f"lens-proxy-{uuid.uuid4().hex}"
        with self._lock:
            self._tag = tag
        args = {f"p{i}": v for i, v in enumerate(params or (), start=1)} or None
        self._spark.addTag(tag)  # thread-local: read when a request is built, here and at the first next()
        stream = None
        try:
            df = self._spark.sql(sql, args=args)
            client = self._spark.client
            stream = client.to_table_as_iterator(df._plan.to_proto(client), df._plan.observations)
            first, schema = _first_batch(stream)
        except Exception as e:
            if stream is not None:
                stream.close()  # release the server's execution now, not when it times out
            self._finished(tag)
            raise translate_error(e) from None
        finally:
            self._spark.removeTag(tag)
        if schema is None:
            self._finished(tag)
            return empty_reader()
        return pa.RecordBatchReader.from_batches(schema, _batches(first, stream, schema, lambda: self._finished(tag)))

    def _finished(self, tag: str) -> None:
        with self._lock:
            if self._tag == tag:
                self._tag = None

    def _running(self, tag: str) -> bool:
        with self._lock:
            return self._tag == tag

    def explain_analyze(self, sql: str) -> list[str]:
        raise SqlError("EXPLAIN ANALYZE is not available on a Spark backend", sqlstate="0A000")

    def interrupt(self) -> None:
        with self._lock:
            tag = self._tag
        if tag is not None:
            threading.Thread(target=self._interrupt_until_ended, args=(tag,), name="spark-interrupt", daemon=True).start()

    def _interrupt_until_ended(self, tag: str) -> None:
        deadline = time.monotonic() + self.GIVE_UP_SECONDS
        while self._running(tag) and time.monotonic() < deadline:
            try:
                self._spark.interruptTag(tag)
            except Exception:
                log.debug("interruptTag failed", exc_info=True)
            time.sleep(self.REPEAT_SECONDS)

    def close(self) -> None:
        self.interrupt()


def _first_batch(stream: Iterator) -> tuple[pa.RecordBatch | None, pa.Schema | None]:
    """Start the query: (its first batch, its Arrow schema); Spark sends the schema before any rows."""
    struct = None
    for item in stream:
        if isinstance(item, pa.Table):
            batch = item.combine_chunks().to_batches()
            first = batch[0] if batch else pa.RecordBatch.from_pylist([], schema=item.schema)
            return first, item.schema
        struct = item
    if struct is None:
        return None, None
    from pyspark.sql.pandas.types import to_arrow_schema

    return None, to_arrow_schema(struct)


def _batches(first: pa.RecordBatch | None, stream: Iterator, schema: pa.Schema,
             finished: Callable[[], None]) -> Iterator[pa.RecordBatch]:
    try:
        if first is not None and first.num_rows:
            yield first
        for item in stream:
            if isinstance(item, pa.Table):
                for batch in item.to_batches():
                    yield batch if batch.schema == schema else batch.cast(schema)
    except Exception as e:
        raise translate_error(e) from None
    finally:
        stream.close()
        finished()


def translate_error(e: BaseException) -> SqlError:
    """A Spark Connect error as a SqlError: Spark's message without its class prefix or plan dump."""
    if isinstance(e, SqlError):
        return e
    state = None
    condition = None
    if hasattr(e, "getSqlState"):
        try:
            state, condition = e.getSqlState(), e.getCondition()
        except Exception:
            pass
    text = str(e)
    message = text.split("\n")[0]
    if condition and message.startswith(f"[{condition}]"):
        message = message[len(condition) + 2:].strip()
    for cut in (" SQLSTATE:", "; line "):
        if cut in message:
            message = message.split(cut)[0].rstrip(" .;") + "."
    if state == "HY008" or "OPERATION_CANCELED" in text:
        return SqlError("canceling statement due to user request", sqlstate="57014")
    if state is None:
        if "UNAVAILABLE" in text or "Connection refused" in text or "failed to connect" in text.lower():
            return SqlError(f"Spark Connect server unavailable: {message}", sqlstate="08006")
        return SqlError(message, sqlstate="XX000")
    return SqlError(message, sqlstate=_SQLSTATES.get(state, state))


def _ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"
