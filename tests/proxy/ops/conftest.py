"""Fixtures of the operations tests: a lens-proxy with its HTTP side port on, and ways to read that port.

``ops_server`` serves the seed lens, the journeys lens and the governed lens with password authentication
(so the data dictionary asks for HTTP Basic) and JSON logs to a file; it is shared by the tests that only
read it. Tests that edit lens files or stop a backend start their own server.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest
import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import LENS_DIR, ROOT
from tests.proxy.logged_server import LoggedServer, start_logged_server, stop

JOURNEYS = ROOT / "lenses" / "customer_360_journeys"
GOVERNED = ROOT / "lenses" / "customer_360_governed"
PASSWORDS = {"analyst": "analyst-pw", "admin": "admin-pw", "sales": "sales-pw", "guest": "guest-pw"}
USERS = {
    "analyst": {"groups": ["analyst"]},
    "admin": {"groups": ["admin"]},
    "sales": {"groups": ["sales"], "attributes": {"states": ["CA", "NY"]}},
    "guest": {"groups": []},
}


@dataclass
class OpsServer:
    server: LoggedServer
    http_port: int

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.http_port}{path}"

    def dsn(self, user: str = "analyst", database: str = "customer_360") -> str:
        return self.server.dsn(user=user, dbname=database, password=PASSWORDS.get(user, ""))

    def connect(self, user: str = "analyst", database: str = "customer_360", **kw) -> psycopg.Connection:
        return psycopg.connect(self.dsn(user, database), autocommit=True, connect_timeout=10, **kw)

    def log_events(self, offset: int = 0) -> list[dict]:
        """The JSON log lines written after ``offset`` (other lines, such as start-up prints, skipped)."""
        events = []
        for line in self.server.log()[offset:].splitlines():
            if line.startswith("{"):
                events.append(json.loads(line))
        return events


def http_get(url: str, *, auth: tuple[str, str] | None = None, method: str = "GET", timeout: float = 20
             ) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, method=method)
    if auth is not None:
        import base64

        request.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as e:
        return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read()


def scrape(ops: OpsServer) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """/metrics parsed with prometheus_client's own parser: (sample name, sorted labels) -> value."""
    status, headers, body = http_get(ops.url("/metrics"))
    assert status == 200 and headers["content-type"].startswith("text/plain; version=0.0.4")
    samples = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def start_ops_server(tmp_dir: Path, duckdb_file: Path, *extra: str, lens_dirs=(LENS_DIR,)) -> OpsServer:
    server = start_logged_server(tmp_dir, duckdb_file, "--http-port", "0", "--log-format", "json", "--workers", "1", *extra,
                                 lens_dirs=lens_dirs)
    match = re.search(r"HTTP side port on [\d.]+:(\d+)", server.log())
    assert match, server.log()
    return OpsServer(server, int(match.group(1)))


def write_users(path: Path) -> Path:
    from proxy.auth import make_verifier

    users = {name: {**entry, "scram": str(make_verifier(PASSWORDS[name]))}
             for name, entry in USERS.items()}
    path.write_text(yaml.safe_dump({"users": users}))
    return path


@pytest.fixture(scope="session")
def ops_server(demo_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpsServer]:
    tmp = tmp_path_factory.mktemp("ops")
    users = write_users(tmp / "users.yaml")
    ops = start_ops_server(tmp, demo_file, "--auth", "scram-sha-256", "--users", str(users),
                           "--log-min-duration-statement", "0", lens_dirs=(LENS_DIR, JOURNEYS, GOVERNED))
    yield ops
    status = stop(ops.server)
    assert status == 0, f"lens-proxy exited with {status}\n{ops.server.log()[-4000:]}"
    assert not ops.server.defects_since(0), "\n\n".join(ops.server.defects_since(0))
