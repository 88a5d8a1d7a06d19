"""The served catalog is self-consistent: every OID a catalog row references resolves.

Which column references which relation is PostgreSQL's own declaration, ``pg_get_catalog_foreign_keys()``
on the session's real PostgreSQL (the oracle); every such reference between relations lens-proxy serves is
checked on a running lens-proxy, built-in rows and rows made from the lens alike. Tools that load the
catalog and follow its references (sqlsmith asserts every ``proargtypes`` entry is a type; drivers map
``typelem``; psql joins ``pg_description.classoid`` to ``'pg_class'::regclass``) find no hole.
"""

from __future__ import annotations

import gzip
import json

import psycopg
import pytest

from proxy.catalog.builtin.consistency import ForeignKey, dangling, drop_dangling
from proxy.catalog.store import DATA


@pytest.fixture(scope="module")
def foreign_keys(postgres) -> list[tuple[str, str, str, str, bool]]:
    with psycopg.connect(postgres.dsn()) as con:
        return con.execute(
            "SELECT fktable::text, fkcols[1], pktable::text, pkcols[1], is_array "
            "FROM pg_get_catalog_foreign_keys() WHERE cardinality(fkcols) = 1 ORDER BY 1, 2"
        ).fetchall()


def test_every_reference_resolves(conn, foreign_keys) -> None:
    served = {r[0] for r in conn.execute("SELECT relname FROM pg_class WHERE relnamespace = 11").fetchall()}
    checked, dangling_refs = 0, []
    for table, column, target, target_column, is_array in foreign_keys:
        if table not in served or target not in served:
            continue
        values = f"unnest({column})" if is_array else column
        sql = (f"SELECT count(*) FROM (SELECT {values} AS v FROM pg_catalog.{table}) x "
               f"WHERE v <> 0 AND v NOT IN (SELECT {target_column} FROM pg_catalog.{target})")
        missing = conn.execute(sql).fetchone()[0]
        checked += 1
        if missing:
            dangling_refs.append(f"{table}.{column} -> {target}.{target_column}: {missing} rows")
    assert checked >= 60, f"only {checked} references checked"
    assert not dangling_refs, dangling_refs


def test_catalog_relations_have_postgres_oids(conn) -> None:
    """pg_class rows of the catalog's own relations carry PostgreSQL's OIDs (1259 is pg_class)."""
    rows = dict(conn.execute("SELECT relname, oid::int FROM pg_class WHERE relname IN ('pg_class', 'pg_type', "
                             "'pg_proc', 'pg_description')").fetchall())
    assert rows == {"pg_class": 1259, "pg_type": 1247, "pg_proc": 1255, "pg_description": 2609}


def test_builtin_rows_hold_no_dangling_reference(foreign_keys) -> None:
    with gzip.open(DATA, "rt", encoding="utf-8") as f:
        data = json.load(f)
    keys = [ForeignKey(t, c, tt, tc, bool(a)) for t, c, tt, tc, a in foreign_keys]
    assert dangling(data, keys) == {}


def test_drop_dangling_follows_references() -> None:
    """A dropped type takes its array type with it, and the function taking that array."""
    data = {
        "pg_catalog.pg_type": {"columns": [["oid", "oid"], ["typelem", "oid"]], "rows": [[23, 0], [1007, 23], [999, 71]]},
        "pg_catalog.pg_proc": {"columns": [["oid", "oid"], ["proargtypes", "oidvector"]],
                               "rows": [[1, [23]], [2, [999]], [3, []]]},
    }
    keys = [ForeignKey("pg_type", "typelem", "pg_type", "oid", False),
            ForeignKey("pg_proc", "proargtypes", "pg_type", "oid", True)]
    assert drop_dangling(data, keys) == {"pg_type": 1, "pg_proc": 1}
    assert data["pg_catalog.pg_type"]["rows"] == [[23, 0], [1007, 23]]
    assert data["pg_catalog.pg_proc"]["rows"] == [[1, [23]], [3, []]]
