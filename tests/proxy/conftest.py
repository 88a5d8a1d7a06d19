"""Fixtures of the hardening tests (sqlsmith, protocol fuzzing, faults): a lens-proxy whose log is a file.

``hardened`` is one server for the session, shared by the tests that must leave it running; ``clean_log``
fails a test that made it log a traceback or an internal error. Tests that kill or starve a server start
their own.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.proxy.logged_server import LoggedServer, start_logged_server, stop


@pytest.fixture(scope="session")
def hardened(demo_file: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LoggedServer]:
    server = start_logged_server(tmp_path_factory.mktemp("hardened"), demo_file)
    yield server
    status = stop(server)
    assert status == 0, f"lens-proxy exited with {status} on SIGTERM\n{server.log()[-4000:]}"
    assert not server.defects_since(0), "\n\n".join(server.defects_since(0))


@pytest.fixture
def clean_log(hardened: LoggedServer) -> Iterator[LoggedServer]:
    """The shared server; the test fails if the server logged a traceback or internal error meanwhile."""
    start = hardened.log_size()
    yield hardened
    defects = hardened.defects_since(start)
    assert not defects, "the server logged defects:\n\n" + "\n\n".join(defects[:5])
