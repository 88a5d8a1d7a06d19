"""sqlglot's Postgres dialect, plus the catalog casts clients send that sqlglot 30 cannot parse.

``$1::oid[]`` and ``x::regtype[]`` (an object-identifier type with an array suffix, as in asyncpg's type
introspection ``WHERE t.oid = any($1::oid[])``) fail in sqlglot's parser; here they parse as arrays of
``INT`` (OIDs are integers in the catalog database) and of ``TEXT`` for the reg* types. A plain ``::oid``
parses as ``INT`` too, so a ``$1::oid`` parameter is described to the client as int4 (drivers then bind ints).
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.tokens import TokenType


class LensPostgres(Postgres):
    class Parser(Postgres.Parser):
        def _parse_types(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            index = self._index
            parsed = super()._parse_types(*args, **kwargs)
            if isinstance(parsed, exp.ObjectIdentifier) and self._curr and self._curr.token_type == TokenType.L_BRACKET:
                nxt = self._next
                if nxt is not None and nxt.token_type == TokenType.R_BRACKET:
                    self._advance(2)
                    element = "INT" if str(parsed.this).upper() == "OID" else "TEXT"
                    return exp.DataType(this=exp.DataType.Type.ARRAY, expressions=[exp.DataType.build(element)],
                                        nested=True)
            if parsed is None:
                self._retreat(index)
            if isinstance(parsed, exp.ObjectIdentifier) and str(parsed.this).upper() == "OID":
                return exp.DataType.build("INT")  # an OID is an unsigned int4; typing $1::oid as int4 binds it
            return parsed


DIALECT = LensPostgres
