"""SQL in -> SQL out for each backend renderer (rewriter/render/<dialect>.py): a backend-neutral tree, written
as Postgres SQL, and the text the engine is sent. ``tests/fixtures/render/<dialect>.sql`` holds the pairs
(same format as the rewrite fixtures); that the rendered SQL runs and answers right on the real engine is
tests/backends' job.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot

from rewriter.render import render
from tests.rewriter.test_rewrite_fixtures import load_pairs

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "render"
CASES = [(path.stem, *case) for path in sorted(FIXTURES.glob("*.sql")) for case in load_pairs(path)]


@pytest.mark.parametrize("dialect,title,sql,expected", CASES, ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_render_fixture(dialect, title, sql, expected, request):
    actual = render(sqlglot.parse_one(sql, read="postgres"), dialect)
    if request.config.getoption("--update-fixtures"):
        path = FIXTURES / f"{dialect}.sql"
        path.write_text(path.read_text().replace(expected, actual))
        return
    assert actual == expected, f"{title}\n--- actual ---\n{actual}"


def test_explicit_integer_division():
    """The rewriter's ``IntDiv`` (``int / int`` in the client's SQL): PostgreSQL's ``/`` on integers (sqlglot's
    ``DIV(a, b)`` would be numeric), Spark's ``DIV``. Written as a tree: Postgres SQL has no spelling of it."""
    tree = sqlglot.select(sqlglot.exp.IntDiv(this=sqlglot.exp.column("n"), expression=sqlglot.exp.Literal.number(7)))
    assert render(tree.copy(), "postgres") == "SELECT n / 7"
    assert render(tree.copy(), "spark") == "SELECT n DIV 7"
