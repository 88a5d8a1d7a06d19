"""Regenerate ``pg15_builtin.json.gz``: column definitions of the catalog relations lens-proxy emulates and the
built-in rows of the static ones, dumped from a fresh PostgreSQL 15 cluster (``initdb``; nothing created).

    python proxy/catalog/builtin/dump_builtin.py "host=/tmp/pg port=5432 user=postgres dbname=postgres"
    python proxy/catalog/builtin/dump_builtin.py --repair "host=..."   # re-apply relation OIDs and consistency

Only rows with OID < 16384 (created by initdb) are kept; ICU collations are dropped (they depend on the host).
Rows whose references would dangle once the composite row types of the system catalogs are left out are
dropped too (``consistency.py``, with PostgreSQL's own ``pg_get_catalog_foreign_keys()``).
"""

from __future__ import annotations

import gzip
import json
import sys
from pathlib import Path

import psycopg

if __package__:
    from .consistency import ForeignKey, drop_dangling
else:  # run as a script
    from consistency import ForeignKey, drop_dangling  # type: ignore[no-redef]

# relation -> rows to keep: "all" (static built-in content), or None (columns only; rows come from the lenses)
PG_CATALOG: dict[str, str | None] = {
    "pg_type": "typtype <> 'c' OR typrelid = 0",
    "pg_am": "all", "pg_proc": "all", "pg_operator": "all", "pg_cast": "all", "pg_language": "all",
    "pg_range": "all", "pg_opclass": "all", "pg_opfamily": "all", "pg_extension": "all",
    "pg_collation": "collprovider <> 'i'", "pg_tablespace": "all", "pg_aggregate": "all",
    "pg_timezone_names": "all", "pg_timezone_abbrevs": "all", "pg_conversion": "all",
    "pg_ts_config": "all", "pg_ts_dict": "all", "pg_ts_parser": "all", "pg_ts_template": "all",
    "pg_foreign_data_wrapper": "all",
    "pg_namespace": None, "pg_class": None, "pg_attribute": None, "pg_attrdef": None, "pg_index": None,
    "pg_constraint": None, "pg_description": None, "pg_shdescription": None, "pg_database": None,
    "pg_authid": None, "pg_roles": None, "pg_user": None, "pg_shadow": None, "pg_auth_members": None,
    "pg_settings": None, "pg_stat_activity": None, "pg_enum": None, "pg_inherits": None, "pg_matviews": None,
    "pg_views": None, "pg_tables": None, "pg_indexes": None, "pg_trigger": None, "pg_policy": None,
    "pg_policies": None,
    "pg_statistic_ext": None, "pg_statistic_ext_data": None, "pg_publication": None, "pg_publication_rel": None,
    "pg_publication_namespace": None, "pg_publication_tables": None, "pg_subscription": None,
    "pg_sequence": None, "pg_sequences": None, "pg_depend": None, "pg_shdepend": None,
    "pg_rewrite": None, "pg_stat_user_tables": None, "pg_stat_all_tables": None, "pg_statio_user_tables": None,
    "pg_locks": None, "pg_foreign_table": None, "pg_foreign_server": None, "pg_user_mapping": None,
    "pg_event_trigger": None, "pg_default_acl": None, "pg_init_privs": None, "pg_partitioned_table": None,
    "pg_seclabel": None, "pg_shseclabel": None, "pg_largeobject_metadata": None, "pg_transform": None,
    "pg_stat_database": None, "pg_prepared_xacts": None, "pg_replication_slots": None, "pg_stat_replication": None,
    "pg_available_extensions": None, "pg_stat_ssl": None, "pg_group": None, "pg_cursors": None,
    "pg_prepared_statements": None, "pg_stats": None, "pg_statistic": None,
}
INFORMATION_SCHEMA = (
    "schemata", "tables", "columns", "views", "table_constraints", "key_column_usage",
    "referential_constraints", "constraint_column_usage", "constraint_table_usage", "check_constraints",
    "routines", "parameters", "character_sets", "triggers", "sequences", "domains", "table_privileges",
    "column_privileges", "element_types", "enabled_roles", "applicable_roles", "collations",
    "usage_privileges", "role_table_grants", "foreign_tables", "attributes", "user_defined_types",
    "column_udt_usage", "view_table_usage",
)
TYPE_CASTS = {"int2vector": "int2[]", "oidvector": "oid[]", "regproc": "oid", "_aclitem": "text[]",
              "pg_node_tree": "text", "xid": "text", "pg_lsn": "text", "inet": "text", "interval": "text",
              "anyarray": "text", "_pg_lsn": "text[]", "pg_ndistinct": "text", "pg_dependencies": "text",
              "pg_mcv_list": "text", "_char": "text[]", "regtype": "oid", "_regtype": "oid[]",
              "xid8": "text", "timestamptz": "text", "_float4": "float4[]"}


def dump(dsn: str, out: Path) -> None:
    result: dict[str, dict] = {}
    with psycopg.connect(dsn) as con:
        rels = [("pg_catalog", r, PG_CATALOG[r]) for r in PG_CATALOG]
        rels += [("information_schema", r, None) for r in INFORMATION_SCHEMA]
        for schema, rel, rows in rels:
            cols = con.execute(
                "SELECT a.attname, t.typname FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid "
                "WHERE a.attrelid = %s::regclass AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum",
                (f"{schema}.{rel}",),
            ).fetchall()
            if not cols:
                continue
            data: list = []
            if rows is not None:
                select = ", ".join(
                    f'"{c}"::{TYPE_CASTS[t]}' if t in TYPE_CASTS else f'"{c}"' for c, t in cols
                )
                where = "" if rows == "all" else f" WHERE {rows}"
                if any(c == "oid" for c, _ in cols):
                    where += (" AND" if where else " WHERE") + " oid < 16384"
                data = [list(r) for r in con.execute(f"SELECT {select} FROM {schema}.{rel}{where}")]
            result[f"{schema}.{rel}"] = {"columns": cols, "rows": data}
        kw = con.execute("SELECT word, catcode, barelabel, catdesc, baredesc FROM pg_get_keywords()").fetchall()
        result["pg_catalog.pg_get_keywords"] = {
            "columns": [["word", "text"], ["catcode", "char"], ["barelabel", "bool"], ["catdesc", "text"],
                        ["baredesc", "text"]],
            "rows": [list(r) for r in kw],
        }
        relation_oids(con, result)
        drop_dangling(result, foreign_keys(con))
    _write(result, out)


def relation_oids(con: psycopg.Connection, data: dict) -> None:
    """Each relation's OID in PostgreSQL (``oid``): its pg_class row has it, so ``classoid = 1259`` in
    pg_description and ``'pg_class'::regclass`` agree."""
    for key, entry in data.items():
        row = con.execute("SELECT to_regclass(%s)::oid", (key,)).fetchone()
        if row and row[0]:
            entry["oid"] = int(row[0])


def foreign_keys(con: psycopg.Connection) -> list[ForeignKey]:
    """The single-column references between system catalogs, as PostgreSQL declares them."""
    rows = con.execute(
        "SELECT fktable::text, fkcols[1], pktable::text, pkcols[1], is_array "
        "FROM pg_get_catalog_foreign_keys() WHERE cardinality(fkcols) = 1"
    ).fetchall()
    return [ForeignKey(*(str(v).removeprefix("pg_catalog.") for v in r[:4]), bool(r[4])) for r in rows]


def repair(dsn: str, path: Path) -> dict[str, int]:
    """Apply the consistency pass to an existing dump (rows are not dumped again)."""
    with gzip.open(path, "rt", encoding="utf-8") as f:
        data = json.load(f)
    with psycopg.connect(dsn) as con:
        relation_oids(con, data)
        dropped = drop_dangling(data, foreign_keys(con))
    _write(data, path)
    return dropped


def _write(data: dict, out: Path) -> None:
    with gzip.open(out, "wt", encoding="utf-8") as f:
        json.dump(data, f, separators=(",", ":"), default=str)


if __name__ == "__main__":
    target = Path(__file__).with_name("pg15_builtin.json.gz")
    if sys.argv[1] == "--repair":
        print(repair(sys.argv[2], target))
    else:
        dump(sys.argv[1], target)
