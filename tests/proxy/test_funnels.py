"""Activity-schema funnels through a real server: the Lens 1 funnel recipes (corrected) and the temporal
relationships, over the Customer 360 demo stream, each compared with SQL hand-written on the raw table.

Cases are data (tests/cases/funnels.yaml); the lens is tests/fixtures/lenses/funnels.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
import yaml

from tests.conftest import rows_equal, start_server, stop_server

ROOT = Path(__file__).resolve().parent.parent
FUNNELS = ROOT / "fixtures" / "lenses" / "funnels"
JOURNEYS = ROOT.parent / "lenses" / "customer_360_journeys"
CASES = yaml.safe_load((ROOT / "cases" / "funnels.yaml").read_text())
JOURNEY_CASES = yaml.safe_load((ROOT / "cases" / "customer_360_journeys.yaml").read_text())
CASE_KEYS = {"name", "sql", "check_query", "ordered"}


@pytest.fixture(scope="module")
def funnel_server(demo_file):
    server = start_server([FUNNELS, JOURNEYS], [str(demo_file)])
    server.database = "funnels"
    yield server
    stop_server(server)


@pytest.fixture
def funnels(funnel_server):
    with psycopg.connect(funnel_server.dsn(), autocommit=True) as c:
        yield c


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_funnel_case(case, funnels, truth):
    assert set(case) <= CASE_KEYS, f"unknown keys {set(case) - CASE_KEYS}"
    expected = truth.execute(case["check_query"]).fetchall()
    assert expected, "ground truth is empty: the case would prove nothing"
    actual = funnels.execute(case["sql"]).fetchall()
    rows_equal(actual, expected, ordered=case.get("ordered", False))


@pytest.mark.parametrize("case", JOURNEY_CASES, ids=[c["name"] for c in JOURNEY_CASES])
def test_journeys_readme_case(case, funnel_server, truth):
    assert set(case) <= CASE_KEYS, f"unknown keys {set(case) - CASE_KEYS}"
    expected = truth.execute(case["check_query"]).fetchall()
    assert expected, "ground truth is empty: the case would prove nothing"
    with psycopg.connect(funnel_server.dsn(dbname="customer_360_journeys"), autocommit=True) as conn:
        actual = conn.execute(case["sql"]).fetchall()
    rows_equal(actual, expected, ordered=case.get("ordered", False))
