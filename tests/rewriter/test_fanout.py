"""The fan-out correctness suite: tiny hand-made tables, the correct rows written by hand.

Runs a real lens-proxy serving the shop lens (tests/fixtures/lenses/shop) and compares each case of
tests/cases/fanout.yaml through psycopg.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
import yaml

from tests.conftest import lens_server, rows_equal

SHOP = Path(__file__).resolve().parent.parent / "fixtures" / "lenses" / "shop"
CASES = yaml.safe_load((Path(__file__).resolve().parent.parent / "cases" / "fanout.yaml").read_text())
CASE_KEYS = {"name", "sql", "rows", "naive", "ordered"}


@pytest.fixture(scope="module")
def shop_server(tmp_path_factory):
    with lens_server(tmp_path_factory.mktemp("shop"), SHOP, "shop", "shopdb", (SHOP / "data.sql").read_text()) as server:
        yield server


@pytest.fixture
def shop(shop_server):
    with psycopg.connect(shop_server.dsn(), autocommit=True) as c:
        yield c


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_fanout_case(case, shop):
    assert set(case) <= CASE_KEYS, f"unknown keys {set(case) - CASE_KEYS}"
    actual = shop.execute(case["sql"]).fetchall()
    rows_equal(actual, [tuple(r) for r in case["rows"]], ordered=case.get("ordered", False))


def test_no_path_between_entities_is_42P10(shop):
    with pytest.raises(psycopg.Error) as info:
        shop.execute("SELECT name, supplier_name FROM customers, suppliers")
    assert info.value.sqlstate == "42P10"
    assert "customers 1:N orders" in (info.value.diag.message_hint or "")


def test_ambiguous_column_is_42702(shop):
    with pytest.raises(psycopg.errors.AmbiguousColumn):
        shop.execute("SELECT amount FROM orders, returns")
    with pytest.raises(psycopg.errors.AmbiguousColumn):
        shop.execute("SELECT id FROM customers, orders")


def test_explain_shows_join_path_and_backend_sql(shop):
    lines = [r[0] for r in shop.execute("EXPLAIN SELECT name, shipments.shipped FROM customers, shipments").fetchall()]
    text = "\n".join(lines)
    assert "orders" in text and "shipments" in text and "LEFT JOIN" in text
