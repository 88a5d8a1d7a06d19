"""Property: whatever entities a query joins, each measure equals the measure over its own entity's rows.

Hypothesis picks a random dataset (one of several random shop datasets served side by side as databases
shop_0 … shop_N by one real lens-proxy), random dimensions, measures, a filter and extra entities; the
proxy's answer must equal an oracle computed in Python, measure by measure, from the raw rows: join the
entities the measure needs (its own, the dimensions', the filter's) with LEFT joins from the declaring
side, keep the rows passing the filter, and aggregate the owner's *distinct* rows per group. A group where
the measure's entity has no row at all gets that measure over no rows: 0 for a count, NULL otherwise.

The FROM order is drawn too: the answer must not depend on it. A second lens, ``shop_cycle_<k>``, adds a
relationship that closes a cycle (returns N:1 orders), so two entities can be joined along several paths:
there the property is that every FROM order gives the same rows.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

import duckdb
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import rows_equal, start_server, stop_server

SHOP = Path(__file__).resolve().parent.parent / "fixtures" / "lenses" / "shop" / "shop.yml"
DATASETS = 6

# the shop lens's relationship tree, rooted at its "one" side: child -> (parent, parent key, child key)
PARENT = {"orders": ("customers", "id", "customer_id"), "returns": ("customers", "id", "customer_id"),
          "shipments": ("orders", "id", "order_id")}
DEPTH = {"customers": 0, "orders": 1, "returns": 1, "shipments": 2}
DIMENSIONS = {"customers.region": ("customers", "region"), "customers.name": ("customers", "name"),
              "orders.product": ("orders", "product")}
# measure -> (owner, aggregate over the owner's distinct rows)
MEASURES: dict[str, tuple[str, Callable[[list[dict]], object]]] = {
    "customers.count_customers": ("customers", lambda rows: sum(r["id"] is not None for r in rows)),
    "orders.order_count": ("orders", lambda rows: len(rows)),
    "orders.revenue": ("orders", lambda rows: sum(r["amount"] for r in rows) if rows else None),
    "orders.max_amount": ("orders", lambda rows: max((r["amount"] for r in rows), default=None)),
    "orders.distinct_products": ("orders", lambda rows: len({r["product"] for r in rows})),
    "returns.refunded": ("returns", lambda rows: sum(r["amount"] for r in rows) if rows else None),
    "returns.return_count": ("returns", lambda rows: len(rows)),
    "shipments.shipped": ("shipments", lambda rows: len(rows)),
}
FILTERS: dict[str, tuple[set[str], Callable[[dict], bool]] | None] = {
    "": None,
    "customers.region = 'north'": ({"customers"}, lambda r: r.get("customers.region") == "north"),
    "orders.product = 'apple'": ({"orders"}, lambda r: r.get("orders.product") == "apple"),
    "returns.amount > 5": ({"returns"}, lambda r: (r.get("returns.amount") or 0) > 5),
}


def make_dataset(seed: int) -> dict[str, list[dict]]:
    rnd = random.Random(seed)
    customers = [{"id": i, "name": f"n{i}", "region": rnd.choice(["north", "south"]), "vip": rnd.random() < 0.3}
                 for i in range(1, rnd.randint(1, 6) + 1)]
    ids = [c["id"] for c in customers]
    orders = [{"id": 100 + i, "customer_id": rnd.choice(ids), "product": rnd.choice(["apple", "pear", "fig"]),
               "amount": float(rnd.randint(1, 50))} for i in range(rnd.randint(0, 10))]
    order_ids = [o["id"] for o in orders] or [None]
    returns = [{"id": 200 + i, "customer_id": rnd.choice(ids), "amount": float(rnd.randint(1, 9)),
                "order_id": rnd.choice(order_ids)} for i in range(rnd.randint(0, 6))]
    shipped = [o for o in orders if rnd.random() < 0.6]
    shipments = [{"id": 300 + i, "order_id": o["id"], "days": rnd.randint(1, 9)} for i, o in enumerate(shipped)]
    return {"customers": customers, "orders": orders, "returns": returns, "shipments": shipments}


def write_dataset(path: Path, data: dict[str, list[dict]]) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE customers (id INTEGER, name VARCHAR, region VARCHAR, vip BOOLEAN)")
    con.execute("CREATE TABLE orders (id INTEGER, customer_id INTEGER, product VARCHAR, amount DOUBLE)")
    con.execute("CREATE TABLE returns (id INTEGER, customer_id INTEGER, amount DOUBLE, order_id INTEGER)")
    con.execute("CREATE TABLE shipments (id INTEGER, order_id INTEGER, days INTEGER)")
    con.execute("CREATE TABLE suppliers (id INTEGER, supplier_name VARCHAR)")
    for table, rows in data.items():
        for row in rows:
            con.execute(f"INSERT INTO {table} VALUES ({', '.join('?' for _ in row)})", list(row.values()))
    con.close()


@pytest.fixture(scope="module")
def datasets(tmp_path_factory):
    root = tmp_path_factory.mktemp("prop")
    text = SHOP.read_text()
    assert "\nname: shop\n" in text
    lens_dirs, files, data = [], [], []
    for k in range(DATASETS):
        d = make_dataset(1000 + k)
        data.append(d)
        write_dataset(root / f"shopdb_{k}.duckdb", d)
        lens_dir = root / f"lens_{k}"
        lens_dir.mkdir()
        copy = text.replace("\nname: shop\n", f"\nname: shop_{k}\n").replace("shopdb.", f"shopdb_{k}.")
        (lens_dir / "shop.yml").write_text(copy)
        lens_dirs.append(lens_dir)
        files.append(str(root / f"shopdb_{k}.duckdb"))
        cycle_dir = root / f"cycle_{k}"
        cycle_dir.mkdir()
        (cycle_dir / "shop.yml").write_text(_with_cycle(copy.replace(f"\nname: shop_{k}\n", f"\nname: shop_cycle_{k}\n")))
        lens_dirs.append(cycle_dir)
    server = start_server(lens_dirs, files)
    yield server, data
    stop_server(server)


def _with_cycle(lens_text: str) -> str:
    """The shop lens plus ``returns N:1 orders``: customers, orders and returns form a cycle."""
    anchor = "      - {name: amount, type: number, column: amount}\n    measures:\n      - {name: return_count"
    assert anchor in lens_text
    text = lens_text.replace(anchor, "      - {name: amount, type: number, column: amount}\n"
                             "      - {name: order_id, type: number, column: order_id}\n    measures:\n"
                             "      - {name: return_count")
    anchor = '      - {name: refunded, type: sum, sql_snippet: "${returns.amount}"}\n'
    assert anchor in text
    return text.replace(anchor, anchor + "    relationships:\n"
                        "      - {type: N:1, field: order_id, target: {name: orders, field: id}}\n")


def _query(grain: list[str], measures: list[str], filter_sql: str, order: list[str]) -> str:
    sql = f"SELECT {', '.join(grain + measures)} FROM {', '.join(order)}"
    if filter_sql:
        sql += f" WHERE {filter_sql}"
    if grain:
        sql += f" GROUP BY {', '.join(grain)}"
    return sql


def oracle(data, grain: list[str], measures: list[str], filter_sql: str) -> list[tuple]:
    flt = FILTERS[filter_sql]
    groups: dict[tuple, dict[str, object]] = {}
    for m in measures:
        owner, aggregate = MEASURES[m]
        needed = {owner} | {DIMENSIONS[g][0] for g in grain} | (flt[0] if flt else set())
        for row in _joined(data, needed):
            if flt and not flt[1](row):
                continue
            key = tuple(row.get(g) for g in grain)
            bucket = groups.setdefault(key, {}).setdefault(m, {})
            pk = row.get(f"{owner}.id")
            if pk is not None:
                bucket[pk] = row[f"{owner}.__row"]
    if not grain and not groups:
        groups[()] = {}
    out = []
    for key, per_measure in groups.items():
        # no owner rows (none at all in this group): counts give 0, other aggregates NULL
        values = [MEASURES[m][1](list((per_measure.get(m) or {}).values())) for m in measures]
        out.append((*key, *values))
    return out


def _joined(data, needed: set[str]) -> list[dict]:
    """Rows of the smallest subtree holding ``needed``, LEFT-joined from the root down."""
    keep = set()
    for entity in needed:
        while entity is not None:
            keep.add(entity)
            entity = PARENT.get(entity, (None,))[0]
    root = "customers"
    while root not in needed and len([c for c, p in PARENT.items() if p[0] == root and c in keep]) == 1:
        keep.discard(root)
        root = next(c for c, p in PARENT.items() if p[0] == root and c in keep)
    rows = [_prefixed(root, r) for r in data[root]]
    for child in sorted(keep - {root}, key=DEPTH.get):
        parent, parent_key, child_key = PARENT[child]
        joined = []
        for row in rows:
            matches = [r for r in data[child] if row.get(f"{parent}.{parent_key}") is not None
                       and r[child_key] == row[f"{parent}.{parent_key}"]]
            joined.extend({**row, **_prefixed(child, m)} for m in matches) if matches else joined.append(row)
        rows = joined
    return rows


def _prefixed(entity: str, row: dict) -> dict:
    return {**{f"{entity}.{k}": v for k, v in row.items()}, f"{entity}.__row": row}


# what a random query is made of: a dataset, dimensions, measures, a filter, extra entities, a FROM order
QUERY_PARTS = dict(
    k=st.integers(0, DATASETS - 1),
    grain=st.lists(st.sampled_from(sorted(DIMENSIONS)), max_size=2, unique=True),
    measures=st.lists(st.sampled_from(sorted(MEASURES)), min_size=1, max_size=3, unique=True),
    filter_sql=st.sampled_from(sorted(FILTERS)),
    extra=st.lists(st.sampled_from(["customers", "orders", "returns", "shipments"]), max_size=2, unique=True),
    shuffle=st.randoms(use_true_random=False),
)


def _entities(grain: list[str], measures: list[str], filter_sql: str, extra: list[str]) -> list[str]:
    entities = {DIMENSIONS[g][0] for g in grain} | {MEASURES[m][0] for m in measures} | set(extra)
    if FILTERS[filter_sql]:
        entities |= FILTERS[filter_sql][0]
    return sorted(entities)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(**QUERY_PARTS)
def test_measures_never_depend_on_joined_entities(datasets, k, grain, measures, filter_sql, extra, shuffle):
    server, data = datasets
    order = _entities(grain, measures, filter_sql, extra)
    shuffle.shuffle(order)
    sql = _query(grain, measures, filter_sql, order)
    with psycopg.connect(server.dsn(dbname=f"shop_{k}"), autocommit=True) as conn:
        actual = conn.execute(sql).fetchall()
    expected = oracle(data[k], grain, measures, filter_sql)
    try:
        rows_equal(actual, expected, ordered=False)
    except AssertionError as e:
        raise AssertionError(f"{sql}\nactual:   {sorted(map(str, actual))}\nexpected: {sorted(map(str, expected))}") from e


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(**QUERY_PARTS)
def test_join_tree_does_not_depend_on_from_order_with_cycles(datasets, k, grain, measures, filter_sql, extra, shuffle):
    server, _ = datasets
    first, second = _entities(grain, measures, filter_sql, extra), _entities(grain, measures, filter_sql, extra)
    shuffle.shuffle(first)
    shuffle.shuffle(second)
    with psycopg.connect(server.dsn(dbname=f"shop_cycle_{k}"), autocommit=True) as conn:
        a = conn.execute(_query(grain, measures, filter_sql, first)).fetchall()
        b = conn.execute(_query(grain, measures, filter_sql, second)).fetchall()
    try:
        rows_equal(a, b, ordered=False)
    except AssertionError as e:
        raise AssertionError(f"{_query(grain, measures, filter_sql, first)}\nvs FROM {second}: {a} != {b}") from e
