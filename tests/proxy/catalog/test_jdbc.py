"""pgjdbc (DBeaver, Tableau) DatabaseMetaData against the server, when a JDK and the driver jar are installed."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

SOURCE = Path(__file__).parent / "jdbc" / "Meta.java"
# Debian's libpostgresql-jdbc-java (installed by .ci/run), or a Maven-local copy on a developer machine
JARS = sorted(Path("/usr/share/java").glob("postgresql*.jar")) or sorted(
    Path.home().glob(".m2/repository/org/postgresql/postgresql/*/postgresql-*.jar")
)


def test_pgjdbc_database_metadata(server, tmp_path: Path) -> None:  # noqa: ANN001
    assert JARS and shutil.which("javac") and shutil.which("java"), "needs a JDK and pgjdbc (see .ci/run)"
    classpath = f"{JARS[-1]}:{tmp_path}"
    subprocess.run(["javac", "-cp", str(JARS[-1]), "-d", str(tmp_path), str(SOURCE)], check=True, timeout=60)
    url = f"jdbc:postgresql://{server.host}:{server.port}/{server.database}?sslmode=disable"
    result = subprocess.run(["java", "-cp", classpath, "Meta", url], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    counts = dict(line.rsplit(" ", 1) for line in result.stdout.splitlines()[1:] if line.count(" ") >= 1
                  and line.rsplit(" ", 1)[1].isdigit())
    assert counts["catalogs"] == "1" and counts["tables"] == "4" and counts["columns"] == "18"
    # order_placed's keys: entity_id → customer, order_id → order_rejected and order_invoiced (1:1)
    assert counts["pk"] == "1" and counts["imported"] == "3" and counts["exported"] == "3"
    assert int(counts["typeinfo"]) > 100 and counts["rows"] == "3"
