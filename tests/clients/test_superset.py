"""Superset's charts: the SQL its Explore view generates (``superset_sql.py`` from ``bi_tools/superset.yaml``)
run through SQLAlchemy and psycopg2, Superset's Postgres driver, on lens-proxy and on PostgreSQL over the
same rows; rows and result column names must be equal. Among them the issue's time-series chart, whose
``ORDER BY activity_ts`` names both an output alias and a column (the alias wins, as in PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import create_engine
from sqlalchemy.engine import Engine

from tests.clients.conftest import ORACLE_DB
from tests.clients.superset_sql import chart_sql
from tests.conftest import rows_equal

CHARTS = yaml.safe_load((Path(__file__).parent / "bi_tools" / "superset.yaml").read_text())


@pytest.fixture(scope="module")
def engines(server, oracle_server) -> Iterator[tuple[Engine, Engine]]:  # noqa: ANN001
    proxy = create_engine(f"postgresql+psycopg2://analyst@{server.host}:{server.port}/{server.database}")
    postgres = create_engine(f"postgresql+psycopg2://postgres@{oracle_server.host}:{oracle_server.port}/{ORACLE_DB}")
    yield proxy, postgres
    proxy.dispose()
    postgres.dispose()


@pytest.mark.parametrize("chart", CHARTS, ids=[c["chart"] for c in CHARTS])
def test_chart_matches_postgres(engines, chart):  # noqa: ANN001
    sql = chart_sql(chart)
    answers = []
    for engine in engines:
        with engine.connect() as conn:  # Superset runs the rendered text as is
            result = conn.exec_driver_sql(sql)
            answers.append((list(result.keys()), [tuple(r) for r in result.fetchall()]))
    (names, rows), (pg_names, pg_rows) = answers
    assert names == pg_names
    assert rows, sql
    ordered = " ORDER BY " in sql and (chart.get("order_by_x") or chart.get("columns"))
    rows_equal(rows, pg_rows, ordered=bool(ordered))
