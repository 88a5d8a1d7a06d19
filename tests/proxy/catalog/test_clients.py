"""Real clients' introspection against the server: SQLAlchemy 2 inspector (psycopg, asyncpg), asyncpg, pandas."""

from __future__ import annotations

import asyncio

import asyncpg
import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from proxy.catalog.model import foreign_keys, member_comment
from rewriter.load import load_lens
from tests.conftest import LENS_DIR

LENS = load_lens(LENS_DIR)
# what the demo data's queries return for each lens member type, as SQLAlchemy reflects it
EXPECTED_TYPES = {"customer_id": sa.TEXT, "activity_ts": sa.TIMESTAMP, "cases": sa.DOUBLE_PRECISION,
                  "activity_occurence": sa.BIGINT, "frequency": sa.BIGINT, "monetary": sa.DOUBLE_PRECISION}


def url(server, driver: str) -> str:  # noqa: ANN001
    return f"postgresql+{driver}://analyst@{server.host}:{server.port}/{server.database}"


def inspect_all(inspector: sa.Inspector) -> dict:
    out: dict = {"schemas": inspector.get_schema_names(), "tables": inspector.get_table_names(),
                 "views": inspector.get_view_names(), "has": inspector.has_table("customer")}
    for entity in LENS.entities:
        out[entity.name] = dict(
            columns=inspector.get_columns(entity.name), pk=inspector.get_pk_constraint(entity.name),
            fks=inspector.get_foreign_keys(entity.name), indexes=inspector.get_indexes(entity.name),
            comment=inspector.get_table_comment(entity.name),
            unique=inspector.get_unique_constraints(entity.name),
        )
    return out


def check_against_lens(found: dict) -> None:
    assert "public" in found["schemas"]
    assert sorted(found["tables"]) == sorted(e.name for e in LENS.entities)
    assert found["views"] == [] and found["has"] is True
    expected_fks = {(src.name, src_col, dst.name, dst_col) for src, src_col, dst, dst_col in foreign_keys(LENS)}
    seen_fks = set()
    for entity in LENS.entities:
        got = found[entity.name]
        visible = [m for m in entity.members if not m.hidden]
        assert [c["name"] for c in got["columns"]] == [m.name for m in visible]
        assert [c["comment"] for c in got["columns"]] == [member_comment(m) for m in visible]
        for column in got["columns"]:
            if column["name"] in EXPECTED_TYPES:
                assert isinstance(column["type"], EXPECTED_TYPES[column["name"]]), column
            assert column["nullable"] is (column["name"] not in entity.primary_key)
        assert got["pk"]["constrained_columns"] == list(entity.primary_key)
        assert got["pk"]["name"] == f"{entity.name}_pkey"
        assert got["indexes"] == []  # the primary key's index is not reported as a separate index
        for fk in got["fks"]:
            seen_fks.add((entity.name, fk["constrained_columns"][0], fk["referred_table"], fk["referred_columns"][0]))
    assert seen_fks == expected_fks


def test_sqlalchemy_inspector_psycopg(server) -> None:  # noqa: ANN001
    engine = sa.create_engine(url(server, "psycopg"))
    with engine.connect() as conn:
        check_against_lens(inspect_all(sa.inspect(conn)))
    engine.dispose()


def test_sqlalchemy_inspector_asyncpg(server) -> None:  # noqa: ANN001
    async def run() -> dict:
        engine = create_async_engine(url(server, "asyncpg"))
        async with engine.connect() as conn:
            found = await conn.run_sync(lambda sync: inspect_all(sa.inspect(sync)))
        await engine.dispose()
        return found

    check_against_lens(asyncio.run(run()))


def test_sqlalchemy_reflects_table_and_queries_it(server) -> None:  # noqa: ANN001
    engine = sa.create_engine(url(server, "psycopg"))
    meta = sa.MetaData()
    table = sa.Table("order_placed", meta, autoload_with=engine)
    assert table.comment is None and table.c.monetary.comment == "measure (sum): total order value"
    assert [c.name for c in table.primary_key.columns] == ["activity_uuid"]
    assert {fk.target_fullname for fk in table.foreign_keys} >= {"customer.customer_id"}
    with engine.connect() as conn:
        assert conn.execute(sa.select(table.c.monetary)).scalar() > 0
    engine.dispose()


def test_asyncpg_decodes_every_lens_type(server) -> None:  # noqa: ANN001
    """Every type an entity column has is one asyncpg decodes with a built-in codec (no introspection)."""

    async def run() -> None:
        conn = await asyncpg.connect(host=server.host, port=server.port, user="analyst", database=server.database)
        try:
            type_oids = {r["atttypid"] for r in await conn.fetch(
                "SELECT a.atttypid FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c "
                "ON c.oid = a.attrelid WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r'")}
            assert type_oids >= {25, 701, 20, 1114}
            settings = conn._protocol.get_settings()
            assert all(settings.get_data_codec(oid) is not None for oid in type_oids)
            for entity in LENS.entities:
                columns = ", ".join(f'"{m.name}"' for m in entity.members if not m.hidden and m.kind != "measure")
                await conn.fetch(f"SELECT {columns} FROM {entity.name} LIMIT 5")
            row = await conn.fetchrow("SELECT recency, frequency, monetary FROM order_placed")
            assert row["frequency"] > 0 and row["monetary"] > 0
        finally:
            await conn.close()

    asyncio.run(run())


def test_asyncpg_introspects_every_lens_type(server) -> None:  # noqa: ANN001
    async def run() -> None:
        conn = await asyncpg.connect(host=server.host, port=server.port, user="analyst", database=server.database)
        try:
            # the recursive pg_type/pg_range query asyncpg sends for OIDs it has no codec for
            from asyncpg import introspection

            type_oids = [r["atttypid"] for r in await conn.fetch(
                "SELECT DISTINCT a.atttypid FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c "
                "ON c.oid = a.attrelid WHERE c.relnamespace = 'public'::regnamespace")]
            assert set(type_oids) >= {25, 701, 20, 1114}
            rows = await conn.fetch(introspection.INTRO_LOOKUP_TYPES, type_oids + [2249])
            names = {r["oid"]: r["name"] for r in rows}
            assert names[25] == "text" and names[1114] == "timestamp" and names[701] == "float8"
            reltype = await conn.fetchval("SELECT reltype FROM pg_catalog.pg_class WHERE relname = 'customer'")
            rows = await conn.fetch(introspection.INTRO_LOOKUP_TYPES, [reltype])
            composite = [r for r in rows if r["oid"] == reltype]  # the rest are its attributes' types (deeper)
            assert len(composite) == 1 and composite[0]["kind"] in (b"c", "c")
            assert composite[0]["attrnames"][:2] == ["customer_id", "customer_name"]
            # and the lens's own values decode with those types
            row = await conn.fetchrow("SELECT activity_ts, cases, activity_occurence, frequency, entity_id "
                                      "FROM order_placed GROUP BY 1, 2, 3, 5 LIMIT 1")
            assert row is not None
            await conn.set_type_codec("json", schema="pg_catalog", encoder=str, decoder=str)  # TYPE_BY_NAME
        finally:
            await conn.close()

    asyncio.run(run())


def test_pandas_read_sql(server) -> None:  # noqa: ANN001
    engine = sa.create_engine(url(server, "psycopg"))
    frame = pd.read_sql("SELECT status, count_customers FROM customer GROUP BY status ORDER BY status", engine)
    assert list(frame.columns) == ["status", "count_customers"]
    assert frame["count_customers"].sum() > 0
    tables = pd.read_sql("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'", engine)
    assert sorted(tables["table_name"]) == sorted(e.name for e in LENS.entities)
    engine.dispose()


@pytest.mark.parametrize("sql", [
    "SELECT * FROM duckdb_tables()",
    "SELECT * FROM information_schema.tables t JOIN duckdb_columns() c ON true",
    "SELECT * FROM pg_catalog.pg_class, icebase.audience.customers_large_data",
    "SELECT * FROM memory.main.pg_class",
])
def test_catalog_never_reveals_the_engine(conn, sql: str) -> None:  # noqa: ANN001
    import psycopg

    with pytest.raises(psycopg.Error):
        conn.execute(sql).fetchall()


def test_information_schema_lists_only_lens_objects(conn) -> None:  # noqa: ANN001
    tables = conn.execute("SELECT table_schema, table_name FROM information_schema.tables "
                          "WHERE table_schema NOT IN ('pg_catalog', 'information_schema')").fetchall()
    assert sorted(tables) == sorted(("public", e.name) for e in LENS.entities)
    assert not any("icebase" in str(r) or "customers_large_data" in str(r) for r in
                   conn.execute("SELECT * FROM pg_catalog.pg_class").fetchall())
