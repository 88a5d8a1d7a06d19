"""The differential harness: run one query on lens-proxy and on a real PostgreSQL 15 holding the same rows,
and say how the answers differ.

Both servers are asked through libpq's simple query protocol with text results (``PGconn.exec_``), so what
is compared is exactly what a client receives on the wire: column names, type OIDs, each value's text, and
the SQLSTATE of an error. Values compare as text, except float4/float8, which compare as numbers with a tight
relative tolerance (aggregates over floats may add in another order); numeric compares as text, so its
display scale counts.

Corpus files (``corpus/*.yaml``) are lists of cases; a new case is one entry:

    - sql: SELECT round(2.5::float8)          # what the client sends (both servers get it)
      oracle: SELECT …                        # optional: what PostgreSQL gets instead (a lens concept such
                                              #   as a measure, written as plain SQL over the entity tables)
      ordered: true                           # optional: compare in order (default: when the query has a
                                              #   top-level ORDER BY), else as multisets
      sqlstate: 22012                         # optional: the error PostgreSQL must raise (checks the corpus)
      xfail: "class: why the proxy does not match yet"
"""

from __future__ import annotations

import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import sqlglot
import yaml
from psycopg import pq
from sqlglot import exp

CORPUS = Path(__file__).resolve().parent / "corpus"
FLOAT_OIDS = frozenset({700, 701})
FLOAT_TOLERANCE = 1e-12
_KEYS = frozenset({"sql", "oracle", "ordered", "sqlstate", "xfail", "id"})


@dataclass(frozen=True, slots=True)
class Case:
    file: str
    index: int
    sql: str
    oracle: str | None = None
    ordered: bool | None = None
    sqlstate: str | None = None
    xfail: str | None = None
    name: str | None = None

    @property
    def id(self) -> str:
        return f"{self.file}:{self.name or self.index}"

    @property
    def xfail_class(self) -> str | None:
        return self.xfail.split(":", 1)[0].strip() if self.xfail else None

    def is_ordered(self) -> bool:
        if self.ordered is not None:
            return self.ordered
        try:
            tree = sqlglot.parse_one(self.sql, read="postgres")
        except sqlglot.errors.SqlglotError:
            return False
        return isinstance(tree, exp.Query) and tree.args.get("order") is not None

    def sort_columns(self, names: tuple[str, ...]) -> list[int] | None:
        """The result columns the top-level ORDER BY sorts on (positions, output names, or expressions of the
        select list), or None when one of its keys is not a result column: rows tied on all of these may come
        in any order, as in SQL."""
        try:
            tree = sqlglot.parse_one(self.sql, read="postgres")
        except sqlglot.errors.SqlglotError:
            return None
        order = tree.args.get("order") if isinstance(tree, exp.Query) else None
        if order is None:
            return None
        selects = tree.selects
        columns = []
        for item in order.expressions:
            key = item.this
            if isinstance(key, exp.Literal) and key.is_int and 1 <= int(key.this) <= len(names):
                columns.append(int(key.this) - 1)
            elif isinstance(key, exp.Column) and not key.table and key.name in names:
                columns.append(names.index(key.name))
            else:
                same = [i for i, e in enumerate(selects) if (e.unalias() if isinstance(e, exp.Alias) else e) == key]
                if len(same) != 1:
                    return None
                columns.append(same[0])
        return columns


def load_corpus(directory: Path = CORPUS) -> list[Case]:
    cases = []
    for path in sorted(directory.glob("*.yaml")):
        entries = yaml.safe_load(path.read_text()) or []
        for i, entry in enumerate(entries, 1):
            unknown = set(entry) - _KEYS
            if unknown:
                raise ValueError(f"{path.name} case {i}: unknown keys {sorted(unknown)}")
            cases.append(Case(
                path.stem, i, entry["sql"].strip(), entry.get("oracle"), entry.get("ordered"),
                str(entry["sqlstate"]) if entry.get("sqlstate") is not None else None, entry.get("xfail"),
                entry.get("id"),
            ))
    return cases


def xfail_counts(cases: list[Case]) -> Counter[str]:
    return Counter(c.xfail_class for c in cases if c.xfail_class)


@dataclass(frozen=True, slots=True)
class Answer:
    """What a server sent: an error's SQLSTATE and message, or names, type OIDs and text rows."""

    sqlstate: str | None = None
    message: str | None = None
    names: tuple[str, ...] = ()
    oids: tuple[int, ...] = ()
    rows: tuple[tuple[str | None, ...], ...] = ()

    def describe(self) -> str:
        if self.sqlstate:
            return f"ERROR {self.sqlstate}: {self.message}"
        head = ", ".join(f"{n}:{o}" for n, o in zip(self.names, self.oids, strict=True))
        body = "\n".join("  " + " | ".join("NULL" if v is None else v for v in r) for r in self.rows[:8])
        more = f"\n  … {len(self.rows)} rows" if len(self.rows) > 8 else ""
        return f"({head})\n{body}{more}"


def ask(pgconn: pq.abc.PGconn, sql: str) -> Answer:
    """Run ``sql`` with the simple query protocol; the last result's answer (text format)."""
    result = pgconn.exec_(sql.encode())
    status = result.status
    if status == pq.ExecStatus.FATAL_ERROR:
        state = result.error_field(pq.DiagnosticField.SQLSTATE)
        message = result.error_field(pq.DiagnosticField.MESSAGE_PRIMARY)
        return Answer(sqlstate=state.decode() if state else "?????", message=message.decode() if message else "")
    if status != pq.ExecStatus.TUPLES_OK:
        return Answer()
    n, cols = result.ntuples, result.nfields
    names = tuple((result.fname(j) or b"").decode() for j in range(cols))
    oids = tuple(result.ftype(j) for j in range(cols))
    rows = tuple(
        tuple(None if (v := result.get_value(i, j)) is None else v.decode() for j in range(cols)) for i in range(n)
    )
    return Answer(names=names, oids=oids, rows=rows)


def differences(proxy: Answer, postgres: Answer, *, ordered: bool, sort_columns: list[int] | None = None) -> list[str]:
    """How the proxy's answer differs from PostgreSQL's (empty: they match). ``sort_columns``: when the order
    is only known on these columns, the rows must be the same multiset in the same order of those keys."""
    if postgres.sqlstate or proxy.sqlstate:
        if proxy.sqlstate != postgres.sqlstate:
            return [f"SQLSTATE: proxy {proxy.describe()}\n  postgres {postgres.describe()}"]
        return []
    out = []
    if proxy.names != postgres.names:
        out.append(f"column names: proxy {list(proxy.names)} != postgres {list(postgres.names)}")
    if proxy.oids != postgres.oids:
        out.append(f"type OIDs: proxy {list(proxy.oids)} != postgres {list(postgres.oids)}")
    if len(proxy.rows) != len(postgres.rows):
        out.append(f"row count: proxy {len(proxy.rows)} != postgres {len(postgres.rows)}")
        return out
    if len(proxy.oids) != len(postgres.oids):
        return out
    floats = [oid in FLOAT_OIDS for oid in postgres.oids]
    a, b = list(proxy.rows), list(postgres.rows)
    if ordered and sort_columns:  # ties on the sort keys: any order among them is right
        keys = lambda rows: [tuple(r[i] for i in sort_columns) for r in rows]  # noqa: E731
        for i, (x, y) in enumerate(zip(keys(a), keys(b), strict=True)):
            if any(not _same(u, v, floats[j]) for j, u, v in zip(sort_columns, x, y, strict=True)):
                out.append(f"row {i} sort key: proxy {x!r} != postgres {y!r}")
                return out
        ordered = False
    if not ordered:
        a, b = sorted(a, key=_sort_key(floats)), sorted(b, key=_sort_key(floats))
    for i, (x, y) in enumerate(zip(a, b, strict=True)):
        for j, (u, v) in enumerate(zip(x, y, strict=True)):
            if not _same(u, v, floats[j]):
                out.append(f"row {i} column {postgres.names[j]}: proxy {u!r} != postgres {v!r}")
                if len(out) > 5:
                    return out
    return out


def _same(u: str | None, v: str | None, is_float: bool) -> bool:
    if u is None or v is None:
        return u is v
    if u == v:
        return True
    if not is_float:
        return False
    try:
        x, y = float(u), float(v)
    except ValueError:
        return False
    return math.isclose(x, y, rel_tol=FLOAT_TOLERANCE, abs_tol=1e-300)


def _sort_key(floats: list[bool]):
    def key(row: tuple[str | None, ...]) -> tuple:
        out = []
        for value, is_float in zip(row, floats, strict=True):
            if value is None:
                out.append((1, 0.0, ""))
            elif is_float:
                try:
                    out.append((0, round(float(value), 9), ""))
                except ValueError:
                    out.append((0, 0.0, value))
            else:
                out.append((0, 0.0, value))
        return tuple(out)

    return key
