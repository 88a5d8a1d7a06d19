"""One lens-proxy per backend set-up, serving the seed lens and the shop lens from the same data.

Set-ups (the ``backend_server`` fixture's params; each started once per test session, one at a time):

* ``duckdb-file``: embedded DuckDB over the DuckDB files (``--duckdb``), the historical default;
* ``duckdb-iceberg``: embedded DuckDB over Iceberg warehouses written with pyiceberg (the lakehouse);
* ``postgres``: the tables loaded into the session's real PostgreSQL (tests/pgserver.py), lens-proxy
  configured with a ``postgres`` backend;
* ``spark``: a real Spark Connect server started from the pyspark package (tests/sparkserver.py), the tables
  registered as Parquet tables; marked ``spark``.

Every set-up holds exactly the rows of the DuckDB files the ground truth reads (they are exports of them).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from proxy.generate.formats import export, register_spark
from tests.conftest import ROOT, RunningServer, start_server, stop_server
from tests.sparkserver import SparkConnectServer, available

SHOP_DIR = ROOT / "tests" / "fixtures" / "lenses" / "shop"
C360_DIR = ROOT / "lenses" / "customer_360"
FUNNELS_DIR = ROOT / "tests" / "fixtures" / "lenses" / "funnels"
JOURNEYS_DIR = ROOT / "lenses" / "customer_360_journeys"
SETUPS = ["duckdb-file", "duckdb-iceberg", "postgres", pytest.param("spark", marks=pytest.mark.spark)]


@pytest.fixture(scope="session")
def shop_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("shop") / "shopdb.duckdb"
    con = duckdb.connect(str(path))
    con.execute((SHOP_DIR / "data.sql").read_text())
    con.close()
    return path


@pytest.fixture(scope="session")
def spark_connect(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SparkConnectServer]:
    """A Spark Connect server from the pyspark package, once per test session."""
    reason = available()
    if reason:
        pytest.fail(f"Spark Connect cannot start: {reason}")
    with SparkConnectServer.start(tmp_path_factory.mktemp("spark")) as server:
        yield server


def _config(path: Path, backend: str, lenses: dict[Path, str] | None = None) -> Path:
    lenses = lenses or {C360_DIR: "main", SHOP_DIR: "main", FUNNELS_DIR: "main", JOURNEYS_DIR: "main"}
    body = f"backends:\n  main:\n{backend}\nlenses:\n" + "".join(
        f"  - {{path: {lens}, backend: {name}}}\n" for lens, name in lenses.items())
    path.write_text(body)
    return path


def _indent(text: str) -> str:
    return "".join(f"    {line}\n" for line in text.strip().splitlines())


def setup_config(setup: str, request: pytest.FixtureRequest, tmp: Path, demo_file: Path, shop_file: Path) -> Path:
    """Load the data where ``setup`` reads it; the lens-proxy.yaml serving both lenses from there."""
    if setup == "duckdb-file":
        backend = f"type: duckdb\nduckdb_files:\n  - {{path: {demo_file}, catalog: icebase}}\n  - {{path: {shop_file}, catalog: shopdb}}"
    elif setup == "duckdb-iceberg":
        export(demo_file, "iceberg", str(tmp / "icebase"))
        export(shop_file, "iceberg", str(tmp / "shopdb"), catalog="shopdb")
        backend = (f"type: duckdb\niceberg:\n  - {{warehouse: {tmp / 'icebase'}, catalog: icebase}}\n"
                   f"  - {{warehouse: {tmp / 'shopdb'}, catalog: shopdb}}")
    elif setup == "postgres":
        pg = request.getfixturevalue("postgres")
        pg.createdb("lens_backend")
        url = pg.url("lens_backend")
        export(demo_file, "postgres", url)
        export(shop_file, "postgres", url)
        # the default mapping drops the catalog: icebase.audience.x -> audience.x, shopdb.main.x -> main.x
        backend = f"type: postgres\ndsn: {url}"
    elif setup == "spark":
        server = request.getfixturevalue("spark_connect")
        register_parquet(server.url, demo_file, tmp / "icebase")
        register_parquet(server.url, shop_file, tmp / "shopdb")
        backend = f"type: spark\nurl: {server.url}"
    else:
        raise AssertionError(setup)
    return _config(tmp / "lens-proxy.yaml", _indent(backend))


def register_parquet(url: str, source: Path, out: Path) -> None:
    """Export ``source``'s tables as Parquet and register each as a Spark table ``schema.table``."""
    export(source, "parquet", str(out))
    register_spark(out, url)


@pytest.fixture(scope="session", params=SETUPS)
def backend_server(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory,
                   demo_file: Path, shop_file: Path) -> Iterator[RunningServer]:
    """A lens-proxy serving customer_360 and shop from one backend set-up (``backend_server.setup``)."""
    setup = request.param
    tmp = tmp_path_factory.mktemp(setup)
    config = setup_config(setup, request, tmp, demo_file, shop_file)
    server = start_server([], [], "--config", str(config))
    server.setup = setup  # type: ignore[attr-defined]
    server.config = config  # type: ignore[attr-defined]
    yield server
    stop_server(server)
    assert server.process.returncode == 0, f"lens-proxy on {setup} did not shut down cleanly"
