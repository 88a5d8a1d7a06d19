"""SQL in -> SQL out: the rewriter's output for representative queries, as reviewed fixtures (sqlglot style).

``tests/fixtures/rewrite/<lens>.sql`` alternates an input query and its expected DuckDB SQL (pretty), each
ending with ``;``; ``-- title:`` lines name a case. The results of these queries are checked against ground
truth elsewhere (tests/cases); these fixtures pin down *how* a query is rewritten, so a change in the plan
shows up as a diff to review. Regenerate after an intended change with ``pytest --update-fixtures``.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlglot

from proxy.router import split
from rewriter.load import load_lens
from rewriter.render import render as render_for
from rewriter.rewrite import rewrite

ROOT = Path(__file__).resolve().parent.parent.parent
FIXTURES = ROOT / "tests" / "fixtures" / "rewrite"
LENSES = {"customer_360": ROOT / "lenses" / "customer_360", "shop": ROOT / "tests" / "fixtures" / "lenses" / "shop"}


def load_pairs(path: Path) -> list[tuple[str, str, str]]:
    """(title, input, expected) triples from a fixture file."""
    title, statements, buffer = "", [], []
    titles: list[str] = []
    for line in path.read_text().splitlines():
        if line.startswith("-- title:"):
            title = line.split(":", 1)[1].strip()
            continue
        buffer.append(line)
        if line.rstrip().endswith(";"):
            statements.append("\n".join(buffer).strip().rstrip(";").strip())
            titles.append(title)
            buffer = []
    assert len(statements) % 2 == 0, f"{path}: an input without its expected output"
    return [(titles[i], statements[i], statements[i + 1]) for i in range(0, len(statements), 2)]


def render(sql: str, lens_name: str) -> str:
    tree = rewrite(split(sql)[0].ast, load_lens(LENSES[lens_name]))
    return sqlglot.transpile(render_for(tree, "duckdb"), read="duckdb", write="duckdb", pretty=True)[0]


CASES = [(path.stem, *case) for path in sorted(FIXTURES.glob("*.sql")) for case in load_pairs(path)]


@pytest.mark.parametrize("lens_name,title,sql,expected", CASES, ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_rewrite_fixture(lens_name, title, sql, expected, request):
    actual = render(sql, lens_name)
    if request.config.getoption("--update-fixtures"):
        path = FIXTURES / f"{lens_name}.sql"
        path.write_text(path.read_text().replace(expected, actual))
        return
    assert actual == expected, f"{title}\n--- actual ---\n{actual}"
