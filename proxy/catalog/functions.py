"""Postgres catalog functions as DuckDB macros, one set per catalog schema (``db<i>``).

Each macro reads only its own database's catalog tables. Overloads (``obj_description(oid)`` and
``obj_description(oid, catalog)``; ``has_table_privilege`` with 2 or 3 arguments) are DuckDB macro overloads.
Functions whose answer belongs to the session (``current_user``, ``version()``, ``pg_backend_pid()`` …) are not
here: ``proxy.pgfunctions`` replaces them with literals before the query reaches DuckDB.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

# Postgres's format_type spelling for built-in types whose SQL name differs from typname.
_SQL_NAMES = {
    "bool": "boolean", "int2": "smallint", "int4": "integer", "int8": "bigint", "float4": "real",
    "float8": "double precision", "varchar": "character varying", "bpchar": "character",
    "timestamp": "timestamp without time zone", "timestamptz": "timestamp with time zone",
    "time": "time without time zone", "timetz": "time with time zone", "varbit": "bit varying",
    "char": '"char"', "bit": "bit", "any": '"any"',  # quoted: reserved keywords
}

_PRIVILEGE_FUNCTIONS = (
    "has_table_privilege", "has_schema_privilege", "has_database_privilege", "has_column_privilege",
    "has_function_privilege", "has_sequence_privilege", "has_any_column_privilege", "has_type_privilege",
    "has_language_privilege", "has_foreign_data_wrapper_privilege", "has_server_privilege",
    "has_tablespace_privilege", "has_parameter_privilege", "pg_has_role",
)
_ALWAYS_TRUE_1 = ("pg_function_is_visible", "pg_collation_is_visible", "pg_opclass_is_visible",
                  "pg_opfamily_is_visible", "pg_operator_is_visible", "pg_conversion_is_visible",
                  "pg_ts_config_is_visible", "pg_ts_dict_is_visible", "pg_ts_parser_is_visible",
                  "pg_ts_template_is_visible", "pg_statistics_obj_is_visible")
_NULL_1 = ("pg_get_statisticsobjdef_columns", "pg_get_partkeydef", "pg_get_partition_constraintdef",
           "pg_get_functiondef", "pg_get_viewdef", "pg_get_triggerdef", "pg_get_ruledef",
           "pg_get_statisticsobjdef", "pg_tablespace_location", "pg_get_serial_sequence",
           "pg_collation_actual_version")
_ZERO_1 = ("pg_table_size", "pg_total_relation_size", "pg_relation_size", "pg_indexes_size", "pg_database_size",
           "pg_column_size")
_FALSE_1 = ("pg_relation_is_publishable", "pg_is_other_temp_schema", "row_security_active",
            "pg_terminate_backend", "pg_cancel_backend")  # clients cancel with CancelRequest, not SQL


def format_type_table(pg: str) -> str:
    return f"CREATE TABLE {pg}._format_type (oid INTEGER, name VARCHAR)"


def format_names(builtin_types: Sequence[Sequence[object]], lens_types: Iterable[dict[str, object]]) -> list[tuple[int, str]]:
    """(oid, format_type(oid, NULL)) for every type: built-in rows are pg_type column tuples, lens rows dicts."""
    name_of: dict[int, str] = {}
    elem_of: dict[int, int] = {}
    for row in builtin_types:
        oid, typname, typelem, typlen = int(row[0]), str(row[1]), int(row[13]), int(row[4])  # type: ignore[call-overload]
        name_of[oid] = _SQL_NAMES.get(typname, typname)
        if typelem and typlen == -1 and typname.startswith("_"):
            elem_of[oid] = typelem
    for row in lens_types:
        name_of[int(row["oid"])] = str(row["typname"])  # type: ignore[call-overload]
    out = []
    for oid, name in name_of.items():
        if oid in elem_of and elem_of[oid] in name_of:
            name = name_of[elem_of[oid]] + "[]"
        out.append((oid, name))
    return out


def macros(pg: str, info: str) -> list[str]:
    """CREATE MACRO statements for one database's catalog schemas."""
    out = [
        f"""CREATE MACRO {pg}.format_type(t, m) AS CASE
            WHEN t IS NULL THEN NULL
            WHEN t = 1043 AND m > 4 THEN 'character varying(' || (m - 4) || ')'
            WHEN t = 1042 AND m > 4 THEN 'character(' || (m - 4) || ')'
            WHEN t = 1700 AND m > 4 THEN 'numeric(' || ((m - 4) >> 16) || ',' || ((m - 4) & 65535) || ')'
            ELSE coalesce((SELECT first(f.name) FROM {pg}._format_type f WHERE f.oid = t), '???') END""",
        f"""CREATE MACRO {pg}.pg_table_is_visible(o) AS
            coalesce((SELECT first(c.relnamespace IN (11, 2200)) FROM {pg}.pg_class c WHERE c.oid = o), false)""",
        f"""CREATE MACRO {pg}.pg_type_is_visible(o) AS
            coalesce((SELECT first(t.typnamespace IN (11, 2200)) FROM {pg}.pg_type t WHERE t.oid = o), false)""",
        f"""CREATE MACRO {pg}.pg_get_userbyid(o) AS coalesce(
            (SELECT first(a.rolname) FROM {pg}.pg_authid a WHERE a.oid = o), 'unknown (OID=' || o || ')')""",
        f"""CREATE MACRO {pg}.obj_description(o) AS
            (SELECT first(d.description) FROM {pg}.pg_description d WHERE d.objoid = o AND d.objsubid = 0),
            (o, c) AS (SELECT first(d.description) FROM {pg}.pg_description d WHERE d.objoid = o AND d.objsubid = 0
                AND d.classoid = (SELECT first(k.oid) FROM {pg}.pg_class k
                                  WHERE k.relname = regexp_replace(c, '^pg_catalog[.]', '') AND k.relnamespace = 11))""",
        f"""CREATE MACRO {pg}.col_description(o, n) AS (SELECT first(d.description) FROM {pg}.pg_description d
            WHERE d.objoid = o AND d.classoid = 1259 AND d.objsubid = n)""",
        f"""CREATE MACRO {pg}.shobj_description(o, c) AS
            (SELECT first(d.description) FROM {pg}.pg_shdescription d WHERE d.objoid = o)""",
        f"CREATE MACRO {pg}.pg_get_expr(e, r) AS e, (e, r, p) AS e",
        f"""CREATE MACRO {pg}.pg_get_constraintdef(o) AS (SELECT first(d.def) FROM {pg}._condef d WHERE d.oid = o),
            (o, p) AS (SELECT first(d.def) FROM {pg}._condef d WHERE d.oid = o)""",
        f"""CREATE MACRO {pg}.pg_get_indexdef(o) AS (SELECT first(d.def) FROM {pg}._indexdef d WHERE d.oid = o),
            (o, c, p) AS CASE WHEN c = 0 THEN (SELECT first(d.def) FROM {pg}._indexdef d WHERE d.oid = o)
                ELSE (SELECT first(a.attname) FROM {pg}.pg_attribute a WHERE a.attrelid = o AND a.attnum = c) END""",
        f"CREATE MACRO {pg}.pg_get_function_arguments(o) AS ''",
        f"CREATE MACRO {pg}.pg_get_function_identity_arguments(o) AS ''",
        f"""CREATE MACRO {pg}.pg_get_function_result(o) AS
            (SELECT first({pg}.format_type(p.prorettype, NULL)) FROM {pg}.pg_proc p WHERE p.oid = o)""",
        f"""CREATE MACRO {pg}.pg_size_pretty(n) AS CASE
            WHEN n < 10240 THEN n || ' bytes'
            WHEN n < 10485760 THEN round(n / 1024)::BIGINT || ' kB'
            WHEN n < 10737418240 THEN round(n / 1048576)::BIGINT || ' MB'
            ELSE round(n / 1073741824)::BIGINT || ' GB' END""",
        f"CREATE MACRO {pg}.pg_encoding_to_char(e) AS CASE e WHEN 6 THEN 'UTF8' WHEN 0 THEN 'SQL_ASCII' ELSE '' END",
        f"CREATE MACRO {pg}.pg_char_to_encoding(s) AS CASE upper(s) WHEN 'UTF8' THEN 6 WHEN 'SQL_ASCII' THEN 0 ELSE -1 END",
        f"""CREATE MACRO {pg}.to_regclass(s) AS (SELECT first(c.oid) FROM {pg}.pg_class c
            WHERE c.relname = regexp_replace(replace(s, '"', ''), '^.*[.]', ''))""",
        f"""CREATE MACRO {pg}.to_regtype(s) AS (SELECT first(f.oid ORDER BY f.oid) FROM {pg}._format_type f
            WHERE f.name = lower(regexp_replace(s, '^pg_catalog[.]', ''))
               OR f.oid IN (SELECT t.oid FROM {pg}.pg_type t WHERE t.typname = lower(regexp_replace(s, '^pg_catalog[.]', ''))))""",
        f"""CREATE MACRO {pg}.to_regproc(s) AS (SELECT first(p.oid) FROM {pg}.pg_proc p
            WHERE p.proname = regexp_replace(s, '^pg_catalog[.]', ''))""",
        f"CREATE MACRO {pg}.to_regnamespace(s) AS (SELECT first(n.oid) FROM {pg}.pg_namespace n WHERE n.nspname = s)",
        f"CREATE MACRO {pg}.to_regrole(s) AS (SELECT first(a.oid) FROM {pg}.pg_authid a WHERE a.rolname = s)",
        f"""CREATE MACRO {pg}.regclass_out(o) AS coalesce((SELECT first(CASE WHEN c.relnamespace IN (11, 2200)
            THEN c.relname ELSE n.nspname || '.' || c.relname END) FROM {pg}.pg_class c
            LEFT JOIN {pg}.pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = o), o::VARCHAR)""",
        f"CREATE MACRO {pg}.regtype_out(o) AS coalesce({pg}.format_type(o, NULL), o::VARCHAR)",
        # oidvector::regtype[]::text[] (pgcli's function loader): each type's name
        f"""CREATE MACRO {pg}.regtype_array_out(a) AS CASE WHEN a IS NOT NULL THEN coalesce((
            SELECT list(coalesce({pg}.format_type(u.o, NULL), u.o::VARCHAR) ORDER BY u.i)
            FROM (SELECT unnest(a) AS o, generate_subscripts(a, 1) AS i) AS u), []::VARCHAR[]) END""",
        f"""CREATE MACRO {pg}.regnamespace_out(o) AS coalesce(
            (SELECT first(n.nspname) FROM {pg}.pg_namespace n WHERE n.oid = o), o::VARCHAR)""",
        f"""CREATE MACRO {pg}.regproc_out(o) AS coalesce(
            (SELECT first(p.proname) FROM {pg}.pg_proc p WHERE p.oid = o), o::VARCHAR)""",
        f"""CREATE MACRO {pg}.regrole_out(o) AS coalesce(
            (SELECT first(a.rolname) FROM {pg}.pg_authid a WHERE a.oid = o), o::VARCHAR)""",
        f"""CREATE MACRO {pg}.quote_ident(s) AS CASE WHEN regexp_full_match(s, '[a-z_][a-z0-9_$]*') THEN s
            ELSE '"' || replace(s, '"', '""') || '"' END""",
        f"CREATE MACRO {pg}.array_lower(a, d) AS CASE WHEN len(a) > 0 THEN 1 END",
        f"CREATE MACRO {pg}.array_upper(a, d) AS CASE WHEN len(a) > 0 THEN len(a) END",
        f"CREATE MACRO {pg}.pg_is_in_recovery() AS false",
        f"CREATE MACRO {pg}.txid_current() AS 1::BIGINT",
        f"CREATE MACRO {pg}.pg_my_temp_schema() AS 0",
        f"CREATE MACRO {pg}.inet_server_addr() AS NULL::VARCHAR",
        f"CREATE MACRO {pg}.inet_server_port() AS NULL::INTEGER",
        f"CREATE MACRO {pg}.inet_client_addr() AS NULL::VARCHAR",
        f"CREATE MACRO {info}._pg_expandarray(a) AS TABLE SELECT unnest(a) AS x, unnest(generate_series(1, len(a))) AS n",
        f"CREATE MACRO {info}._pg_expandarray_list(a) AS list_transform(range(1, len(a) + 1), lambda i: {{'x': a[i], 'n': i}})",
        f"CREATE MACRO {pg}.pg_partition_ancestors(o) AS TABLE SELECT o AS relid, 1 AS depth",
        f"CREATE MACRO {pg}._pg_truetypid(a, t) AS CASE WHEN t.typtype = 'd' THEN t.typbasetype ELSE a.atttypid END",
    ]
    for name in _PRIVILEGE_FUNCTIONS:
        out.append(f"CREATE MACRO {pg}.{name}(a, b) AS true, (a, b, c) AS true, (a, b, c, d) AS true")
    out += [f"CREATE MACRO {pg}.{name}(o) AS true" for name in _ALWAYS_TRUE_1]
    out += [f"CREATE MACRO {pg}.{name}(o) AS NULL::VARCHAR, (o, p) AS NULL::VARCHAR" for name in _NULL_1]
    out += [f"CREATE MACRO {pg}.{name}(o) AS 0::BIGINT, (o, f) AS 0::BIGINT" for name in _ZERO_1]
    out += [f"CREATE MACRO {pg}.{name}(o) AS false" for name in _FALSE_1]
    return out


# Names the translator qualifies with the database's schema (everything ``macros`` defines).
def macro_names() -> frozenset[str]:
    names = {
        "format_type", "pg_table_is_visible", "pg_type_is_visible", "pg_get_userbyid", "obj_description",
        "col_description", "shobj_description", "pg_get_expr", "pg_get_constraintdef", "pg_get_indexdef",
        "pg_get_function_arguments", "pg_get_function_identity_arguments", "pg_get_function_result",
        "pg_size_pretty", "pg_encoding_to_char", "pg_char_to_encoding", "to_regclass", "to_regtype",
        "to_regproc", "to_regnamespace", "to_regrole", "quote_ident", "array_lower", "array_upper",
        "pg_is_in_recovery", "txid_current", "pg_my_temp_schema", "inet_server_addr", "inet_server_port",
        "inet_client_addr", "_pg_truetypid",
    }
    names.update(_PRIVILEGE_FUNCTIONS, _ALWAYS_TRUE_1, _NULL_1, _ZERO_1, _FALSE_1)
    return frozenset(names)
