"""Postgres functions whose answer belongs to the session, not to the engine.

``version()``, ``current_database()``, ``current_user``, ``current_setting('x')`` … are evaluated here and
replaced by literals in the client's AST before it is rewritten, so DuckDB never answers with its own
notion of a database, user or setting (which would also reveal the engine's internals).
"""

from __future__ import annotations

import platform
from typing import Any, Protocol

import duckdb
from sqlglot import exp

from proxy.settings import SERVER_VERSION
from rewriter.naming import postgres_column_name


class SessionValues(Protocol):
    """What these functions read of a session (a ``proxy.session.Session`` or a catalog query's context)."""

    database: str
    user: str
    pid: int
    settings: Any  # get(name) -> str

VERSION_TEXT = (
    f"PostgreSQL {SERVER_VERSION} (lens-proxy 0.1.0, DuckDB {duckdb.__version__}) on "
    f"{platform.machine()}-pc-linux-gnu, compiled by Python {platform.python_version()}, 64-bit"
)


# Read-only server settings catalog queries ask for that sessions cannot SET (answered as Postgres 16 would).
SERVER_SETTINGS = {
    "default_table_access_method": "heap", "block_size": "8192", "max_index_keys": "32",
    "max_function_args": "100", "server_encoding": "UTF8", "lc_collate": "C", "lc_ctype": "C",
    "data_checksums": "off", "wal_level": "replica", "max_connections": "100", "port": "5432",
    "default_tablespace": "", "password_encryption": "scram-sha-256", "ssl": "off", "row_security": "on",
    "enable_partitionwise_join": "off", "track_commit_timestamp": "off",
}


def evaluate(tree: exp.Expression, session: SessionValues) -> exp.Expression:
    """A copy of ``tree`` with session functions replaced by their values."""

    def replace(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Dot) and isinstance(node.this, exp.Column | exp.Identifier):
            if node.this.name.lower() == "pg_catalog" and isinstance(node.expression, exp.Func):
                return replace(node.expression)
        value = _value(node, session)
        if value is None:
            return node
        if isinstance(node.parent, exp.Select) and node.arg_key == "expressions":  # keep Postgres's name
            return exp.alias_(value, postgres_column_name(node), quoted=True)
        return value

    return tree.transform(replace)


def _value(node: exp.Expression, session: SessionValues) -> exp.Expression | None:
    if isinstance(node, exp.CurrentVersion):
        return exp.Literal.string(VERSION_TEXT)
    if isinstance(node, exp.CurrentDatabase | exp.CurrentCatalog):
        return exp.Literal.string(session.database)
    if isinstance(node, exp.CurrentSchema):
        return exp.Literal.string("public")
    if isinstance(node, exp.SessionUser):
        return exp.Literal.string(session.user)
    if isinstance(node, exp.CurrentUser):  # SET ROLE changes current_user, not session_user
        return exp.Literal.string(getattr(session, "current_user", session.user))
    if isinstance(node, exp.CurrentSchemas):  # current_schemas(true) lists the implicit pg_catalog too
        implicit = isinstance(node.this, exp.Boolean) and node.this.this
        return exp.Array(expressions=[exp.Literal.string(s) for s in (["pg_catalog"] if implicit else []) + ["public"]])
    if isinstance(node, exp.Anonymous):
        name = node.name.lower()
        if name == "version" and not node.expressions:
            return exp.Literal.string(VERSION_TEXT)
        if name == "pg_backend_pid" and not node.expressions:
            return exp.Literal.number(session.pid)
        if name == "current_setting" and node.expressions:
            arg = node.expressions[0]
            if isinstance(arg, exp.Literal) and arg.is_string:
                missing_ok = len(node.expressions) > 1 and node.expressions[1].name.lower() in ("true", "t")
                try:
                    return exp.Literal.string(session.settings.get(arg.name))
                except Exception:
                    if arg.name.lower() in SERVER_SETTINGS:
                        return exp.Literal.string(SERVER_SETTINGS[arg.name.lower()])
                    if missing_ok:
                        return exp.Null()
                    raise
    return None
