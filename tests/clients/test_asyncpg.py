"""asyncpg: it describes every statement, binds binary parameters and asks for binary results."""

from __future__ import annotations

import asyncio
import datetime as dt
from decimal import Decimal

import asyncpg
import pytest

from tests.clients.conftest import SLOW_QUERY, TYPES_SQL, assert_row


async def _connect(server, **kw):
    return await asyncpg.connect(host=server.host, port=server.port, user="analyst", database=server.database,
                                 timeout=10, **kw)


async def test_fetch_every_type(server, types_truth):
    c = await _connect(server)
    try:
        assert_row(list(await c.fetchrow(TYPES_SQL)), types_truth)
        assert_row(list((await c.fetch(TYPES_SQL))[0]), types_truth)
    finally:
        await c.close()


async def test_parameters_and_lens_queries(server, ca_customers, ca_count):
    c = await _connect(server)
    try:
        rows = await c.fetch(
            "SELECT customer_id, customer_name, email FROM customer WHERE state = $1 ORDER BY customer_id LIMIT $2",
            "CA", 5,
        )
        assert [tuple(r) for r in rows] == ca_customers
        assert await c.fetchval("SELECT count_customers FROM customer WHERE state = $1", "CA") == ca_count
        assert await c.fetchval("SELECT count_customers FROM customer WHERE state = $1", None) == 0
        row = await c.fetchrow(
            "SELECT $1::int2, $2::int8, $3::float8, $4::numeric, $5::bool, $6::date, $7::timestamp, $8::timestamptz, "
            "$9::bytea, $10::text, $11::time, $12::interval",
            3, 2**40, 0.25, Decimal("1.50"), False, dt.date(2024, 5, 6), dt.datetime(2024, 5, 6, 7, 8, 9),
            dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc), b"\x00\xff", "' OR 1=1 --", dt.time(4, 5, 6),
            dt.timedelta(days=2, seconds=5),
        )
        assert list(row) == [3, 2**40, 0.25, Decimal("1.50"), False, dt.date(2024, 5, 6), dt.datetime(2024, 5, 6, 7, 8, 9),
                             dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.timezone.utc), b"\x00\xff", "' OR 1=1 --",
                             dt.time(4, 5, 6), dt.timedelta(days=2, seconds=5)]
    finally:
        await c.close()


async def test_prepare_and_parameter_inference(server, truth):
    c = await _connect(server)
    try:
        stmt = await c.prepare("SELECT count_customers FROM customer WHERE state = $1 LIMIT $2")
        assert [t.name for t in stmt.get_parameters()] == ["text", "int8"]
        assert [a.name for a in stmt.get_attributes()] == ["count_customers"]
        for state in ("CA", "NY"):
            expected = truth.execute("SELECT count(*) FROM icebase.audience.customers_large_data WHERE state = ?", [state]).fetchone()[0]
            assert await stmt.fetchval(state, 1) == expected
    finally:
        await c.close()


async def test_cursor_iteration(server, all_customer_ids):
    c = await _connect(server)
    try:
        async with c.transaction():
            ids = [r[0] async for r in c.cursor("SELECT customer_id FROM customer ORDER BY customer_id", prefetch=50)]
            assert ids == all_customer_ids
            cur = await c.cursor("SELECT customer_id FROM customer ORDER BY customer_id")
            assert [r[0] for r in await cur.fetch(3)] == all_customer_ids[:3]
            assert (await cur.fetchrow())[0] == all_customer_ids[3]
            await cur.forward(10)
            assert (await cur.fetchrow())[0] == all_customer_ids[14]
    finally:
        await c.close()


async def test_timeout_cancels_and_session_survives(server):
    c = await _connect(server)
    try:
        with pytest.raises(asyncio.TimeoutError):
            await c.fetchval(SLOW_QUERY, timeout=0.5)
        assert await c.fetchval("SELECT 1") == 1
    finally:
        await c.close()


async def test_errors_carry_sqlstate(server):
    c = await _connect(server)
    try:
        with pytest.raises(asyncpg.UndefinedColumnError):
            await c.fetch("SELECT nope FROM customer")
        assert await c.fetchval("SELECT 2") == 2
    finally:
        await c.close()
