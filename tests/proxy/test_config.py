"""lens-proxy.yaml: every problem reported at once with file:line, secrets from the environment, paths relative
to the file; ``serve --config`` refuses a bad file with that report; ``check`` names what is missing."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from proxy.config import ConfigError, load_config
from tests.conftest import ROOT

SHOP = ROOT / "tests" / "fixtures" / "lenses" / "shop"


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "lens-proxy.yaml"
    path.write_text(textwrap.dedent(text).lstrip())
    return path


def test_a_valid_file_with_secrets_from_the_environment(tmp_path):
    path = _write(tmp_path, f"""
        server: {{port: 6543}}
        backends:
          lake:
            type: duckdb
            iceberg: [warehouse]
            duckdb_files: [{{path: files/x.duckdb, catalog: other}}]
          pg:
            type: postgres
            dsn: postgresql://lens@db:5432/c360
            password: ${{C360_PW}}
            tables: {{icebase.audience: public, icebase.audience.customers_large_data: crm.customers}}
          spark:
            type: spark
            url: sc://spark:15002
            token: ${{SPARK_TOKEN:-}}
        lenses:
          - {{path: {SHOP}, backend: pg}}
        """)
    config = load_config(path, environ={"C360_PW": "s3cret"})
    assert config.port == 6543
    assert config.backends["pg"].password == "s3cret"
    assert config.backends["pg"].tables["icebase.audience"] == "public"
    assert config.backends["spark"].token == ""
    lake = config.backends["lake"]
    assert lake.iceberg[0].warehouse == tmp_path / "warehouse" and lake.iceberg[0].catalog == "icebase"
    assert lake.duckdb_files[0].path == tmp_path / "files" / "x.duckdb" and lake.duckdb_files[0].catalog == "other"
    assert config.lenses[0].backend == "pg"


def test_every_problem_has_file_line_and_path(tmp_path):
    path = _write(tmp_path, """
        backends:
          pg:
            type: postgress
          lake:
            type: duckdb
            icebreg: [x]
          spark:
            type: spark
            url: http://spark:15002
            password: ${NOT_SET_ANYWHERE}
        lenses:
          - {path: no/such/lens, backend: lak}
        extra: 1
        """)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    text = str(info.value)
    lines = text.splitlines()
    assert len(lines) == 8, text
    assert f"{path}:3 backends.pg.type: unknown backend type 'postgress' (did you mean 'postgres'?)" in text
    assert f"{path}:6 backends.lake.icebreg: unknown key 'icebreg' (did you mean 'iceberg'?)" in lines
    assert f"{path}:5 backends.lake: a duckdb backend needs 'iceberg' warehouses and/or 'duckdb_files'" in lines
    assert f"{path}:9 backends.spark.url: a Spark Connect URL starts with sc://" in lines
    assert f"{path}:10 backends.spark.password: unknown key 'password'" in text
    assert "lenses[0].path: lens not found" in text and f"{path}:12" in text
    assert "lenses[0].backend: unknown backend 'lak' (did you mean 'lake'?)" in text
    assert f"{path}:13 extra: unknown key 'extra'" in text


def test_an_unset_environment_variable_is_named(tmp_path):
    path = _write(tmp_path, f"""
        backends:
          pg: {{type: postgres, dsn: "postgresql://lens@db/c360", password: "${{C360_PG_PASSWORD}}"}}
        lenses: [{{path: {SHOP}}}]
        """)
    with pytest.raises(ConfigError) as info:
        load_config(path, environ={})
    assert str(info.value) == f"{path}:2 backends.pg.password: environment variable C360_PG_PASSWORD is not set"


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "proxy.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_serve_refuses_a_bad_config_with_the_report(tmp_path):
    path = _write(tmp_path, "backends: {}\nlenses: []\n")
    done = _cli("serve", "--config", str(path), "--port", "0")
    assert done.returncode == 1
    assert f"{path}:2 lenses: no lens to serve" in done.stderr
    assert "Traceback" not in done.stderr


def test_check_names_missing_tables_and_columns(tmp_path):
    shop = tmp_path / "shopdb.duckdb"
    con = duckdb.connect(str(shop))
    con.execute((SHOP / "data.sql").read_text())
    con.execute("ALTER TABLE customers DROP COLUMN vip")  # the lens reads customers.vip
    con.close()
    path = _write(tmp_path, f"""
        backends:
          lake:
            type: duckdb
            duckdb_files: [{shop}]
            tables: {{shopdb.main.suppliers: shopdb.main.vendors}}
        lenses: [{{path: {SHOP}, backend: lake}}]
        """)
    done = _cli("check", "--config", str(path))
    assert done.returncode == 1, done.stdout
    assert "ok    table shopdb.main.orders (4 columns)" in done.stdout
    assert "FAIL  suppliers: table shopdb.main.suppliers not found on the backend" in done.stdout
    assert "FAIL  customers: column vip not in table shopdb.main.customers" in done.stdout
    assert "FAIL  entity customers: its members do not run on the backend" in done.stdout
    assert done.stdout.strip().endswith("problem(s)")
