"""Errors the proxy reports to clients. One type, ``SqlError``, carries the SQLSTATE all the way to the wire.

The rewriter defines it (imports flow proxy -> rewriter); this module re-exports it and adds the codes only
the server side raises.
"""

from __future__ import annotations

from rewriter.errors import (  # noqa: F401  (re-exported)
    FeatureNotSupported,
    InsufficientPrivilege,
    ReadOnlyTransaction,
    SqlError,
    SyntaxErr,
)


class InvalidCatalogName(SqlError):
    sqlstate = "3D000"
    severity = "FATAL"


class ProtocolViolationError(SqlError):
    sqlstate = "08P01"


class InFailedTransaction(SqlError):
    sqlstate = "25P02"


class UndefinedObject(SqlError):
    sqlstate = "42704"


class InvalidParameterValue(SqlError):
    sqlstate = "22023"


class QueryCanceled(SqlError):
    sqlstate = "57014"


class TooManyConnections(SqlError):
    sqlstate = "53300"
    severity = "FATAL"


def internal_error(exc: BaseException) -> SqlError:
    """An unexpected exception, reported as XX000 (the traceback goes to the log, not the client)."""
    return SqlError(f"internal error: {type(exc).__name__}: {exc}", sqlstate="XX000")
