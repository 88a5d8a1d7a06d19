"""The operations settings in lens-proxy.yaml (``server:``): read, validated with file:line like the rest of
the file, overridden by the command line; a bad one stops ``serve`` with the report."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from proxy.config import ConfigError, load_config
from tests.conftest import LENS_DIR, ROOT


def _write(tmp_path: Path, server: str) -> Path:
    path = tmp_path / "lens-proxy.yaml"
    path.write_text(textwrap.dedent(f"""\
        server: {server}
        backends:
          lake: {{type: duckdb, duckdb_files: [{{path: x.duckdb, catalog: icebase}}]}}
        lenses:
          - {{path: {LENS_DIR}, backend: lake}}
        """))
    return path


def test_the_ops_keys_are_read(tmp_path):
    config = load_config(_write(tmp_path, "{http_port: 9187, http_host: 0.0.0.0, log_format: json, "
                                          "log_min_duration_statement: -1, reload_interval: 0.5}"))
    ops = config.ops
    assert (ops.http_port, ops.http_host, ops.log_format, ops.log_min_duration_statement, ops.reload_interval) == (
        9187, "0.0.0.0", "json", -1, 0.5)
    assert load_config(_write(tmp_path, "{port: 5433}")).ops.http_port is None  # off unless asked for


def test_every_bad_ops_key_is_reported_with_its_line(tmp_path):
    path = tmp_path / "lens-proxy.yaml"
    path.write_text("server:\n  http_port: 70000\n  log_format: jsn\n  log_min_duration_statement: soon\n"
                    "  reload_interval: -2\n  http_prot: 1\nbackends:\n  lake: {type: duckdb, duckdb_files: [x.duckdb]}\n"
                    f"lenses:\n  - {{path: {LENS_DIR}, backend: lake}}\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    text = str(raised.value)
    for line, message in ((2, "server.http_port: a port is at most 65535"),
                          (3, "server.log_format: unknown log format 'jsn' (did you mean 'json'?)"),
                          (4, "server.log_min_duration_statement: expected milliseconds"),
                          (5, "server.reload_interval: expected seconds"),
                          (6, "server.http_prot: unknown key 'http_prot' (did you mean 'http_port'?)")):
        assert f"{path}:{line} {message}" in text, text


def test_serve_refuses_a_bad_file_and_flags_win_over_it(tmp_path):
    path = _write(tmp_path, "{log_format: xml}")
    done = subprocess.run([sys.executable, "-m", "proxy.cli", "serve", "--config", str(path)], cwd=ROOT,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and f"{path}:1 server.log_format: unknown log format 'xml'" in done.stderr
    done = subprocess.run([sys.executable, "-m", "proxy.cli", "serve", "--config", str(path), "--reload-interval",
                           "-1"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "server.log_format" in done.stderr  # the file is checked first
    from proxy.cli import _ops_settings, _parser

    good = _write(tmp_path, "{http_port: 9187, log_format: json, log_min_duration_statement: 250}")
    args = _parser().parse_args(["serve", "--config", str(good), "--http-port", "0", "--log-format", "text"])
    settings, log_format = _ops_settings(args, "127.0.0.1")
    assert (settings.http_port, settings.slow_ms, settings.reload_interval, log_format) == (0, 250, 2.0, "text")
