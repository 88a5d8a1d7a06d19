"""Lens 1 features beyond the seed: sub_query dimensions, running_total, count_distinct_approx, average,
extends and ${entity.sql()}, relationship extra conditions, {{param:default}} with SET lens.param.

The funnel lens (tests/fixtures/lenses/valid/funnel) served by a real lens-proxy over hand-made rows; the
expected values are worked out by hand in the comments.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest

from tests.conftest import lens_server, rows_equal

FUNNEL = Path(__file__).resolve().parent.parent / "fixtures" / "lenses" / "valid" / "funnel"
DATA = """
CREATE SCHEMA crm; CREATE SCHEMA entity_360;
CREATE TABLE crm.customers (customer_id VARCHAR);
INSERT INTO crm.customers VALUES ('c1'), ('c2'), ('c3');
CREATE TABLE entity_360.campaign_stream (activity_id VARCHAR, entity_id VARCHAR, activity VARCHAR, ts TIMESTAMP,
                                         amount DOUBLE);
INSERT INTO entity_360.campaign_stream VALUES
  ('a1', 'c1', 'visited',   '2024-01-01 10:00', 0),
  ('a2', 'c1', 'purchased', '2024-01-01 11:00', 50),
  ('a3', 'c1', 'purchased', '2024-01-03 09:00', 150),
  ('a4', 'c2', 'visited',   '2024-01-02 08:00', 0),
  ('a5', 'c2', 'purchased', '2024-01-02 07:00', 30),
  ('a6', 'c3', 'purchased', '2024-01-03 12:00', -5),
  ('a7', 'c2', 'purchased', '2024-01-04 10:00', 200);
"""


@pytest.fixture(scope="module")
def funnel_server(tmp_path_factory):
    with lens_server(tmp_path_factory.mktemp("funnel"), FUNNEL, "funnel", "lake", DATA) as server:
        yield server


@pytest.fixture
def funnel(funnel_server):
    with psycopg.connect(funnel_server.dsn(), autocommit=True) as c:
        yield c


def test_sub_query_dimension_is_the_related_measure_per_row(funnel):
    # purchases with amount > {{min_amount:0}}: c1 50 + 150, c2 30 + 200, c3's -5 is filtered out
    rows = funnel.execute("SELECT customer_id, lifetime_spend FROM customer ORDER BY 1").fetchall()
    assert rows == [("c1", 200.0), ("c2", 230.0), ("c3", None)]


def test_session_parameter_overrides_the_default(funnel):
    funnel.execute("SET lens.min_amount = -10")
    rows = funnel.execute("SELECT customer_id, lifetime_spend FROM customer ORDER BY 1").fetchall()
    assert rows == [("c1", 200.0), ("c2", 230.0), ("c3", -5.0)]
    assert funnel.execute("SELECT big_orders FROM purchased").fetchone() == (2,)  # > {{threshold:100}}: 150, 200
    funnel.execute("SET lens.threshold = 40")
    assert funnel.execute("SELECT big_orders FROM purchased").fetchone() == (3,)  # 50, 150, 200
    funnel.execute("SET lens.threshold = '1) OR (1=1'")  # a value, never SQL
    with pytest.raises(psycopg.Error):
        funnel.execute("SELECT big_orders FROM purchased").fetchone()
    funnel.execute("RESET lens.threshold")
    funnel.execute("RESET lens.min_amount")
    assert funnel.execute("SELECT big_orders FROM purchased").fetchone() == (2,)


def test_running_total_accumulates_over_the_grain(funnel):
    rows = funnel.execute(
        "SELECT activity_day::date AS d, revenue, running_revenue FROM purchased GROUP BY 1 ORDER BY 1"
    ).fetchall()
    days = [str(r[0]) for r in rows]
    assert days == ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04"]
    assert [r[1] for r in rows] == [50.0, 30.0, 150.0, 200.0]
    assert [r[2] for r in rows] == [50.0, 80.0, 230.0, 430.0]


def test_measure_types_and_inherited_members(funnel):
    row = funnel.execute("SELECT buyers, avg_order, activities, first_purchase FROM purchased").fetchone()
    assert row[0] == 2  # approx distinct of c1, c2 (exact at this size)
    assert row[1] == pytest.approx(107.5)  # "average" = avg of 50, 150, 30, 200
    assert row[2] == 4  # `activities` is inherited from activity_stream via extends
    assert str(row[3]) == "2024-01-01 11:00:00"


def test_relationship_extra_condition_joins_only_later_purchases(funnel):
    # visited -> purchased where visited.ts < purchased.ts: c1 buys 50 and 150 after visiting; c2's 30 came
    # before its visit, so only 200 counts
    rows = funnel.execute(
        "SELECT visited.entity_id AS who, purchased.revenue FROM visited, purchased GROUP BY 1"
    ).fetchall()
    assert len(rows) == 2
    rows_equal(rows, [("c1", 200.0), ("c2", 200.0)], ordered=False)


def test_rolling_window_over_the_time_grain(funnel):
    # revenue_last_month: trailing 1 month, offset start -> for each day d, purchases in [d - 1 month, d)
    rows = funnel.execute(
        "SELECT activity_day::date AS d, revenue, revenue_last_month FROM purchased GROUP BY activity_day ORDER BY 1"
    ).fetchall()
    assert [(str(d), r, w) for d, r, w in rows] == [
        ("2024-01-01", 50.0, None),  # nothing before Jan 1
        ("2024-01-02", 30.0, 50.0),  # Jan 1's 50
        ("2024-01-03", 150.0, 80.0),  # 50 + 30
        ("2024-01-04", 200.0, 230.0),  # 50 + 30 + 150
    ]


def test_rolling_window_needs_a_time_bucket(funnel):
    with pytest.raises(psycopg.errors.FeatureNotSupported) as info:
        funnel.execute("SELECT revenue_last_month FROM purchased")
    assert "rolling_window" in str(info.value) and "date_trunc" in info.value.diag.message_hint
    assert funnel.execute("SELECT 1").fetchone() == (1,)


def test_sub_query_field_reads_the_measure_over_the_relationship_and_its_snippet(funnel):
    # Lens 1 puts sub_query members under fields; visited -> purchased keeps purchases after the visit:
    # c1 visited Jan 1 10:00 then bought 50 and 150; c2 visited Jan 2 08:00, bought 30 before and 200 after
    rows = funnel.execute("SELECT entity_id, spend_after_visit FROM visited ORDER BY 1").fetchall()
    assert rows == [("c1", 200.0), ("c2", 200.0)]


def test_dimension_reads_a_field_of_the_one_side(funnel):
    rows = funnel.execute("SELECT activity_id, buyer FROM purchased ORDER BY 1").fetchall()
    assert rows == [("a2", "C1"), ("a3", "C1"), ("a5", "C2"), ("a7", "C2")]  # {{min_amount:0}} drops a6 (-5)
