"""Shared pieces of the client matrix: the typed-values query and its DuckDB ground truth, lens queries
with parameters and their ground truth, value canonicalisation, and extra servers (auth, TLS, limits).

Every client test talks to a real lens-proxy subprocess (``server`` from tests/conftest.py) through the
real driver and compares what the driver returns with DuckDB reading the raw tables directly.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import uuid
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path

import pytest

from tests.conftest import LENS_DIR, RunningServer, start_server, stop_server
from tests.postgres_oracle.conftest import ORACLE_DB, oracle_server  # noqa: F401  (the corpus's loader)

SLOW_QUERY = "SELECT count(*) FROM order_placed, generate_series(1, 1000000) AS g(i) WHERE order_value * i < 0"

# Postgres spelling, sent by the clients; every type of the binary/text encoders, plus a NULL.
TYPES_SQL = (
    "SELECT 1::int2 AS i2, 2::int4 AS i4, 3::int8 AS i8, 1.5::float4 AS f4, 2.5::float8 AS f8, "
    "1.25::numeric(10,2) AS num, 'x'::text AS t, 'v'::varchar AS vc, 'n'::name AS nm, true AS b, "
    "DATE '2024-01-02' AS d, TIME '01:02:03' AS tm, TIMESTAMP '2024-01-02 03:04:05.123' AS ts, "
    "TIMESTAMPTZ '2024-01-02 03:04:05+00' AS tstz, INTERVAL '1 day 2 hours' AS iv, "
    "'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::uuid AS u, '\\x0102'::bytea AS by, '{\"a\":1}'::json AS j, "
    "ARRAY['a', NULL, 'c'] AS tarr, NULL::int4 AS nul"
)
# The same values written directly for DuckDB: the oracle.
TYPES_TRUTH = (
    "SELECT 1::SMALLINT, 2::INTEGER, 3::BIGINT, 1.5::REAL, 2.5::DOUBLE, 1.25::DECIMAL(10,2), 'x', 'v', 'n', true, "
    "DATE '2024-01-02', TIME '01:02:03', TIMESTAMP '2024-01-02 03:04:05.123', TIMESTAMPTZ '2024-01-02 03:04:05+00', "
    "INTERVAL '1 day 2 hours', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'::UUID, from_hex('0102'), "
    "'{\"a\":1}'::JSON::VARCHAR, ['a', NULL, 'c'], NULL::INTEGER"
)
# Integer arrays need asyncpg's type introspection (answered by the catalog); kept apart for that reason.
INT_ARRAY_SQL = "SELECT ARRAY[1, 2, 3]::int4[] AS arr, ARRAY[1.5, NULL]::float8[] AS farr"
INT_ARRAY_TRUTH = "SELECT [1, 2, 3]::INTEGER[], [1.5, NULL]::DOUBLE[]"

STATE_COUNT_TRUTH = "SELECT count(*) FROM icebase.audience.customers_large_data WHERE state = ?"
CUSTOMERS_TRUTH = (
    "SELECT customer_id, customer_name, email FROM icebase.audience.customers_large_data "
    "WHERE state = ? ORDER BY customer_id LIMIT ?"
)
ALL_CUSTOMER_IDS_TRUTH = "SELECT customer_id FROM icebase.audience.customers_large_data ORDER BY customer_id"


def canon(value: object) -> object:
    """One spelling per value across drivers: UUID and JSON as text, bytes-likes as bytes, aware
    datetimes in UTC, tuples as lists, NaN as a string."""
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, dict):  # a json column the driver decoded
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, memoryview | bytearray):
        return bytes(value)
    if isinstance(value, dt.datetime) and value.tzinfo is not None:
        return value.astimezone(dt.timezone.utc)
    if isinstance(value, list | tuple):
        return [canon(v) for v in value]
    if isinstance(value, float) and math.isnan(value):
        return "NaN"
    return value


def assert_row(actual: Sequence[object], expected: Sequence[object]) -> None:
    actual, expected = [canon(v) for v in actual], [canon(v) for v in expected]
    assert len(actual) == len(expected), f"{len(actual)} columns != {len(expected)}"
    for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
        if isinstance(e, float) and not isinstance(a, str | type(None)):
            assert math.isclose(float(a), e, rel_tol=1e-6), f"column {i}: {a!r} != {e!r}"
        elif isinstance(e, Decimal):
            assert Decimal(str(a)) == e, f"column {i}: {a!r} != {e!r}"
        else:
            assert a == e, f"column {i}: {a!r} != {e!r}"


@pytest.fixture(scope="session")
def types_truth(truth) -> tuple:
    return truth.execute(TYPES_TRUTH).fetchone()


@pytest.fixture(scope="session")
def int_array_truth(truth) -> tuple:
    return truth.execute(INT_ARRAY_TRUTH).fetchone()


@pytest.fixture(scope="session")
def ca_count(truth) -> int:
    return truth.execute(STATE_COUNT_TRUTH, ["CA"]).fetchone()[0]


@pytest.fixture(scope="session")
def ca_customers(truth) -> list[tuple]:
    return truth.execute(CUSTOMERS_TRUTH, ["CA", 5]).fetchall()


@pytest.fixture(scope="session")
def all_customer_ids(truth) -> list[str]:
    return [r[0] for r in truth.execute(ALL_CUSTOMER_IDS_TRUTH).fetchall()]


def _extra_server(demo_file: Path, *args: str) -> Iterator[RunningServer]:
    running = start_server([LENS_DIR], [str(demo_file)], *args)
    yield running
    stop_server(running)


PASSWORD = "s3cret-pa55"


@pytest.fixture(scope="session")
def users_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A users file written by the real CLI (`lens-proxy passwd`), password on stdin."""
    import subprocess
    import sys

    from tests.conftest import ROOT

    path = tmp_path_factory.mktemp("auth") / "users.yaml"
    for user in ("analyst", "viewer"):
        subprocess.run([sys.executable, "-m", "proxy.cli", "passwd", user, "--file", str(path)], cwd=ROOT,
                       input=PASSWORD + "\n", text=True, check=True, capture_output=True)
    return path


@pytest.fixture(scope="session", params=["scram-sha-256", "md5", "password"])
def auth_server(request, demo_file: Path, users_file: Path) -> Iterator[RunningServer]:
    yield from _extra_server(demo_file, "--auth", request.param, "--users", str(users_file))


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    import trustme

    ca = trustme.CA()
    cert = ca.issue_cert("localhost", "127.0.0.1")
    d = tmp_path_factory.mktemp("tls")
    files = {"ca": d / "ca.pem", "cert": d / "server.pem", "key": d / "server.key"}
    ca.cert_pem.write_to_path(str(files["ca"]))
    cert.cert_chain_pems[0].write_to_path(str(files["cert"]))
    for extra in cert.cert_chain_pems[1:]:
        extra.write_to_path(str(files["cert"]), append=True)
    cert.private_key_pem.write_to_path(str(files["key"]))
    return files


@pytest.fixture(scope="session")
def tls_server(demo_file: Path, tls_files: dict[str, Path]) -> Iterator[RunningServer]:
    yield from _extra_server(demo_file, "--tls-cert", str(tls_files["cert"]), "--tls-key", str(tls_files["key"]),
                             "--tls-required")


@pytest.fixture(scope="session")
def limits_server(demo_file: Path) -> Iterator[RunningServer]:
    yield from _extra_server(demo_file, "--max-connections", "3", "--idle-session-timeout", "1",
                             "--max-message-size", "1048576")


# -- PostgreSQL with the same rows: what each client gets from the real thing ------------------------------


def lens_yaml() -> dict:
    """The seed lens as written (parsed here, not by the project's loader): ground truth for keys."""
    import yaml

    return yaml.safe_load(next(LENS_DIR.glob("*.yml")).read_text())


def lens_foreign_keys() -> set[tuple[str, str, str, str]]:
    """(referencing table, column, referenced table, column) for every relationship of the lens YAML, as
    docs/catalog.md documents them: a ``1:N`` declared on A (A.f → B.g) is a key on B(g) referencing A(f);
    ``N:1`` and ``1:1`` are a key on A(f) referencing B(g)."""
    out = set()
    for entity in lens_yaml()["entities"]:
        for rel in entity.get("relationships") or []:
            target = rel["target"]
            if str(rel["type"]) == "1:N":
                out.add((target["name"], target["field"], entity["name"], rel["field"]))
            else:  # 1:1 (YAML 1.1 reads an unquoted 1:1 as the sexagesimal 61) and N:1
                out.add((entity["name"], rel["field"], target["name"], target["field"]))
    return out


def lens_primary_keys() -> dict[str, list[str]]:
    return {e["name"]: [f["name"] for f in e.get("fields") or [] if f.get("primary")] for e in lens_yaml()["entities"]}


def lens_measures() -> dict[str, set[str]]:
    return {e["name"]: {m["name"] for m in e.get("measures") or []} for e in lens_yaml()["entities"]}


@pytest.fixture(scope="session")
def oracle_keys(oracle_server):  # noqa: ANN001, F811
    """The oracle PostgreSQL with what the lens says about its tables beyond their rows, so clients'
    introspection can be compared: descriptions as comments, and the foreign keys PostgreSQL can hold (the
    referenced column is the referenced table's primary key; ``NOT VALID``: the rows are the lens's, not
    checked). The others (order_id → ref_order_id, not unique) exist only in the lens; tests check them
    against ``lens_foreign_keys``."""
    import psycopg

    primary = lens_primary_keys()
    with psycopg.connect(oracle_server.dsn(ORACLE_DB), autocommit=True) as c:
        for entity in lens_yaml()["entities"]:
            if entity.get("description"):
                c.execute(f'COMMENT ON TABLE "{entity["name"]}" IS {_quote(entity["description"])}')
            for member in (entity.get("fields") or []) + (entity.get("dimensions") or []):
                if member.get("description") and not member.get("hidden"):
                    c.execute(f'COMMENT ON COLUMN "{entity["name"]}"."{member["name"]}" IS {_quote(member["description"])}')
        for src, col, dst, dst_col in sorted(lens_foreign_keys()):
            if primary.get(dst) != [dst_col]:
                continue
            name = f"{src}_{col}_fkey"
            exists = c.execute("SELECT 1 FROM pg_constraint WHERE conname = %s", (name,)).fetchone()
            if not exists:
                c.execute(f'ALTER TABLE "{src}" ADD CONSTRAINT "{name}" FOREIGN KEY ("{col}") '
                          f'REFERENCES "{dst}" ("{dst_col}") NOT VALID')
    return oracle_server


def _quote(text: str) -> str:
    return "'" + str(text).replace("'", "''") + "'"


SYSTEM_ROW_TYPES_SQL = """
    SELECT t.typname::text FROM pg_type t JOIN pg_class c ON c.oid = t.typrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE t.typtype = 'c' AND n.nspname IN ('pg_catalog', 'information_schema')
    UNION
    SELECT a.typname::text FROM pg_type a JOIN pg_type t ON t.oid = a.typelem JOIN pg_class c ON c.oid = t.typrelid
      JOIN pg_namespace n ON n.oid = c.relnamespace
     WHERE t.typtype = 'c' AND n.nspname IN ('pg_catalog', 'information_schema')"""


@pytest.fixture(scope="session")
def system_row_types(oracle_server) -> frozenset[str]:  # noqa: ANN001, F811
    """Names of the row types of PostgreSQL's own catalog relations and their arrays (``_pg_class``): the
    built-in catalog leaves them out (proxy/catalog/builtin/dump_builtin.py), with what takes them."""
    import psycopg

    with psycopg.connect(oracle_server.dsn(ORACLE_DB), autocommit=True) as c:
        return frozenset(r[0] for r in c.execute(SYSTEM_ROW_TYPES_SQL).fetchall())
