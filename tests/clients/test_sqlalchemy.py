"""SQLAlchemy 2 Core over psycopg and over asyncpg, and pandas.read_sql."""

from __future__ import annotations

import pandas as pd
import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import create_async_engine

from tests.clients.conftest import TYPES_SQL, assert_row


def _url(server, driver: str) -> str:
    return f"postgresql+{driver}://analyst@{server.host}:{server.port}/{server.database}"


@pytest.fixture
def engine(server):
    eng = sa.create_engine(_url(server, "psycopg"), poolclass=sa.pool.NullPool)
    yield eng
    eng.dispose()


def test_core_with_psycopg(engine, types_truth, ca_customers, ca_count):
    with engine.connect() as c:
        assert_row(c.exec_driver_sql(TYPES_SQL).one(), types_truth)
        rows = c.execute(
            sa.text("SELECT customer_id, customer_name, email FROM customer WHERE state = :s ORDER BY customer_id LIMIT :n"),
            {"s": "CA", "n": 5},
        ).all()
        assert [tuple(r) for r in rows] == ca_customers
        customer = sa.table("customer", sa.column("state"), sa.column("count_customers"))
        query = sa.select(customer.c.count_customers).where(customer.c.state == sa.bindparam("s"))
        assert c.execute(query, {"s": "CA"}).scalar_one() == ca_count


async def test_core_with_asyncpg(server, types_truth, ca_count):
    eng = create_async_engine(_url(server, "asyncpg"), poolclass=sa.pool.NullPool)
    try:
        async with eng.connect() as c:
            assert_row((await c.exec_driver_sql(TYPES_SQL)).one(), types_truth)
            result = await c.execute(sa.text("SELECT count_customers FROM customer WHERE state = :s"), {"s": "CA"})
            assert result.scalar_one() == ca_count
    finally:
        await eng.dispose()


def test_pandas_read_sql(engine, truth):
    expected = truth.execute(
        "SELECT state, count(*) AS n FROM icebase.audience.customers_large_data GROUP BY state ORDER BY state"
    ).df()
    df = pd.read_sql(sa.text("SELECT state, count_customers AS n FROM customer GROUP BY state ORDER BY state"), engine)
    assert df["state"].tolist() == expected["state"].tolist()
    assert df["n"].astype(int).tolist() == expected["n"].astype(int).tolist()
    df = pd.read_sql(sa.text("SELECT count_customers FROM customer WHERE state = %(s)s".replace("%(s)s", ":s")), engine,
                     params={"s": "CA"})
    assert int(df.iloc[0, 0]) == int(truth.execute("SELECT count(*) FROM icebase.audience.customers_large_data WHERE state = 'CA'").fetchone()[0])
