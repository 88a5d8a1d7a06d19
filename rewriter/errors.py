"""The one error type that crosses from the rewriter to the wire: it carries a SQLSTATE.

The proxy turns any ``SqlError`` into a Postgres ErrorResponse, so every user-visible failure names its
SQLSTATE, a message, and where useful a hint and a 1-based character position in the client's SQL.
"""

from __future__ import annotations


class SqlError(Exception):
    """A user-facing SQL error with a SQLSTATE (see PostgreSQL's errcodes.txt)."""

    sqlstate = "XX000"
    severity = "ERROR"

    def __init__(
        self,
        message: str,
        *,
        sqlstate: str | None = None,
        hint: str | None = None,
        detail: str | None = None,
        position: int | None = None,
        severity: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if sqlstate is not None:
            self.sqlstate = sqlstate
        if severity is not None:
            self.severity = severity
        self.hint = hint
        self.detail = detail
        self.position = position


class SyntaxErr(SqlError):
    sqlstate = "42601"


class UndefinedTable(SqlError):
    sqlstate = "42P01"


class UndefinedColumn(SqlError):
    sqlstate = "42703"


class AmbiguousColumn(SqlError):
    sqlstate = "42702"


class GroupingError(SqlError):
    sqlstate = "42803"


class UndefinedFunction(SqlError):
    sqlstate = "42883"


class FeatureNotSupported(SqlError):
    sqlstate = "0A000"


class InsufficientPrivilege(SqlError):
    sqlstate = "42501"


class ReadOnlyTransaction(SqlError):
    sqlstate = "25006"
