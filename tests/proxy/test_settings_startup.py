"""Startup parameters are checked as ``SET`` checks them, and a bad one refuses the connection (FATAL), as
PostgreSQL does: the same startup packet is sent to lens-proxy and to the real PostgreSQL of the session,
and the outcome (accepted, or severity and SQLSTATE) must be the same. Each case is one entry.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from proxy import settings
from tests.proxy import rawwire as w

CASES = [
    {"statement_timeout": "abc"},
    {"options": "-c statement_timeout=abc"},
    {"options": "--statement-timeout=abc"},
    {"options": "-c statement_timeout=5s -c search_path=public"},
    {"options": "-c"},
    {"options": "-x"},
    {"foo_bar": "1"},
    {"options": "-c foo=1"},
    {"work_mem": "64MB"},
    {"TimeZone": "Mars/Olympus"},
    {"TimeZone": "Europe/Paris"},
    {"extra_float_digits": "9"},
    {"extra_float_digits": "2"},
    {"idle_in_transaction_session_timeout": "x"},
    {"statement_timeout": "5s"},
    {"lens.month": "3"},
    {"is_superuser": "on"},
    {"server_version": "1"},
    {"application_name": "naïve"},
    {"client_encoding": "'utf-8'"},
    {"DateStyle": "ISO, MDY"},
    {"search_path": "a, b"},
]


def _outcome(host: str, port: int, user: str, database: str, params: dict[str, str]) -> tuple:
    with w.RawConnection(host, port) as conn:
        replies = conn.startup(user, database, **params)
    errors = w.errors(replies)
    if errors:
        return errors[0]["S"], errors[0]["C"], errors[0]["M"]
    assert replies and replies[-1].tag == b"Z", replies
    return ("ok",)


@pytest.mark.parametrize("params", CASES, ids=[" ".join(f"{k}={v}" for k, v in c.items()) for c in CASES])
def test_startup_parameters_as_postgres(params: dict[str, str], server, postgres) -> None:
    expected = _outcome(postgres.host, postgres.port, "postgres", "postgres", params)
    assert _outcome(server.host, server.port, "analyst", server.database, params) == expected


def test_bad_startup_timeout_then_good_connection(server) -> None:
    with pytest.raises(psycopg.OperationalError) as info:
        psycopg.connect(server.dsn(options="'-c statement_timeout=abc'"), connect_timeout=10)
    assert 'invalid value for parameter "statement_timeout"' in str(info.value)
    with psycopg.connect(server.dsn(options="'-c statement_timeout=150'"), autocommit=True) as conn:
        assert conn.execute("SHOW statement_timeout").fetchone() == ("150",)
        with pytest.raises(psycopg.errors.QueryCanceled):
            conn.execute("SELECT count(*) FROM order_placed, generate_series(1, 1000000) g(i) WHERE order_value * i < 0")


def test_settings_list_is_postgres(postgres, request) -> None:
    """``postgres_settings.txt`` is PostgreSQL's pg_settings (plus its hidden session parameters)."""
    path = Path(settings.__file__).with_name("postgres_settings.txt")
    with psycopg.connect(postgres.dsn()) as con:
        names = [r[0] for r in con.execute("SELECT name FROM pg_settings").fetchall()]
    names = sorted({*names, "is_superuser", "role", "seed", "session_authorization"})
    header = [line for line in path.read_text().splitlines() if line.startswith("#")]
    expected = "\n".join([*header, *names]) + "\n"
    if request.config.getoption("--update-fixtures", default=False):
        path.write_text(expected)
    assert path.read_text() == expected
