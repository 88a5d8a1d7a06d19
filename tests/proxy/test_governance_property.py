"""Property: whatever SQL a governed user sends (projections, filters, joins, CTEs, subqueries, set
operations, windows, GROUP BY on masked columns, probes for raw values), the answer is the answer of the
same SQL over the raw data with the user's policy applied independently: the user's rows only, masked
columns replaced by their masks (computed here in Python), denied columns gone.

The oracle is a plain DuckDB database per identity holding that policy-applied data under the entities'
names; the client's SQL runs on it unchanged (transpiled from Postgres). Besides equality, every result
is checked directly: no cell is a raw value of a masked column, and no row of a hidden customer appears.
"""

from __future__ import annotations

import hashlib
import random

import duckdb
import psycopg
import pytest
import sqlglot
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import rows_equal, start_server, stop_server

REGIONS = ["north", "south", "east"]
LENS = """name: gov
user_groups:
  - {name: regional, includes: [roles:regional]}
  - {name: analysts, includes: [roles:analyst]}
policies:
  - name: regional_customers
    groups: [regional]
    entity: customers
    row_filter: ${customers.region} IN {{ user.regions }}
    masks: {email: sha256, name: redact, phone: {keep_last: 3}}
  - name: regional_orders
    groups: [regional]
    entity: orders
    row_filter: ${customers.region} IN {{ user.regions }}
  - name: analysts
    groups: [analysts]
    members: {includes: "*", excludes: [phone]}
    masks: {email: md5}
entities:
  - name: customers
    sql: {query: SELECT * FROM gdb.main.customers}
    fields:
      - {name: id, type: string, column: id, primary: true}
      - {name: name, type: string, column: name}
      - {name: region, type: string, column: region}
      - {name: email, type: string, column: email}
      - {name: phone, type: string, column: phone}
      - {name: spend, type: number, column: spend}
    relationships:
      - {type: 1:N, field: id, target: {name: orders, field: customer_id}}
  - name: orders
    sql: {query: SELECT * FROM gdb.main.orders}
    fields:
      - {name: id, type: string, column: id, primary: true}
      - {name: customer_id, type: string, column: customer_id}
      - {name: product, type: string, column: product}
      - {name: amount, type: number, column: amount}
"""
IDENTITIES = {  # user -> (roles, attributes)
    "nora": (["regional"], {"regions": ["north"]}),
    "ned": (["regional"], {"regions": ["north", "east"]}),
    "ada": (["analyst"], {}),
}
CUSTOMER_COLUMNS = ["id", "name", "region", "email", "phone", "spend"]
ORDER_COLUMNS = ["id", "customer_id", "product", "amount"]


def make_data(seed: int = 11) -> tuple[list[tuple], list[tuple]]:
    rnd = random.Random(seed)
    customers = []
    for i in range(24):
        name = rnd.choice(["Ann", "Bob", None, "Cid", "Dee"])
        email = None if rnd.random() < 0.15 else f"user{i}@{rnd.choice(['a', 'b'])}.com"
        phone = None if rnd.random() < 0.2 else f"555-{rnd.randint(1000, 9999)}"
        customers.append((f"c{i:02d}", name, rnd.choice(REGIONS), email, phone, float(rnd.randint(0, 90))))
    orders = [(f"o{j:03d}", rnd.choice(customers)[0], rnd.choice(["apple", "pear", "fig"]), float(rnd.randint(1, 50)))
              for j in range(60)]
    return customers, orders


CUSTOMERS, ORDERS = make_data()


def policy_applied(user: str) -> tuple[list[str], list[tuple], list[tuple]]:
    """(visible customer columns, customers, orders) as ``user``'s policy shows them, computed here."""
    roles, attributes = IDENTITIES[user]
    if "regional" in roles:
        regions = set(attributes["regions"])

        def mask(row):
            i, name, region, email, phone, spend = row
            return (i, None if name is None else "--redact--", region,
                    None if email is None else hashlib.sha256(email.encode()).hexdigest(),
                    None if phone is None else "*" * max(len(phone) - 3, 0) + phone[-3:], spend)

        kept = [c for c in CUSTOMERS if c[2] in regions]
        ids = {c[0] for c in kept}
        return CUSTOMER_COLUMNS, [mask(c) for c in kept], [o for o in ORDERS if o[1] in ids]
    columns = [c for c in CUSTOMER_COLUMNS if c != "phone"]
    rows = [(i, name, region, None if email is None else hashlib.md5(email.encode()).hexdigest(), spend)
            for i, name, region, email, _, spend in CUSTOMERS]
    return columns, rows, ORDERS


@pytest.fixture(scope="module")
def governed(tmp_path_factory):
    root = tmp_path_factory.mktemp("gov")
    con = duckdb.connect(str(root / "gdb.duckdb"))
    con.execute("CREATE TABLE customers (id VARCHAR, name VARCHAR, region VARCHAR, email VARCHAR, phone VARCHAR, spend DOUBLE)")
    con.execute("CREATE TABLE orders (id VARCHAR, customer_id VARCHAR, product VARCHAR, amount DOUBLE)")
    con.executemany("INSERT INTO customers VALUES (?, ?, ?, ?, ?, ?)", CUSTOMERS)
    con.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", ORDERS)
    con.close()
    lens = root / "lens"
    lens.mkdir()
    (lens / "gov.yml").write_text(LENS)
    users = root / "users.yaml"
    users.write_text(yaml.safe_dump({"users": {u: {"groups": r, "attributes": a} for u, (r, a) in IDENTITIES.items()}}))
    server = start_server([lens], [str(root / "gdb.duckdb")], "--users", str(users))
    server.database = "gov"
    oracles = {}
    for user in IDENTITIES:
        columns, customers, orders = policy_applied(user)
        oracle = duckdb.connect()
        types = {"spend": "DOUBLE"}
        definition = ", ".join(f"{c} {types.get(c, 'VARCHAR')}" for c in columns)
        oracle.execute(f"CREATE TABLE customers ({definition})")
        oracle.execute("CREATE TABLE orders (id VARCHAR, customer_id VARCHAR, product VARCHAR, amount DOUBLE)")
        if customers:
            oracle.executemany(f"INSERT INTO customers VALUES ({', '.join('?' for _ in columns)})", customers)
        if orders:
            oracle.executemany("INSERT INTO orders VALUES (?, ?, ?, ?)", orders)
        oracles[user] = oracle
    conns = {u: psycopg.connect(server.dsn(user=u), autocommit=True) for u in IDENTITIES}
    yield conns, oracles
    for c in conns.values():
        c.close()
    stop_server(server)


STRING_COLUMNS = ["id", "name", "region", "email", "phone"]
raw_email = st.sampled_from([c[3] for c in CUSTOMERS if c[3]])
predicate = st.one_of(
    st.sampled_from(["region = 'north'", "spend > 40", "email LIKE '%a.com'", "name IS NULL", "phone IS NOT NULL",
                     "length(email) > 20", "upper(name) = 'ANN'"]),
    raw_email.map(lambda e: f"email = '{e}'"),  # probing for a raw value of a masked column
)
columns = st.lists(st.sampled_from(CUSTOMER_COLUMNS), min_size=1, max_size=3, unique=True)
string_column = st.sampled_from(STRING_COLUMNS)


@st.composite
def queries(draw) -> str:
    shape = draw(st.integers(0, 9))
    cols = ", ".join(draw(columns))
    where = f" WHERE {draw(predicate)}" if draw(st.booleans()) else ""
    col = draw(string_column)
    if shape == 0:
        return f"SELECT {cols} FROM customers{where}"
    if shape == 1:
        ocol = draw(st.sampled_from(["product", "amount", "id"]))
        return f"SELECT c.{col}, o.{ocol} FROM customers c JOIN orders o ON c.id = o.customer_id{where.replace('WHERE ', 'WHERE c.')}"
    if shape == 2:
        return f"WITH x AS (SELECT {cols} FROM customers{where}) SELECT * FROM x"
    if shape == 3:
        return f"SELECT {col} FROM customers WHERE id IN (SELECT customer_id FROM orders WHERE amount > {draw(st.integers(0, 50))})"
    if shape == 4:
        op = draw(st.sampled_from(["UNION", "UNION ALL", "INTERSECT", "EXCEPT"]))
        return f"SELECT {col} FROM customers{where} {op} SELECT {draw(string_column)} FROM customers"
    if shape == 5:
        return f"SELECT {col}, count(*) AS n FROM customers{where} GROUP BY {col}"
    if shape == 6:
        return f"SELECT id, {col}, row_number() OVER (PARTITION BY region ORDER BY id) AS rn FROM customers{where}"
    if shape == 7:
        return "SELECT count(*) AS n, count(DISTINCT c.email) AS e, sum(o.amount) AS a FROM orders o JOIN customers c ON c.id = o.customer_id"
    if shape == 8:
        return f"SELECT upper({col}) AS u, length({col}) AS l FROM customers{where}"
    return f"SELECT * FROM customers{where}"


def forbidden_values(user: str) -> set[str]:
    """Values that must never appear: raw values of masked columns, and ids of customers (and their
    orders) the user may not see."""
    roles, attributes = IDENTITIES[user]
    raw = {c[3] for c in CUSTOMERS if c[3]}
    if "regional" in roles:
        hidden = {c[0] for c in CUSTOMERS if c[2] not in attributes["regions"]}
        raw |= {c[1] for c in CUSTOMERS if c[1]} | {c[4] for c in CUSTOMERS if c[4]} | hidden
        raw |= {o[0] for o in ORDERS if o[1] in hidden}
    else:
        raw |= {c[4] for c in CUSTOMERS if c[4]}
    return raw


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(user=st.sampled_from(sorted(IDENTITIES)), sql=queries())
def test_governed_answers_equal_the_policy_applied_oracle(governed, user, sql):
    conns, oracles = governed
    oracle_sql = sqlglot.transpile(sql, read="postgres", write="duckdb")[0]
    try:
        expected = oracles[user].execute(oracle_sql).fetchall()
        oracle_error = None
    except duckdb.Error as e:
        expected, oracle_error = None, e
    try:
        actual = conns[user].execute(sql).fetchall()
        proxy_error = None
    except psycopg.Error as e:
        actual, proxy_error = None, e
    if oracle_error is not None or proxy_error is not None:
        # a column the policy denies is unknown to both; nothing else may fail
        assert oracle_error is not None and proxy_error is not None, f"{user}: {sql}\nproxy: {proxy_error}\noracle: {oracle_error}"
        assert proxy_error.sqlstate == "42703", f"{user}: {sql}: {proxy_error.sqlstate} {proxy_error}"
        return
    leaked = forbidden_values(user) & {v for row in actual for v in row if isinstance(v, str)}
    assert not leaked, f"{user}: {sql} returned hidden values {sorted(leaked)[:3]}"
    try:
        rows_equal(actual, expected, ordered=False)
    except AssertionError as e:
        raise AssertionError(f"{user}: {sql}\nproxy:  {sorted(map(str, actual))[:8]}\noracle: {sorted(map(str, expected))[:8]}") from e
