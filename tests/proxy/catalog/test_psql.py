"""psql 15 meta-commands through the real psql binary, against the real server."""

from __future__ import annotations

import pytest

from tests.conftest import run_psql


def psql(server, command: str, *args: str) -> str:  # noqa: ANN001
    return run_psql(server, command, *args).stdout


def test_list_tables(server) -> None:  # noqa: ANN001
    out = psql(server, "\\dt")
    for entity in ("customer", "order_placed", "order_rejected", "order_invoiced"):
        assert f" public | {entity}" in out
    assert "| table | iamgroot" in out
    assert "(4 rows)" in out


def test_list_relations_and_views(server) -> None:  # noqa: ANN001
    assert "(4 rows)" in psql(server, "\\d")
    assert "Did not find any relations." in run_psql(server, "\\dv").stderr + psql(server, "\\dv")


def test_describe_entity(server) -> None:  # noqa: ANN001
    out = psql(server, "\\d customer")
    assert 'Table "public.customer"' in out
    lines = [line.split("|") for line in out.splitlines() if line.count("|") >= 4]
    columns = [(c[0].strip(), c[1].strip()) for c in lines[1:]]
    assert columns[0] == ("customer_id", "text")
    assert [c for c, _ in columns][:5] == ["customer_id", "customer_name", "email", "phone_number", "address"]
    assert "count_customers" not in out  # hidden measure
    assert '"customer_pkey" PRIMARY KEY, btree (customer_id)' in out
    assert "Referenced by:" in out
    assert 'TABLE "order_placed" CONSTRAINT "order_placed_entity_id_fkey" FOREIGN KEY (entity_id) REFERENCES customer(customer_id)' in out


def test_describe_entity_verbose(server) -> None:  # noqa: ANN001
    out = psql(server, "\\d+ order_placed")
    assert "Description" in out
    rows = {line.split("|")[0].strip(): [p.strip() for p in line.split("|")] for line in out.splitlines() if "|" in line}
    assert rows["activity_uuid"][1] == "text" and rows["activity_uuid"][3] == "not null"
    assert rows["activity_uuid"][-1] == "unique identifier of the activity event"
    assert rows["activity_ts"][1] == "timestamp without time zone"
    assert rows["cases"][1] == "double precision"
    assert rows["frequency"][1] == "bigint"
    assert rows["monetary"][-1] == "measure (sum): total order value"
    assert "order_no" not in rows  # hidden dimension
    assert '"order_placed_pkey" PRIMARY KEY, btree (activity_uuid)' in out
    assert "Foreign-key constraints:" in out
    assert 'FOREIGN KEY (entity_id) REFERENCES customer(customer_id)' in out


def test_list_databases_schemas_roles(server) -> None:  # noqa: ANN001
    out = psql(server, "\\l")
    assert "customer_360 | iamgroot | UTF8" in out
    assert "public | iamgroot" in psql(server, "\\dn")
    roles = psql(server, "\\du")
    assert "analyst" in roles and "iamgroot" in roles


@pytest.mark.parametrize("command", ["\\df", "\\di", "\\ds", "\\dT", "\\dx", "\\db", "\\dp", "\\dm", "\\l+", "\\dn+",
                                     "\\dt+", "\\d+", "\\dL", "\\dC", "\\do", "\\dc", "\\dD", "\\dy", "\\dF", "\\dE"])
def test_other_meta_commands_run(server, command: str) -> None:  # noqa: ANN001
    result = run_psql(server, command)
    assert result.returncode == 0 and "ERROR" not in result.stderr


def test_conninfo_and_expanded(server) -> None:  # noqa: ANN001
    assert 'You are connected to database "customer_360" as user "analyst"' in psql(server, "\\conninfo")
    result = run_psql(server, "\\dt", "-c", "\\x")  # run_psql puts its own -c last
    assert "Expanded display is on." in result.stdout
    assert "Name   | customer" in result.stdout


def test_mixed_catalog_and_lens_statements(server, truth) -> None:  # noqa: ANN001
    out = psql(server, "SELECT count(*) FROM pg_class; SELECT count_customers FROM customer", "-At")
    catalog_count, customers = out.split()
    assert int(catalog_count) > 4
    expected = truth.execute("SELECT count(customer_id) FROM icebase.audience.customers_large_data").fetchone()[0]
    assert int(customers) == expected
