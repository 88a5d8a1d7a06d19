"""The customer_360 demo data must be deterministic and satisfy what the lens assumes of the raw tables:
activity-schema window columns, 1:1 references from rejected/invoiced lines to placed lines, a two-year
history ending at end_date, and every entity's own SQL (casts included) running on it unchanged."""

from __future__ import annotations

import datetime
import re
from pathlib import Path

import duckdb
import pytest
import yaml

from proxy.generate import GENERATORS
from proxy.generate.customer_360 import COUNTIES, generate

ROOT = Path(__file__).resolve().parents[2]
LENS = ROOT / "lenses" / "customer_360" / "customer_360.yml"
END = datetime.date(2025, 6, 30)
N = 300
C = "icebase.audience.customers_large_data"
A = "icebase.audience.activity_streams_large_data"

CUSTOMER_COLUMNS = [
    "customer_id", "customer_name", "email", "phone_number", "address", "customer_no", "site", "state",
    "county_name", "zip", "premise_code", "status", "license_classification", "license_type", "channel_code",
    "channel_name", "selling_division_name", "consent",
]
STREAM_COLUMNS = [
    "activity_uuid", "entity_id", "activity", "activity_ts", *(f"feature{i}" for i in range(1, 11)),
    "activity_occurence", "activity_repeated_at",
]


def _attach(path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.execute(f"ATTACH '{path}' AS icebase (READ_ONLY)")
    return con


def _one(con: duckdb.DuckDBPyConnection, sql: str):
    row = con.execute(sql).fetchone()
    assert row is not None
    return row[0] if len(row) == 1 else row


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> tuple[Path, dict[str, int], list[str]]:
    path = tmp_path_factory.mktemp("gen") / "icebase.duckdb"
    messages: list[str] = []
    counts = generate(path, customers=N, seed=42, end_date=END, progress=messages.append)
    return path, counts, messages


@pytest.fixture(scope="module")
def con(data):
    c = _attach(data[0])
    yield c
    c.close()


def _fingerprint(path: Path) -> tuple:
    with _attach(path) as c:
        return tuple(_one(c, f"SELECT count(*), sum(hash(t)) FROM {tbl} t") for tbl in (C, A))


def test_registry():
    assert GENERATORS["customer_360"] is generate


def test_counts_progress_and_no_leftovers(data, con):
    path, counts, messages = data
    assert counts == {
        "customers_large_data": _one(con, f"SELECT count(*) FROM {C}"),
        "activity_streams_large_data": _one(con, f"SELECT count(*) FROM {A}"),
    }
    assert counts["customers_large_data"] == N
    assert counts["activity_streams_large_data"] > 20 * N
    assert len(messages) >= 4 and any("activity_streams_large_data" in m for m in messages)
    assert sorted(p.name for p in path.parent.iterdir()) == ["icebase.duckdb"]


def test_deterministic_whatever_the_file_name(data, tmp_path):
    other = tmp_path / "elsewhere.duckdb"
    generate(other, customers=N, seed=42, end_date=END)
    assert _fingerprint(other) == _fingerprint(data[0])
    generate(other, customers=N, seed=43, end_date=END)  # overwrites in place
    changed = _fingerprint(other)
    assert changed[0] != _fingerprint(data[0])[0] or changed[1] != _fingerprint(data[0])[1]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["elsewhere.duckdb"]


def test_schema(con):
    def columns(table: str) -> list[tuple[str, str]]:
        return con.execute(
            "SELECT column_name, data_type FROM information_schema.columns "
            "WHERE table_catalog = 'icebase' AND table_schema = 'audience' AND table_name = ? "
            "ORDER BY ordinal_position", [table]).fetchall()

    cust = columns("customers_large_data")
    assert [c for c, _ in cust] == CUSTOMER_COLUMNS
    assert {t for _, t in cust} == {"VARCHAR"}
    stream = dict(columns("activity_streams_large_data"))
    assert list(stream) == STREAM_COLUMNS
    assert stream["activity_ts"] == stream["activity_repeated_at"] == "TIMESTAMP"
    assert stream["activity_occurence"] == "BIGINT"
    assert {stream[c] for c in STREAM_COLUMNS if c.startswith(("feature", "activity_uuid", "entity", "activity"))
            and c not in ("activity_ts", "activity_occurence", "activity_repeated_at")} == {"VARCHAR"}


def test_window_columns_match_activity_schema(con):
    bad = _one(con, f"""
        SELECT count(*) FROM (
            SELECT activity_occurence, activity_repeated_at,
                   row_number() OVER w AS rn, lead(activity_ts) OVER w AS nxt
            FROM {A}
            WINDOW w AS (PARTITION BY entity_id, activity ORDER BY activity_ts, activity_uuid))
        WHERE rn <> activity_occurence OR nxt IS DISTINCT FROM activity_repeated_at""")
    assert bad == 0
    assert _one(con, f"SELECT count(*) - count(DISTINCT activity_uuid) FROM {A}") == 0
    assert _one(con, f"SELECT count(*) FROM {A} WHERE NOT regexp_full_match(activity_uuid, "
                     "'[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}')") == 0


def test_order_references(con):
    con.execute(f"""
        CREATE OR REPLACE TEMP VIEW placed AS
            SELECT entity_id, trim(feature1) AS order_id, activity_ts, feature2, trim(feature3) AS feature3,
                   feature4, feature5, feature6, feature7, feature8, feature9, feature10
            FROM {A} WHERE activity = 'order_placed';
        CREATE OR REPLACE TEMP VIEW later AS
            SELECT activity, entity_id, trim(feature1) AS order_id, activity_ts, feature2, trim(feature3) AS feature3,
                   feature4, feature5, feature6, feature7, feature8, feature9, feature10
            FROM {A} WHERE activity <> 'order_placed';
    """)
    # order_id = <order_no>-<line>, unique among placed lines; an order_no belongs to one customer and its
    # lines are numbered 1..n
    assert _one(con, "SELECT count(*) FROM placed WHERE NOT regexp_full_match(order_id, '[0-9]+-[1-6]')") == 0
    assert _one(con, "SELECT count(*) - count(DISTINCT order_id) FROM placed") == 0
    assert _one(con, """SELECT count(*) FROM (
        SELECT split_part(order_id, '-', 1) AS order_no FROM placed GROUP BY 1
        HAVING count(DISTINCT entity_id) > 1 OR count(DISTINCT activity_ts) > 1
            OR max(split_part(order_id, '-', 2)::INTEGER) <> count(*)
            OR count(DISTINCT feature2) <> count(*))""") == 0
    # every rejected / invoiced row references a placed line of the same customer, later, 1:1
    assert _one(con, """SELECT count(*) FROM later l LEFT JOIN placed p
                        ON p.order_id = l.order_id AND p.entity_id = l.entity_id
                        WHERE p.order_id IS NULL OR l.activity_ts <= p.activity_ts""") == 0
    assert _one(con, "SELECT count(*) - count(DISTINCT order_id) FROM later") == 0  # never both, never twice
    # rejections within 3 days; invoices 1..10 days later
    assert _one(con, """SELECT count(*) FROM later l JOIN placed p USING (order_id)
        WHERE (l.activity = 'order_rejected' AND l.activity_ts > p.activity_ts + INTERVAL 3 DAY)
           OR (l.activity = 'order_invoiced'
               AND (l.activity_ts::DATE - p.activity_ts::DATE) NOT BETWEEN 1 AND 10)""") == 0
    # copied features
    assert _one(con, """SELECT count(*) FROM later l JOIN placed p USING (order_id)
        WHERE l.feature2 <> p.feature2 OR l.feature10 <> p.feature10
           OR (l.activity = 'order_invoiced' AND (l.feature3 <> p.feature3 OR l.feature4 <> p.feature4
               OR l.feature5 <> p.feature5 OR l.feature6 <> p.feature6))
           OR (l.activity = 'order_rejected' AND (l.feature6 IS NOT NULL OR l.feature7 <> p.feature7
               OR l.feature8 <> p.feature8 OR l.feature9 <> p.feature9))""") == 0
    placed, rejected, invoiced = con.execute("""
        SELECT count(*) FILTER (activity = 'order_placed'), count(*) FILTER (activity = 'order_rejected'),
               count(*) FILTER (activity = 'order_invoiced')
        FROM (SELECT 'order_placed' AS activity FROM placed UNION ALL SELECT activity FROM later)""").fetchone()
    assert 0.04 < rejected / placed < 0.12
    assert 0.70 < invoiced / (placed - rejected) < 0.95
    # orders placed in the last days before end_date are not all invoiced yet
    recent = _one(con, f"""SELECT count(*) FILTER (l.order_id IS NULL) / count(*) FROM placed p
                           LEFT JOIN later l USING (order_id)
                           WHERE p.activity_ts >= DATE '{END}' - INTERVAL 2 DAY""")
    assert recent > 0.5


def test_time_span(con):
    lo, hi = con.execute(f"SELECT min(activity_ts), max(activity_ts) FROM {A}").fetchone()
    assert hi < datetime.datetime.combine(END + datetime.timedelta(days=1), datetime.time())
    assert END - datetime.timedelta(days=730) <= lo.date() <= END - datetime.timedelta(days=700)
    assert _one(con, f"SELECT count(*) FROM {A} WHERE activity_ts >= DATE '{END}' - INTERVAL 30 DAY") > 0
    assert _one(con, f"SELECT count(*) FROM {A} WHERE activity_repeated_at >= DATE '{END}' + INTERVAL 1 DAY") == 0
    assert sorted(r[0] for r in con.execute(f"SELECT DISTINCT activity FROM {A}").fetchall()) == [
        "order_invoiced", "order_placed", "order_rejected"]


def test_stream_is_sorted(con):
    assert _one(con, f"""SELECT count(*) FROM (
        SELECT activity, activity_ts, lag(activity) OVER () AS pa, lag(activity_ts) OVER () AS pt
        FROM (SELECT * FROM {A}))
        WHERE pa > activity OR (pa = activity AND pt > activity_ts)""") == 0


def test_customers(con):
    n, emails, phones, addresses = con.execute(
        f"SELECT count(*), count(email), count(phone_number), count(address) FROM {C}").fetchone()
    for present in (emails, phones, addresses):
        assert 0.6 * n < present < n
    assert emails < phones < addresses  # ~20%, ~12%, ~7% missing
    assert _one(con, f"SELECT count(*) - count(DISTINCT customer_id) FROM {C}") == 0
    assert _one(con, f"SELECT count(*) - count(DISTINCT (site, customer_no)) FROM {C}") == 0
    assert _one(con, f"SELECT count(*) FROM {C} WHERE NOT regexp_full_match(zip, '[0-9]{{5}}')") == 0
    zip3 = {(s, c[:3]) for s, _, _, c, *_ in COUNTIES}
    got = {tuple(r) for r in con.execute(f"SELECT DISTINCT state, left(zip, 3) FROM {C}").fetchall()}
    assert got <= zip3
    assert _one(con, f"SELECT count(*) FROM (SELECT channel_code FROM {C} GROUP BY 1 "
                     "HAVING count(DISTINCT channel_name) > 1 OR count(DISTINCT premise_code) > 1)") == 0
    assert _one(con, f"SELECT count(*) FROM {C} WHERE customer_id NOT IN (SELECT customer_id FROM {C} "
                     f"WHERE customer_name IS NOT NULL AND state IS NOT NULL AND status IS NOT NULL)") == 0
    states = con.execute(f"SELECT state, count(*) FROM {C} GROUP BY 1 ORDER BY 2 DESC").fetchall()
    assert len(states) > 8 and states[0][1] > 3 * states[-1][1]  # skewed
    assert {r[0] for r in con.execute(f"SELECT DISTINCT status FROM {C}").fetchall()} == {
        "active", "inactive", "suspended"}
    assert {r[0] for r in con.execute(f"SELECT DISTINCT consent FROM {C}").fetchall()} == {"Y", "N"}
    assert {r[0] for r in con.execute(f"SELECT DISTINCT premise_code FROM {C}").fetchall()} == {
        "ON PREMISE", "OFF PREMISE"}
    # some customers never order, a few order a lot
    per_customer = [r[0] for r in con.execute(f"""
        SELECT count(a.entity_id) FROM {C} c LEFT JOIN {A} a
        ON a.entity_id = c.customer_id AND a.activity = 'order_placed' GROUP BY c.customer_id""").fetchall()]
    assert per_customer.count(0) > 0
    assert max(per_customer) > 5 * sorted(per_customer)[len(per_customer) // 2]


def _entities() -> list[dict]:
    return yaml.safe_load(LENS.read_text())["entities"]


@pytest.mark.parametrize("entity", _entities(), ids=lambda e: e["name"])
def test_lens_entity_sql_runs(con, entity):
    query = entity["sql"]["query"]
    columns = [c["name"] for c in entity["sql"]["columns"]]
    described = [d[0] for d in con.execute(f"SELECT * FROM ({query}) LIMIT 0").description]
    assert sorted(described) == sorted(columns)
    counts = con.execute(f"SELECT count(*), {', '.join(f'count({c})' for c in columns)} FROM ({query})").fetchone()
    total, per_column = counts[0], dict(zip(columns, counts[1:], strict=True))
    assert total > 0
    numeric = {"cases", "bottles", "order_value"} & set(columns)
    for col in numeric:  # the casts succeeded (no error) and no value was lost to NULL
        assert per_column[col] == total
    if "request_delivery_date" in columns:
        assert _one(con, f"SELECT count(*) FROM ({query}) WHERE "
                         "TRY_CAST(request_delivery_date AS DATE) IS NULL") == 0
    if entity["name"] == "order_placed":
        assert _one(con, f"SELECT count(*) FROM ({query}) WHERE "
                         "request_delivery_date::DATE <= activity_ts::DATE OR order_value <= 0 "
                         "OR bottles < cases OR brand_name <> trim(brand_name)") == 0
        assert re.fullmatch(r"[0-9]+-[1-6]", _one(con, f"SELECT min(order_id) FROM ({query})"))
