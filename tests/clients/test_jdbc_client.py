"""pgJDBC (DBeaver, Tableau, DataGrip, Metabase): a tool's first minute.

``jdbc/ClientMinute.java`` runs every DatabaseMetaData call, prepared statements with setString/setInt/
setLong/setDouble/setBigDecimal/setDate/setTimestamp/setBoolean/setObject/setNull (six executions each, so
pgJDBC switches to named server-side statements and binary transfer), ParameterMetaData, ResultSetMetaData
(table names and nullability: RowDescription's table OID and column number), cursors (fetch size without
autocommit: portals read in chunks), a scrollable result, and the cards Metabase's query builder sends
(``bi_tools/metabase.yaml``: Metabase runs on pgJDBC, filter values bound as parameters), once against
lens-proxy and once against PostgreSQL over the same rows (``oracle_keys``: with the lens's comments and the
keys PostgreSQL can hold).
The two dumps must be equal section by section, except where the lens is more than PostgreSQL's tables:
``normalized`` says what is set aside and why, and those parts are checked against the lens YAML.
"""

from __future__ import annotations

import math
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from tests.clients.conftest import ORACLE_DB, lens_foreign_keys, lens_measures, lens_yaml
from tests.conftest import RunningServer

SOURCE = Path(__file__).parent / "jdbc" / "ClientMinute.java"
# Debian's libpostgresql-jdbc-java (installed by .ci/run), or a Maven-local copy on a developer machine
JARS = sorted(Path("/usr/share/java").glob("postgresql*.jar")) or sorted(
    Path.home().glob(".m2/repository/org/postgresql/postgresql/*/postgresql-*.jar")
)
Dump = dict[str, list[list[str]]]


@pytest.fixture(scope="module")
def classpath(tmp_path_factory: pytest.TempPathFactory) -> str:
    assert JARS and shutil.which("javac") and shutil.which("java"), "needs a JDK and pgjdbc (see .ci/run)"
    out = tmp_path_factory.mktemp("jdbc")
    subprocess.run(["javac", "-cp", str(JARS[-1]), "-d", str(out), str(SOURCE)], check=True, timeout=120)
    return f"{JARS[-1]}:{out}"


METABASE = Path(__file__).parent / "bi_tools" / "metabase.yaml"


def metabase_cards() -> list[dict]:
    """The queries Metabase's query builder sends for a new user's first cards (data file)."""
    return yaml.safe_load(METABASE.read_text())


@pytest.fixture(scope="module")
def metabase_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("metabase") / "cards.tsv"
    lines = []
    for card in metabase_cards():
        assert set(card) <= {"chart", "sql", "params"}, card
        params = [f"{kind}={value}" for kind, value in card.get("params") or []]
        lines.append("\t".join([card["chart"], card["sql"], *params]))
    path.write_text("\n".join(lines) + "\n")
    return path


def _dump(classpath: str, host: str, port: int, user: str, queries: Path) -> Dump:
    url = f"jdbc:postgresql://{host}:{port}/{ORACLE_DB}?sslmode=disable"
    done = subprocess.run(["java", "-cp", classpath, "ClientMinute", url, user, str(queries)], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    sections: Dump = {}
    current: list[list[str]] = []
    for line in done.stdout.splitlines():
        if line.startswith("## "):
            current = sections.setdefault(line[3:], [])
        else:
            current.append(line.split("\t"))
    return sections


@pytest.fixture(scope="module")
def dumps(classpath: str, server: RunningServer, oracle_keys, metabase_file: Path) -> tuple[Dump, Dump]:  # noqa: ANN001
    return (_dump(classpath, server.host, server.port, "analyst", metabase_file),
            _dump(classpath, oracle_keys.host, oracle_keys.port, "postgres", metabase_file))


def _at(head: list[str], column: str) -> int:
    """A result column's position by name, whatever its case: pgJDBC 42.5 (Debian's) aliases its metadata
    columns unquoted (``AS FK_NAME``, so PostgreSQL names them ``fk_name``), later versions quote them."""
    return [h.upper() for h in head].index(column.upper())


def _table(rows: list[list[str]]) -> tuple[list[str], list[list[str]]]:
    head = next((r[1:] for r in rows if r[0] == "cols"), [])
    return head, [r[1:] for r in rows if r[0] == "row"]


def _mask(rows: list[list[str]], *columns: str) -> list[list[str]]:
    head, body = _table(rows)
    at = [_at(head, c) for c in columns]
    return [["cols", *head]] + [["row", *("*" if i in at else v for i, v in enumerate(r))] for r in body]


def normalized(section: str, rows: list[list[str]], *, proxy: bool, kept_keys: set[str],
               system_types: frozenset[str] = frozenset()) -> list[list[str]]:
    """A section with what legitimately differs set aside (checked elsewhere against the lens)."""
    head, body = _table(rows)
    if section == "getTypeInfo":  # the row types of PostgreSQL's own catalogs are not in lens-proxy's
        return [["cols", *head]] + [["row", *r] for r in body if r[0] not in system_types]
    if section == "getCatalogs":  # PostgreSQL also has postgres and template1; lens-proxy serves lenses only
        return [["cols", *head]] + [["row", *r] for r in body if r == [ORACLE_DB]]
    if section.startswith(("getTablePrivileges", "getColumnPrivileges")):
        # the table owner: the lens's owner role here, the superuser that created the tables there
        owner = (lens_yaml().get("owner") or "postgres") if proxy else "postgres"
        rows = [[v.replace(owner, "<owner>") for v in r] for r in rows]
        head, body = _table(rows)
    if section.startswith("getIndexInfo"):  # ANALYZE's row and page estimates: lens-proxy keeps none
        return _mask(rows, "CARDINALITY", "PAGES")
    if section.startswith("getFunctions("):  # built-in functions' descriptions are not in the catalog
        return _mask(rows, "REMARKS")
    if section.startswith(("getColumns", "getColumnPrivileges")) and proxy:  # measures: only the lens has them
        measures = {(t, m) for t, ms in lens_measures().items() for m in ms}
        table, column = _at(head, "TABLE_NAME"), _at(head, "COLUMN_NAME")
        return [["cols", *head]] + [["row", *r] for r in body if (r[table], r[column]) not in measures]
    if section.startswith(("getImportedKeys", "getExportedKeys", "getCrossReference")) and proxy:
        name = _at(head, "FK_NAME")  # the keys PostgreSQL can hold (the others: test_foreign_keys_…)
        return [["cols", *head]] + [["row", *r] for r in body if r[name] in kept_keys]
    return rows


def test_every_section_ran(dumps):  # noqa: ANN001
    proxy, postgres = dumps
    assert list(proxy) == list(postgres)
    assert len(proxy) > 80


def test_matches_postgres(dumps, system_row_types):  # noqa: ANN001
    """All sections in one test (a failure lists every differing one): metadata, prepared statements,
    parameter and result metadata, cursors."""
    proxy, postgres = dumps
    kept: set[str] = set()
    for section, rows in postgres.items():
        if section.startswith("getImportedKeys"):
            head, body = _table(rows)
            kept |= {r[_at(head, "FK_NAME")] for r in body}
    differing = []
    for section in postgres:
        mine = normalized(section, proxy.get(section, []), proxy=True, kept_keys=kept, system_types=system_row_types)
        theirs = normalized(section, postgres[section], proxy=False, kept_keys=kept, system_types=system_row_types)
        if not _same(mine, theirs):
            only_mine = [r for r in mine if r not in theirs][:4]
            only_theirs = [r for r in theirs if r not in mine][:4]
            differing.append(f"{section}:\n  only proxy    {only_mine}\n  only postgres {only_theirs}")
    assert not differing, f"{len(differing)} sections differ:\n" + "\n".join(differing)


def _same(mine: list[list[str]], theirs: list[list[str]]) -> bool:
    """Equal, floats within 1e-12 relative (a sum over floats may add in another order)."""
    if len(mine) != len(theirs):
        return False
    for a, b in zip(mine, theirs, strict=True):
        if len(a) != len(b):
            return False
        for x, y in zip(a, b, strict=True):
            if x != y and not _close(x, y):
                return False
    return True


def _close(x: str, y: str) -> bool:
    try:
        return "." in x + y and math.isclose(float(x), float(y), rel_tol=1e-12)
    except ValueError:
        return False


def test_metabase_cards_answer(dumps):  # noqa: ANN001
    """Every Metabase card ran (equal to PostgreSQL's answer: test_matches_postgres) and returned rows."""
    proxy, _ = dumps
    for card in metabase_cards():
        rows = proxy[f"prepared bi {card['chart']}"]
        assert ["error"] not in [r[:1] for r in rows], (card["chart"], rows)
        assert any(r[0] == "row" for r in rows), card["chart"]


def test_foreign_keys_are_the_lens_relationships(dumps):  # noqa: ANN001
    proxy, _ = dumps
    lens = lens_foreign_keys()
    for entity in ("customer", "order_placed", "order_rejected", "order_invoiced"):
        for section, side in ((f"getImportedKeys({entity})", 0), (f"getExportedKeys({entity})", 2)):
            head, body = _table(proxy[section])
            at = [_at(head, c) for c in ("FKTABLE_NAME", "FKCOLUMN_NAME", "PKTABLE_NAME", "PKCOLUMN_NAME")]
            assert {tuple(r[i] for i in at) for r in body} == {k for k in lens if k[side] == entity}, section


def test_result_metadata_names_tables_and_nullability(dumps):  # noqa: ANN001
    """ResultSetMetaData.getTableName/isNullable come from RowDescription's table OID and column number:
    a key column is the table's and not nullable, a computed one is neither."""
    proxy, _ = dumps
    columns = [r for r in proxy["prepared setString"] if r[0] == "column"]
    assert columns[0][1] == "customer_id" and columns[0][5] == "customer" and columns[0][7] == "0"  # noNulls
    assert columns[1][5] == "customer" and columns[1][7] == "1"  # nullable
    measure = [r for r in proxy["prepared measure"] if r[0] == "column" and r[1] == "n"]
    assert measure and all(r[5] == "" for r in measure)


def test_cursor_reads_every_row(dumps, truth):  # noqa: ANN001
    proxy, _ = dumps
    _, rows = _table(proxy["cursor fetchSize 50"])
    expected = truth.execute("SELECT customer_id, state FROM icebase.audience.customers_large_data "
                             "ORDER BY customer_id").fetchall()
    assert [tuple(r) for r in rows] == [tuple("\\N" if v is None else v for v in e) for e in expected]
