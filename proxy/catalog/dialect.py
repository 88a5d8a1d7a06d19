"""sqlglot's Postgres dialect, plus the catalog casts clients send that sqlglot 30 cannot parse.

``$1::oid[]`` and ``x::regtype[]`` (an object-identifier type with an array suffix, as in asyncpg's type
introspection ``WHERE t.oid = any($1::oid[])``) fail in sqlglot's parser; here they parse as arrays of
``UINT`` (an oid is an unsigned 32-bit integer: the catalog database stores OIDs as UINTEGER) and of ``TEXT``
for the reg* types. A plain ``::oid`` parses as ``UINT`` too, so ``$1::oid`` is described to the client as
oid (26) and ``$1::oid[]`` as oid[] (1028), types every driver knows without asking the catalog (asyncpg
would otherwise look up int4[] with this very query, forever).
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
                    element = "UINT" if str(parsed.this).upper() == "OID" else "TEXT"
                    return exp.DataType(this=exp.DataType.Type.ARRAY, expressions=[exp.DataType.build(element)],
                                        nested=True)
            if parsed is None:
                self._retreat(index)
            if isinstance(parsed, exp.ObjectIdentifier) and str(parsed.this).upper() == "OID":
                return exp.DataType.build("UINT")
            return parsed


DIALECT = LensPostgres
