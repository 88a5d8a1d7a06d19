"""Governance through real clients: the governed Customer 360 demo lens (lenses/customer_360_governed)
served with a users file of groups and attributes; each user sees the rows, values and members its
policies allow, compared with the raw tables (DuckDB) with the policy applied by hand.

Users: ann (sales; states CA, NY), bob (analyst), carl (admin), dual (sales and analyst), eve (no groups).
"""

from __future__ import annotations

import hashlib
import json
import subprocess

import psycopg
import pytest
import yaml

from tests.conftest import ROOT, run_psql, start_server, stop_server

GOVERNED = ROOT / "lenses" / "customer_360_governed"
USERS = {
    "ann": {"groups": ["sales"], "attributes": {"states": ["CA", "NY"]}},
    "bob": {"groups": ["analyst"]},
    "carl": {"groups": ["admin"]},
    "dual": {"groups": ["sales", "analyst"], "attributes": {"states": ["TX"]}},
    "eve": {},
}
C = "icebase.audience.customers_large_data"
S = "icebase.audience.activity_streams_large_data"


@pytest.fixture(scope="module")
def governed(demo_file, tmp_path_factory):
    root = tmp_path_factory.mktemp("governed")
    users = root / "users.yaml"
    users.write_text(yaml.safe_dump({"users": USERS}))
    audit = root / "audit.jsonl"
    server = start_server([GOVERNED], [str(demo_file)], "--users", str(users), "--audit-log", str(audit))
    server.database = "customer_360_governed"
    server.audit = audit  # type: ignore[attr-defined]
    yield server
    stop_server(server)


def connect(server, user: str) -> psycopg.Connection:
    return psycopg.connect(server.dsn(user=user), autocommit=True)


def sha256(text: str | None) -> str | None:
    return None if text is None else hashlib.sha256(text.encode()).hexdigest()


def keep_last(text: str | None, n: int) -> str | None:
    return None if text is None else "*" * max(len(text) - n, 0) + text[-n:]


def test_row_filter_from_user_attributes_and_masks(governed, truth):
    with connect(governed, "ann") as c:
        rows = c.execute("SELECT customer_id, state, email, phone_number FROM customer").fetchall()
    raw = truth.execute(f"SELECT customer_id, state, email, phone_number FROM {C} WHERE state IN ('CA', 'NY')").fetchall()
    assert rows and sorted(rows) == sorted((i, s, sha256(e), keep_last(p, 4)) for i, s, e, p in raw)


def test_measures_are_computed_over_the_allowed_rows_only(governed, truth):
    with connect(governed, "ann") as c:
        rows = c.execute("SELECT state, count_customers, order_placed.frequency FROM customer, order_placed GROUP BY 1").fetchall()
        everything = c.execute("SELECT count_customers FROM customer").fetchone()[0]
    expected = truth.execute(f"""
        SELECT c.state, count(DISTINCT c.customer_id),
               count(DISTINCT p.entity_id || '-' || split_part(trim(p.feature1), '-', 1))
        FROM {C} c LEFT JOIN {S} p ON p.entity_id = c.customer_id AND p.activity = 'order_placed'
        WHERE c.state IN ('CA', 'NY') GROUP BY 1""").fetchall()
    assert sorted(rows) == sorted(expected)
    assert everything == sum(r[1] for r in expected)


def test_orders_are_filtered_through_the_customer_relationship(governed, truth):
    with connect(governed, "ann") as c:
        (n,) = c.execute("SELECT count(*) FROM order_placed").fetchone()
    (expected,) = truth.execute(f"""SELECT count(*) FROM {S} p JOIN {C} c ON c.customer_id = p.entity_id
        WHERE p.activity = 'order_placed' AND c.state IN ('CA', 'NY')""").fetchone()
    assert n == expected > 0


def test_a_masked_column_cannot_be_probed_or_grouped_back_to_raw_values(governed, truth):
    (email,) = truth.execute(f"SELECT email FROM {C} WHERE state = 'CA' AND email IS NOT NULL LIMIT 1").fetchone()
    with connect(governed, "ann") as c:
        assert c.execute("SELECT count(*) FROM customer WHERE email = %s", (email,)).fetchone() == (0,)
        assert c.execute("SELECT count(*) FROM customer WHERE email = %s", (sha256(email),)).fetchone() == (1,)
        grouped = c.execute("SELECT email, count(*) FROM customer GROUP BY email").fetchall()
        assert email not in {g for g, _ in grouped} and sha256(email) in {g for g, _ in grouped}
        cte = c.execute("WITH x AS (SELECT email FROM customer) SELECT max(email) FROM x UNION ALL "
                        "SELECT min(upper(email)) FROM customer").fetchall()
        assert all(v is None or "@" not in v for (v,) in cte)


def test_denied_members_are_as_absent_as_unknown_ones(governed):
    with connect(governed, "bob") as c:
        with pytest.raises(psycopg.errors.UndefinedColumn) as info:
            c.execute("SELECT customer_name FROM customer")
        assert "customer_name" not in (info.value.diag.message_hint or "")
        columns = [d.name for d in c.execute("SELECT * FROM customer LIMIT 0").description]
        assert "customer_name" not in columns and "phone_number" not in columns and "email" in columns
        with pytest.raises(psycopg.errors.UndefinedColumn):
            c.execute("SELECT 1 FROM customer a JOIN customer b ON a.address = b.address")
        assert c.execute("SELECT 1").fetchone() == (1,)


def test_analysts_see_every_row_with_md5_emails(governed, truth):
    with connect(governed, "bob") as c:
        rows = c.execute("SELECT customer_id, email FROM customer").fetchall()
    raw = truth.execute(f"SELECT customer_id, email FROM {C}").fetchall()
    assert sorted(rows) == sorted((i, None if e is None else hashlib.md5(e.encode()).hexdigest()) for i, e in raw)


def test_default_group_sees_only_order_measures_by_product(governed, truth):
    with connect(governed, "eve") as c:
        with pytest.raises(psycopg.errors.UndefinedTable) as info:
            c.execute("SELECT * FROM customer")
        assert "customer" not in (info.value.diag.message_hint or "")
        with pytest.raises(psycopg.errors.UndefinedColumn):
            c.execute("SELECT entity_id FROM order_placed")
        rows = c.execute("SELECT product_category, frequency FROM order_placed GROUP BY 1").fetchall()
    expected = truth.execute(f"""SELECT trim(feature5), count(DISTINCT entity_id || '-' || split_part(trim(feature1), '-', 1))
        FROM {S} WHERE activity = 'order_placed' GROUP BY 1""").fetchall()
    assert sorted(rows, key=str) == sorted(expected, key=str)


def test_admins_see_raw_values(governed, truth):
    with connect(governed, "carl") as c:
        rows = c.execute("SELECT customer_id, customer_name, email FROM customer").fetchall()
    assert sorted(rows) == sorted(truth.execute(f"SELECT customer_id, customer_name, email FROM {C}").fetchall())


def test_set_role_switches_policies_on_a_live_connection(governed, truth):
    with connect(governed, "dual") as c:
        # first matching user group: field_sales (TX only)
        assert c.execute("SELECT DISTINCT state FROM customer").fetchall() == [("TX",)]
        assert c.execute("SELECT current_user, session_user").fetchone() == ("dual", "dual")
        c.execute("SET ROLE analyst")
        assert c.execute("SELECT current_user, session_user").fetchone() == ("analyst", "dual")
        assert c.execute("SHOW role").fetchone() == ("analyst",)
        (n,) = c.execute("SELECT count(DISTINCT state) FROM customer").fetchone()
        assert n == truth.execute(f"SELECT count(DISTINCT state) FROM {C}").fetchone()[0] > 1
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            c.execute("SET ROLE admin")
        with pytest.raises(psycopg.errors.InvalidParameterValue):
            c.execute("SET ROLE no_such_role")
        c.execute("RESET ROLE")
        assert c.execute("SELECT DISTINCT state FROM customer").fetchall() == [("TX",)]


def test_explain_does_not_show_what_the_policy_hides(governed):
    with connect(governed, "bob") as c:
        text = "\n".join(r[0] for r in c.execute("EXPLAIN SELECT email FROM customer"))
    assert "phone_number" not in text and "not shown under a data policy" in text


def test_copy_and_cursors_see_only_allowed_rows(governed):
    with connect(governed, "ann") as c:
        with c.cursor().copy("COPY (SELECT state FROM customer) TO STDOUT") as copy:
            states = {bytes(row).decode().strip() for row in copy}
        assert states <= {"CA", "NY"} and states
        with c.transaction(), c.cursor(name="cur") as cur:
            cur.execute("SELECT state FROM customer")
            assert {s for (s,) in cur.fetchall()} <= {"CA", "NY"}


def test_two_users_same_query_in_psql(governed):
    sql = "SELECT state, count_customers FROM customer WHERE state IN ('CA', 'TX') GROUP BY 1 ORDER BY 1"
    ann = run_psql(governed, sql, "-A", "-t", "-U", "ann").stdout.split()
    carl = run_psql(governed, sql, "-A", "-t", "-U", "carl").stdout.split()
    assert [r.split("|")[0] for r in ann] == ["CA"] and [r.split("|")[0] for r in carl] == ["CA", "TX"]


def test_a_user_in_no_user_group_cannot_connect(governed, demo_file, tmp_path):
    lens = tmp_path / "lens"
    lens.mkdir()
    (lens / "closed.yml").write_text(f"""name: closed
include: [{GOVERNED.parent / 'customer_360'}]
user_groups:
  - {{name: field_sales, includes: [roles:sales]}}
""")
    (tmp_path / "users.yaml").write_text(yaml.safe_dump({"users": USERS}))
    server = start_server([lens], [str(demo_file)], "--users", str(tmp_path / "users.yaml"))
    try:
        with pytest.raises(psycopg.OperationalError) as info:
            psycopg.connect(server.dsn(user="eve", dbname="closed"))
        assert 'permission denied for database "closed"' in str(info.value)
        with psycopg.connect(server.dsn(user="ann", dbname="closed"), autocommit=True) as ann:
            assert ann.execute("SELECT count(*) FROM customer").fetchone()[0] > 0
    finally:
        stop_server(server)


def test_the_audit_log_records_who_ran_what(governed):
    with connect(governed, "ann") as c:
        c.execute("SELECT count(*), 'audit-me' FROM customer").fetchall()
        with pytest.raises(psycopg.Error):
            c.execute("SELECT nope, 'audit-me' FROM customer")
    entries = [json.loads(line) for line in governed.audit.read_text().splitlines()]
    mine = [e for e in entries if "audit-me" in e["statement"]]
    assert [e["sqlstate"] for e in mine][-2:] == ["00000", "42703"]
    ok = mine[-2]
    assert ok["user"] == "ann" and ok["lens"] == "customer_360_governed" and ok["rows"] == 1 and ok["sql_hash"]
    assert set(ok) >= {"time", "user", "role", "lens", "client", "application_name", "statement", "sql_hash",
                       "rows", "duration_ms", "sqlstate"}


def test_passwd_writes_groups_and_attributes(tmp_path):
    path = tmp_path / "users.yaml"
    cmd = [str(ROOT / ".venv" / "bin" / "python"), "-m", "proxy.cli", "passwd", "zoe", "--file", str(path),
           "--groups", "sales,analyst", "--attr", "states=CA,NY", "--attr", "region=west"]
    subprocess.run(cmd, input="secret\n", text=True, check=True, cwd=ROOT, capture_output=True)
    entry = yaml.safe_load(path.read_text())["users"]["zoe"]
    assert entry["groups"] == ["sales", "analyst"] and entry["attributes"] == {"states": ["CA", "NY"], "region": "west"}
    assert entry["scram"].startswith("SCRAM-SHA-256$")


def test_the_catalog_shows_each_user_only_what_it_may_see(governed):
    columns = "SELECT column_name FROM information_schema.columns WHERE table_name = 'customer'"
    with connect(governed, "bob") as c:
        names = {r[0] for r in c.execute(columns)}
        assert "email" in names and not names & {"customer_name", "address", "phone_number"}
    with connect(governed, "carl") as c:
        assert {"customer_name", "address", "phone_number"} <= {r[0] for r in c.execute(columns)}
    with connect(governed, "eve") as c:
        tables = {r[0] for r in c.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
        assert tables == {"order_placed"}
    described = run_psql(governed, r"\d customer", "-U", "bob").stdout
    assert "email" in described and "customer_name" not in described and "phone_number" not in described
    listed = run_psql(governed, r"\dt", "-U", "eve").stdout
    assert "order_placed" in listed and "customer" not in listed
