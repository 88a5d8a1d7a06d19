"""A lens-proxy process whose log goes to a file, so a test can assert that what it did left no traceback.

``tests.conftest.start_server`` keeps the log in a pipe nobody reads after startup (a server that logged a
lot would block on it); the hardening tests need the log itself: every unexpected exception is logged with
its traceback, and each one is a defect even when the client got a clean XX000.
"""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import LENS_DIR, ROOT, RunningServer

# What a defect looks like in the log: a traceback, or an internal error reported to a client.
DEFECT = re.compile(r"Traceback \(most recent call last\)|internal error|Task exception was never retrieved")


@dataclass
class LoggedServer(RunningServer):
    log_path: Path = field(default=Path())

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def log_size(self) -> int:
        return self.log_path.stat().st_size

    def defects_since(self, offset: int) -> list[str]:
        """Log lines after ``offset`` that show a defect, with the traceback that follows each."""
        lines = self.log()[offset:].splitlines()
        return ["\n".join(lines[max(0, i - 1) : i + 30]) for i, line in enumerate(lines) if DEFECT.search(line)]


def start_logged_server(tmp_dir: Path, duckdb_file: Path, *extra: str, lens_dirs: Sequence[Path] = (LENS_DIR,)) -> LoggedServer:
    log_path = tmp_dir / "lens-proxy.log"
    cmd = [sys.executable, "-m", "proxy.cli", "serve", "--port", "0", "--log-level", "INFO", *extra,
           "--duckdb", str(duckdb_file)]
    for d in lens_dirs:
        cmd += ["--lens", str(d)]
    log = open(log_path, "w")  # noqa: SIM115 - the child writes to it for its whole life
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, text=True)
    log.close()
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        match = re.search(r"serving .* on ([\d.]+):(\d+)", log_path.read_text())
        if match:
            return LoggedServer(match.group(1), int(match.group(2)), proc, log_path=log_path)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise RuntimeError("lens-proxy did not start:\n" + log_path.read_text())


def stop(server: RunningServer, timeout: float = 20) -> int:
    """SIGTERM, then the exit status (killed and -9 if it does not exit in time)."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGTERM)
    try:
        return server.process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        server.process.kill()
        server.process.wait()
        return -9
