"""Loading lens YAML into the model: the seed lens, every broken-lens fixture, and the valid-feature lenses.

Each ``tests/fixtures/lenses/broken/<case>.yml`` starts with ``# expect: <substring>`` lines (and optionally
``# expect-count: N``); the parametrised test asserts that ``validate_lens`` reports issues containing every
expected substring, ``file:line path`` included.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlglot import exp

import rewriter.load as load
from rewriter.lens import REF_CATALOG, Dimension, Field, Location, Measure, RollingWindow, is_reference
from rewriter.load import (
    SQL_REF_MEMBER,
    LensIssue,
    LensValidationError,
    is_sql_reference,
    load_lens,
    sql_reference_target,
    validate_lens,
)

ROOT = Path(__file__).resolve().parents[2]
SEED = ROOT / "lenses" / "customer_360"
FIXTURES = ROOT / "tests" / "fixtures" / "lenses"
BROKEN = sorted((FIXTURES / "broken").glob("*.yml"))


# --- the seed lens ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed():
    lens, issues = validate_lens(SEED)
    assert issues == []
    assert lens is not None
    return lens


def test_seed_entities_in_order(seed):
    assert [e.name for e in seed.entities] == ["customer", "order_placed", "order_rejected", "order_invoiced"]
    assert seed.name == "customer_360"
    assert seed.dialect == "trino"
    assert seed.owner == "iamgroot"
    assert seed.contract == "customer_360"
    assert seed.tags == ("c360", "activity_schema", "segment")


def test_seed_customer(seed):
    customer = seed.entity("customer")
    assert customer.primary_key == ("customer_id",)
    assert customer.tables == ("icebase.audience.customers_large_data",)
    assert isinstance(customer.query, exp.Select)
    assert customer.sql_query == "SELECT * FROM icebase.audience.customers_large_data"
    email = customer.member("email")
    assert isinstance(email, Field) and email.column == "email" and email.type == "string"
    assert email.expression == exp.column("email") and email.snippet == "email"

    count = customer.member("count_customers")
    assert isinstance(count, Measure)
    assert count.measure_type == "count" and count.hidden and count.type == "number"
    assert count.references() == (("customer", "customer_id"),)
    assert is_reference(count.expression)
    assert count.location == Location(str(SEED / "customer_360.yml"), 122, "entities[0].measures[0]")
    assert [m.measure_type for m in customer.measures] == ["count", "number", "number", "number"]
    assert all(m.hidden for m in customer.measures)


def test_seed_order_placed(seed):
    placed = seed.entity("order_placed")
    frequency = placed.member("frequency")
    assert isinstance(frequency, Measure) and frequency.measure_type == "count_distinct"
    assert frequency.references() == (("order_placed", "order_no"),)
    order_no = placed.member("order_no")
    assert isinstance(order_no, Dimension) and order_no.hidden and order_no.type == "string"
    assert order_no.references() == (("order_placed", "entity_id"), ("order_placed", "order_id"))
    assert placed.member("recency").measure_type == "min"
    assert placed.member("recency").type == "number"  # min over an expression, not over one member
    assert placed.primary_key == ("activity_uuid",)


def test_seed_relationships(seed):
    rels = seed.entity("customer").relationships
    assert [(r.kind, r.field, r.target, r.target_field) for r in rels] == [
        ("1:N", "customer_id", "order_placed", "entity_id"),
        ("1:N", "customer_id", "order_rejected", "entity_id"),
        ("1:N", "customer_id", "order_invoiced", "entity_id"),
    ]
    assert all(r.verified and r.extra_condition is None for r in rels)
    placed = seed.entity("order_placed").relationships
    assert [(r.kind, r.field, r.target, r.target_field) for r in placed] == [
        ("1:1", "order_id", "order_rejected", "ref_order_id"),  # `1:1` stays a string, not YAML 1.1's 61
        ("1:1", "order_id", "order_invoiced", "ref_order_id"),
    ]


def test_seed_file_equals_directory(seed):
    from_file = load_lens(SEED / "customer_360.yml")
    assert replace(from_file, source=None) == replace(seed, source=None)


def test_model_is_immutable_tuples(seed):
    for entity in seed.entities:
        for value in (entity.fields, entity.dimensions, entity.measures, entity.relationships, entity.tags):
            assert isinstance(value, tuple)


# --- broken lenses --------------------------------------------------------------------------------------


def _expectations(path: Path) -> tuple[list[str], int | None]:
    expects, count = [], None
    for line in path.read_text(encoding="utf-8").splitlines():
        if m := re.match(r"#\s*expect:\s?(.*)$", line):
            expects.append(m.group(1).strip())
        elif m := re.match(r"#\s*expect-count:\s*(\d+)", line):
            count = int(m.group(1))
    return expects, count


@pytest.mark.parametrize("path", BROKEN, ids=[p.stem for p in BROKEN])
def test_broken_lens_reports(path):
    expects, count = _expectations(path)
    assert expects, f"{path.name} has no '# expect:' line"
    lens, issues = validate_lens(path)
    assert lens is None
    report = [str(i) for i in issues]
    for expected in expects:
        assert any(expected in line for line in report), f"{expected!r} not in:\n" + "\n".join(report)
    if count is not None:
        assert len(issues) == count, "\n".join(report)
    assert all(line.startswith(str(path)) for line in report)


def test_broken_fixtures_cover_the_required_cases():
    names = {p.stem for p in BROKEN}
    required = {
        "yaml_syntax", "unknown_key_lens", "unknown_key_entity", "unknown_key_field", "unknown_key_measure",
        "duplicate_member", "unknown_ref_entity", "unknown_ref_member", "cycle", "unknown_measure_type",
        "unknown_member_type", "relationship_unknown_entity", "relationship_unknown_field",
        "relationship_unknown_target_field", "unparsable_snippet", "missing_required", "many_errors",
    }  # fmt: skip
    assert required <= names


def test_load_lens_raises_with_every_issue():
    path = FIXTURES / "broken" / "many_errors.yml"
    _, issues = validate_lens(path)
    with pytest.raises(LensValidationError) as info:
        load_lens(path)
    assert info.value.issues == tuple(issues)
    assert str(info.value).splitlines() == [str(i) for i in issues]
    assert len(info.value.issues) == 7


def test_issues_are_sorted_by_line():
    _, issues = validate_lens(FIXTURES / "broken" / "many_errors.yml")
    assert [i.location.line for i in issues] == sorted(i.location.line for i in issues)


def test_issue_str():
    assert (
        str(LensIssue(Location("x/y.yml", 14, "entities[1].type"), "bad"))
        == "x/y.yml:14 entities[1].type: bad"
    )
    assert str(LensIssue(Location("x/y.yml", 3, ""), "bad")) == "x/y.yml:3: bad"


def test_missing_path():
    lens, issues = validate_lens(FIXTURES / "nope.yml")
    assert lens is None and [i.message for i in issues] == ["no such file or directory"]


def test_crashing_check_hides_nothing(monkeypatch):
    def check_boom(entities, where):
        raise RuntimeError("boom")

    monkeypatch.setattr(load, "CHECKS", (check_boom, *load.CHECKS))
    _, issues = validate_lens(FIXTURES / "broken" / "unknown_ref_member.yml")
    messages = [i.message for i in issues]
    assert any("internal error in check_boom" in m for m in messages)
    assert any("unknown member 'emial'" in m for m in messages)


# --- directory lenses -----------------------------------------------------------------------------------

ENTITY = """entities:
  - name: {name}
    sql:
      query: SELECT 1 AS id
    fields:
      - name: id
        type: number
"""


def test_directory_without_header(tmp_path):
    (tmp_path / "a.yml").write_text(ENTITY.format(name="a"))
    (tmp_path / "b.yaml").write_text(ENTITY.format(name="b"))
    lens, issues = validate_lens(tmp_path)
    assert lens is None
    assert [str(i) for i in issues] == [
        f"{tmp_path / 'a.yml'}:1: no lens header: no file gives the lens 'name'"
    ]


def test_directory_with_two_headers(tmp_path):
    (tmp_path / "a.yml").write_text("name: one\n" + ENTITY.format(name="a"))
    (tmp_path / "b.yml").write_text("name: two\nowner: me\n" + ENTITY.format(name="b"))
    _, issues = validate_lens(tmp_path)
    assert [str(i) for i in issues] == [
        f"{tmp_path / 'b.yml'}:1 name: duplicate lens header: {tmp_path / 'a.yml'} already gives the lens 'name'"
    ]


def test_header_keys_outside_the_header(tmp_path):
    (tmp_path / "a.yml").write_text("name: one\n")
    (tmp_path / "b.yml").write_text("owner: me\n" + ENTITY.format(name="b"))
    _, issues = validate_lens(tmp_path)
    assert [str(i) for i in issues] == [
        f"{tmp_path / 'b.yml'}:1 owner: 'owner' belongs in the lens header (the file that gives the lens 'name')"
    ]


def test_empty_directory_and_lens_without_entities(tmp_path):
    _, issues = validate_lens(tmp_path)
    assert [i.message for i in issues] == ["no *.yml or *.yaml file in this directory"]
    (tmp_path / "lens.yml").write_text("name: empty\n")
    _, issues = validate_lens(tmp_path)
    assert [str(i) for i in issues] == [f"{tmp_path / 'lens.yml'}:1 name: a lens needs at least one entity"]


def test_directory_merges_files_in_name_order(tmp_path):
    (tmp_path / "b.yml").write_text(ENTITY.format(name="b"))
    (tmp_path / "a.yml").write_text("name: merged\n" + ENTITY.format(name="a"))
    (tmp_path / "notes.txt").write_text("not yaml: [")
    lens = load_lens(tmp_path)
    assert lens.name == "merged" and [e.name for e in lens.entities] == ["a", "b"]
    assert lens.entity("b").location == Location(str(tmp_path / "b.yml"), 2, "entities[0]")


# --- valid-feature lenses -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def funnel():
    return load_lens(FIXTURES / "valid" / "funnel")


def test_funnel_header(funnel):
    assert funnel.name == "funnel"
    assert funnel.owner == "iamgroot" and funnel.contract == "funnel_v1"
    assert funnel.tags == ("activity_schema", "funnel")
    assert [e.name for e in funnel.entities] == ["customer", "visited", "purchased", "activity_stream"]


def test_sql_as_one_item_list(funnel):
    stream = funnel.entity("activity_stream")
    assert stream.tables == ("lake.entity_360.campaign_stream",)
    assert stream.sql_query == "SELECT * FROM lake.entity_360.campaign_stream"


def test_extends_inherits_members_and_rebinds_self_references(funnel):
    stream, visited = funnel.entity("activity_stream"), funnel.entity("visited")
    assert visited.extends == "activity_stream"
    # plus its own sub_query field, which is a (computed) dimension of the model
    assert [m.name for m in visited.members if m.name != "spend_after_visit"] == [m.name for m in stream.members]
    assert isinstance(visited.member("spend_after_visit"), Dimension) and visited.member("spend_after_visit").sub_query
    # ${ENTITY.ts_} and ${activity_id} name the entity that uses the member
    assert stream.member("activity_day").references() == (("activity_stream", "ts_"),)
    assert visited.member("activity_day").references() == (("visited", "ts_"),)
    assert visited.member("activities").references() == (("visited", "activity_id"),)
    assert visited.member("activity_day").location == stream.member("activity_day").location


def test_extends_overrides_by_name_in_place(funnel):
    purchased = funnel.entity("purchased")
    assert [f.name for f in purchased.fields] == ["activity_id", "entity_id", "activity", "ts_", "amount"]
    amount = purchased.member("amount")
    assert amount.snippet == "cast(amount AS double)" and amount.column is None
    assert isinstance(amount.expression, exp.Cast)
    assert [m.name for m in purchased.measures][:2] == ["activities", "revenue"]


def test_sql_reference_placeholder(funnel):
    purchased = funnel.entity("purchased")
    refs = [t for t in purchased.query.find_all(exp.Table) if is_sql_reference(t)]
    assert len(refs) == 1 and sql_reference_target(refs[0]) == "activity_stream"
    assert refs[0].catalog == REF_CATALOG and refs[0].name == SQL_REF_MEMBER
    assert "${activity_stream.sql()}" in purchased.sql_query  # the raw text is kept as written
    # {{min_amount:0}}: the session's lens.min_amount if set, else the default
    assert 'amount > COALESCE("__lens_param__"."min_amount", (0))' in purchased.query.sql("trino")


def test_measure_types(funnel):
    purchased = funnel.entity("purchased")
    kinds = {m.name: m.measure_type for m in purchased.measures}
    assert kinds == {
        "activities": "count",
        "revenue": "sum",
        "avg_order": "avg",  # written `average`
        "buyers": "count_distinct_approx",
        "running_revenue": "running_total",
        "revenue_last_month": "sum",
        "first_purchase": "min",
        "big_orders": "number",
    }
    assert purchased.member("first_purchase").type == "time"  # min over a time field is a time
    assert purchased.member("revenue").type == "number"
    assert purchased.member("revenue_last_month").rolling_window == RollingWindow("1 month", None, "start")
    assert purchased.member("revenue").rolling_window is None


def test_sub_query_dimension(funnel):
    spend = funnel.entity("customer").member("lifetime_spend")
    assert isinstance(spend, Dimension) and spend.sub_query
    assert spend.references() == (("purchased", "revenue"),)  # written $(purchased.revenue)


def test_relationship_extra_condition(funnel):
    (rel,) = funnel.entity("visited").relationships
    assert (rel.kind, rel.field, rel.target, rel.target_field, rel.verified) == (
        "1:N", "entity_id", "purchased", "entity_id", True,
    )  # fmt: skip
    assert rel.extra_snippet == "and ${visited.ts_} < ${purchased.ts_}"
    assert isinstance(rel.extra_condition, exp.LT)
    refs = [(c.table, c.name) for c in rel.extra_condition.find_all(exp.Column) if is_reference(c)]
    assert refs == [("visited", "ts_"), ("purchased", "ts_")]


def test_duckdb_lens_and_bare_extra_condition():
    lens = load_lens(FIXTURES / "valid" / "duckdb_shop.yml")
    assert lens.dialect == "duckdb"
    orders = lens.entity("orders")
    order_id = orders.member("order_id")
    assert order_id.column == "order id" and order_id.expression.sql("duckdb") == '"order id"'
    assert isinstance(orders.member("amount").expression, exp.Cast)
    assert orders.member("customer_id").column == "customer_id"  # no column: the field's name
    (rel,) = orders.relationships
    assert is_reference(rel.extra_condition) and rel.extra_condition.table == "customers"


# --- robustness -----------------------------------------------------------------------------------------

FUZZ_BASES = [
    FIXTURES / "valid" / "duckdb_shop.yml",
    FIXTURES / "broken" / "many_errors.yml",
    FIXTURES / "broken" / "sql_reference.yml",
    FIXTURES / "broken" / "cycle.yml",
]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    base=st.sampled_from(FUZZ_BASES),
    edits=st.lists(
        st.tuples(
            st.integers(0, 10_000),
            st.integers(0, 200),
            st.sampled_from(["", ":", "- ", " ", "{", "$", "x", "1:1"]),
        ),
        min_size=1,
        max_size=3,
    ),
)
def test_mangled_lens_never_crashes_the_loader(tmp_path, base, edits):
    """Whatever the YAML says, validate_lens answers with a lens or issues, never an exception or a bug."""
    lines = base.read_text(encoding="utf-8").splitlines()
    for line_no, col, text in edits:
        i = line_no % len(lines)
        lines[i] = lines[i][:col] + text + lines[i][col + 1 :]
    path = tmp_path / "fuzz.yml"
    path.write_text("\n".join(lines), encoding="utf-8")
    lens, issues = validate_lens(path)
    assert (lens is None) == bool(issues)
    assert not [str(i) for i in issues if "internal error" in i.message]
