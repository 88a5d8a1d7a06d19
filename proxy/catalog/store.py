"""The catalog database: an in-memory DuckDB holding Postgres's catalog relations, filled from the lenses.

Separate from the data backend (it attaches nothing), built once per server, then locked down (no external
access, configuration locked). Each served lens is one Postgres database, so each gets its own DuckDB schemas:
``db<i>`` holds the ``pg_catalog`` relations and the catalog functions (macros), ``db<i>_info`` the
``information_schema`` views. Column names and types are Postgres 15's (``builtin/pg15_builtin.json.gz``, dumped
from a fresh cluster by ``builtin/dump_builtin.py``, which also provides the built-in rows of the static
relations: ``pg_type``, ``pg_proc``, ``pg_am``, ``pg_operator`` …).

Postgres types are stored as: oid/regtype/regproc → INTEGER (a regproc column holds the function's OID, so
``proc.oid = typ.typreceive`` joins work; it prints as a number, not a name), name-like types → VARCHAR, ``int2vector``/``oidvector`` → lists (0-based in Postgres: the translator shifts subscripts),
``aclitem[]``/``text[]`` → VARCHAR[].
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb
import pyarrow as pa

from proxy.catalog import functions
from proxy.catalog.model import (
    BOOTSTRAP_SUPERUSER,
    CATALOG_TABLES,
    INFORMATION_SCHEMA_NS,
    PG_CATALOG_NS,
    PG_DATABASE,
    Rows,
    database_rows,
)
from proxy.catalog.oids import OidAllocator
from rewriter.lens import Entity, Lens

DATA = Path(__file__).with_name("builtin") / "pg15_builtin.json.gz"

_DUCK_TYPES: dict[str, tuple[str, pa.DataType]] = {
    "oid": ("UINTEGER", pa.uint32()), "regproc": ("UINTEGER", pa.uint32()), "regtype": ("UINTEGER", pa.uint32()), "int4": ("INTEGER", pa.int32()),
    "cardinal_number": ("INTEGER", pa.int32()), "int2": ("SMALLINT", pa.int16()), "int8": ("BIGINT", pa.int64()),
    "bool": ("BOOLEAN", pa.bool_()), "float4": ("REAL", pa.float32()), "float8": ("DOUBLE", pa.float64()),
    "numeric": ("DOUBLE", pa.float64()), "bytea": ("BLOB", pa.binary()),
    "timestamptz": ("TIMESTAMPTZ", pa.timestamp("us", tz="UTC")), "time_stamp": ("TIMESTAMPTZ", pa.timestamp("us", tz="UTC")),
    "_oid": ("UINTEGER[]", pa.list_(pa.uint32())), "oidvector": ("UINTEGER[]", pa.list_(pa.uint32())),
    "_regtype": ("UINTEGER[]", pa.list_(pa.uint32())), "int2vector": ("SMALLINT[]", pa.list_(pa.int16())),
    "_int2": ("SMALLINT[]", pa.list_(pa.int16())), "_float4": ("REAL[]", pa.list_(pa.float32())),
    "_text": ("VARCHAR[]", pa.list_(pa.string())), "_name": ("VARCHAR[]", pa.list_(pa.string())),
    "_aclitem": ("VARCHAR[]", pa.list_(pa.string())), "_char": ("VARCHAR[]", pa.list_(pa.string())),
    "_pg_lsn": ("VARCHAR[]", pa.list_(pa.string())),
}
_TEXT = ("VARCHAR", pa.string())
VECTOR_TYPES = ("int2vector", "oidvector")

# Relations whose rows are the same in every database (Postgres's shared catalogs, and static content).
SHARED = ("pg_catalog.pg_database", "pg_catalog.pg_authid", "pg_catalog.pg_roles", "pg_catalog.pg_user",
          "pg_catalog.pg_shadow", "pg_catalog.pg_shdescription", "pg_catalog.pg_tablespace")


@dataclass(frozen=True, slots=True)
class Relation:
    schema: str  # pg_catalog | information_schema
    name: str
    columns: tuple[tuple[str, str], ...]  # (name, Postgres type name)

    @property
    def key(self) -> str:
        return f"{self.schema}.{self.name}"


@cache
def builtin() -> dict[str, dict]:
    with gzip.open(DATA, "rt", encoding="utf-8") as f:
        return json.load(f)


def relations() -> dict[str, Relation]:
    """Every emulated relation by qualified name (``pg_catalog.pg_class``)."""
    out = {}
    for key, data in builtin().items():
        schema, name = key.split(".", 1)
        out[key] = Relation(schema, name, tuple((c, t) for c, t in data["columns"]))
    return out


@cache
def vector_columns() -> frozenset[str]:
    """Names of int2vector/oidvector columns (0-based arrays in Postgres)."""
    return frozenset(vector_column_types())


@cache
def vector_column_types() -> dict[str, str]:
    """int2vector/oidvector column name -> its type (each name is one type across the catalog)."""
    return {c: t for rel in relations().values() for c, t in rel.columns if t in VECTOR_TYPES}


def schema_names(index: int) -> tuple[str, str]:
    return f"db{index}", f"db{index}_info"


def build(lenses: dict[str, Lens], describe: Callable[[Lens, Entity], pa.Schema | None]) -> duckdb.DuckDBPyConnection:
    """A locked-down in-memory DuckDB holding one catalog per lens (schemas ``db<i>``/``db<i>_info``).
    More databases (a lens as one identity's policy shows it) are added later with ``add_database``; the
    connection is locked with ``lock`` once the first set is built (``add_database`` needs no settings)."""
    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    for index, lens in enumerate(lenses.values()):
        add_database(con, index, lens, lenses, describe)
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def add_database(con: duckdb.DuckDBPyConnection, index: int, lens: Lens, lenses: dict[str, Lens],
                 describe: Callable[[Lens, Entity], pa.Schema | None]) -> None:
    """The catalog of ``lens`` in schemas ``db<index>``/``db<index>_info`` (``lenses``: every served lens,
    for the shared relations: databases, roles)."""
    rels = relations()
    oid = OidAllocator()
    owners = sorted({"postgres", *(served.owner or "postgres" for served in lenses.values())})  # 10 owns the built-ins
    role_oid = {name: (BOOTSTRAP_SUPERUSER if name == "postgres" else oid("role", name)) for name in owners}
    shared = _shared_rows(lenses, role_oid, oid)
    catalog_rows = _catalog_relation_rows(rels, oid)
    pg, info = schema_names(index)
    con.execute(f"CREATE SCHEMA {pg}; CREATE SCHEMA {info}")
    rows = database_rows(lens, oid, lambda e: describe(lens, e), role_oid[lens.owner or "postgres"])
    for key, extra in {**shared, **catalog_rows}.items():
        rows.setdefault(key, []).extend(extra)
    side = {"condef": _pop(rows, "pg_catalog.pg_constraint", "oid", "condef"),
            "indexdef": _pop(rows, "pg_catalog.pg_index", "indexrelid", "indexdef")}
    for key, rel in rels.items():
        target = f"{pg if rel.schema == 'pg_catalog' else info}.{rel.name}"
        _create(con, target, rel, [*_builtin_rows(key, rel), *rows.get(key, [])])
    con.execute(f"CREATE TABLE {pg}._condef (oid INTEGER, def VARCHAR)")
    con.executemany(f"INSERT INTO {pg}._condef VALUES (?, ?)", side["condef"] or [(0, None)])
    con.execute(f"CREATE TABLE {pg}._indexdef (oid INTEGER, def VARCHAR)")
    con.executemany(f"INSERT INTO {pg}._indexdef VALUES (?, ?)", side["indexdef"] or [(0, None)])
    con.execute(functions.format_type_table(pg))
    con.executemany(f"INSERT INTO {pg}._format_type VALUES (?, ?)", functions.format_names(
        builtin()["pg_catalog.pg_type"]["rows"], rows.get("pg_catalog.pg_type", [])))
    for statement in functions.macros(pg, info):
        con.execute(statement)


def _pop(rows: Rows, key: str, id_col: str, col: str) -> list[tuple[object, object]]:
    out = []
    for row in rows.get(key, []):
        if col in row:
            out.append((row[id_col], row.pop(col)))
    return out


def _builtin_rows(key: str, rel: Relation) -> Iterable[dict[str, object]]:
    names = [c for c, _ in rel.columns]
    for values in builtin()[key]["rows"]:
        yield dict(zip(names, values, strict=True))


@cache
def proc_oids() -> dict[str, int]:
    """Function name → OID (the lowest, for overloaded names): regproc columns hold OIDs, joined to pg_proc."""
    out: dict[str, int] = {"-": 0}
    for row in sorted(builtin()["pg_catalog.pg_proc"]["rows"], key=lambda r: int(r[0])):
        out.setdefault(str(row[1]), int(row[0]))
    return out


def _proc_oid(value: object) -> int | None:
    if value is None or isinstance(value, int):
        return value
    return proc_oids().get(str(value), 0)


def _create(con: duckdb.DuckDBPyConnection, target: str, rel: Relation, rows: list[dict[str, object]]) -> None:
    types = [_DUCK_TYPES.get(t, _TEXT) for _, t in rel.columns]
    ddl = ", ".join(f'"{c}" {duck}' for (c, _), (duck, _) in zip(rel.columns, types, strict=True))
    con.execute(f"CREATE TABLE {target} ({ddl})")
    if not rows:
        return
    arrays = []
    for (name, pg_type), (_, arrow) in zip(rel.columns, types, strict=True):
        if pg_type == "regproc":
            values = [_proc_oid(row.get(name)) for row in rows]
        else:
            values = [_coerce(row.get(name), arrow) for row in rows]
        arrays.append(pa.array(values, type=arrow))
    con.register("_rows", pa.Table.from_arrays(arrays, names=[c for c, _ in rel.columns]))
    con.execute(f"INSERT INTO {target} SELECT * FROM _rows")
    con.unregister("_rows")


def _coerce(value: object, arrow: pa.DataType) -> object:
    if value is None:
        return None
    if pa.types.is_string(arrow) and not isinstance(value, str):
        return str(value).lower() if isinstance(value, bool) else str(value)
    if pa.types.is_integer(arrow) and isinstance(value, str):
        return 0 if value in ("-", "") else int(value) if value.lstrip("-").isdigit() else None
    if pa.types.is_timestamp(arrow) and isinstance(value, str):
        return None
    return value


def _shared_rows(lenses: dict[str, Lens], role_oid: dict[str, int], oid: OidAllocator) -> Rows:
    rows: Rows = {}
    for name, r_oid in role_oid.items():
        role = dict(rolname=name, rolsuper=False, rolinherit=True, rolcreaterole=False, rolcreatedb=False,
                    rolcanlogin=False, rolreplication=False, rolbypassrls=False, rolconnlimit=-1)
        rows.setdefault("pg_catalog.pg_authid", []).append({**role, "oid": r_oid})
        rows.setdefault("pg_catalog.pg_roles", []).append({**role, "oid": r_oid, "rolpassword": "********"})
    for lens in lenses.values():
        db_oid = oid("database", lens.name)
        rows.setdefault("pg_catalog.pg_database", []).append(dict(
            oid=db_oid, datname=lens.name, datdba=role_oid[lens.owner or "postgres"], encoding=6,
            datlocprovider="c", datistemplate=False, datallowconn=True, datconnlimit=-1, datfrozenxid="0",
            datminmxid="1", dattablespace=1663, datcollate="C", datctype="C"))
        if lens.description:
            rows.setdefault("pg_catalog.pg_shdescription", []).append(
                dict(objoid=db_oid, classoid=PG_DATABASE, description=lens.description))
    return rows


def _catalog_relation_rows(rels: dict[str, Relation], oid: OidAllocator) -> Rows:
    """pg_class/pg_attribute rows for the catalog relations themselves (``\\dS``, JDBC getTables on pg_catalog)."""
    types = {r[1]: (r[0], r[4]) for r in builtin()["pg_catalog.pg_type"]["rows"]}
    rows: Rows = {}
    for rel in rels.values():
        if rel.name == "pg_get_keywords":
            continue
        ns = PG_CATALOG_NS if rel.schema == "pg_catalog" else INFORMATION_SCHEMA_NS
        rel_oid = builtin()[rel.key].get("oid") or oid("class", rel.schema, rel.name)  # PostgreSQL's own OID
        table = rel.schema == "pg_catalog" and rel.name in CATALOG_TABLES
        rows.setdefault("pg_catalog.pg_class", []).append(dict(
            oid=rel_oid, relname=rel.name, relnamespace=ns, reltype=0, reloftype=0, relowner=BOOTSTRAP_SUPERUSER,
            relam=2 if table else 0, relfilenode=0, reltablespace=0, relpages=0, reltuples=-1.0, relallvisible=0,
            reltoastrelid=0, relhasindex=False, relisshared=rel.key in SHARED, relpersistence="p",
            relkind="r" if table else "v", relnatts=len(rel.columns), relchecks=0, relhasrules=not table,
            relhastriggers=False, relhassubclass=False, relrowsecurity=False, relforcerowsecurity=False,
            relispopulated=True, relreplident="n", relispartition=False, relrewrite=0))
        for i, (name, typname) in enumerate(rel.columns, 1):
            type_oid, typlen = types.get(typname, (25, -1))
            rows.setdefault("pg_catalog.pg_attribute", []).append(dict(
                attrelid=rel_oid, attname=name, atttypid=type_oid, attstattarget=-1, attlen=typlen, attnum=i,
                attndims=0, attcacheoff=-1, atttypmod=-1, attbyval=typlen in (1, 2, 4, 8), attalign="i",
                attstorage="p", attcompression="", attnotnull=False, atthasdef=False, atthasmissing=False,
                attidentity="", attgenerated="", attisdropped=False, attislocal=True, attinhcount=0,
                attcollation=0))
    return rows
