"""The seed questions, the SQL-around-lens cases, the fan-out cases and the funnel/temporal cases on every
backend set-up, through a
real lens-proxy and psycopg, against the same ground truth (hand-written SQL on the raw tables, or the
hand-computed rows of tests/cases/fanout.yaml): the answers must not depend on where the data lives.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
import yaml

from tests.conftest import rows_equal

CASES_DIR = Path(__file__).resolve().parent.parent / "cases"


def _cases(name: str, keys: set[str]) -> list[dict]:
    cases = yaml.safe_load((CASES_DIR / name).read_text())
    for case in cases:
        assert set(case) <= keys, f"{name}: case {case.get('name')!r} has unknown keys {set(case) - keys}"
    return cases


QUESTIONS = _cases("customer_360_questions.yaml", {"name", "sql", "check_query", "ordered"})
AROUND_LENS = _cases("customer_360.yaml", {"name", "sql", "check_query", "ordered"})
FANOUT = _cases("fanout.yaml", {"name", "sql", "rows", "naive", "ordered"})
FUNNELS = _cases("funnels.yaml", {"name", "sql", "check_query", "ordered"})
JOURNEYS = _cases("customer_360_journeys.yaml", {"name", "sql", "check_query", "ordered"})

# Cases a backend cannot answer yet, with the reason; strict: when one starts passing, this list must shrink.
KNOWN_GAPS: dict[tuple[str, str], str] = {}


def _connect(server, database: str) -> psycopg.Connection:
    return psycopg.connect(server.dsn(dbname=database), autocommit=True, connect_timeout=10)


@pytest.fixture(scope="module")
def c360(backend_server):
    with _connect(backend_server, "customer_360") as conn:
        yield conn


@pytest.fixture(scope="module")
def shop(backend_server):
    with _connect(backend_server, "shop") as conn:
        yield conn


def _gap(request, backend_server, case) -> None:
    reason = KNOWN_GAPS.get((backend_server.setup, case["name"]))
    if reason:
        request.applymarker(pytest.mark.xfail(reason=reason, strict=True))


def _check_against_truth(conn, truth, case) -> None:
    expected = truth.execute(case["check_query"]).fetchall()
    assert expected, "ground truth is empty: the case would prove nothing"
    actual = conn.execute(case["sql"]).fetchall()
    rows_equal(actual, expected, ordered=case.get("ordered", False))


@pytest.mark.parametrize("case", QUESTIONS, ids=[c["name"] for c in QUESTIONS])
def test_seed_question(case, c360, truth, backend_server, request):
    _gap(request, backend_server, case)
    _check_against_truth(c360, truth, case)


@pytest.mark.parametrize("case", AROUND_LENS, ids=[c["name"] for c in AROUND_LENS])
def test_sql_around_lens(case, c360, truth, backend_server, request):
    _gap(request, backend_server, case)
    _check_against_truth(c360, truth, case)


@pytest.mark.parametrize("case", FANOUT, ids=[c["name"] for c in FANOUT])
def test_fanout(case, shop, backend_server, request):
    _gap(request, backend_server, case)
    expected = [tuple(r) for r in case["rows"]]  # the data file's rows ("empty result": none)
    actual = shop.execute(case["sql"]).fetchall()
    assert len(actual) == len(expected), f"{len(actual)} rows, the case expects {len(expected)}"
    rows_equal(actual, expected, ordered=case.get("ordered", False))  # and value by value


@pytest.fixture(scope="module")
def funnels(backend_server):
    with _connect(backend_server, "funnels") as conn:
        yield conn


@pytest.fixture(scope="module")
def journeys(backend_server):
    with _connect(backend_server, "customer_360_journeys") as conn:
        yield conn


@pytest.mark.parametrize("case", FUNNELS, ids=[c["name"] for c in FUNNELS])
def test_funnel(case, funnels, truth, backend_server, request):
    """sub_query members with their relationship's snippet, and every temporal relationship: portable SQL."""
    _gap(request, backend_server, case)
    _check_against_truth(funnels, truth, case)


@pytest.mark.parametrize("case", JOURNEYS, ids=[c["name"] for c in JOURNEYS])
def test_journey(case, journeys, truth, backend_server, request):
    _gap(request, backend_server, case)
    _check_against_truth(journeys, truth, case)
