"""The PostgreSQL test server itself: it starts, answers, and is the version the oracle claims to be."""

import psycopg


def test_postgres_fixture_answers(postgres):
    with psycopg.connect(postgres.dsn(), autocommit=True) as c:
        version = c.execute("SHOW server_version_num").fetchone()[0]
        assert int(version) >= 150000
        assert c.execute("SELECT 7 / 2, 7.0 / 2").fetchone() == (3, __import__("decimal").Decimal("3.5000000000000000"))
