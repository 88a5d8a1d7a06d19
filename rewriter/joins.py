"""Join trees: how the entities of one SELECT are joined, along the lens's declared relationships.

Entities named together (``FROM a, b``, ``CROSS JOIN``, ``JOIN`` without ON) are connected by the shortest
path in the relationship graph, through intermediate entities where needed; ties go to the relationship
declared first (lens order), so the choice is deterministic. An explicit ``JOIN … ON`` whose condition is a
declared relationship is that relationship with the user's join type; any other ON is kept as written.

The tree is rooted at an entity that no other entity of the tree declares a relationship to (the "one"
side), so relationship joins come out as LEFT joins from the declaring entity, as in Lens and Cube: a
customer with no orders is still a customer. An edge walked against its declaration is a RIGHT join, which
keeps the declaring side's rows in that case too.

``multiplies`` says whether the joins around an entity can repeat its rows (crossing a ``1:N`` edge from
the "1" side): that is what decides how ``rewriter.plan`` aggregates that entity's measures.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlglot import exp

from rewriter.errors import SqlError
from rewriter.lens import Lens, Relationship


@dataclass(eq=False)
class JoinNode:
    """One entity instance in the tree. ``alias`` is the SQL alias of its row source."""

    alias: str
    entity: str
    user: bool  # named by the client (False: an intermediate entity on a path)
    parent: JoinNode | None = None
    relationship: Relationship | None = None  # the edge to the parent
    forward: bool = True  # True: the parent declares the relationship
    side: str | None = None  # explicit join side/kind from the client: "LEFT", "RIGHT", "FULL", "INNER"
    condition: exp.Expression | None = None  # a client ON that matches no relationship
    children: list[JoinNode] = field(default_factory=list)

    def __repr__(self) -> str:
        return f"JoinNode({self.alias}:{self.entity})"


def relationships_in_order(lens: Lens) -> list[tuple[str, Relationship]]:
    """Every relationship with its declaring entity, in declaration (lens) order."""
    return [(e.name, r) for e in lens.entities for r in e.relationships]


def _neighbours(lens: Lens) -> dict[str, list[tuple[str, Relationship, bool]]]:
    graph: dict[str, list[tuple[str, Relationship, bool]]] = {e.name.lower(): [] for e in lens.entities}
    for source, rel in relationships_in_order(lens):
        graph.setdefault(source.lower(), []).append((rel.target, rel, True))
        graph.setdefault(rel.target.lower(), []).append((source, rel, False))
    return graph


def shortest_path(lens: Lens, starts: list[str], goal: str) -> list[tuple[str, str, Relationship, bool]]:
    """Shortest path from any of ``starts`` (in order) to ``goal``: [(from, to, relationship, forward)]."""
    graph = _neighbours(lens)
    goal_key = goal.lower()
    queue: deque[str] = deque()
    came_from: dict[str, tuple[str, Relationship, bool] | None] = {}
    for s in starts:
        if s.lower() not in came_from:
            came_from[s.lower()] = None
            queue.append(s.lower())
    while queue:
        node = queue.popleft()
        if node == goal_key:
            break
        for neighbour, rel, forward in graph.get(node, []):
            key = neighbour.lower()
            if key not in came_from:
                came_from[key] = (node, rel, forward)
                queue.append(key)
    if goal_key not in came_from:
        names = ", ".join(sorted({s for s in starts}))
        rels = "; ".join(
            f"{src} {r.kind} {r.target} ({src}.{r.field} = {r.target}.{r.target_field})"
            for src, r in relationships_in_order(lens)
        )
        raise SqlError(
            f"no relationship path between {goal} and {names}",
            sqlstate="42P10",
            hint=f"the lens declares: {rels or 'no relationships'}",
        )
    path = []
    key = goal_key
    while came_from[key] is not None:
        prev, rel, forward = came_from[key]  # type: ignore[misc]
        path.append((prev, key, rel, forward))
        key = prev
    path.reverse()
    return path


def multiplies(rel: Relationship, forward: bool) -> bool:
    """Does walking this edge (forward = from its declaring side) repeat the rows we come from?

    An extra join condition (``and ${a.ts} < ${b.ts}``) can match any number of rows whatever the declared
    kind, so such an edge is treated as multiplying both ways: the keys path is exact either way.
    """
    if rel.extra_condition is not None:
        return True
    kind = rel.kind.upper()
    return kind == "1:N" if forward else kind == "N:1"


class JoinTree:
    def __init__(self, nodes: list[JoinNode]) -> None:
        self.nodes = nodes

    @property
    def root(self) -> JoinNode:
        return next(n for n in self.nodes if n.parent is None)

    def node(self, alias: str) -> JoinNode:
        for n in self.nodes:
            if n.alias.lower() == alias.lower():
                return n
        raise KeyError(alias)

    def neighbours(self, node: JoinNode) -> Iterable[tuple[JoinNode, Relationship | None, bool]]:
        """(neighbour, relationship, walking-forward) for every edge at ``node``."""
        if node.parent is not None:
            yield node.parent, node.relationship, not node.forward
        for child in node.children:
            yield child, child.relationship, child.forward

    def subtree(self, needed: set[str]) -> list[JoinNode]:
        """The smallest connected set of nodes holding every alias in ``needed`` (lower-case)."""
        keep: set[int] = set()
        for n in self.nodes:
            if n.alias.lower() in needed:
                cur: JoinNode | None = n
                while cur is not None and id(cur) not in keep:
                    keep.add(id(cur))
                    cur = cur.parent
        # trim the chain above the lowest common ancestor
        top = self.root
        while top.alias.lower() not in needed:
            kept_children = [c for c in top.children if id(c) in keep]
            if len(kept_children) != 1:
                break
            keep.discard(id(top))
            top = kept_children[0]
        return [n for n in self.nodes if id(n) in keep]

    def multiplied(self, alias: str, subset: list[JoinNode]) -> bool:
        """Can the joins among ``subset`` repeat the rows of ``alias``?"""
        allowed = {id(n) for n in subset}
        start = self.node(alias)
        seen = {id(start)}
        stack = [start]
        while stack:
            node = stack.pop()
            for neighbour, rel, forward in self.neighbours(node):
                if id(neighbour) not in allowed or id(neighbour) in seen:
                    continue
                if rel is None or multiplies(rel, forward):
                    return True  # a custom ON can repeat rows too
                seen.add(id(neighbour))
                stack.append(neighbour)
        return False

    def render(
        self,
        subset: list[JoinNode],
        source: Callable[[JoinNode], exp.Expression],
        condition: Callable[[JoinNode], exp.Expression],
    ) -> tuple[exp.Expression, list[exp.Join]]:
        """FROM and JOIN clauses for ``subset`` (rooted at its top node, children in tree order)."""
        allowed = {id(n) for n in subset}
        top = next(n for n in self.nodes if id(n) in allowed and (n.parent is None or id(n.parent) not in allowed))
        joins: list[exp.Join] = []
        queue = deque([top])
        while queue:
            node = queue.popleft()
            for child in node.children:
                if id(child) not in allowed:
                    continue
                side = child.side or ("LEFT" if child.forward else "RIGHT")
                args: dict[str, object] = {"this": source(child), "on": condition(child)}
                if side in ("LEFT", "RIGHT", "FULL"):
                    args["side"] = side
                elif side == "INNER":
                    args["kind"] = "INNER"
                joins.append(exp.Join(**args))
                queue.append(child)
        return source(top), joins

    def describe(self) -> list[str]:
        """Human-readable joins, for EXPLAIN."""
        lines = []
        for n in self.nodes:
            if n.parent is None:
                continue
            side = n.side or ("LEFT" if n.forward else "RIGHT")
            if n.relationship is not None:
                r = n.relationship
                decl = n.parent.entity if n.forward else n.entity
                lines.append(f"{side} JOIN {n.alias} ({n.entity}) via {decl} {r.kind} {r.target} on {r.field} = {r.target_field}")
            else:
                lines.append(f"{side} JOIN {n.alias} ({n.entity}) on the query's own condition")
        return lines


def build_tree(
    lens: Lens,
    user: list[tuple[str, str]],
    explicit: dict[str, tuple[str | None, JoinNode | None, Relationship | None, bool, exp.Expression | None]],
    fresh_alias: Callable[[str], str],
) -> JoinTree:
    """Connect the client's entities (``user``: [(alias, entity)] in FROM order).

    ``explicit`` maps an alias to what its explicit JOIN said: (side, partner node placeholder, matched
    relationship, forward, unmatched ON condition). Entities without an explicit ON are connected along
    the shortest relationship path to the entities already placed.
    """
    nodes: list[JoinNode] = []
    by_alias: dict[str, JoinNode] = {}
    first_alias, first_entity = user[0]
    root = JoinNode(first_alias, first_entity, True)
    nodes.append(root)
    by_alias[first_alias.lower()] = root
    for alias, entity in user[1:]:
        spec = explicit.get(alias.lower())
        node = JoinNode(alias, entity, True)
        if spec is not None and (spec[2] is not None or spec[4] is not None):
            side, partner, rel, forward, cond = spec
            assert partner is not None
            node.parent = by_alias[partner.alias.lower()]
            node.relationship, node.forward, node.side, node.condition = rel, forward, side, cond
            node.parent.children.append(node)
            nodes.append(node)
            by_alias[alias.lower()] = node
            continue
        side = spec[0] if spec is not None else None
        placed = [n.entity for n in nodes]
        path = shortest_path(lens, placed, entity)
        if not path:  # the same entity twice without a condition: a self-join needs an ON
            raise SqlError(
                f"entity {entity} appears twice; join it with an explicit ON condition",
                sqlstate="42P10",
            )
        parent = next(n for n in nodes if n.entity.lower() == path[0][0])
        for i, (_, to, rel, forward) in enumerate(path):
            last = i == len(path) - 1
            child = node if last else JoinNode(fresh_alias(to), lens.entity(to).name, False)  # type: ignore[union-attr]
            child.parent, child.relationship, child.forward = parent, rel, forward
            if last and side is not None:
                child.side = side
            parent.children.append(child)
            nodes.append(child)
            by_alias[child.alias.lower()] = child
            parent = child
    tree = JoinTree(nodes)
    if not explicit:
        _reroot(tree)
    return tree


def _reroot(tree: JoinTree) -> None:
    """Root the tree at a node no tree edge points into, so relationship joins are LEFT joins."""
    def incoming(n: JoinNode) -> bool:
        return any(not fwd for _, _, fwd in tree.neighbours(n))

    candidates = [n for n in tree.nodes if not incoming(n)]
    if not candidates or candidates[0] is tree.root:
        return
    new_root = candidates[0]
    # reverse the parent links on the path from new_root up to the old root
    path = []
    cur: JoinNode | None = new_root
    while cur is not None:
        path.append(cur)
        cur = cur.parent
    for child, parent in zip(path, path[1:], strict=False):
        parent.children.remove(child)
        child.children.append(parent)
    for i in range(len(path) - 1, 0, -1):
        upper, lower = path[i], path[i - 1]
        upper.parent, upper.relationship, upper.forward = lower, lower.relationship, not lower.forward
    new_root.parent, new_root.relationship = None, None
    # keep node order root-first, then breadth-first, so rendering stays deterministic
    ordered: list[JoinNode] = []
    queue = deque([new_root])
    while queue:
        n = queue.popleft()
        ordered.append(n)
        queue.extend(n.children)
    tree.nodes[:] = ordered
