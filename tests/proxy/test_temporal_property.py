"""Property: a first-class temporal relationship gives the same rows as the same question hand-written the
Lens 1 way (a 1:N relationship with a ``sql_snippet`` predicate and ``sub_query`` members reading the
appended entity's measures), on random activity streams.

Random streams (one DuckDB file per dataset, served side by side by one real lens-proxy) have ties on time,
customers with no appended activity, cohort rows with no next occurrence, and a customer with appended
activity but no cohort rows. Hypothesis picks a dataset and a relationship kind; both forms must agree on
every cohort row: the picked row's key and time (ties broken by (time, key), the documented rule), or the
aggregate's count and sum.
"""

from __future__ import annotations

import datetime as dt
import random

import duckdb
import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rewriter.lens import TEMPORAL_KINDS
from tests.conftest import start_server, stop_server

DATASETS = 8
PREDICATES = {  # the window of each kind, written by hand as a relationship sql_snippet (corrected recipes)
    "ever": "",
    "before": "and ${buy_%(k)s.ts} < ${visit.ts}",
    "after": "and ${buy_%(k)s.ts} > ${visit.ts}",
    "in_between": "and ${buy_%(k)s.ts} > ${visit.ts} and (${visit.next_ts} is null or ${buy_%(k)s.ts} <= ${visit.next_ts})",
}


def make_stream(seed: int) -> list[tuple]:
    rnd = random.Random(seed)
    times = [dt.datetime(2024, 1, 1) + dt.timedelta(hours=h) for h in rnd.sample(range(48), 6)]
    rows = []
    for c in range(rnd.randint(3, 7)):
        for _ in range(rnd.randint(0, 6)):
            activity = rnd.choice(["visit", "visit", "buy"])
            rows.append((f"u{len(rows):03d}", f"c{c}", activity, rnd.choice(times), float(rnd.randint(1, 9))))
    rows.append((f"u{len(rows):03d}", "only_buys", "buy", times[0], 5.0))
    # occurrence and next occurrence per (customer, activity), ordered by (time, key)
    out = []
    for row in rows:
        same = sorted(r for r in rows if r[1] == row[1] and r[2] == row[2])
        same.sort(key=lambda r: (r[3], r[0]))
        i = same.index(row)
        nxt = same[i + 1][3] if i + 1 < len(same) else None
        out.append((*row, i + 1, nxt))
    return out


def lens_yaml(k: int) -> str:
    kinds = list(TEMPORAL_KINDS)
    visit_dims, visit_rels, buy_entities = [], [], []
    for kind in kinds:
        window, pick = TEMPORAL_KINDS[kind]
        members = "[uuid, ts]" if pick else "[buys, spent]"
        visit_rels.append(f"      - {{type: {kind}, name: fc_{kind}, target: buy, members: {members}}}")
        snippet = PREDICATES[window] % {"k": kind}
        extra = f', sql_snippet: "{snippet}"' if snippet else ""
        visit_rels.append(f"      - {{type: 1:N, field: entity_id, target: {{name: buy_{kind}, field: entity_id}}{extra}}}")
        if pick:
            by = "min_by" if pick == "first" else "max_by"
            agg = "min" if pick == "first" else "max"
            measures = [f"      - {{name: pick_uuid, type: number, sql_snippet: \"{by}(${{buy_{kind}.uuid}}, (${{buy_{kind}.ts}}, ${{buy_{kind}.uuid}}))\"}}",
                        f"      - {{name: pick_ts, type: {agg}, sql_snippet: \"${{buy_{kind}.ts}}\"}}"]
            visit_dims += [f"      - {{name: hw_{kind}_uuid, type: string, sub_query: true, sql_snippet: \"${{buy_{kind}.pick_uuid}}\"}}",
                           f"      - {{name: hw_{kind}_ts, type: date, sub_query: true, sql_snippet: \"${{buy_{kind}.pick_ts}}\"}}"]
        else:
            measures = []
            visit_dims += [f"      - {{name: hw_{kind}_buys, type: number, sub_query: true, sql_snippet: \"${{buy_{kind}.buys}}\"}}",
                           f"      - {{name: hw_{kind}_spent, type: number, sub_query: true, sql_snippet: \"${{buy_{kind}.spent}}\"}}"]
        buy_entities.append(f"""  - name: buy_{kind}
    extends: buy
    sql: {{query: "SELECT * FROM ${{stream.sql()}} WHERE activity = 'buy'"}}
""" + ("    measures:\n" + "\n".join(measures) + "\n" if measures else ""))
    return f"""name: temporal_{k}
activity_schema: {{entity: entity_id, timestamp: ts, next_occurrence: next_ts}}
entities:
  - name: stream
    sql: {{query: SELECT * FROM tdb_{k}.main.stream}}
    fields:
      - {{name: uuid, type: string, column: uuid, primary: true}}
      - {{name: entity_id, type: string, column: entity_id}}
      - {{name: activity, type: string, column: activity}}
      - {{name: ts, type: date, column: ts}}
      - {{name: amount, type: number, column: amount}}
      - {{name: occurrence, type: number, column: occurrence}}
      - {{name: next_ts, type: date, column: next_ts}}
  - name: visit
    extends: stream
    sql: {{query: "SELECT * FROM ${{stream.sql()}} WHERE activity = 'visit'"}}
    dimensions:
{chr(10).join(visit_dims)}
    relationships:
{chr(10).join(visit_rels)}
  - name: buy
    extends: stream
    sql: {{query: "SELECT * FROM ${{stream.sql()}} WHERE activity = 'buy'"}}
    measures:
      - {{name: buys, type: count, sql_snippet: "${{ENTITY.uuid}}"}}
      - {{name: spent, type: sum, sql_snippet: "${{ENTITY.amount}}"}}
{"".join(buy_entities)}"""


@pytest.fixture(scope="module")
def temporal_server(tmp_path_factory):
    root = tmp_path_factory.mktemp("temporal")
    lens_dirs, files = [], []
    for k in range(DATASETS):
        path = root / f"tdb_{k}.duckdb"
        con = duckdb.connect(str(path))
        con.execute("CREATE TABLE stream (uuid VARCHAR, entity_id VARCHAR, activity VARCHAR, ts TIMESTAMP, "
                    "amount DOUBLE, occurrence BIGINT, next_ts TIMESTAMP)")
        con.executemany("INSERT INTO stream VALUES (?, ?, ?, ?, ?, ?, ?)", make_stream(500 + k))
        con.close()
        lens_dir = root / f"lens_{k}"
        lens_dir.mkdir()
        (lens_dir / "temporal.yml").write_text(lens_yaml(k))
        lens_dirs.append(lens_dir)
        files.append(str(path))
    server = start_server(lens_dirs, files)
    yield server
    stop_server(server)


def test_the_stream_generator_makes_the_hard_cases():
    rows = [r for k in range(DATASETS) for r in make_stream(500 + k)]
    times = [(r[1], r[2], r[3]) for r in rows]
    assert len(times) > len(set(times)), "no ties on time"
    assert any(r[2] == "visit" and r[6] is None for r in rows)
    assert any(r[1] == "only_buys" for r in rows)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(k=st.integers(0, DATASETS - 1), kind=st.sampled_from(sorted(TEMPORAL_KINDS)))
def test_first_class_relationship_equals_the_hand_written_lens1_form(temporal_server, k, kind):
    pick = TEMPORAL_KINDS[kind][1]
    columns = ["uuid", "ts"] if pick else ["buys", "spent"]
    select = ", ".join(f"fc_{kind}_{c}, hw_{kind}_{c}" for c in columns)
    with psycopg.connect(temporal_server.dsn(dbname=f"temporal_{k}"), autocommit=True) as conn:
        rows = conn.execute(f"SELECT uuid, {select} FROM visit ORDER BY uuid").fetchall()
    assert rows, "a dataset without cohort rows proves nothing"
    for row in rows:
        for i in range(len(columns)):
            first_class, hand_written = row[1 + 2 * i], row[2 + 2 * i]
            assert first_class == hand_written, f"{kind} {columns[i]} for visit {row[0]}: {first_class!r} != {hand_written!r}"
