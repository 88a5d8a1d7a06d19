"""Routing (``Catalog.handles``) and translation rules, without a server."""

from __future__ import annotations

import pytest

from proxy.catalog import Catalog, CatalogContext
from proxy.errors import SqlError
from proxy.router import parse_query
from proxy.settings import SessionSettings
from rewriter.load import load_lens
from tests.conftest import LENS_DIR

LENS = load_lens(LENS_DIR)
CATALOG = Catalog({LENS.name: LENS})
CONTEXT = CatalogContext(LENS.name, "analyst", 4242, SessionSettings(), "16.4")


def run(sql: str, params: list | None = None) -> list[tuple]:
    cursor = CATALOG.cursor()
    try:
        table = cursor.execute(parse_query(sql), params, CONTEXT).read_all()
        return list(zip(*(c.to_pylist() for c in table.columns), strict=True))
    finally:
        cursor.close()


@pytest.mark.parametrize("sql", [
    "SELECT * FROM pg_class",
    "SELECT relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace",
    "SELECT table_name FROM information_schema.tables",
    "SELECT pg_catalog.format_type(23, NULL)",
    "SELECT has_table_privilege('customer', 'SELECT')",
    "SELECT 'customer'::regclass",
    "WITH t AS (SELECT oid FROM pg_type) SELECT count(*) FROM t",
    "SELECT * FROM pg_catalog.pg_get_keywords()",
])
def test_catalog_queries_are_handled(sql: str) -> None:
    assert CATALOG.handles(parse_query(sql))


@pytest.mark.parametrize("sql", [
    "SELECT 1",
    "SELECT version()",
    "SELECT count_customers FROM customer",
    "SELECT * FROM order_placed o JOIN customer c ON c.customer_id = o.entity_id",
    "WITH pg_class AS (SELECT 1 AS x) SELECT x FROM pg_class",
    "SELECT * FROM customer WHERE customer_id IN (SELECT relname FROM pg_class)",  # mixed: the lens path decides
])
def test_other_queries_are_not_handled(sql: str) -> None:
    assert not CATALOG.handles(parse_query(sql))


def test_entities_are_tables_with_lens_columns_in_order() -> None:
    rows = run("SELECT a.attname, format_type(a.atttypid, a.atttypmod), col_description(a.attrelid, a.attnum) "
               "FROM pg_attribute a WHERE a.attrelid = 'order_placed'::regclass AND a.attnum > 0 ORDER BY a.attnum")
    entity = LENS.entity("order_placed")
    assert [r[0] for r in rows] == [m.name for m in entity.members if not m.hidden]
    by_name = {r[0]: r for r in rows}
    assert by_name["frequency"][1] == "bigint"  # count_distinct, declared without the engine
    assert by_name["monetary"][2] == "measure (sum): total order value"


def test_oids_are_stable_and_derived_from_names() -> None:
    other = Catalog({LENS.name: LENS})
    cursor = other.cursor()
    rows = cursor.execute(parse_query("SELECT oid, relname FROM pg_class WHERE relnamespace = 2200 ORDER BY 2"),
                          None, CONTEXT).read_all().to_pylist()
    cursor.close()
    assert rows == [dict(oid=r[0], relname=r[1]) for r in
                    run("SELECT oid, relname FROM pg_class WHERE relnamespace = 2200 ORDER BY 2")]
    assert all(r["oid"] >= 16384 for r in rows)


def test_keys_and_relationships() -> None:
    assert run("SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conrelid = 'customer'::regclass") == [
        ("PRIMARY KEY (customer_id)",)]
    fks = run("SELECT conrelid::regclass::text, confrelid::regclass::text FROM pg_constraint WHERE contype = 'f' "
              "ORDER BY 1, 2")
    assert ("order_placed", "customer") in fks and ("order_placed", "order_rejected") in fks


def test_session_values_and_relations() -> None:
    assert run("SELECT current_database(), current_user, pg_backend_pid()") == [("customer_360", "analyst", 4242)]
    assert run("SELECT usename FROM pg_stat_activity") == [("analyst",)]
    assert ("analyst",) in run("SELECT rolname FROM pg_roles")
    assert run("SELECT setting FROM pg_settings WHERE name = 'TimeZone'") == [("UTC",)]


def test_functions_and_syntax() -> None:
    assert run("SELECT pg_catalog.format_type(1043, 36), format_type(1007, NULL), 'int4'::regtype::text") == [
        ("character varying(32)", "integer[]", "integer")]
    assert run("SELECT relname FROM pg_class WHERE relname OPERATOR(pg_catalog.~) '^(customer)$' "
               "COLLATE pg_catalog.default") == [("customer",)]
    assert run("SELECT i.indkey[0] FROM pg_index i WHERE i.indrelid = 'customer'::regclass") == [(1,)]
    assert run("SELECT array_lower(conkey, 1), array_upper(conkey, 1) FROM pg_constraint "
               "WHERE conrelid = 'customer'::regclass AND contype = 'p'") == [(1, 1)]
    assert run("WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r WHERE n < 3) "
               "SELECT ARRAY(SELECT n FROM r)") == [([1, 2, 3],)]
    assert run("SELECT quote_ident('Customer'), pg_size_pretty(20480::bigint), to_regclass('public.customer') > 0") == [
        ('"Customer"', "20 kB", True)]
    assert run("SELECT nspname FROM pg_namespace WHERE oid = $1::regnamespace", ["public"]) == [("public",)]


@pytest.mark.parametrize("sql, sqlstate", [
    ("SELECT * FROM pg_catalog.duckdb_tables", "42P01"),
    ("SELECT * FROM pg_class, duckdb_settings()", "42883"),
    ("SELECT * FROM pg_class c, memory.main.x", "42P01"),
    ("SELECT 'no_such_table'::regclass", "42P01"),
    ("SELECT * FROM information_schema.no_such_view", "42P01"),
])
def test_refusals(sql: str, sqlstate: str) -> None:
    with pytest.raises(SqlError) as info:
        run(sql)
    assert info.value.sqlstate == sqlstate
