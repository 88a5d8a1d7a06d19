"""Start a real Spark Connect server from the ``pyspark`` package, for tests and benchmarks.

The PyPI ``pyspark`` 4.x package carries Spark's jars and ``spark-submit``; with a JDK (17+) on the machine
``SparkConnectServer`` runs in the foreground as a child process, local mode, serving ``sc://127.0.0.1:PORT``
(the protocol of a cluster or Databricks). Started once per test session (~6 s, ~1 GB), stopped at the end.

    with SparkConnectServer.start(tmp_dir) as spark:
        spark.url  # sc://127.0.0.1:PORT
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

CLASS = "org.apache.spark.sql.connect.service.SparkConnectServer"


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).resolve().parent


def available() -> str | None:
    """Why a local Spark Connect server cannot start here, or None when it can."""
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "no Java runtime (install default-jdk-headless)"
    try:
        home = spark_home()
    except ImportError:
        return "pyspark is not installed"
    if not (home / "bin" / "spark-submit").exists():
        return "pyspark has no spark-submit (pyspark-client is the thin client; the server needs pyspark)"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class SparkConnectServer:
    port: int
    process: subprocess.Popen
    log_file: Path

    @property
    def url(self) -> str:
        return f"sc://127.0.0.1:{self.port}"

    @classmethod
    @contextlib.contextmanager
    def start(cls, base_dir: Path, *, memory: str = "1g", timeout: float = 120) -> Iterator[SparkConnectServer]:
        home = spark_home()
        base_dir.mkdir(parents=True, exist_ok=True)
        port = _free_port()
        log_file = base_dir / "spark-connect.log"
        env = {**os.environ, "SPARK_HOME": str(home), "SPARK_LOG_DIR": str(base_dir), "SPARK_PID_DIR": str(base_dir),
               "SPARK_LOCAL_IP": "127.0.0.1", "SPARK_LOCAL_DIRS": str(base_dir / "tmp")}
        conf = {
            "spark.connect.grpc.binding.address": "127.0.0.1", "spark.connect.grpc.binding.port": str(port),
            "spark.driver.memory": memory, "spark.ui.enabled": "false", "spark.sql.session.timeZone": "UTC",
            "spark.sql.shuffle.partitions": "2", "spark.default.parallelism": "2",
            "spark.sql.warehouse.dir": str(base_dir / "warehouse"), "spark.sql.adaptive.enabled": "true",
            "spark.driver.extraJavaOptions": f"-Dderby.system.home={base_dir}",
        }
        cmd = [str(home / "bin" / "spark-submit"), "--class", CLASS, "--name", "lens-proxy-tests", "--master", "local[2]"]
        for k, v in conf.items():
            cmd += ["--conf", f"{k}={v}"]
        with open(log_file, "wb") as log:
            process = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env, cwd=base_dir,
                                       start_new_session=True)
        server = cls(port, process, log_file)
        try:
            _wait_ready(server, timeout)
            yield server
        finally:
            server.stop()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


def _wait_ready(server: SparkConnectServer, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise RuntimeError(f"Spark Connect server exited ({server.process.returncode}); see {server.log_file}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", server.port), timeout=1):
            return
        time.sleep(0.2)
    raise RuntimeError(f"Spark Connect server did not listen within {timeout}s; see {server.log_file}")
