"""Catalog tests run against the real server (``server`` fixture of tests/conftest.py) and, where PostgreSQL
is the oracle, against the corpus's PostgreSQL loaded with the same rows."""

from tests.conftest import conn, demo_file, server, truth  # noqa: F401
from tests.postgres_oracle.conftest import ORACLE_DB, oracle_server  # noqa: F401
