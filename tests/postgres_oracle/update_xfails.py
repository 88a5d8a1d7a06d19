"""Rewrite the corpus's ``xfail:`` markers from a pytest run: ``pytest tests/postgres_oracle -rA --runxfail >
log``, then ``python -m tests.postgres_oracle.update_xfails log``. Failing cases get a marker naming the class
of their most serious difference (a wrong value before a missing error, a wrong SQLSTATE, a result type, a
column name) and that difference (a marker of the same class keeps its written reason); cases that pass lose
theirs. Review the diff.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

from tests.postgres_oracle.oracle import CORPUS


def classify(first: str) -> str:
    if first.startswith("SQLSTATE: proxy ERROR"):
        if "does not exist!" in first or "No function matches" in first or "Could not choose" in first:
            return "missing-function"
        return "sqlstate"
    if first.startswith("SQLSTATE: proxy ("):
        return "missing-error"
    if first.startswith("type OIDs"):
        return "result-type"
    if first.startswith("column names"):
        return "column-name"
    if first.startswith("row"):
        return "wrong-value"
    return "other"


SEVERITY = ("wrong-value", "missing-error", "sqlstate", "missing-function", "result-type", "column-name", "other")


def most_serious(differences: list[str]) -> str:
    """The difference whose class comes first in SEVERITY."""
    return min(differences, key=lambda d: SEVERITY.index(classify(d)))


def outcomes(log: str) -> tuple[dict[str, str], set[str]]:
    failing: dict[str, str] = {}
    blocks = re.split(r"\n_{3,} test_matches_postgres\[(.*?)\] _{3,}\n", log)
    passing: set[str] = set()
    for i in range(1, len(blocks), 2):
        if "[XPASS(strict)]" in blocks[i + 1]:
            passing.add(blocks[i])
            continue
        m = re.search(r"^E +AssertionError: (.*?)^E +--- proxy:", blocks[i + 1], re.M | re.S)
        if m is None:
            failing[blocks[i]] = "error"
            continue
        lines = [re.sub(r"^E +", "", line) for line in m.group(1).splitlines()]
        starts = [line for line in lines if line.startswith(("SQLSTATE", "type OIDs", "column names", "row"))]
        failing[blocks[i]] = most_serious(starts) if starts else lines[0]
    passing |= set(re.findall(r"XPASS .*test_matches_postgres\[(.*?)\]", log))
    passing |= set(re.findall(r"PASSED .*test_matches_postgres\[(.*?)\]", log))
    return failing, passing


def rewrite_file(path: Path, failing: dict[str, str], passing: set[str]) -> None:
    lines = path.read_text().splitlines()
    out: list[str] = []
    index = 0
    entry: list[str] = []

    def flush() -> None:
        if not entry:
            return
        case_id = f"{path.stem}:{index}"
        kept = [line for line in entry if not line.startswith("  xfail:")]
        old = [line for line in entry if line.startswith("  xfail:")]
        if case_id in failing:
            kind = classify(failing[case_id])
            if old and old[0].startswith(f'  xfail: "{kind}:'):
                kept += old  # same class: the written reason stays
            else:
                first = failing[case_id].replace('"', "'").replace("\\", "")[:160]
                kept.append(f'  xfail: "{kind}: {first}"')
        elif case_id not in passing:
            kept += old
        out.extend(kept)
        entry.clear()

    for line in lines:
        if line.startswith("- "):
            flush()
            index += 1
            entry.append(line)
        elif entry and line.startswith("  "):
            entry.append(line)
        else:
            flush()
            out.append(line)
    flush()
    path.write_text("\n".join(out) + "\n")


def main() -> None:
    failing, passing = outcomes(Path(sys.argv[1]).read_text())
    for path in sorted(CORPUS.glob("*.yaml")):
        rewrite_file(path, failing, passing)


if __name__ == "__main__":
    main()
