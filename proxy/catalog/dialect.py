"""sqlglot's Postgres dialect, plus the catalog casts clients send that sqlglot 30 cannot parse.

``$1::oid[]`` and ``x::regtype[]`` (an object-identifier type with an array suffix, as in asyncpg's type
introspection ``WHERE t.oid = any($1::oid[])``) fail in sqlglot's parser; here they parse as arrays of
``UINT`` (an oid is an unsigned 32-bit integer: the catalog database stores OIDs as UINTEGER) and of ``TEXT``
for the reg* types. A plain ``::oid`` parses as ``UINT`` too, so ``$1::oid`` is described to the client as
oid (26) and ``$1::oid[]`` as oid[] (1028), types every driver knows without asking the catalog (asyncpg
would otherwise look up int4[] with this very query, forever).

Every function call keeps the name the client wrote in ``meta["pg_name"]`` (sqlglot builds one node for
``ceil``/``ceiling``, ``substr``/``substring``, ``date_part``/``extract`` …, while Postgres names the result
column after the function as written), and ``to_char`` keeps its Postgres template in ``meta["pg_format"]``
(sqlglot converts it to strftime, which loses most template patterns): see ``rewriter.naming`` and
``rewriter.render.duckdb``.
"""

from __future__ import annotations

from sqlglot import exp
from sqlglot.dialects.postgres import Postgres
from sqlglot.tokens import TokenType


def _keeping_template(builder):  # type: ignore[no-untyped-def]
    """``to_char``'s builder, recording the Postgres template before sqlglot converts it to strftime."""

    def build(args, dialect=None):  # type: ignore[no-untyped-def]
        if dialect is None:
            raise TypeError("needs the dialect")  # sqlglot retries with it
        node = builder(args, dialect=dialect)
        if len(args) > 1 and isinstance(args[1], exp.Literal) and args[1].is_string:
            node.meta["pg_format"] = args[1].name
        return node

    return build


def _tagged_parser(name: str, parse):  # type: ignore[no-untyped-def]
    """A FUNCTION_PARSERS entry that records the function's name as written (``date_part``, ``floor`` …)."""

    def run(self):  # type: ignore[no-untyped-def]
        node = parse(self)
        if isinstance(node, exp.Expression):
            node.meta.setdefault("pg_name", name.lower())
        return node

    return run


class LensPostgres(Postgres):
    ORIGINAL_NAME_META_KEY = "pg_name"

    class Parser(Postgres.Parser):
        FUNCTION_PARSERS = {
            **Postgres.Parser.FUNCTION_PARSERS,
            **{n: _tagged_parser(n, Postgres.Parser.FUNCTION_PARSERS[n]) for n in ("DATE_PART", "CEIL", "FLOOR")},
        }
        FUNCTIONS = {**Postgres.Parser.FUNCTIONS, "TO_CHAR": _keeping_template(Postgres.Parser.FUNCTIONS["TO_CHAR"])}

        def _parse_types(self, *args, **kwargs):  # type: ignore[no-untyped-def]
            index = self._index
            parsed = super()._parse_types(*args, **kwargs)
            if isinstance(parsed, exp.ObjectIdentifier) and self._curr and self._curr.token_type == TokenType.L_BRACKET:
                nxt = self._next
                if nxt is not None and nxt.token_type == TokenType.R_BRACKET:
                    self._advance(2)
                    element = "UINT" if str(parsed.this).upper() == "OID" else "TEXT"
                    array = exp.DataType(this=exp.DataType.Type.ARRAY, expressions=[exp.DataType.build(element)],
                                         nested=True)
                    array.meta["reg_array"] = str(parsed.this).lower()  # x::regtype[]: names when shown
                    return array
            if parsed is None:
                self._retreat(index)
            if isinstance(parsed, exp.ObjectIdentifier) and str(parsed.this).upper() == "OID":
                return exp.DataType.build("UINT")
            return parsed


DIALECT = LensPostgres
