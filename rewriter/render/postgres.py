"""PostgreSQL: the client's own semantics, so the tree mostly renders as it is.

What PostgreSQL refuses that the backend-neutral tree may contain:

* ``FULL JOIN … ON a IS NOT DISTINCT FROM b`` ("FULL JOIN is only supported with merge-joinable or
  hash-joinable join conditions"): the fan-out planner joins per-entity aggregates on their NULL-safe grain.
  ``ARRAY[a] = ARRAY[b]`` means the same (array equality treats NULL elements as equal) and is
  hash-joinable; unlike ``(a IS NULL) = (b IS NULL) AND coalesce(a, s) = coalesce(b, s)`` it needs no
  sentinel ``s`` of the key's type, which the tree does not know.
* ``round(double precision, n)`` does not exist in PostgreSQL (lens snippets in Trino use it): the value is
  rounded as numeric and given back as double precision, the type Trino and DuckDB return.
* An explicit integer division (``IntDiv``, the rewriter's ``int / int``) is PostgreSQL's own ``/`` on
  integers; sqlglot would write ``DIV(a, b)``, which is numeric division in PostgreSQL.
"""

from __future__ import annotations

from sqlglot import exp

from rewriter.postgres.types import is_float

DIALECT = "postgres"


def render(tree: exp.Expression) -> str:
    for rule in (_full_join_null_safe_keys, _integer_division, _round_double):
        tree = tree.transform(rule, copy=False)
    return tree.sql(dialect=DIALECT)


def _integer_division(node: exp.Expression) -> exp.Expression:
    if isinstance(node, exp.IntDiv):
        return exp.Div(this=node.this, expression=node.expression, typed=True)
    return node


def _full_join_null_safe_keys(node: exp.Expression) -> exp.Expression:
    if not (isinstance(node, exp.Join) and node.side == "FULL" and node.args.get("on") is not None):
        return node
    on = node.args["on"].transform(_hashable_null_safe_eq)
    node.set("on", on)
    return node


def _hashable_null_safe_eq(node: exp.Expression) -> exp.Expression:
    if not isinstance(node, exp.NullSafeEQ):
        return node
    return exp.EQ(this=exp.Array(expressions=[node.this]), expression=exp.Array(expressions=[node.expression]))


def _round_double(node: exp.Expression) -> exp.Expression:
    if not (isinstance(node, exp.Round) and node.args.get("decimals") is not None and _is_float(node.this)):
        return node
    rounded = exp.Round(this=exp.Cast(this=node.this, to=exp.DataType.build("NUMERIC")), decimals=node.args["decimals"])
    return exp.Cast(this=rounded, to=exp.DataType.build("DOUBLE PRECISION", dialect=DIALECT))


def _is_float(node: exp.Expression) -> bool:
    """Typed by the rewriter, or else by sqlglot's own inference over the expression (a lens snippet's
    ``cast(… as double)`` arithmetic)."""
    if node.type is not None and not node.is_type(exp.DataType.Type.UNKNOWN):
        return is_float(node)
    from sqlglot.optimizer.annotate_types import annotate_types

    return is_float(annotate_types(node.copy(), dialect=DIALECT))
