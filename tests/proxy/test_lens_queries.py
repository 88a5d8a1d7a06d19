"""Lens queries through a real server and real clients, compared with hand-written ground truth.

Cases live in ``tests/cases/*.yaml`` (one entry per query: the client SQL and the raw-table SQL that must give
the same rows), so a new case is data, not code.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.conftest import rows_equal, run_psql

CASES_DIR = Path(__file__).resolve().parent.parent / "cases"
CASE_KEYS = {"name", "sql", "check_query", "ordered"}


def _load_cases(name: str) -> list[dict]:
    cases = yaml.safe_load((CASES_DIR / name).read_text())
    for case in cases:
        unknown = set(case) - CASE_KEYS
        assert not unknown, f"{name}: case {case.get('name')!r} has unknown keys {unknown}"
    return cases


CUSTOMER_360 = _load_cases("customer_360.yaml")
QUESTIONS = _load_cases("customer_360_questions.yaml")


@pytest.mark.parametrize("case", CUSTOMER_360, ids=[c["name"] for c in CUSTOMER_360])
def test_case_psycopg(case, conn, truth):
    expected = truth.execute(case["check_query"]).fetchall()
    actual = conn.execute(case["sql"]).fetchall()
    assert expected, "ground truth is empty: the case would prove nothing"
    rows_equal(actual, expected, ordered=case.get("ordered", False))


@pytest.mark.parametrize("case", QUESTIONS, ids=[c["name"] for c in QUESTIONS])
def test_seed_question(case, conn, truth):
    expected = truth.execute(case["check_query"]).fetchall()
    actual = conn.execute(case["sql"]).fetchall()
    assert expected, "ground truth is empty: the case would prove nothing"
    rows_equal(actual, expected, ordered=case.get("ordered", False))


def test_readme_queries_through_psql(server, truth):
    out = run_psql(server, "SELECT state, count_customers, percentage_email FROM customer GROUP BY state ORDER BY 2 DESC",
                   "-A", "-t", "-F", "|").stdout
    got = [line.split("|") for line in out.strip().splitlines()]
    expected = truth.execute(
        "SELECT state, count(*), round(100 * count(email) / count(*)::double, 2) "
        "FROM icebase.audience.customers_large_data GROUP BY state"
    ).fetchall()
    assert sorted((s, int(n), float(p)) for s, n, p in got) == sorted(expected)
    counts = [int(n) for _, n, _ in got]
    assert counts == sorted(counts, reverse=True), "ORDER BY 2 DESC not honoured"

    out = run_psql(server, "SELECT customer_id, customer_name, email FROM customer WHERE state = 'CA' LIMIT 5",
                   "-A", "-t", "-F", "|").stdout
    rows = [line.split("|") for line in out.strip().splitlines()]
    assert len(rows) == 5
    for customer_id, name, email in rows:
        raw = truth.execute(
            "SELECT customer_name, coalesce(email, ''), state FROM icebase.audience.customers_large_data "
            "WHERE customer_id = ?", [customer_id]
        ).fetchone()
        assert raw == (name, email, "CA")


def test_psql_aligned_output_has_headers_and_row_count(server):
    out = run_psql(server, "SELECT state, count_customers FROM customer WHERE state IN ('CA', 'NY') ORDER BY state").stdout
    lines = out.strip().splitlines()
    assert [h.strip() for h in lines[0].split("|")] == ["state", "count_customers"]
    assert lines[-1].strip() == "(2 rows)"


def test_nulls_sort_like_postgres(conn, truth):
    emails = [r[0] for r in conn.execute("SELECT email FROM customer ORDER BY email DESC").fetchall()]
    n_null = truth.execute("SELECT count(*) FROM icebase.audience.customers_large_data WHERE email IS NULL").fetchone()[0]
    assert n_null > 0
    assert emails[:n_null] == [None] * n_null, "DESC puts NULLs first in Postgres"
    asc = [r[0] for r in conn.execute("SELECT email FROM customer ORDER BY email").fetchall()]
    assert asc[-n_null:] == [None] * n_null and None not in asc[:-n_null], "ASC puts NULLs last in Postgres"


def test_column_names_are_postgres_names(conn):
    cur = conn.execute("SELECT count(*), count_customers, 1 + 1, state::text, max(zip) FROM customer GROUP BY state")
    assert [d.name for d in cur.description] == ["count", "count_customers", "?column?", "state", "max"]


def test_result_types(conn):
    cur = conn.execute("SELECT count_customers, percentage_email, state FROM customer GROUP BY state LIMIT 1")
    assert [d.type_code for d in cur.description] == [20, 701, 25]  # int8, float8, text
    row = cur.fetchone()
    assert isinstance(row[0], int) and isinstance(row[1], float) and isinstance(row[2], str)
