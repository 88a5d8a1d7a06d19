"""Whole-row references (``SELECT c FROM customer c``): the row as a record, as PostgreSQL sends it.

Text (psql, psycopg: ``(C0000001,"Happy Fox Cafe",,…)``) is compared with PostgreSQL's over the same rows;
binary (asyncpg decodes a record field by field from the type OIDs inside it) is compared as values. The
type lens-proxy reports is ``record`` (2249): PostgreSQL reports the table's row type, whose attributes
here would include the measures, which a row does not hold.
"""

from __future__ import annotations

from collections.abc import Iterator

import asyncpg
import psycopg
import pytest

from tests.clients.conftest import ORACLE_DB
from tests.postgres_oracle.oracle import ask

QUERIES = [
    "SELECT c FROM customer c ORDER BY customer_id LIMIT 3",
    "SELECT c FROM customer AS c WHERE c.state = 'TX' ORDER BY c.customer_id LIMIT 1",
    "SELECT o, o.order_value FROM order_invoiced o ORDER BY activity_uuid LIMIT 2",
    "SELECT r FROM order_rejected r ORDER BY activity_uuid LIMIT 2",
    "SELECT x FROM (SELECT c AS x, customer_id FROM customer c) t ORDER BY customer_id LIMIT 2",
]


@pytest.fixture(scope="module")
def connections(server, oracle_server) -> Iterator[tuple[psycopg.Connection, psycopg.Connection]]:  # noqa: ANN001
    with psycopg.connect(server.dsn(), autocommit=True) as proxy, \
            psycopg.connect(oracle_server.dsn(ORACLE_DB), autocommit=True) as postgres:
        yield proxy, postgres


@pytest.mark.parametrize("sql", QUERIES)
def test_text_matches_postgres(connections, sql):  # noqa: ANN001
    proxy, postgres = connections
    mine, theirs = ask(proxy.pgconn, sql), ask(postgres.pgconn, sql)
    assert mine.sqlstate is None, mine.describe()
    assert mine.names == theirs.names
    assert mine.rows == theirs.rows
    assert 2249 in mine.oids


@pytest.mark.parametrize("sql", QUERIES[:4])
async def test_binary_matches_postgres(server, oracle_server, sql):  # noqa: ANN001
    """asyncpg reads records in binary: each field by the type OID record_send puts before it."""
    answers = []
    for dsn in (f"postgresql://analyst@{server.host}:{server.port}/{server.database}",
                f"postgresql://postgres@{oracle_server.host}:{oracle_server.port}/{ORACLE_DB}"):
        conn = await asyncpg.connect(dsn)
        try:
            answers.append([tuple(tuple(v) if isinstance(v, asyncpg.Record) else v for v in row)
                            for row in await conn.fetch(sql)])
        finally:
            await conn.close()
    assert answers[0] == answers[1] and answers[0]


@pytest.fixture(scope="module")
def governed(demo_file, tmp_path_factory):  # noqa: ANN001
    """The governed demo lens: bob (analyst) is denied customer_name and phone_number and sees emails hashed;
    ann (sales) sees only her states' rows."""
    import yaml

    from tests.conftest import ROOT, start_server, stop_server

    users = tmp_path_factory.mktemp("governed") / "users.yaml"
    users.write_text(yaml.safe_dump({"users": {"ann": {"groups": ["sales"], "attributes": {"states": ["CA", "NY"]}},
                                               "bob": {"groups": ["analyst"]}}}))
    server = start_server([ROOT / "lenses" / "customer_360_governed"], [str(demo_file)], "--users", str(users))
    server.database = "customer_360_governed"
    yield server
    stop_server(server)


@pytest.mark.parametrize("user", ["ann", "bob"])
async def test_a_row_holds_what_the_policy_lets_star_list(governed, user):  # noqa: ANN001
    """Denied members stay out of the record, masks and row filters apply: the row is exactly ``c.*``."""
    conn = await asyncpg.connect(f"postgresql://{user}@{governed.host}:{governed.port}/{governed.database}")
    try:
        records = await conn.fetch("SELECT c FROM customer c ORDER BY customer_id")
        stars = await conn.fetch("SELECT c.* FROM customer c ORDER BY customer_id")
    finally:
        await conn.close()
    assert records and [tuple(r[0]) for r in records] == [tuple(r) for r in stars]
