"""What is each statement of a client message? A query, a session command, or something refused.

The message is tokenized once with sqlglot's Postgres tokenizer and split at top-level semicolons; each
statement is classified by its first keyword, so commands sqlglot cannot parse (``ATTACH``, ``INSTALL``)
are still refused with the right SQLSTATE rather than reported as syntax errors. Only queries
(SELECT/WITH/VALUES/TABLE, and EXPLAIN of one) are parsed into an AST; nothing a client sends reaches the
engine as text, so anything not classified as a query can never run there.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import logging
from dataclasses import dataclass

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError, TokenError
from sqlglot.tokens import Token, TokenType

from proxy.catalog.dialect import DIALECT as CATALOG_POSTGRES  # parses ::oid[] (asyncpg introspection)
from proxy.errors import FeatureNotSupported, InsufficientPrivilege, ReadOnlyTransaction, SqlError, SyntaxErr
from rewriter.functions import check_calls, is_callable

logging.getLogger("sqlglot").setLevel(logging.ERROR)



class _Tokenizer(sqlglot.Dialect.get_or_raise("postgres").tokenizer_class):  # type: ignore[misc]
    """Postgres tokens, without sqlglot's habit of swallowing the rest of EXPLAIN/SHOW/... as one string."""

    COMMANDS: set = set()


_TOKENIZER = _Tokenizer


class Kind(enum.Enum):
    QUERY = "query"
    EXPLAIN = "explain"
    SET = "set"
    RESET = "reset"
    SHOW = "show"
    BEGIN = "begin"
    COMMIT = "commit"
    ROLLBACK = "rollback"
    SAVEPOINT = "savepoint"
    RELEASE = "release"
    DISCARD = "discard"
    DEALLOCATE = "deallocate"
    DECLARE = "declare"  # DECLARE name CURSOR FOR query (ast: the query)
    FETCH = "fetch"
    MOVE = "move"
    CLOSE = "close"
    COPY = "copy"  # COPY (query) TO STDOUT (ast: the query)
    EMPTY = "empty"


@dataclass(frozen=True, slots=True)
class Statement:
    kind: Kind
    text: str  # this statement's SQL text
    offset: int  # where it starts in the client's message (0-based), for error positions
    words: tuple[str, ...] = ()  # the statement's tokens' texts (for commands)
    ast: exp.Expression | None = None  # parsed query (QUERY, EXPLAIN)
    analyze: bool = False  # EXPLAIN ANALYZE
    ast_offset: int = 0  # where the parsed query's text starts in the message (differs for EXPLAIN)


_QUERY_WORDS = {"SELECT", "WITH", "VALUES", "TABLE", "("}
_WRITE_WORDS = {
    "INSERT", "UPDATE", "DELETE", "MERGE", "CREATE", "DROP", "ALTER", "TRUNCATE", "GRANT", "REVOKE",
    "COMMENT", "VACUUM", "ANALYZE", "REINDEX", "CLUSTER", "REFRESH", "LOCK", "SECURITY", "IMPORT", "UPSERT",
    "REPLACE", "RENAME",
}
_ENGINE_WORDS = {
    "ATTACH", "DETACH", "INSTALL", "LOAD", "PRAGMA", "EXPORT", "CALL", "USE", "CHECKPOINT", "FORCE",
    "SUMMARIZE", "DESCRIBE", "PIVOT", "UNPIVOT", "FROM", "DO", "UPDATE_EXTENSIONS",
}
_UNSUPPORTED_WORDS = {"LISTEN", "NOTIFY", "UNLISTEN", "PREPARE", "EXECUTE"}
_SIMPLE = {
    "SET": Kind.SET, "RESET": Kind.RESET, "SHOW": Kind.SHOW, "BEGIN": Kind.BEGIN, "START": Kind.BEGIN,
    "COMMIT": Kind.COMMIT, "END": Kind.COMMIT, "ROLLBACK": Kind.ROLLBACK, "ABORT": Kind.ROLLBACK,
    "SAVEPOINT": Kind.SAVEPOINT, "RELEASE": Kind.RELEASE, "DISCARD": Kind.DISCARD, "DEALLOCATE": Kind.DEALLOCATE,
    "FETCH": Kind.FETCH, "MOVE": Kind.MOVE, "CLOSE": Kind.CLOSE,
}


@functools.lru_cache(maxsize=1024)
def _split_cached(sql: str) -> tuple[Statement, ...]:
    return tuple(_split(sql))


def split(sql: str) -> list[Statement]:
    """Split and classify a message's statements. Raises SqlError (with position) for refused ones.

    Parsed statements are cached by text (an LRU: dashboards repeat the same SQL), so a repeated query
    skips tokenizing and parsing; each caller gets its own copy of the ASTs (copying is far cheaper than
    parsing), so no consumer can change another's tree.
    """
    if len(sql) > 100_000:
        return _split(sql)
    return [
        dataclasses.replace(s, ast=s.ast.copy()) if s.ast is not None else s for s in _split_cached(sql)
    ]


def _split(sql: str) -> list[Statement]:
    try:
        tokens = _TOKENIZER().tokenize(sql)
    except TokenError as e:
        raise SyntaxErr(f"syntax error: {e}", position=len(sql)) from None
    groups: list[list[Token]] = [[]]
    for tok in tokens:
        if tok.token_type == TokenType.SEMICOLON:
            groups.append([])
        else:
            groups[-1].append(tok)
    statements = []
    for group in groups:
        if not group:
            continue
        start, end = group[0].start, group[-1].end + 1
        statements.append(_classify(sql[start:end], start, group))
    if not statements:
        return [Statement(Kind.EMPTY, "", 0)]
    return statements


def _classify(text: str, offset: int, tokens: list[Token]) -> Statement:
    first = tokens[0].text.upper()
    words = tuple(t.text for t in tokens)
    if first in _QUERY_WORDS:
        try:
            ast = parse_query(text, offset)
        except SyntaxErr:
            _refuse_unknown_calls(tokens, offset)  # `glob('*')` does not even parse: still not a function
            raise
        check_calls(ast, text, offset=offset)
        return Statement(Kind.QUERY, text, offset, words, ast, ast_offset=offset)
    if first == "EXPLAIN":
        return _explain(text, offset, tokens)
    if first in _SIMPLE:
        return Statement(_SIMPLE[first], text, offset, words)
    if first == "DECLARE":
        return _declare(text, offset, tokens)
    if first == "COPY":
        return _copy(text, offset, tokens)
    if first in _WRITE_WORDS:
        raise ReadOnlyTransaction(
            f"cannot execute {first} in a read-only transaction",
            hint="lens-proxy serves lens data read-only",
            position=offset + 1,
        )
    if first in _ENGINE_WORDS:
        raise InsufficientPrivilege(
            f"permission denied: {first} is not available",
            hint="clients may only query the lens's tables",
            position=offset + 1,
        )
    if first in _UNSUPPORTED_WORDS:
        raise FeatureNotSupported(f"{first} is not supported yet", position=offset + 1)
    raise SyntaxErr(f'syntax error at or near "{tokens[0].text}"', position=offset + 1)


def _refuse_unknown_calls(tokens: list[Token], offset: int) -> None:
    """A query sqlglot cannot parse because it takes a name for its own function (``glob('*')`` is DuckDB's
    GLOB operator): PostgreSQL would have parsed it and found no such function, so say that."""
    for tok, following in zip(tokens, tokens[1:], strict=False):
        name = tok.text.lower()
        if (following.token_type == TokenType.L_PAREN and tok.token_type in _NAME_TOKENS
                and tok.text.upper() in _SQLGLOT_FUNCTIONS and not is_callable(name)):
            raise SqlError(
                f"function {name} does not exist", sqlstate="42883", position=offset + tok.start + 1,
                hint="No function matches the given name and argument types. You might need to add explicit type casts.",
            )


_SQLGLOT_FUNCTIONS = frozenset(CATALOG_POSTGRES.parser_class.FUNCTIONS) | frozenset(
    CATALOG_POSTGRES.parser_class.FUNCTION_PARSERS
)
_NAME_TOKENS = frozenset({TokenType.VAR, TokenType.GLOB, TokenType.IDENTIFIER}) | frozenset(
    CATALOG_POSTGRES.parser_class.FUNC_TOKENS
)


def _declare(text: str, offset: int, tokens: list[Token]) -> Statement:
    """``DECLARE name [BINARY] [NO SCROLL] CURSOR [WITH|WITHOUT HOLD] FOR query``: the query is parsed."""
    words = tuple(t.text for t in tokens)
    upper = [w.upper() for w in words]
    if "FOR" not in upper or "CURSOR" not in upper or len(tokens) < 5:
        raise SyntaxErr("syntax error at end of input", position=offset + len(text) + 1)
    i = upper.index("FOR", upper.index("CURSOR"))
    if i + 1 >= len(tokens):
        raise SyntaxErr("syntax error at end of input", position=offset + len(text) + 1)
    start = tokens[i + 1].start - tokens[0].start
    inner = _classify(text[start:], offset + start, tokens[i + 1 :])
    if inner.kind is not Kind.QUERY:
        raise SyntaxErr(f'syntax error at or near "{tokens[i + 1].text}"', position=offset + start + 1)
    return Statement(Kind.DECLARE, text, offset, words, inner.ast, ast_offset=inner.ast_offset)


def _copy(text: str, offset: int, tokens: list[Token]) -> Statement:
    """``COPY (query) TO STDOUT [options]`` is a query streamed as COPY data; COPY FROM is refused."""
    words = tuple(t.text for t in tokens)
    upper = [w.upper() for w in words]
    if len(tokens) < 2 or tokens[1].token_type != TokenType.L_PAREN:
        if "FROM" in upper:
            raise InsufficientPrivilege("COPY FROM is not allowed: lens data is read-only", position=offset + 1)
        raise FeatureNotSupported(
            "COPY of a table is not supported", hint="use COPY (SELECT ...) TO STDOUT", position=offset + 1
        )
    depth, close = 0, -1
    for j in range(1, len(tokens)):
        if tokens[j].token_type == TokenType.L_PAREN:
            depth += 1
        elif tokens[j].token_type == TokenType.R_PAREN:
            depth -= 1
            if depth == 0:
                close = j
                break
    if close < 0 or close == 2:
        raise SyntaxErr("syntax error at end of input", position=offset + len(text) + 1)
    rest = upper[close + 1 :]
    if rest[:1] == ["FROM"]:
        raise InsufficientPrivilege("COPY FROM is not allowed: lens data is read-only", position=offset + 1)
    if rest[:2] != ["TO", "STDOUT"]:
        raise FeatureNotSupported(
            "COPY TO a file is not supported", hint="use COPY ... TO STDOUT (psql: \\copy)", position=offset + 1
        )
    start = tokens[2].start - tokens[0].start
    end = tokens[close - 1].end + 1 - tokens[0].start
    inner = _classify(text[start:end], offset + start, tokens[2:close])
    if inner.kind is not Kind.QUERY:
        raise SyntaxErr(f'syntax error at or near "{tokens[2].text}"', position=offset + start + 1)
    return Statement(Kind.COPY, text, offset, words, inner.ast, ast_offset=inner.ast_offset)


def _explain(text: str, offset: int, tokens: list[Token]) -> Statement:
    i, analyze = 1, False
    while i < len(tokens) and tokens[i].text.upper() in ("ANALYZE", "ANALYSE", "VERBOSE"):
        analyze = analyze or tokens[i].text.upper() != "VERBOSE"
        i += 1
    if i < len(tokens) and tokens[i].token_type == TokenType.L_PAREN:  # EXPLAIN (ANALYZE, FORMAT TEXT) ...
        depth = 0
        for j in range(i, len(tokens)):
            if tokens[j].token_type == TokenType.L_PAREN:
                depth += 1
            elif tokens[j].token_type == TokenType.R_PAREN:
                depth -= 1
                if depth == 0:
                    analyze = analyze or any(t.text.upper() in ("ANALYZE", "ANALYSE") for t in tokens[i:j])
                    i = j + 1
                    break
    if i >= len(tokens):
        raise SyntaxErr("syntax error at end of input", position=offset + len(text) + 1)
    start = tokens[i].start - tokens[0].start
    inner = _classify(text[start:], offset + start, tokens[i:])
    if inner.kind is not Kind.QUERY:
        raise FeatureNotSupported("EXPLAIN is supported for queries only", position=offset + start + 1)
    words = tuple(t.text for t in tokens)
    return Statement(Kind.EXPLAIN, text, offset, words, inner.ast, analyze, ast_offset=inner.ast_offset)


def parse_query(text: str, offset: int = 0) -> exp.Expression:
    """Parse one query in the Postgres dialect; syntax errors carry the position in the client's message."""
    try:
        ast = sqlglot.parse_one(text, read=CATALOG_POSTGRES)
    except ParseError as e:
        err = e.errors[0] if e.errors else {}
        raise SyntaxErr(
            _syntax_message(err), position=offset + _char_position(text, err.get("line"), err.get("col"), err.get("highlight"))
        ) from None
    except TokenError as e:
        raise SyntaxErr(f"syntax error: {e}", position=offset + len(text)) from None
    if isinstance(ast, exp.Values):  # a bare VALUES list is a query; Postgres names its columns column1, …
        width = len(ast.expressions[0].expressions) if ast.expressions and isinstance(ast.expressions[0], exp.Tuple) else 1
        alias = exp.TableAlias(this=exp.to_identifier("*VALUES*"),
                               columns=[exp.to_identifier(f"column{i + 1}") for i in range(width)])
        ast = exp.select("*").from_(exp.Subquery(this=ast, alias=alias))
    if not isinstance(ast, exp.Query):
        kind = type(ast).__name__.upper()
        raise ReadOnlyTransaction(f"cannot execute {kind} in a read-only transaction", position=offset + 1)
    _refuse_writes(ast, offset)
    return ast


def _refuse_writes(ast: exp.Expression, offset: int) -> None:
    for node in ast.find_all(exp.Insert, exp.Update, exp.Delete, exp.Merge, exp.Create, exp.Drop):
        raise ReadOnlyTransaction(
            f"cannot execute {type(node).__name__.upper()} in a read-only transaction", position=offset + 1
        )
    if any(select.args.get("locks") for select in ast.find_all(exp.Select)):
        raise ReadOnlyTransaction("cannot execute SELECT FOR UPDATE/SHARE in a read-only transaction", position=offset + 1)
    if ast.find(exp.Into) is not None:
        raise ReadOnlyTransaction("cannot execute SELECT INTO in a read-only transaction", position=offset + 1)


def _syntax_message(err: dict) -> str:
    highlight = err.get("highlight")
    if highlight:
        return f'syntax error at or near "{highlight}"'
    return "syntax error at end of input"


def _char_position(text: str, line: int | None, col: int | None, highlight: str | None) -> int:
    """1-based character offset from sqlglot's (line, col) of the offending token's end."""
    if not line or not col:
        return len(text) + 1
    lines = text.split("\n")
    before = sum(len(x) + 1 for x in lines[: line - 1])
    return max(1, min(before + col - len(highlight or " ") + 1, len(text) + 1))


def statement_error(err: SqlError, statement: Statement) -> SqlError:
    """Shift a rewriter error's position from query-relative to message-relative."""
    if err.position is not None and not getattr(err, "position_absolute", False):
        err.position += statement.ast_offset
        err.position_absolute = True  # type: ignore[attr-defined]
    return err
