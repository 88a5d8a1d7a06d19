"""A real PostgreSQL server for tests and benches: Debian's package, started once in a temporary directory.

PostgreSQL is the oracle for everything that is not a lens concept, and one of the backends lens-proxy
serves from; both need a throwaway server. ``PostgresServer.start`` runs ``initdb`` and ``pg_ctl`` from the
installed package (``postgresql``; ``.ci/run`` installs it) on a free port, as an unprivileged user when
the caller is root (PostgreSQL refuses to run as root), with durability off (fsync, full-page writes,
synchronous commit): nothing here needs to survive a crash, and it makes loading test data fast.

    with PostgresServer.start(tmp_dir) as pg:
        psycopg.connect(pg.dsn())
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

SUPERUSER = "postgres"


def _bin_dir() -> Path:
    """Where ``initdb``/``pg_ctl`` live: PATH first, then Debian's versioned directories (newest first)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).resolve().parent
    candidates = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(Path(p).parts[4]), reverse=True)
    if not candidates:
        raise RuntimeError("PostgreSQL server binaries not found: install Debian's 'postgresql' package")
    return Path(candidates[0]).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run(cmd: list[str], timeout: float, *, check: bool = True) -> None:
    """Run a server program, as the package's ``postgres`` user when we are root (PostgreSQL will not run
    as root); a failure raises with the program's own output."""
    if os.geteuid() == 0:
        cmd = ["runuser", "-u", "postgres", "--", *cmd]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    if check and done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


@dataclass
class PostgresServer:
    host: str
    port: int
    data_dir: Path
    bin_dir: Path
    log_file: Path

    def dsn(self, dbname: str = "postgres", user: str = SUPERUSER, **extra: str) -> str:
        parts = {"host": self.host, "port": str(self.port), "user": user, "dbname": dbname, **extra}
        return " ".join(f"{k}={v}" for k, v in parts.items())

    def url(self, dbname: str = "postgres", user: str = SUPERUSER) -> str:
        return f"postgresql://{user}@{self.host}:{self.port}/{dbname}"

    def binary(self, name: str) -> str:
        """Path of a client or server program of the same installation (``pgbench``, ``psql``, …)."""
        path = self.bin_dir / name
        return str(path) if path.exists() else (shutil.which(name) or name)

    def createdb(self, name: str) -> None:
        subprocess.run([self.binary("createdb"), "-h", self.host, "-p", str(self.port), "-U", SUPERUSER, name],
                       check=True, capture_output=True, timeout=60)

    def stop(self) -> None:
        """Stop the server (fast shutdown): an outage, for tests of what depends on it; ``restart`` ends it."""
        _run([str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-m", "fast", "-w", "stop"], timeout=60)

    def restart(self) -> None:
        """Start a server stopped with ``stop`` again, on the same port and data."""
        _run([str(self.bin_dir / "pg_ctl"), "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "60",
              "start"], timeout=90)
        _wait_ready(self)

    @classmethod
    @contextlib.contextmanager
    def start(cls, base_dir: Path, *, settings: dict[str, str] | None = None) -> Iterator[PostgresServer]:
        """Initialise and start a cluster under ``base_dir``; stopped (fast) and left for the caller to
        remove when the block ends."""
        bin_dir = _bin_dir()
        base_dir.mkdir(parents=True, exist_ok=True)
        data_dir, socket_dir, log_file = base_dir / "pgdata", base_dir / "sock", base_dir / "postgres.log"
        socket_dir.mkdir(exist_ok=True)
        if os.geteuid() == 0:  # the unprivileged server user must own its directories
            for path in (base_dir, socket_dir):
                shutil.chown(path, "postgres", "postgres")
            for parent in base_dir.parents:  # and reach them
                if parent == Path("/"):
                    break
                mode = parent.stat().st_mode
                if not mode & 0o001:
                    os.chmod(parent, mode | 0o001)
        _run([str(bin_dir / "initdb"), "-D", str(data_dir), "-U", SUPERUSER, "-A", "trust", "-E", "UTF8",
              "--locale=C.UTF-8", "--no-sync", "--no-instructions"], timeout=120)
        port = free_port()
        options = {
            "listen_addresses": "127.0.0.1", "port": str(port), "unix_socket_directories": str(socket_dir),
            "fsync": "off", "full_page_writes": "off", "synchronous_commit": "off", "max_connections": "200",
            "shared_buffers": "128MB", "TimeZone": "UTC", "DateStyle": "ISO, MDY", "lc_messages": "C",
            "jit": "off", **(settings or {}),
        }
        with open(data_dir / "postgresql.conf", "a") as conf:
            conf.writelines(f"{k} = '{v}'\n" for k, v in options.items())
        _run([str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-l", str(log_file), "-w", "-t", "60", "start"], timeout=90)
        server = cls("127.0.0.1", port, data_dir, bin_dir, log_file)
        try:
            _wait_ready(server)
            yield server
        finally:
            _run([str(bin_dir / "pg_ctl"), "-D", str(data_dir), "-m", "fast", "-w", "stop"], timeout=60, check=False)


def _wait_ready(server: PostgresServer, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((server.host, server.port), timeout=1):
            return
        time.sleep(0.1)
    raise RuntimeError(f"PostgreSQL did not accept connections; see {server.log_file}")
