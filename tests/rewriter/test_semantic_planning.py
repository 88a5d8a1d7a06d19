"""Semantic planning. The join-tree rule (rewriter.join_paths): the same tree for the same entities whatever
the FROM order, fewest joins first, then joins that cannot multiply rows, then declaration order; a NOTICE
when the last step had to choose, and EXPLAIN showing the tree and the rule. BI tools' aggregates around
measures. (Counts of nothing and FROM-order cases with ground truth are in tests/cases/*.yaml.)
"""

from __future__ import annotations

import itertools

import psycopg
import pytest

from rewriter.join_paths import connect
from rewriter.load import load_lens
from tests.conftest import LENS_DIR, run_psql

SEED = load_lens(LENS_DIR)


def edges(names: list[str]) -> list[str]:
    return [e.describe() for e in connect(SEED, [frozenset({n}) for n in names]).edges]


@pytest.mark.parametrize("names", [
    ["customer", "order_placed", "order_rejected"],
    ["customer", "order_placed", "order_rejected", "order_invoiced"],
    ["order_rejected", "order_invoiced"],
])
def test_same_tree_for_every_from_order(names):
    trees = {tuple(edges(list(p))) for p in itertools.permutations(names)}
    assert len(trees) == 1, trees


def test_one_to_one_edge_preferred_over_a_path_through_the_customer():
    # order_placed and order_rejected: directly 1:1 on the order line, or through customer (two 1:N joins)
    assert edges(["order_placed", "order_rejected"]) == [
        "order_placed 1:1 order_rejected (order_placed.order_id = order_rejected.ref_order_id)"]


def test_fewest_joins_then_declaration_order_and_the_choice_is_reported():
    connection = connect(SEED, [frozenset({n}) for n in ("order_rejected", "customer", "order_placed")])
    assert [e.describe() for e in connection.edges] == [
        "customer 1:N order_placed (customer.customer_id = order_placed.entity_id)",
        "order_placed 1:1 order_rejected (order_placed.order_id = order_rejected.ref_order_id)",
    ]
    message, hint = connection.notice(["order_rejected", "customer", "order_placed"])
    assert "customer 1:N order_rejected" in message and "JOIN … ON" in hint


def test_no_notice_when_the_tree_is_the_only_shortest_one():
    assert connect(SEED, [frozenset({"customer"}), frozenset({"order_placed"})]).alternatives == ()


def test_notice_reaches_psycopg_and_psql_once_per_run(conn, server):
    notices = []
    conn.add_notice_handler(lambda d: notices.append((d.severity, d.sqlstate, d.message_primary, d.message_hint)))
    sql = "SELECT state, order_rejected.frequency FROM order_rejected, order_placed, customer GROUP BY state"
    conn.execute(sql).fetchall()
    conn.execute(sql).fetchall()  # from the rewrite cache: told again
    assert len(notices) == 2
    severity, sqlstate, message, hint = notices[0]
    assert (severity, sqlstate) == ("NOTICE", "00000")
    assert message.startswith("customer, order_placed, order_rejected can be joined in 2 equally short ways")
    assert "JOIN … ON" in hint
    out = run_psql(server, sql, "-A", "-t")
    assert "NOTICE:  customer, order_placed, order_rejected can be joined" in out.stderr
    conn.execute("SET client_min_messages = warning")
    conn.execute(sql).fetchall()
    assert len(notices) == 2, "client_min_messages = warning silences NOTICEs"


def test_explicit_join_on_is_not_second_guessed(conn):
    notices = []
    conn.add_notice_handler(lambda d: notices.append(d.message_primary))
    conn.execute(
        "SELECT state, order_rejected.frequency FROM customer JOIN order_placed ON customer.customer_id = "
        "order_placed.entity_id JOIN order_rejected ON customer.customer_id = order_rejected.entity_id GROUP BY state"
    ).fetchall()
    assert notices == []


def test_explain_shows_the_tree_and_the_rule(conn):
    lines = [r[0] for r in conn.execute(
        "EXPLAIN SELECT state, order_rejected.frequency FROM order_rejected, customer, order_placed GROUP BY state")]
    text = "\n".join(lines)
    assert "join tree chosen by the lens (rule: fewest joins" in text
    assert "NOTICE: customer, order_placed, order_rejected can be joined in 2 equally short ways" in text


def test_no_path_is_42P10_with_the_relationships_as_hint(conn):
    with pytest.raises(psycopg.Error) as info:
        conn.execute("SELECT 1 FROM customer a, customer b")
    assert info.value.sqlstate == "42P10"


def test_an_aggregate_that_is_not_the_measure_is_42803_with_a_hint(conn):
    with pytest.raises(psycopg.errors.GroupingError) as info:
        conn.execute("SELECT state, AVG(order_placed.frequency) FROM customer, order_placed GROUP BY state")
    assert "frequency is a count_distinct" in info.value.diag.message_primary
    assert "subquery" in info.value.diag.message_hint
    conn.execute("SELECT 1").fetchall()  # the session stays usable
