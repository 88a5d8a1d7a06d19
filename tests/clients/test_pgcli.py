"""pgcli: its own code, driven as the CLI drives it, against lens-proxy and against PostgreSQL over the same rows.

``PGExecute`` (pgcli's connection class) runs the completion loaders (schemata, tables, views, columns,
functions, datatypes, databases, foreign keys: ``WHERE relkind = ANY(%s)`` with a Python list, and
``proargtypes::regtype[]``) and the meta-commands through pgspecial (``\\dt \\dv \\di \\d \\d+ \\df \\dn
\\l``, with their ``relkind = ANY('{r,p,""}')``); ``CompletionRefresher`` builds the completer, whose
suggestions are compared too. What PostgreSQL has and lens-proxy does not emulate (other databases, the
roles and catalog relations of a real cluster) and what only the lens has (measures, 1:1 relationships as
keys) is set aside, the latter checked against the lens YAML.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pgcli.completion_refresher import CompletionRefresher
from pgcli.pgexecute import PGExecute
from pgspecial.main import PGSpecial
from prompt_toolkit.document import Document

from tests.clients.conftest import ORACLE_DB, lens_foreign_keys, lens_measures, lens_yaml

ENTITIES = ("customer", "order_invoiced", "order_placed", "order_rejected")
MEASURES = {(t, m) for t, ms in lens_measures().items() for m in ms}


@pytest.fixture(scope="module")
def executors(server, oracle_keys) -> Iterator[tuple[PGExecute, PGExecute]]:  # noqa: ANN001
    proxy = PGExecute(database=server.database, user="analyst", password="", host=server.host, port=server.port, dsn="")
    postgres = PGExecute(database=ORACLE_DB, user="postgres", password="", host=oracle_keys.host,
                         port=oracle_keys.port, dsn="")
    yield proxy, postgres
    proxy.conn.close()
    postgres.conn.close()


def _public(rows: list[tuple]) -> list[tuple]:
    return sorted(r for r in rows if r[0] == "public" and (r[1], r[2] if len(r) > 2 else None) not in MEASURES)


def test_completion_loaders_match_postgres(executors):  # noqa: ANN001
    proxy, postgres = executors
    assert proxy.search_path() == postgres.search_path() == ["pg_catalog", "public"]
    assert set(proxy.schemata()) <= set(postgres.schemata())
    assert _public(list(proxy.tables())) == _public(list(postgres.tables())) == [("public", e) for e in ENTITIES]
    assert _public(list(proxy.views())) == _public(list(postgres.views())) == []
    assert _public(list(proxy.table_columns())) == _public(list(postgres.table_columns()))
    measures = {(r[1], r[2]) for r in proxy.table_columns() if r[0] == "public"} - {
        (r[1], r[2]) for r in postgres.table_columns() if r[0] == "public"}
    assert measures <= MEASURES and measures  # visible measures are columns only the lens has
    assert list(proxy.datatypes()) == list(postgres.datatypes())
    assert list(proxy.databases()) == [ORACLE_DB]
    keys = {(k.childtable, k.childcolumn, k.parenttable, k.parentcolumn) for k in proxy.foreignkeys()}
    assert keys == lens_foreign_keys()
    assert {(k.childtable, k.childcolumn, k.parenttable, k.parentcolumn) for k in postgres.foreignkeys()} <= keys


def test_function_loader_matches_postgres(executors, system_row_types):  # noqa: ANN001
    """pgcli's ``functions()``: built-in functions with argument and result types by name (the query casts
    ``proargtypes::regtype[]::text[]``). Defaults are left out: lens-proxy keeps pg_proc's node trees raw;
    so are the few functions over the system catalogs' row types, which the built-in catalog leaves out."""
    proxy, postgres = executors

    def key(f):  # noqa: ANN001, ANN202
        return (f.schema_name, f.func_name, f.arg_names, f.arg_types, f.arg_modes, f.return_type, f.is_aggregate,
                f.is_window, f.is_set_returning)

    mine = {key(f) for f in proxy.functions()}
    theirs = {key(f) for f in postgres.functions()
              if not system_row_types & {*(f.arg_types or ()), f.return_type}}
    assert len(mine) > 2500
    assert mine == theirs, sorted(mine ^ theirs)[:10]


def _special(executor: PGExecute, command: str) -> tuple[list, list, str]:
    (title, rows, headers, status, sql, success, is_special), = list(executor.run(command, pgspecial=PGSpecial()))
    assert success, f"{command}: {status}"
    return list(headers or []), [tuple(r) for r in rows or []], status or ""


OWNER = lens_yaml().get("owner") or "postgres"


@pytest.mark.parametrize("command", [r"\dt", r"\dv", r"\di", r"\d", r"\df", r"\d order_placed", r"\d+ customer"])
def test_meta_command_matches_postgres(executors, command):  # noqa: ANN001
    proxy, postgres = executors
    headers, rows, status = _special(proxy, command)
    pg_headers, pg_rows, pg_status = _special(postgres, command)
    assert headers == pg_headers
    if "Owner" in headers:  # the lens's owner role; there, the superuser that created the tables
        at = headers.index("Owner")
        rows = [r[:at] + ("postgres" if r[at] == OWNER else r[at],) + r[at + 1:] for r in rows]
    if command.startswith(r"\d ") or command.startswith(r"\d+ "):  # a table: measures are columns only here
        table = command.split()[-1]
        rows = [r for r in rows if (table, r[0]) not in MEASURES]
    assert rows == pg_rows
    # the footer (indexes, keys): every line PostgreSQL prints, and the lens's other keys
    mine = status.splitlines()
    for line in pg_status.replace(" NOT VALID", "").splitlines():
        assert line in mine, f"{command}: missing {line!r} in\n{status}"


def test_schemas_and_databases(executors):  # noqa: ANN001
    proxy, postgres = executors
    headers, rows, _ = _special(proxy, r"\dn")
    assert headers == _special(postgres, r"\dn")[0] and rows == [("public", OWNER)]
    headers, rows, _ = _special(proxy, r"\l")
    assert headers == _special(postgres, r"\l")[0] and [r[0] for r in rows] == [ORACLE_DB]


@pytest.fixture(scope="module")
def completers(executors):  # noqa: ANN001
    """The completer pgcli builds in the background at startup, built here in the foreground."""
    out = []
    for executor in executors:
        built = []
        CompletionRefresher()._bg_refresh(executor, PGSpecial(), built.append, settings={"single_connection": True})
        out.append(built[0])
    return out


@pytest.mark.parametrize("text, cursor", [
    ("SELECT * FROM ", None),
    ("SELECT * FROM cus", None),
    ("SELECT  FROM customer", 7),
    ("SELECT * FROM order_placed o WHERE o.", None),
    ("SELECT * FROM customer c JOIN ", None),
    ("SELECT * FROM customer c JOIN order_placed o ON ", None),
    ("\\d ord", None),
])
def test_completions_match_postgres(completers, text, cursor):  # noqa: ANN001
    document = Document(text, cursor_position=len(text) if cursor is None else cursor)
    mine, theirs = ([c.text for c in completer.get_completions(document, None)] for completer in completers)
    columns = {m for _, m in MEASURES}

    def lens_part(completions: list[str]) -> list[str]:
        """Schemas, the lens's tables and columns, join conditions; not functions (their argument defaults
        are node trees lens-proxy does not render), not information_schema's relations (fewer emulated)."""
        return [c for c in completions if "(" not in c and "information_schema." not in c and c not in columns]

    assert lens_part(mine) == lens_part(theirs) and lens_part(mine)
