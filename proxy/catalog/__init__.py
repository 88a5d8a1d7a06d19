"""The Postgres catalog (pg_catalog, information_schema, catalog functions) built from the served lenses.

``Catalog.handles`` decides whether a query is a catalog query (it reads catalog relations, or calls catalog
functions without a FROM); the session then runs it on ``Catalog.cursor()`` instead of the lens backend.

Design (see also ``store``, ``model``, ``translate``): an in-memory DuckDB, separate from the data backend and
built lazily on first use, holds one catalog per served lens (each lens is a database); a catalog query is
translated from the client's Postgres AST to DuckDB SQL over the session's database's catalog, with the
session's values (user, database, pid, settings) substituted per execution. The engine's own
``pg_catalog``/``information_schema`` are never reachable: every relation a query names must be one the
catalog defines.

Entity column types are what queries really return when the catalog is given the data backend (it runs each
entity's members with ``LIMIT 0`` through the rewriter); otherwise they are inferred from the lens.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import duckdb
import pyarrow as pa
from sqlglot import exp
from sqlglot.optimizer.normalize_identifiers import normalize_identifiers

from proxy import pgfunctions
from proxy.catalog import store
from proxy.catalog.functions import macro_names
from proxy.catalog.model import entity_columns
from proxy.catalog.origins import WHOLE_ROW, Table, column_origins
from proxy.catalog.result_types import vector_positions, with_vectors
from proxy.catalog.translate import SESSION_RELATIONS, Target, translate
from proxy.errors import SqlError
from proxy.wire import types as pgtypes
from rewriter.lens import Entity, Lens

log = logging.getLogger("lens_proxy.catalog")
BATCH_ROWS = 16_384
ORIGINS_CACHE_SIZE = 512

# Functions that make a FROM-less query a catalog query (``SELECT pg_catalog.format_type(23, NULL)``).
# (Functions the data path also renders, such as quote_ident or json_build_object, do not make a FROM-less
# query a catalog query: it then gets the data path's PostgreSQL semantics; with catalog relations in FROM,
# the catalog's macros serve them.)
_CATALOG_FUNCTIONS = (macro_names() - {"quote_ident", "array_lower", "array_upper"}) | {
    "pg_postmaster_start_time", "pg_conf_load_time", "pg_get_keywords", "pg_partition_ancestors"}
_REG_CASTS = {"REGCLASS", "REGTYPE", "REGNAMESPACE", "REGPROC", "REGPROCEDURE", "REGROLE", "REGOPER"}


@dataclass(frozen=True, slots=True)
class CatalogContext:
    """What a catalog query may need to know about the session that sent it."""

    database: str
    user: str
    pid: int
    settings: Any  # proxy.settings.SessionSettings (get(name) -> str)
    server_version: str
    view: Lens | None = None  # the lens as the session's data policy shows it (None: the whole lens)
    view_key: str = ""  # identifies that view (the policy's fingerprint)


DescribeEntity = Callable[[Lens, Entity], pa.Schema | None]


class Catalog:
    def __init__(self, lenses: dict[str, Lens], *, backend: Any = None, describe_entity: DescribeEntity | None = None) -> None:
        """``backend`` (the data backend) or ``describe_entity`` let the catalog type entity columns exactly."""
        self.lenses = lenses
        if describe_entity is None and backend is not None:
            describe_entity = _describer(backend)
        self._describe_uncached = describe_entity or (lambda lens, entity: None)
        self._described: dict[tuple[str, str], pa.Schema | None] = {}
        self._entity_types: dict[str, dict[str, dict[str, str]]] = {}
        self.relations = store.relations()
        self._con: duckdb.DuckDBPyConnection | None = None
        self._lock = threading.Lock()
        self._lookups: dict[int, dict[tuple[str, str], int]] = {}
        self._databases: dict[tuple[str, str], int] = {}  # (database, policy view key) -> schema index
        self._tables: dict[tuple[str, str], Table | None] = {}
        self._origins_cache: dict[tuple[str, int], tuple[exp.Expression, list[tuple[int, int]] | None]] = {}
        self.started_at = dt.datetime.now(dt.timezone.utc).isoformat()

    def _describe(self, lens: Lens, entity: Entity) -> pa.Schema | None:
        key = (lens.name, entity.name)
        if key not in self._described:
            self._described[key] = self._describe_uncached(lens, entity)
        return self._described[key]

    def entity_types(self, lens: Lens) -> dict[str, dict[str, str]]:
        """entity -> column -> Postgres type name, as the catalog reports them: the schema the rewriter's
        Postgres semantics rules type client queries with (``rewriter.postgres.types``)."""
        cached = self._entity_types.get(lens.name)
        if cached is None:
            cached = {}
            for entity in lens.entities:
                schema = self._describe(lens, entity)
                if schema is not None:
                    cached[entity.name] = {f.name: pgtypes.pg_type_for_arrow(f.type).name for f in schema}
            self._entity_types[lens.name] = cached
        return cached

    def with_origins(self, database: str, tree: exp.Expression | None, schema: pa.Schema) -> pa.Schema:
        """``schema`` with each field that is a table's column marked with that table's OID and the
        column's number (field metadata), for RowDescription (``proxy.catalog.origins``), and each
        whole-row reference (a struct) typed as a Postgres record; ``result_types.conform`` makes a
        result's batches follow."""
        lens = self.lenses.get(database)
        if tree is None or lens is None or not len(schema):
            return schema
        origins = self._origins(lens, tree)
        if origins is None or len(origins) != len(schema) or not any(oid for oid, _ in origins):
            return schema
        fields = []
        for f, (oid, n) in zip(schema, origins, strict=True):
            if (oid, n) == WHOLE_ROW and pa.types.is_struct(f.type):
                f = f.with_type(pgtypes.RecordType(f.type))
            elif oid > 0:
                f = f.with_metadata({**(f.metadata or {}), pgtypes.TABLE_OID_KEY: str(oid).encode(),
                                     pgtypes.ATTNUM_KEY: str(n).encode()})
            fields.append(f)
        return pa.schema(fields, metadata=schema.metadata)

    def _origins(self, lens: Lens, tree: exp.Expression) -> list[tuple[int, int]] | None:
        """The origins of ``tree``'s columns, remembered for the tree (a prepared statement's, executed
        again and again, is the same object)."""
        key = (lens.name, id(tree))
        hit = self._origins_cache.get(key)
        if hit is not None and hit[0] is tree:
            return hit[1]
        try:
            origins = column_origins(normalize_identifiers(tree.copy(), dialect="postgres"),
                                     lambda name: self._table(lens, name))
        except Exception:  # never worth failing a query over
            log.debug("no column origins for %s", tree.sql("postgres"), exc_info=True)
            origins = None
        if len(self._origins_cache) >= ORIGINS_CACHE_SIZE:
            self._origins_cache.pop(next(iter(self._origins_cache)))
        self._origins_cache[key] = (tree, origins)
        return origins

    def _table(self, lens: Lens, name: str) -> Table | None:
        key = (lens.name, name)
        if key not in self._tables:
            self._tables[key] = self._resolve_table(lens, name)
        return self._tables[key]

    def _resolve_table(self, lens: Lens, name: str) -> Table | None:
        schema, _, relname = name.rpartition(".")
        self.connection()
        lookups = self._lookups[self._databases[(lens.name, "")]]  # OIDs come from names: the same in every view
        oid = lookups.get(("regclass", f"{schema or 'public'}.{relname}"))
        entity = lens.entity(relname) if schema in ("", "public") else None
        if entity is not None and oid is not None:
            columns = entity_columns(entity, self._describe(lens, entity))
            star = tuple(c.name for c in columns if c.member.kind != "measure")
            return Table(oid, tuple(c.name for c in columns), star)
        relation = self.relations.get(f"{schema or 'pg_catalog'}.{relname}")
        oid = lookups.get(("regclass", f"{schema or 'pg_catalog'}.{relname}"))
        if relation is None or oid is None:
            return None
        names = tuple(c for c, _ in relation.columns)
        return Table(oid, names, names)

    # -- routing -----------------------------------------------------------------------------------------

    def handles(self, ast: exp.Expression | None) -> bool:
        """True if ``ast`` reads catalog relations or calls catalog functions and reads no lens entity."""
        if ast is None:
            return False
        ctes = {cte.alias_or_name.lower() for cte in ast.find_all(exp.CTE)}
        catalog = other = False
        for table in ast.find_all(exp.Table):
            if not isinstance(table.this, exp.Identifier):
                func = table.this.expression if isinstance(table.this, exp.Dot) else table.this
                if isinstance(func, exp.Func) and func.name.lower() in ("pg_get_keywords", "_pg_expandarray",
                                                                          "pg_partition_ancestors"):
                    catalog = True
                continue
            name, schema = table.name.lower(), table.db.lower()
            if not schema and name in ctes:
                continue
            if self._is_relation(schema, name):
                catalog = True
            else:
                other = True
        if catalog:
            return not other
        if other:
            return False
        return self._calls_catalog_functions(ast)

    def _is_relation(self, schema: str, name: str) -> bool:
        if schema in ("", "pg_catalog"):
            return f"pg_catalog.{name}" in self.relations
        return schema == "information_schema" and f"information_schema.{name}" in self.relations

    @staticmethod
    def _calls_catalog_functions(ast: exp.Expression) -> bool:
        for node in ast.walk():
            if isinstance(node, exp.Anonymous) and node.name.lower() in _CATALOG_FUNCTIONS:
                return True
            if isinstance(node, exp.Cast):
                to = node.to
                if isinstance(to, exp.ObjectIdentifier) and str(to.this).upper() in _REG_CASTS:
                    return True
                if isinstance(to, exp.DataType) and to.this == exp.DataType.Type.USERDEFINED:
                    kind = to.args.get("kind")
                    name = kind.expression.name if isinstance(kind, exp.Dot) else getattr(kind, "name", str(kind))
                    if name.upper() in _REG_CASTS:
                        return True
        return False

    # -- the catalog database ----------------------------------------------------------------------------

    def connection(self) -> duckdb.DuckDBPyConnection:
        with self._lock:
            if self._con is None:
                self._con = store.build(self.lenses, self._describe)
                self._databases = {(name, ""): i for i, name in enumerate(self.lenses)}
                self._lookups = {i: self._reg_lookups(i) for i in self._databases.values()}
            return self._con

    def _database_index(self, context: CatalogContext) -> int:
        """The schema index of the session's database, as its policy shows it: a policy view is built on
        first use (the lens minus what the policy denies) and shared by every session with that policy."""
        self.connection()
        key = (context.database, context.view_key if context.view is not None else "")
        with self._lock:
            index = self._databases.get(key)
            if index is None:
                assert self._con is not None and context.view is not None
                index = len(self._databases)
                store.add_database(self._con, index, context.view, self.lenses, self._describe)
                self._databases[key] = index
                self._lookups[index] = self._reg_lookups(index)
            return index

    def _reg_lookups(self, index: int) -> dict[tuple[str, str], int]:
        assert self._con is not None
        pg, _ = store.schema_names(index)
        out: dict[tuple[str, str], int] = {}
        queries = {
            "regclass": f"SELECT c.relname, n.nspname, c.oid FROM {pg}.pg_class c JOIN {pg}.pg_namespace n ON n.oid = c.relnamespace",
            "regtype": f"SELECT t.typname, n.nspname, t.oid FROM {pg}.pg_type t JOIN {pg}.pg_namespace n ON n.oid = t.typnamespace "
                       f"UNION ALL SELECT f.name, 'pg_catalog', f.oid FROM {pg}._format_type f",
            "regnamespace": f"SELECT nspname, NULL, oid FROM {pg}.pg_namespace",
            "regproc": f"SELECT proname, 'pg_catalog', min(oid) FROM {pg}.pg_proc GROUP BY proname",
            "regrole": f"SELECT rolname, NULL, oid FROM {pg}.pg_authid",
        }
        for kind, sql in queries.items():
            for name, schema, oid in self._con.execute(sql).fetchall():
                out.setdefault((kind, name), oid)
                if schema:
                    out.setdefault((kind, f"{schema}.{name}"), oid)
        return out

    def target(self, context: CatalogContext) -> Target:
        if context.database not in self.lenses:
            raise SqlError(f'database "{context.database}" does not exist', sqlstate="3D000")
        index = self._database_index(context)
        pg, info = store.schema_names(index)
        lookups = self._lookups[index]

        def lookup(kind: str, name: str) -> int | None:
            text = name.strip()
            unquoted = ".".join(p.strip('"') if p.startswith('"') else p.lower() for p in text.split("."))
            return lookups.get((kind, unquoted), lookups.get((kind, text)))

        return Target(pg, info, self.relations, lookup, lambda rel: self.session_rows(rel, context),
                      store.vector_columns(), self.started_at)

    def session_rows(self, relation: str, context: CatalogContext) -> tuple[list[str], list[tuple[object, ...]]]:
        """Rows a session adds to ``relation`` (its settings, its activity, its role)."""
        columns = [c for c, _ in self.relations[f"pg_catalog.{relation}"].columns]
        lookups = self._lookups.get(self._database_index(context), {}) if context.database in self.lenses else {}
        user_oid = lookups.get(("regrole", context.user))
        values: list[dict[str, object]] = []
        new_role = user_oid is None
        user_oid = user_oid or _user_oid(context.user)
        if relation == "pg_settings":
            session = context.settings.show_all()
            for name, setting, description in session:
                values.append(dict(name=name, setting=setting, category="lens-proxy", short_desc=description,
                                   context="user", vartype="string", source="session", boot_val=setting,
                                   reset_val=setting, pending_restart=False))
            shown = {name.lower() for name, _, _ in session}
            for name, setting in pgfunctions.SERVER_SETTINGS.items():
                if name not in shown:
                    values.append(dict(name=name, setting=setting, category="lens-proxy", context="internal",
                                       vartype="string", source="default", boot_val=setting, reset_val=setting,
                                       pending_restart=False))
        elif relation == "pg_stat_activity":
            values.append(dict(datname=context.database, pid=context.pid, usesysid=user_oid, usename=context.user,
                               application_name=_setting(context, "application_name"), state="active",
                               backend_type="client backend", query=""))
        elif new_role and relation in ("pg_roles", "pg_authid"):
            values.append(dict(oid=user_oid, rolname=context.user, rolsuper=False, rolinherit=True,
                               rolcreaterole=False, rolcreatedb=False, rolcanlogin=True, rolreplication=False,
                               rolbypassrls=False, rolconnlimit=-1,
                               rolpassword="********" if relation == "pg_roles" else None))
        elif new_role and relation in ("pg_user", "pg_shadow"):
            values.append(dict(usename=context.user, usesysid=user_oid, usecreatedb=False, usesuper=False,
                               userepl=False, usebypassrls=False, passwd="********"))
        return columns, [tuple(v.get(c) for c in columns) for v in values]

    def cursor(self) -> CatalogCursor:
        return CatalogCursor(self)


def _setting(context: CatalogContext, name: str) -> str | None:
    try:
        return context.settings.get(name)
    except Exception:
        return None


def _user_oid(user: str) -> int:
    from proxy.catalog.oids import OidAllocator

    return OidAllocator()("role", user)


class CatalogCursor:
    """One session's handle on the catalog; blocking methods, called off the event loop."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog
        self._cur: duckdb.DuckDBPyConnection | None = None

    def execute(self, ast: exp.Expression, params: Sequence[object] | None, context: CatalogContext) -> pa.RecordBatchReader:
        target = self.catalog.target(context)
        sql, used = translate(ast, context, target)
        log.debug("catalog SQL: %s", sql)
        values = [params[n - 1] if params and n <= len(params) else None for n in used]
        if self._cur is None:
            self._cur = self.catalog.connection().cursor()
        try:
            rel = self._cur.sql(sql, params=values or None)
            if rel is None:
                return pa.RecordBatchReader.from_batches(pa.schema([]), [])
            reader = rel.to_arrow_reader(BATCH_ROWS)
        except duckdb.Error as e:
            from proxy.backends.duck import translate_error

            raise translate_error(e) from None
        return with_vectors(reader, vector_positions(ast, reader.schema, store.vector_column_types()))

    def interrupt(self) -> None:
        if self._cur is not None:
            self._cur.interrupt()

    def close(self) -> None:
        if self._cur is not None:
            self._cur.close()
            self._cur = None


__all__ = ["Catalog", "CatalogContext", "CatalogCursor", "SESSION_RELATIONS"]


def _describer(backends: Any) -> DescribeEntity:
    """Entity columns as queries really return them: each entity's members, ``LIMIT 0``, on the lens's
    backend (``backends``: one backend, or a mapping of lens name to backend)."""
    import sqlglot

    from rewriter.rewrite import rewrite

    def describe(lens: Lens, entity: Entity) -> pa.Schema | None:
        fields: list[pa.Field] = []
        members = [m for m in entity.members if not m.hidden]
        groups = [[m for m in members if m.kind != "measure"], [m for m in members if m.kind == "measure"]]
        backend = backends.get(lens.name) if isinstance(backends, dict) else backends
        if backend is None:
            return None
        try:
            cursor = backend.cursor()
            for group in groups:
                if not group:
                    continue
                names = ", ".join('"' + m.name.replace('"', '""') + '"' for m in group)
                quoted = '"' + entity.name.replace('"', '""') + '"'
                query = sqlglot.parse_one(f"SELECT {names} FROM {quoted} LIMIT 0", read="postgres")
                sql = backend.render(rewrite(query, lens))
                fields.extend(cursor.execute(sql).schema)
            cursor.close() if hasattr(cursor, "close") else None
        except Exception:  # the lens's declared types are the fallback
            log.warning("could not describe entity %s.%s; using declared types", lens.name, entity.name, exc_info=True)
            return None
        return pa.schema(fields)

    return describe
