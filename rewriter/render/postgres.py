"""PostgreSQL: the client's own semantics, so the tree mostly renders as it is.

What PostgreSQL refuses that the backend-neutral tree may contain:

* ``FULL JOIN … ON a IS NOT DISTINCT FROM b`` ("FULL JOIN is only supported with merge-joinable or
  hash-joinable join conditions"): the fan-out planner joins per-entity aggregates on their NULL-safe grain.
  ``ARRAY[a] = ARRAY[b]`` means the same (array equality treats NULL elements as equal) and is
  hash-joinable; unlike ``(a IS NULL) = (b IS NULL) AND coalesce(a, s) = coalesce(b, s)`` it needs no
  sentinel ``s`` of the key's type, which the tree does not know.
* An explicit integer division (``IntDiv``, the rewriter's ``int / int``) is PostgreSQL's own ``/`` on
  integers; sqlglot would write ``DIV(a, b)``, which is numeric division in PostgreSQL.
"""

from __future__ import annotations

from sqlglot import exp

DIALECT = "postgres"


def render(tree: exp.Expression) -> str:
    for rule in (_full_join_null_safe_keys, _integer_division):
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
