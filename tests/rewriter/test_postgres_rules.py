"""SQL in -> SQL out for the PostgreSQL-semantics rules (``rewriter.postgres``), without a server.

``tests/fixtures/postgres/rules.sql``: a client query and the query the rules make of it (PostgreSQL dialect,
so what changed is visible: explicit casts, integer division, …). ``display_scale.sql``: a numeric expression
and its display scale as SQL (``rewriter.postgres.display_scale``). ``result_types.yaml``: a query and the
types declared for its result columns (``rewriter.postgres.result_types``). Queries read a table ``t`` with
one column per type (``SCHEMA``). Regenerate with ``pytest --update-fixtures`` and review the diff.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml
from sqlglot import exp

from proxy.router import split
from rewriter import postgres
from rewriter.postgres.display_scale import display_scale
from tests.rewriter.test_rewrite_fixtures import load_pairs

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "postgres"
SCHEMA = {"t": {"i": "integer", "b": "bigint", "n": "numeric", "f": "double precision", "s": "text",
                "d": "date", "ts": "timestamp without time zone"}}


def prepared(sql: str) -> exp.Expression:
    tree = postgres.fold_identifiers(split(sql)[0].ast.copy())
    return postgres.prepare(tree, SCHEMA)


def _check(path: Path, actual: str, expected: str, request: pytest.FixtureRequest) -> None:
    if request.config.getoption("--update-fixtures"):
        path.write_text(path.read_text().replace(expected + ";", actual + ";", 1))
        return
    assert actual == expected


RULES = load_pairs(FIXTURES / "rules.sql")


@pytest.mark.parametrize("title,sql,expected", RULES, ids=[r[0] for r in RULES])
def test_rule(title: str, sql: str, expected: str, request: pytest.FixtureRequest) -> None:
    _check(FIXTURES / "rules.sql", prepared(sql).sql("postgres"), expected, request)


SCALES = load_pairs(FIXTURES / "display_scale.sql")


@pytest.mark.parametrize("title,sql,expected", SCALES, ids=[r[0] for r in SCALES])
def test_display_scale(title: str, sql: str, expected: str, request: pytest.FixtureRequest) -> None:
    scale = display_scale(prepared(sql).expressions[0])
    actual = "SELECT " + (scale.sql("postgres") if isinstance(scale, exp.Expression) else str(scale))
    _check(FIXTURES / "display_scale.sql", actual, expected, request)


TYPES = yaml.safe_load((FIXTURES / "result_types.yaml").read_text())


@pytest.mark.parametrize("case", TYPES, ids=[c["sql"] for c in TYPES])
def test_result_types(case: dict) -> None:
    declared = postgres.result_types(prepared(case["sql"]))
    assert [None if d is None else f"{d[0]}:{d[1]}" for d in declared] == case["types"]
