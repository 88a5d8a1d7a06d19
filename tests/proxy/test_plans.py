"""proxy.plans: statement shapes and the literals bound as parameters (tests/fixtures/plans/*.yaml)."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from proxy.plans import Plan, PlanCache, bound_values, parameterize, shape_of
from proxy.router import split

CASES = yaml.safe_load((Path(__file__).parents[1] / "fixtures" / "plans" / "parameterize.yaml").read_text())
TYPES = {
    "customer": {"customer_id": "text", "state": "text", "customer_name": "text"},
    "order_placed": {"entity_id": "text", "activity_occurence": "bigint", "order_value": "double precision",
                     "activity_ts": "timestamp without time zone", "brand_name": "text"},
}


@pytest.mark.parametrize("case", CASES, ids=[c["sql"][:60] for c in CASES])
def test_parameterize(case: dict) -> None:
    shape = shape_of(case["sql"])
    assert shape is not None
    template = parameterize(split(case["sql"])[0], shape, TYPES)
    assert template.statement.ast.sql("postgres") == case["template"]
    assert bound_values(shape, template.slots) == case["params"]


def test_literals_do_not_change_the_shape() -> None:
    a = shape_of("SELECT state FROM customer WHERE customer_id = 'C1'")
    b = shape_of("select state FROM customer WHERE customer_id = 'C2';")
    c = shape_of('SELECT state FROM customer WHERE "customer_id" = \'C2\'')
    assert a.key == shape_of("SELECT  state FROM customer\nWHERE customer_id = 'it''s'").key
    assert a.key != b.key  # keywords as written: another spelling is another shape (compiled once more)
    assert a.key != c.key  # a quoted identifier is not the bare one
    assert shape_of("SELECT 1 LIMIT 5").key != shape_of("SELECT 1 LIMIT 5.5").key  # integer vs other number


@pytest.mark.parametrize("sql", ["SELECT 1; SELECT 2", "SET x = 1", "SELECT $1", "EXPLAIN SELECT 1", ""])
def test_no_shape(sql: str) -> None:
    assert shape_of(sql) is None


def test_plans_per_fixed_literal_values() -> None:
    cache = PlanCache(variants=2)
    shape = shape_of("SELECT state FROM customer WHERE customer_id = 'C1' LIMIT 5")
    plan = Plan(split("SELECT 1")[0], ((0, "s"),))
    cache.put(shape, ("k",), (1,), plan)  # literal 1 (LIMIT 5) is in the SQL: part of the key
    assert cache.get(shape_of("SELECT state FROM customer WHERE customer_id = 'C9' LIMIT 5"), ("k",)) is plan
    assert cache.get(shape_of("SELECT state FROM customer WHERE customer_id = 'C9' LIMIT 6"), ("k",)) is None
    assert cache.get(shape, ("other session key",)) is None
