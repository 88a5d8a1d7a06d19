"""The fast paths through a real server: shared plans, the result cache, SHOW lens.stats.

Every answer is compared with ground truth (DuckDB on the raw tables); the counters say which path ran.
Speed itself is measured in bench/bench_speed.py, never here.
"""

from __future__ import annotations

import psycopg
import pytest

from tests.proxy.test_governance import governed  # noqa: F401 - the governed lens server, for policies

C = "icebase.audience.customers_large_data"


def stats(conn: psycopg.Connection) -> dict[str, float]:
    return {name: float(value) for name, value in conn.execute("SHOW lens.stats").fetchall()}


def test_point_queries_share_one_plan_and_answer_right(conn, truth):
    ids = [r[0] for r in truth.execute(f"SELECT customer_id FROM {C} ORDER BY customer_id LIMIT 12").fetchall()]
    conn.execute("SET lens.result_cache = off")
    before = stats(conn)
    for customer_id in ids:
        rows = conn.execute(
            f"SELECT state, count_customers FROM customer WHERE customer_id = '{customer_id}' GROUP BY 1").fetchall()
        assert rows == truth.execute(f"SELECT state, count(*) FROM {C} WHERE customer_id = ? GROUP BY 1",
                                     [customer_id]).fetchall()
    after = stats(conn)
    # one compile for the first literal (this worker may have seen it already), plan hits for the rest
    assert after["plans_hits_total"] - before["plans_hits_total"] >= len(ids) - 1
    assert after["stage_compile_total"] - before["stage_compile_total"] <= 1


def test_quotes_and_lists_are_bound_as_written(conn, truth):
    conn.execute("SET lens.result_cache = off")
    for state in ("CA", "O'Hare", "TX"):
        quoted = state.replace("'", "''")
        (n,) = conn.execute(f"SELECT count(*) FROM customer WHERE state IN ('{quoted}', 'ZZ')").fetchone()
        assert n == truth.execute(f"SELECT count(*) FROM {C} WHERE state IN (?, 'ZZ')", [state]).fetchone()[0]


def test_result_cache_hits_and_can_be_switched_off(conn, truth):
    sql = "SELECT state, count_customers FROM customer GROUP BY state ORDER BY state"
    expected = truth.execute(f"SELECT state, count(*) FROM {C} GROUP BY state ORDER BY state").fetchall()
    conn.execute("SET lens.result_cache = on")
    first = conn.execute(sql).fetchall()
    before = stats(conn)
    again = conn.execute(sql).fetchall()
    binary = conn.execute(sql, binary=True).fetchall()  # another result format: its own entry
    after = stats(conn)
    assert first == again == binary == expected
    assert after["result_cache_hits_total"] == before["result_cache_hits_total"] + 1
    conn.execute("SET lens.result_cache = off")
    assert conn.execute("SHOW lens.result_cache").fetchone() == ("off",)
    assert conn.execute(sql).fetchall() == expected
    assert stats(conn)["result_cache_hits_total"] == after["result_cache_hits_total"]


def test_result_cache_setting_is_a_boolean(conn):
    with pytest.raises(psycopg.errors.InvalidParameterValue, match="requires a Boolean value"):
        conn.execute("SET lens.result_cache = sometimes")
    assert conn.execute("SELECT 1").fetchone() == (1,)  # the session goes on


def test_volatile_results_are_never_kept(conn):
    sql = "SELECT count_customers, random() AS r FROM customer"
    conn.execute("SET lens.result_cache = on")
    assert conn.execute(sql).fetchone()[1] != conn.execute(sql).fetchone()[1]


def test_prepared_and_row_limited_reads_of_a_cached_result(conn, truth):
    sql = "SELECT customer_id FROM customer WHERE state = %s ORDER BY customer_id"
    expected = [r[0] for r in truth.execute(f"SELECT customer_id FROM {C} WHERE state = 'TX' ORDER BY 1").fetchall()]
    conn.execute("SET lens.result_cache = on")
    for _ in range(3):
        assert [r[0] for r in conn.execute(sql, ["TX"], prepare=True).fetchall()] == expected
    with conn.transaction(), conn.cursor(name="c") as cur:  # a named portal read 5 rows at a time
        cur.itersize = 5
        cur.execute(sql, ["TX"])
        assert [r[0] for r in cur] == expected


def test_results_are_never_shared_across_policies(governed):  # noqa: F811
    sql = "SELECT state, count_customers FROM customer GROUP BY 1 ORDER BY 1"
    seen = {}
    for _ in range(2):
        for user in ("ann", "dual", "carl"):
            with psycopg.connect(governed.dsn(user=user), autocommit=True) as c:
                rows = c.execute(sql).fetchall()
                assert seen.setdefault(user, rows) == rows
    assert {s for s, _ in seen["ann"]} == {"CA", "NY"}
    assert {s for s, _ in seen["dual"]} == {"TX"}
    assert len(seen["carl"]) > 2
