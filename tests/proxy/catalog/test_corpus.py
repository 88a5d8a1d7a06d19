"""Every corpus query runs against lens-proxy through the extended protocol, with sensible results."""

from __future__ import annotations

import psycopg
import pytest

from tests.proxy.catalog.corpus import check_rows, queries, substitute

QUERIES = queries()


@pytest.fixture(scope="module")
def oids(server) -> dict[str, int]:  # noqa: F811
    with psycopg.connect(server.dsn(), autocommit=True) as c:
        rows = c.execute("SELECT c.relname, c.oid, c.reltype FROM pg_catalog.pg_class c "
                         "WHERE c.relnamespace = 'public'::regnamespace").fetchall()
    out = {f"oid:{name}": oid for name, oid, _ in rows}
    out.update({f"type:{name}": reltype for name, _, reltype in rows})
    return out


@pytest.fixture(scope="module")
def raw(server):  # noqa: F811
    with psycopg.connect(server.dsn(), autocommit=True) as c:
        yield c


@pytest.mark.parametrize("query", QUERIES, ids=[q.id for q in QUERIES])
def test_corpus_query(query, raw, oids) -> None:
    if query.skip:
        pytest.skip(query.skip)
    sql = substitute(query.sql, oids).encode()
    params = [None if p is None else substitute(p, oids).encode() for p in query.params]
    result = raw.pgconn.exec_params(sql, params)
    status = result.status
    if status == psycopg.pq.ExecStatus.FATAL_ERROR:
        pytest.fail(f"{query.id}: {result.error_message.decode()}\n{query.sql[:2000]}")
    assert status == psycopg.pq.ExecStatus.TUPLES_OK, f"{query.id}: status {status}"
    rows = [tuple(None if result.get_value(r, c) is None else result.get_value(r, c).decode()
                  for c in range(result.nfields)) for r in range(result.ntuples)]
    check_rows(query, rows)


def test_corpus_covers_every_tool() -> None:
    tools = {q.path.parent.name for q in QUERIES}
    assert {"psql", "sqlalchemy", "asyncpg"} <= tools
