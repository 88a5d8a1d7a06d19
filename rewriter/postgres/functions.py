"""Function results with PostgreSQL's types.

Functions PostgreSQL types ``int4`` (``length``, ``position``/``strpos``, ``array_length``, ``ntile``,
``grouping``, ``date - date``) are cast to INT, a no-op where the engine agrees. ``date_trunc`` of a date
truncates a ``timestamptz`` (PostgreSQL casts the date), so the cast is made explicit. ``extract`` is numeric
and ``date_part`` float8: the nodes are left as they are (their ``pg_name`` says which was written) for the
renderer; a float cast to text and ``round`` of a float are marked for it (``pg_float_text``,
``pg_float_round``: PostgreSQL prints ``1``, not ``1.0``, and rounds half to even).
"""

from __future__ import annotations

from sqlglot import exp

from rewriter.postgres.types import is_float

_T = exp.DataType.Type
_INT4_FUNCTIONS = (exp.Length, exp.StrPosition, exp.ArraySize, exp.Grouping)


def _as_int4(node: exp.Expression) -> exp.Expression:
    out = exp.Cast(this=node, to=exp.DataType.build("INT"))
    out.type = out.to
    return out


def int4_results(node: exp.Expression) -> exp.Expression:
    if isinstance(node, _INT4_FUNCTIONS) and not isinstance(node.parent, exp.Cast):
        return _as_int4(node)
    if isinstance(node, exp.Anonymous) and node.name.lower() in ("octet_length", "char_length", "array_length"):
        return _as_int4(node)
    if isinstance(node, exp.Window) and isinstance(node.this, exp.Anonymous | exp.Ntile) and (
        node.this.name.lower() == "ntile" or isinstance(node.this, exp.Ntile)
    ):
        return _as_int4(node)
    if isinstance(node, exp.Sub) and node.this.type is not None and node.this.is_type(_T.DATE) and \
            node.expression.type is not None and node.expression.is_type(_T.DATE):
        return _as_int4(node)
    return node


def date_trunc_of_date(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.TimestampTrunc | exp.DateTrunc) and node.this.type is not None and node.this.is_type(_T.DATE):
        node.set("this", exp.Cast(this=node.this, to=exp.DataType.build("TIMESTAMPTZ")))
        node.type = exp.DataType.build("TIMESTAMPTZ")
    return node


def float_marks(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.Cast) and isinstance(node.to, exp.DataType) and \
            node.to.is_type(_T.TEXT, _T.VARCHAR) and is_float(node.this):
        node.meta["pg_float_text"] = True
    if isinstance(node, exp.Round) and is_float(node.this) and node.args.get("decimals") is None:
        node.meta["pg_float_round"] = True
    if isinstance(node, exp.TimeToStr) and node.this.type is not None and \
            node.this.is_type(_T.INT, _T.BIGINT, _T.SMALLINT, _T.DECIMAL, _T.DOUBLE, _T.FLOAT):
        node.meta["pg_to_char_number"] = True
    if isinstance(node, exp.Extract) and node.expression.type is not None and node.expression.is_type(_T.DATE):
        node.meta["pg_date_input"] = True
    return node
