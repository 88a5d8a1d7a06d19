"""Apply a node rule to every node of a tree, children before parents, each node once."""

from __future__ import annotations

from collections.abc import Callable

from sqlglot import exp


def bottom_up(tree: exp.Expression, fn: Callable[[exp.Expression], exp.Expression]) -> exp.Expression:
    """Replace each node by ``fn(node)`` in place (a rule may wrap the node it is given); the new root.

    sqlglot's ``transform`` visits parents first and then the children of what a rule returned, so a rule
    that wraps its node (``CAST(sum(x) AS BIGINT)``) would meet that node again; here each node is visited
    once, after its children.
    """
    for node in reversed(list(tree.walk())):
        parent, key, index = node.parent, node.arg_key, node.index  # before fn may re-parent the node
        new = fn(node)
        if new is not node:
            if parent is None:
                tree = new
            else:
                parent.set(key, new, index)
    return tree
