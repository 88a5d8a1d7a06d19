"""The rows a lens contributes to the catalog: its database, entity tables, columns, keys, relationships, comments.

Pure functions of the lens (plus, optionally, the Arrow schema each entity's queries really return): no
engine, no SQL. ``database_rows`` gives, per catalog relation name (``pg_catalog.pg_class``,
``information_schema.columns`` …), a list of rows as dicts; columns a dict leaves out are NULL.

Mapping:
- each entity is a table ``public.<entity>`` (relkind 'r'); its visible members, in lens order (fields,
  dimensions, measures), are its columns; hidden members are not listed;
- the primary key (``primary: true`` members) is a unique btree index ``<entity>_pkey`` plus a 'p' constraint;
- a relationship is a foreign key ('f' constraint) from the "many" side to the "one" side: ``1:N`` declared on
  A (A.f → B.g) puts the key on B(g) referencing A(f); ``N:1`` and ``1:1`` put it on A(f) referencing B(g);
- descriptions become comments; a measure's comment starts with its aggregation: ``measure (sum): …``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa

from proxy.catalog.oids import OidAllocator
from proxy.wire import types as pgtypes
from rewriter.lens import Entity, Lens, Member

Row = dict[str, object]
Rows = dict[str, list[Row]]

PG_CATALOG_NS = 11
PUBLIC_NS = 2200
INFORMATION_SCHEMA_NS = 13207
TOAST_NS = 99
BOOTSTRAP_SUPERUSER = 10
HEAP_AM, BTREE_AM = 2, 403
PG_CLASS, PG_TYPE, PG_NAMESPACE, PG_CONSTRAINT, PG_DATABASE = 1259, 1247, 2615, 2606, 1262
DEFAULT_COLLATION = 100
TEXT_BTREE_OPCLASS = 3126  # text_ops
OPCLASS_BY_TYPE = {25: 3126, 701: 3123, 20: 3124, 23: 1978, 1114: 3128, 1082: 3122, 16: 424, 1700: 3125}

# Lens member type -> Postgres type, when the engine cannot be asked (see ``entity_columns``).
_DECLARED = {"string": pgtypes.TEXT, "number": pgtypes.FLOAT8, "date": pgtypes.TIMESTAMP, "time": pgtypes.TIMESTAMP,
             "bool": pgtypes.BOOL, "boolean": pgtypes.BOOL}
_COUNTS = ("count", "count_distinct", "count_distinct_approx")

# Real catalog tables (everything else the dump lists is a view, relkind 'v').
CATALOG_TABLES = frozenset({
    "pg_type", "pg_am", "pg_proc", "pg_operator", "pg_cast", "pg_language", "pg_range", "pg_opclass",
    "pg_opfamily", "pg_extension", "pg_collation", "pg_tablespace", "pg_aggregate", "pg_conversion",
    "pg_ts_config", "pg_ts_dict", "pg_ts_parser", "pg_ts_template", "pg_foreign_data_wrapper", "pg_namespace",
    "pg_class", "pg_attribute", "pg_attrdef", "pg_index", "pg_constraint", "pg_description", "pg_shdescription",
    "pg_database", "pg_authid", "pg_auth_members", "pg_enum", "pg_inherits", "pg_trigger", "pg_policy",
    "pg_statistic_ext", "pg_statistic_ext_data", "pg_publication", "pg_publication_rel",
    "pg_publication_namespace", "pg_subscription", "pg_sequence", "pg_depend", "pg_shdepend", "pg_rewrite",
    "pg_foreign_table", "pg_foreign_server", "pg_user_mapping", "pg_event_trigger", "pg_default_acl",
    "pg_init_privs", "pg_partitioned_table", "pg_seclabel", "pg_shseclabel", "pg_largeobject_metadata",
    "pg_transform", "pg_statistic",
})


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: pgtypes.PgType
    typmod: int
    comment: str | None
    member: Member


def member_comment(member: Member) -> str | None:
    if member.kind == "measure":
        kind = getattr(member, "measure_type", "measure")
        return f"measure ({kind}): {member.description}" if member.description else f"measure ({kind})"
    return member.description


def _declared_type(member: Member, entity: Entity) -> pgtypes.PgType:
    if member.kind == "measure" and getattr(member, "measure_type", "") in _COUNTS:
        return pgtypes.INT8
    return _DECLARED.get(member.type, pgtypes.TEXT)


def entity_columns(entity: Entity, schema: pa.Schema | None) -> list[Column]:
    """Visible members in lens order, typed as queries return them (``schema``) or as the lens declares them."""
    out = []
    for member in entity.members:
        if member.hidden:
            continue
        field = schema.field(member.name) if schema is not None and member.name in schema.names else None
        if field is not None:
            pg, typmod = pgtypes.pg_type_for_arrow(field.type), pgtypes.type_modifier_for_arrow(field.type)
        else:
            pg, typmod = _declared_type(member, entity), -1
        out.append(Column(member.name, pg, typmod, member_comment(member), member))
    return out


def foreign_keys(lens: Lens) -> list[tuple[Entity, str, Entity, str]]:
    """(referencing entity, column, referenced entity, column) for every relationship between visible columns."""
    out = []
    for entity in lens.entities:
        for rel in entity.relationships:
            target = lens.entity(rel.target)
            if target is None:
                continue
            if rel.kind == "1:N":
                out.append((target, rel.target_field, entity, rel.field))
            else:
                out.append((entity, rel.field, target, rel.target_field))
    return out


def database_rows(
    lens: Lens,
    oid: OidAllocator,
    describe: Callable[[Entity], pa.Schema | None],
    owner_oid: int,
) -> Rows:
    """Per-database catalog rows for ``lens`` (its entities as tables in ``public``)."""
    rows: Rows = {}

    def add(rel: str, **values: object) -> None:
        rows.setdefault(rel, []).append(values)

    db = lens.name
    add("pg_catalog.pg_namespace", oid=PG_CATALOG_NS, nspname="pg_catalog", nspowner=BOOTSTRAP_SUPERUSER)
    add("pg_catalog.pg_namespace", oid=PUBLIC_NS, nspname="public", nspowner=owner_oid)
    add("pg_catalog.pg_namespace", oid=INFORMATION_SCHEMA_NS, nspname="information_schema", nspowner=BOOTSTRAP_SUPERUSER)
    add("pg_catalog.pg_namespace", oid=TOAST_NS, nspname="pg_toast", nspowner=BOOTSTRAP_SUPERUSER)
    add("pg_catalog.pg_description", objoid=PUBLIC_NS, classoid=PG_NAMESPACE, objsubid=0, description="standard public schema")
    for schema in ("public", "information_schema", "pg_catalog"):
        add("information_schema.schemata", catalog_name=db, schema_name=schema,
            schema_owner=lens.owner or "postgres" if schema == "public" else "postgres")

    columns_by_entity = {e.name: entity_columns(e, describe(e)) for e in lens.entities}
    attnum = {(e, c.name): i for e, cols in columns_by_entity.items() for i, c in enumerate(cols, 1)}
    fks = [fk for fk in foreign_keys(lens) if (fk[0].name, fk[1]) in attnum and (fk[2].name, fk[3]) in attnum]
    # psql shows foreign keys only for tables with triggers (Postgres enforces them with triggers)
    in_fk = {fk[0].name for fk in fks} | {fk[2].name for fk in fks}
    for entity in lens.entities:
        cols = columns_by_entity[entity.name]
        rel_oid = oid("class", db, "public", entity.name)
        row_type = oid("type", db, "public", entity.name)
        array_type = oid("type", db, "public", f"_{entity.name}")  # every table's row type has one in Postgres
        pk = [c for c in entity.primary_key if (entity.name, c) in attnum]
        add("pg_catalog.pg_class", oid=rel_oid, relname=entity.name, relnamespace=PUBLIC_NS, reltype=row_type,
            reloftype=0, relowner=owner_oid, relam=HEAP_AM, relfilenode=rel_oid, reltablespace=0, relpages=0,
            reltuples=-1.0, relallvisible=0, reltoastrelid=0, relhasindex=bool(pk), relisshared=False,
            relpersistence="p", relkind="r", relnatts=len(cols), relchecks=0, relhasrules=False,
            relhastriggers=entity.name in in_fk, relhassubclass=False, relrowsecurity=False,
            relforcerowsecurity=False, relispopulated=True, relreplident="d", relispartition=False, relrewrite=0, relfrozenxid="0",
            relminmxid="0")
        add("pg_catalog.pg_type", oid=row_type, typname=entity.name, typnamespace=PUBLIC_NS, typowner=owner_oid,
            typlen=-1, typbyval=False, typtype="c", typcategory="C", typispreferred=False, typisdefined=True,
            typdelim=",", typrelid=rel_oid, typsubscript="-", typelem=0, typarray=array_type, typinput="record_in",
            typoutput="record_out", typreceive="record_recv", typsend="record_send", typmodin="-", typmodout="-",
            typanalyze="-", typalign="d", typstorage="x", typnotnull=False, typbasetype=0, typtypmod=-1,
            typndims=0, typcollation=0)
        add("pg_catalog.pg_type", **array_type_row(array_type, f"_{entity.name}", PUBLIC_NS, owner_oid, row_type))
        add("pg_catalog.pg_tables", schemaname="public", tablename=entity.name, tableowner=lens.owner or "postgres",
            hasindexes=bool(pk), hasrules=False, hastriggers=False, rowsecurity=False)
        for stat in ("pg_catalog.pg_stat_user_tables", "pg_catalog.pg_stat_all_tables"):
            add(stat, relid=rel_oid, schemaname="public", relname=entity.name, seq_scan=0, idx_scan=0,
                n_live_tup=0, n_dead_tup=0)
        if entity.description:
            add("pg_catalog.pg_description", objoid=rel_oid, classoid=PG_CLASS, objsubid=0, description=entity.description)
        add("information_schema.tables", table_catalog=db, table_schema="public", table_name=entity.name,
            table_type="BASE TABLE", is_insertable_into="NO", is_typed="NO")
        for i, col in enumerate(cols, 1):
            is_text = col.type.oid in (25, 1043, 1042)
            add("pg_catalog.pg_attribute", attrelid=rel_oid, attname=col.name, atttypid=col.type.oid,
                attstattarget=-1, attlen=col.type.typlen, attnum=i, attndims=0, attcacheoff=-1,
                atttypmod=col.typmod, attbyval=col.type.typlen in (1, 2, 4, 8), attalign="d" if col.type.typlen == 8 else "i",
                attstorage="x" if col.type.typlen < 0 else "p", attcompression="", attnotnull=col.name in pk,
                atthasdef=False, atthasmissing=False, attidentity="", attgenerated="", attisdropped=False,
                attislocal=True, attinhcount=0, attcollation=DEFAULT_COLLATION if is_text else 0)
            if col.comment:
                add("pg_catalog.pg_description", objoid=rel_oid, classoid=PG_CLASS, objsubid=i, description=col.comment)
            add("information_schema.columns", **_information_schema_column(db, entity.name, col, i, col.name in pk))
        if pk:
            _primary_key(add, oid, db, entity.name, rel_oid, owner_oid, [attnum[(entity.name, c)] for c in pk],
                         [next(c for c in cols if c.name == k) for k in pk])
    names: set[str] = set()
    for src, src_col, dst, dst_col in fks:
        name = base = f"{src.name}_{src_col}_fkey"
        n = 0
        while name in names:  # Postgres's choice for a second key on the same column: <name>1, <name>2 …
            n += 1
            name = f"{base}{n}"
        names.add(name)
        con_oid = oid("constraint", db, src.name, name)
        src_oid, dst_oid = oid("class", db, "public", src.name), oid("class", db, "public", dst.name)
        dst_pk = [c for c in dst.primary_key if (dst.name, c) in attnum]
        add("pg_catalog.pg_constraint", oid=con_oid, conname=name, connamespace=PUBLIC_NS, contype="f",
            condeferrable=False, condeferred=False, convalidated=True, conrelid=src_oid, contypid=0,
            # the index a key's referenced columns have in Postgres: the referenced table's primary key's,
            # also when the lens relates other columns (pgJDBC's getImportedKeys joins it, or drops the key)
            conindid=oid("class", db, "public", f"{dst.name}_pkey") if dst_pk else 0,
            conparentid=0, confrelid=dst_oid, confupdtype="a", confdeltype="a", confmatchtype="s",
            conislocal=True, coninhcount=0, connoinherit=True, conkey=[attnum[(src.name, src_col)]],
            confkey=[attnum[(dst.name, dst_col)]], conpfeqop=[98], conppeqop=[98], conffeqop=[98],
            condef=f"FOREIGN KEY ({_quote(src_col)}) REFERENCES {_quote(dst.name)}({_quote(dst_col)})")
        add("pg_catalog.pg_depend", classid=PG_CONSTRAINT, objid=con_oid, objsubid=0, refclassid=PG_CLASS,
            refobjid=dst_oid, refobjsubid=0, deptype="n")
        add("information_schema.table_constraints", constraint_catalog=db, constraint_schema="public",
            constraint_name=name, table_catalog=db, table_schema="public", table_name=src.name,
            constraint_type="FOREIGN KEY", is_deferrable="NO", initially_deferred="NO", enforced="YES",
            nulls_distinct=None)
        add("information_schema.key_column_usage", constraint_catalog=db, constraint_schema="public",
            constraint_name=name, table_catalog=db, table_schema="public", table_name=src.name,
            column_name=src_col, ordinal_position=1, position_in_unique_constraint=1)
        add("information_schema.referential_constraints", constraint_catalog=db, constraint_schema="public",
            constraint_name=name, unique_constraint_catalog=db, unique_constraint_schema="public",
            unique_constraint_name=f"{dst.name}_pkey" if dst_pk == [dst_col] else None, match_option="NONE",
            update_rule="NO ACTION", delete_rule="NO ACTION")
        add("information_schema.constraint_column_usage", table_catalog=db, table_schema="public",
            table_name=dst.name, column_name=dst_col, constraint_catalog=db, constraint_schema="public",
            constraint_name=name)
        add("information_schema.constraint_table_usage", table_catalog=db, table_schema="public",
            table_name=dst.name, constraint_catalog=db, constraint_schema="public", constraint_name=name)
    return rows


def array_type_row(oid: int, name: str, namespace: int, owner: int, element: int) -> Row:
    """The pg_type row of the array type of ``element`` (a table's row type: ``_customer``)."""
    return dict(oid=oid, typname=name, typnamespace=namespace, typowner=owner, typlen=-1, typbyval=False,
                typtype="b", typcategory="A", typispreferred=False, typisdefined=True, typdelim=",", typrelid=0,
                typsubscript="array_subscript_handler", typelem=element, typarray=0, typinput="array_in",
                typoutput="array_out", typreceive="array_recv", typsend="array_send", typmodin="-", typmodout="-",
                typanalyze="array_typanalyze", typalign="d", typstorage="x", typnotnull=False, typbasetype=0,
                typtypmod=-1, typndims=0, typcollation=0)


def _primary_key(add: Callable[..., None], oid: OidAllocator, db: str, table: str, rel_oid: int, owner_oid: int,
                 keys: list[int], cols: list[Column]) -> None:
    name = f"{table}_pkey"
    index_oid = oid("class", db, "public", name)
    con_oid = oid("constraint", db, table, name)
    key_list = ", ".join(_quote(c.name) for c in cols)
    add("pg_catalog.pg_class", oid=index_oid, relname=name, relnamespace=PUBLIC_NS, reltype=0, reloftype=0,
        relowner=owner_oid, relam=BTREE_AM, relfilenode=index_oid, reltablespace=0, relpages=1, reltuples=-1.0,
        relallvisible=0, reltoastrelid=0, relhasindex=False, relisshared=False, relpersistence="p", relkind="i",
        relnatts=len(keys), relchecks=0, relhasrules=False, relhastriggers=False, relhassubclass=False,
        relrowsecurity=False, relforcerowsecurity=False, relispopulated=True, relreplident="n",
        relispartition=False, relrewrite=0, relfrozenxid="0", relminmxid="0")
    for i, col in enumerate(cols, 1):
        add("pg_catalog.pg_attribute", attrelid=index_oid, attname=col.name, atttypid=col.type.oid,
            attstattarget=-1, attlen=col.type.typlen, attnum=i, attndims=0, attcacheoff=-1, atttypmod=col.typmod,
            attbyval=False, attalign="i", attstorage="x", attcompression="", attnotnull=False, atthasdef=False,
            atthasmissing=False, attidentity="", attgenerated="", attisdropped=False, attislocal=True,
            attinhcount=0, attcollation=DEFAULT_COLLATION if col.type.oid == 25 else 0)
    add("pg_catalog.pg_index", indexrelid=index_oid, indrelid=rel_oid, indnatts=len(keys), indnkeyatts=len(keys),
        indisunique=True, indnullsnotdistinct=False, indisprimary=True, indisexclusion=False, indimmediate=True,
        indisclustered=False, indisvalid=True, indcheckxmin=False, indisready=True, indislive=True,
        indisreplident=False, indkey=keys,
        indcollation=[DEFAULT_COLLATION if c.type.oid == 25 else 0 for c in cols],
        indclass=[OPCLASS_BY_TYPE.get(c.type.oid, TEXT_BTREE_OPCLASS) for c in cols], indoption=[0] * len(keys),
        indexdef=f"CREATE UNIQUE INDEX {_quote(name)} ON public.{_quote(table)} USING btree ({key_list})")
    add("pg_catalog.pg_constraint", oid=con_oid, conname=name, connamespace=PUBLIC_NS, contype="p",
        condeferrable=False, condeferred=False, convalidated=True, conrelid=rel_oid, contypid=0, conindid=index_oid,
        conparentid=0, confrelid=0, confupdtype=" ", confdeltype=" ", confmatchtype=" ", conislocal=True,
        coninhcount=0, connoinherit=True, conkey=keys, condef=f"PRIMARY KEY ({key_list})")
    add("pg_catalog.pg_indexes", schemaname="public", tablename=table, indexname=name, tablespace=None,
        indexdef=f"CREATE UNIQUE INDEX {_quote(name)} ON public.{_quote(table)} USING btree ({key_list})")
    add("information_schema.table_constraints", constraint_catalog=db, constraint_schema="public",
        constraint_name=name, table_catalog=db, table_schema="public", table_name=table,
        constraint_type="PRIMARY KEY", is_deferrable="NO", initially_deferred="NO", enforced="YES",
        nulls_distinct="YES")
    for i, col in enumerate(cols, 1):
        add("information_schema.key_column_usage", constraint_catalog=db, constraint_schema="public",
            constraint_name=name, table_catalog=db, table_schema="public", table_name=table, column_name=col.name,
            ordinal_position=i, position_in_unique_constraint=None)
        add("information_schema.constraint_column_usage", table_catalog=db, table_schema="public",
            table_name=table, column_name=col.name, constraint_catalog=db, constraint_schema="public",
            constraint_name=name)
    add("information_schema.constraint_table_usage", table_catalog=db, table_schema="public", table_name=table,
        constraint_catalog=db, constraint_schema="public", constraint_name=name)


_IS_TYPE = {16: "boolean", 20: "bigint", 21: "smallint", 23: "integer", 25: "text", 700: "real",
            701: "double precision", 1082: "date", 1083: "time without time zone",
            1114: "timestamp without time zone", 1184: "timestamp with time zone", 1700: "numeric",
            1043: "character varying", 17: "bytea", 2950: "uuid", 114: "json", 3802: "jsonb", 1186: "interval"}
_PRECISION = {20: 64, 21: 16, 23: 32, 700: 24, 701: 53}


def _information_schema_column(db: str, table: str, col: Column, position: int, pk: bool) -> Row:
    oid = col.type.oid
    data_type = _IS_TYPE.get(oid, "ARRAY" if col.type.is_array else "USER-DEFINED")
    row: Row = dict(
        table_catalog=db, table_schema="public", table_name=table, column_name=col.name,
        ordinal_position=position, is_nullable="NO" if pk else "YES", data_type=data_type,
        udt_catalog=db, udt_schema="pg_catalog", udt_name=col.type.name, dtd_identifier=str(position),
        is_self_referencing="NO", is_identity="NO", identity_cycle="NO", is_generated="NEVER", is_updatable="NO",
    )
    if oid in _PRECISION:
        row.update(numeric_precision=_PRECISION[oid], numeric_precision_radix=2, numeric_scale=0 if oid < 700 else None)
    if oid in (1082, 1083, 1114, 1184):
        row["datetime_precision"] = 0 if oid == 1082 else 6
    if oid == 25:
        row.update(character_octet_length=1073741824, collation_catalog=None)
    return row


def _quote(name: str) -> str:
    plain = name.isidentifier() and name == name.lower() and name.isascii()
    return name if plain else '"' + name.replace('"', '""') + '"'
