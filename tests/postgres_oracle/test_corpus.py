"""Every corpus query answered by lens-proxy exactly as by PostgreSQL 15 over the same rows (see oracle.py).

A case the proxy does not match yet carries ``xfail: "class: reason"``; xfails are strict, so a fixed case
fails until its marker is removed and the count of known differences only shrinks.
"""

from __future__ import annotations

import pytest

from tests.postgres_oracle.oracle import ask, differences, load_corpus

CASES = load_corpus()
MIN_CORPUS = 400


def _param(case):
    marks = [pytest.mark.xfail(reason=case.xfail, strict=True)] if case.xfail else []
    return pytest.param(case, id=case.id, marks=marks)


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_matches_postgres(case, proxy_conn, oracle_conn):
    expected = ask(oracle_conn.pgconn, case.oracle or case.sql)
    if case.sqlstate is not None:
        assert expected.sqlstate == case.sqlstate, f"the corpus expects {case.sqlstate}; PostgreSQL: {expected.describe()}"
    else:
        assert expected.sqlstate is None, f"PostgreSQL refuses the case: {expected.describe()}"
    actual = ask(proxy_conn.pgconn, case.sql)
    ordered = case.is_ordered()
    diff = differences(actual, expected, ordered=ordered,
                       sort_columns=case.sort_columns(expected.names) if ordered else None)
    assert not diff, "\n".join(diff) + f"\n--- proxy:\n{actual.describe()}\n--- postgres:\n{expected.describe()}"


def test_corpus_is_large_and_distinct():
    assert len(CASES) >= MIN_CORPUS
    seen = {}
    for case in CASES:
        assert case.sql not in seen, f"{case.id} repeats {seen[case.sql]}"
        seen[case.sql] = case.id
