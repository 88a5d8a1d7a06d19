"""The introspection corpus: real catalog queries of real clients, kept as data files.

``tests/fixtures/catalog/<tool>/*.sql``: leading ``--`` comment lines are metadata (the first says where the
query comes from), the rest is the query, verbatim. Metadata lines the runner reads:

- ``-- params: ["r", null]`` bound parameters ($1, $2 …), sent as text through the extended protocol;
- ``-- expect-rows: >0`` / ``-- expect-rows: 0`` / ``-- expect-rows: 4``;
- ``-- expect-contains: customer`` some cell of the result equals (or contains) this text;
- ``-- skip: reason`` a query lens-proxy does not support yet (listed in docs/catalog.md).

``{{oid:customer}}`` and ``{{type:customer}}`` stand for the OIDs of relation ``public.customer`` and of its
row type: capture-time literals from the reference PostgreSQL, substituted when the file runs.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

CORPUS = Path(__file__).resolve().parents[2] / "fixtures" / "catalog"


@dataclass
class CorpusQuery:
    path: Path
    sql: str
    params: list[str | None] = field(default_factory=list)
    expect_rows: str | None = None
    expect_contains: list[str] = field(default_factory=list)
    skip: str | None = None

    @property
    def id(self) -> str:
        return f"{self.path.parent.name}/{self.path.stem}"


def load(path: Path) -> CorpusQuery:
    lines = path.read_text().splitlines()
    meta = []
    while lines and (lines[0].startswith("--") or not lines[0].strip()):
        meta.append(lines.pop(0))
    query = CorpusQuery(path, "\n".join(lines).strip().rstrip(";"))
    for line in meta:
        key, _, value = line[2:].strip().partition(":")
        value = value.strip()
        if key == "params":
            query.params = json.loads(value)
        elif key == "expect-rows":
            query.expect_rows = value
        elif key == "expect-contains":
            query.expect_contains.append(value)
        elif key == "skip":
            query.skip = value
    return query


def queries() -> list[CorpusQuery]:
    return [load(p) for p in sorted(CORPUS.glob("*/*.sql"))]


def substitute(text: str, oids: dict[str, int]) -> str:
    return re.sub(r"\{\{(oid|type):(\w+)\}\}", lambda m: str(oids[f"{m.group(1)}:{m.group(2)}"]), text)


def check_rows(query: CorpusQuery, rows: list[tuple]) -> None:
    if query.expect_rows is not None:
        want = query.expect_rows.replace(" ", "")
        if want.startswith(">"):
            assert len(rows) > int(want[1:]), f"{query.id}: {len(rows)} rows, expected {want}"
        else:
            assert len(rows) == int(want), f"{query.id}: {len(rows)} rows, expected {want}"
    for text in query.expect_contains:
        cells = [str(v) for row in rows for v in row]
        assert any(text == c or text in c for c in cells), f"{query.id}: no cell contains {text!r}: {rows[:5]}"
