"""The ``lens-proxy`` command line, run as a user would (a subprocess)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
BROKEN = ROOT / "tests" / "fixtures" / "lenses" / "broken"


def cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "proxy.cli", *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)


def test_validate_seed_lens_passes():
    result = cli("validate", "lenses/customer_360")
    assert result.returncode == 0, result.stderr
    assert "customer_360 OK (4 entities" in result.stdout


def test_validate_broken_lens_fails_naming_file_line_and_path():
    broken = BROKEN / "many_errors.yml"
    result = cli("validate", str(broken))
    assert result.returncode == 1
    expected = [line.split("# expect:", 1)[1].strip() for line in broken.read_text().splitlines()
                if line.startswith("# expect:")]
    assert expected
    for text in expected:
        assert text in result.stderr
    assert "issue(s)" in result.stderr


def test_compile_prints_backend_sql():
    result = cli("compile", "--lens", "lenses/customer_360", "SELECT state, count_customers FROM customer")
    assert result.returncode == 0, result.stderr
    assert "COUNT(customer.customer_id)" in result.stdout
    assert "icebase.audience.customers_large_data" in result.stdout
    bad = cli("compile", "--lens", "lenses/customer_360", "SELECT nope FROM customer")
    assert bad.returncode == 1 and "42703" in bad.stderr


def test_serve_refuses_a_broken_lens():
    result = cli("serve", "--lens", str(BROKEN / "many_errors.yml"), "--port", "0")
    assert result.returncode == 1
    assert "many_errors.yml" in result.stderr
