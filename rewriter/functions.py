"""Which functions a client may call: the ones PostgreSQL offers, nothing the engine adds.

The list is PostgreSQL 15's own (``postgres_functions.txt``: the ``pg_proc`` names of ``pg_catalog`` and
``information_schema``, checked against a real server by the tests), so the check fails closed: a function the
engine gains in a new release (a file reader, a settings probe) is not callable until PostgreSQL has it too.
A call of anything else is 42883 ``function … does not exist``, worded as PostgreSQL words it; a function a
PostgreSQL non-superuser may not execute (``pg_read_file``, ``lo_import``) is 42501, as there.

The check reads the client's SQL, before the rewrite: lens snippets are the lens author's code in the lens's
dialect and are expanded later, unchecked. A call is judged by the name the client spelled (sqlglot keeps the
name token's offsets on each function node; ``ifnull`` and ``coalesce`` parse to the same node, only one is
Postgres). Syntax that parses to function nodes without a name token (``CAST``, ``EXTRACT``, ``CASE``,
operators) is Postgres syntax, not a call by name, and passes; so do ``MEASURE(m)`` (a lens concept) and the
constructors Postgres spells like calls (``ROW``, ``ARRAY``, ``COALESCE``, ``GREATEST`` …).

After the session has evaluated its own functions (``current_setting('x')``, ``version()``), any left are
refused by :func:`check_engine_bound`: the engine would answer them about itself.
"""

from __future__ import annotations

import functools
from pathlib import Path

from sqlglot import exp

from rewriter.errors import FeatureNotSupported, InsufficientPrivilege, SqlError, UndefinedFunction

__all__ = ["check_calls", "check_engine_bound", "is_callable", "postgres_functions"]

_DATA = Path(__file__).with_name("postgres_functions.txt")

# Postgres grammar that looks like a call but is not a pg_proc function (gram.y's func_expr_common_subexpr
# and friends), and the lens's MEASURE().
SYNTAX_NAMES = frozenset({
    "coalesce", "nullif", "greatest", "least", "grouping", "row", "array", "exists", "any", "all", "some",
    "cast", "extract", "overlay", "position", "substring", "trim", "treat", "normalize", "collation",
    "xmlconcat", "xmlelement", "xmlexists", "xmlforest", "xmlparse", "xmlpi", "xmlroot", "xmlserialize",
    "xmltable", "measure", "current_date", "current_time", "current_timestamp", "localtime", "localtimestamp",
    "current_role", "current_user", "session_user", "user", "current_catalog", "current_schema",
})
# Function nodes sqlglot builds, without a name token, only for spellings Postgres does not have
# (``TRY_CAST``, ``MAX_BY`` …): refused like an unknown name. (MatchAgainst is not among them: Postgres's
# text search operator ``@@`` parses to it.)
_FOREIGN_SYNTAX: tuple[type[exp.Expression], ...] = tuple(
    cls for cls in (
        getattr(exp, name, None) for name in (
            "TryCast", "ArgMax", "ArgMin", "GapFill", "OpenJSON", "WeightString", "JSONValue", "JSONTable",
            "JSONObjectAgg", "TryConvert",
        )
    ) if cls is not None
)
# sqlglot's nodes for engine functions that read files: refused by class when the spelling is unknown.
_ENGINE_READERS: tuple[type[exp.Expression], ...] = tuple(
    cls for cls in (getattr(exp, name, None) for name in ("ReadCSV", "ReadParquet", "ToFile")) if cls is not None
)
# Postgres functions whose engine namesake would answer about the engine: the session answers them
# (``proxy.pgfunctions``), and a call it could not evaluate must not reach the engine.
SESSION_FUNCTIONS = frozenset({"current_setting", "current_query", "set_config"})
# sqlglot's Postgres spelling of a type -> the name Postgres prints in a function signature.
_TYPE_NAMES = {
    "int": "integer", "decimal": "numeric", "varchar": "character varying", "char": "character",
    "timestamp": "timestamp without time zone", "timestamptz": "timestamp with time zone",
    "time": "time without time zone", "timetz": "time with time zone", "bool": "boolean",
}
_HINT = "No function matches the given name and argument types. You might need to add explicit type casts."


@functools.cache
def postgres_functions() -> tuple[frozenset[str], frozenset[str]]:
    """(every callable name, the privileged ones among them), from ``postgres_functions.txt``."""
    names, privileged = set(), set()
    for line in _DATA.read_text().splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, flag = line.partition("\t")
        names.add(name)
        if flag == "privileged":
            privileged.add(name)
    return frozenset(names), frozenset(privileged)


def is_callable(name: str) -> bool:
    """Whether a function spelled ``name`` (already case-folded as Postgres folds it) may be called."""
    names, privileged = postgres_functions()
    return name in SYNTAX_NAMES or (name in names and name not in privileged)


def check_calls(tree: exp.Expression, text: str | None = None, *, offset: int = 0) -> None:
    """Refuse any call, in the client's query ``tree``, of a function PostgreSQL does not offer.

    ``text`` is the SQL ``tree`` was parsed from: it gives the name each call was spelled with. Without it
    only calls sqlglot does not know (``exp.Anonymous``: the engine's own functions) and file readers are
    judged, by name. ``offset`` shifts error positions (the query's place in the message).
    """
    names, privileged = postgres_functions()
    for node in tree.find_all(exp.Func):
        spelled = _spelled_name(node, text)
        if spelled is None:
            if isinstance(node, _FOREIGN_SYNTAX):
                raise _undefined(node.sql_name().lower(), node, offset)
            continue
        if spelled in SYNTAX_NAMES:
            continue
        if spelled in privileged:
            raise InsufficientPrivilege(f"permission denied for function {spelled}", position=_position(node, offset))
        if spelled not in names:
            raise _undefined(spelled, node, offset)


def check_engine_bound(tree: exp.Expression) -> None:
    """Refuse session functions still in a query about to be rewritten for the engine (their arguments
    were not constants the session could evaluate)."""
    for node in tree.find_all(exp.Anonymous):
        name = node.name.lower()
        if name in SESSION_FUNCTIONS:
            if name == "current_query":
                raise FeatureNotSupported("current_query() is not supported", position=_position(node, 0))
            raise FeatureNotSupported(
                f"{name}() is supported with constant arguments only",
                hint=f"write the setting name as a string literal: {name}('search_path')",
                position=_position(node, 0),
            )


def _spelled_name(node: exp.Func, text: str | None) -> str | None:
    """The function name as Postgres resolves it: unquoted names fold to lower case, quoted ones do not."""
    start, end = node.meta.get("start"), node.meta.get("end")
    if text is not None and start is not None and end is not None and 0 <= start <= end < len(text):
        token = text[start : end + 1]
        if token.startswith('"') and token.endswith('"') and len(token) >= 2:
            return token[1:-1].replace('""', '"')
        return token.lower()
    if isinstance(node, exp.Anonymous):
        this = node.this
        return this.name if isinstance(this, exp.Identifier) and this.quoted else node.name.lower()
    if isinstance(node, _ENGINE_READERS):  # without the text, what must never pass whatever its spelling
        return node.sql_name().lower()
    return None


def _undefined(name: str, node: exp.Func, offset: int) -> SqlError:
    types = _argument_types(node)
    signature = f"{name}({', '.join(types)})" if types is not None else name
    return UndefinedFunction(f"function {signature} does not exist", hint=_HINT, position=_position(node, offset))


def _argument_types(node: exp.Func) -> list[str] | None:
    """The argument types Postgres would print, when they are evident without binding (literals, casts)."""
    args = node.expressions if isinstance(node, exp.Anonymous) else [
        v for k in node.arg_types for v in (node.args.get(k) if isinstance(node.args.get(k), list) else [node.args.get(k)])
        if isinstance(v, exp.Expression)
    ]
    out = []
    for arg in args:
        if isinstance(arg, exp.Literal) and arg.is_string or isinstance(arg, exp.Null):
            out.append("unknown")
        elif isinstance(arg, exp.Literal) and arg.is_int:
            value = int(arg.name)
            out.append("integer" if -(2**31) <= value < 2**31 else "bigint" if -(2**63) <= value < 2**63 else "numeric")
        elif isinstance(arg, exp.Literal):
            out.append("numeric")
        elif isinstance(arg, exp.Boolean):
            out.append("boolean")
        elif isinstance(arg, exp.Cast) and isinstance(arg.to, exp.DataType):
            name = arg.to.sql("postgres").lower()
            out.append(_TYPE_NAMES.get(name, name))
        else:
            return None
    return out


def _position(node: exp.Expression, offset: int) -> int | None:
    start = node.meta.get("start")
    return None if start is None else offset + start + 1
