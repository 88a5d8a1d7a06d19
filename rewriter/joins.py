"""Join trees: how the entities of one SELECT are joined, along the lens's declared relationships.

The client's explicit joins come first: a ``JOIN … ON`` whose condition contains a declared relationship
(``x.f = y.g``) is that relationship with the client's join type (its other conjuncts stay on that join);
any other ON is kept as written. Entities named without a condition (``FROM a, b``, ``CROSS JOIN``, or an ON
naming only the joined entity) are connected by ``rewriter.join_paths``'s rule over the relationship graph,
through intermediate entities where needed, so the tree does not depend on the order of FROM.

Without explicit joins the tree is rooted at an entity no tree edge points into (the "one" side), so
relationship joins come out as LEFT joins from the declaring entity, as in Lens and Cube: a customer with no
orders is still a customer. An edge walked against its declaration is a RIGHT join, which keeps the
declaring side's rows in that case too. With explicit joins the tree is rooted at the first entity of FROM.

``multiplies`` says whether the joins around an entity can repeat its rows (crossing a ``1:N`` edge from
the "1" side): that is what decides how ``rewriter.plan`` aggregates that entity's measures.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlglot import exp

from rewriter.join_paths import RULE, Connection, connect
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
    on: exp.Join | None = None  # the client's JOIN whose ON (rewritten in place) holds this edge's condition
    keep: tuple[int, ...] | None = None  # conjuncts of that ON for this edge (None: all of it)
    children: list[JoinNode] = field(default_factory=list)
    position: int = 0  # order in the client's FROM (intermediate entities: after every client entity)

    def __repr__(self) -> str:
        return f"JoinNode({self.alias}:{self.entity})"


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
        self.nodes = nodes  # in render order: every node after its parent
        self.connection: Connection = Connection(())
        self.notice: tuple[str, str] | None = None  # (message, hint): the rule chose between equally good trees

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
        ordered = [n for n in self.nodes if id(n) in allowed]  # self.nodes is in render order
        top = ordered[0]
        joins: list[exp.Join] = []
        for child in ordered[1:]:
            side = child.side or ("LEFT" if child.forward else "RIGHT")
            args: dict[str, object] = {"this": source(child), "on": condition(child)}
            if side in ("LEFT", "RIGHT", "FULL"):
                args["side"] = side
            elif side == "INNER":
                args["kind"] = "INNER"
            joins.append(exp.Join(**args))
        return source(top), joins

    def describe(self) -> list[str]:
        """Human-readable joins, for EXPLAIN: the tree, the rule that chose it, the alternatives."""
        lines = []
        if self.connection.edges:
            lines.append(f"join tree chosen by the lens (rule: {RULE})")
        if self.notice:
            lines.append(f"NOTICE: {self.notice[0]}")
        for n in self.nodes:
            if n.parent is None:
                continue
            side = n.side or ("LEFT" if n.forward else "RIGHT")
            if n.relationship is not None:
                r = n.relationship
                decl = n.parent.entity if n.forward else n.entity
                extra = " and the query's own condition" if n.on is not None else ""
                lines.append(f"{side} JOIN {n.alias} ({n.entity}) via {decl} {r.kind} {r.target} on {r.field} = {r.target_field}{extra}")
            else:
                lines.append(f"{side} JOIN {n.alias} ({n.entity}) on the query's own condition")
        return lines


@dataclass
class JoinSpec:
    """What the client's FROM said about one entity (by alias)."""

    side: str | None = None  # LEFT/RIGHT/FULL/INNER as written; None for a comma or CROSS JOIN
    partner: str | None = None  # alias of an earlier entity the ON joins it to (None: the lens connects it)
    relationship: Relationship | None = None  # the declared relationship the ON spells, if any
    forward: bool = True  # True: the partner declares the relationship
    on: exp.Join | None = None  # the JOIN holding the ON, read at render time (it is rewritten in place)
    keep: tuple[int, ...] | None = None  # conjuncts of the ON that belong to this edge (None: all)


def conjuncts(node: exp.Expression | None) -> list[exp.Expression]:
    """``a AND (b AND c)`` → [a, b, c]; parentheses around the whole are looked through."""
    if node is None:
        return []
    while isinstance(node, exp.Paren):
        node = node.this
    if isinstance(node, exp.And):
        return conjuncts(node.this) + conjuncts(node.expression)
    return [node]


def build_tree(
    lens: Lens,
    user: list[tuple[str, str]],
    specs: dict[str, JoinSpec],
    fresh_alias: Callable[[str], str],
) -> JoinTree:
    """Connect the client's entities (``user``: [(alias, entity)] in FROM order): explicit edges from
    ``specs`` (by lower-case alias), the lens's rule for the rest."""
    nodes = [JoinNode(alias, entity, True, position=i) for i, (alias, entity) in enumerate(user)]
    by_alias = {n.alias.lower(): n for n in nodes}
    links: list[tuple[JoinNode, JoinNode, Relationship | None, bool, JoinSpec | None]] = []  # (a, b, rel, a declares)
    for node in nodes[1:]:
        spec = specs.get(node.alias.lower())
        if spec is not None and spec.partner is not None:
            links.append((by_alias[spec.partner.lower()], node, spec.relationship, spec.forward, spec))
    groups = _components(nodes, links)
    connection = connect(lens, [frozenset(n.entity.lower() for n in g) for g in groups])
    intermediates: dict[str, JoinNode] = {}

    def endpoint(entity: str) -> JoinNode:
        for group in groups:
            for n in group:
                if n.entity.lower() == entity:
                    return n
        if entity not in intermediates:
            real = lens.entity(entity)
            assert real is not None
            intermediates[entity] = JoinNode(fresh_alias(real.name), real.name, False, position=len(user) + len(intermediates))
        return intermediates[entity]

    for edge in connection.edges:
        links.append((endpoint(edge.source), endpoint(edge.target), edge.relationship, True, None))
    every = nodes + list(intermediates.values())
    explicit = any(spec.side is not None or spec.partner is not None or spec.on is not None for spec in specs.values())
    root = nodes[0] if explicit else _one_side(every, links, lens)
    _orient(root, every, links, specs)
    tree = JoinTree(_render_order(root))
    tree.connection = connection
    tree.notice = connection.notice([n.entity for n in nodes])
    return tree


def _components(nodes: list[JoinNode], links) -> list[list[JoinNode]]:
    """The client's entities grouped by the explicit joins between them, in FROM order."""
    group_of = {id(n): i for i, n in enumerate(nodes)}
    for a, b, *_ in links:
        ga, gb = group_of[id(a)], group_of[id(b)]
        if ga != gb:
            for k, g in group_of.items():
                if g == gb:
                    group_of[k] = ga
    out: dict[int, list[JoinNode]] = {}
    for n in nodes:
        out.setdefault(group_of[id(n)], []).append(n)
    return list(out.values())


def _one_side(nodes: list[JoinNode], links, lens: Lens) -> JoinNode:
    """The root when the lens chooses every join: an entity no relationship of the tree points into (first
    in lens declaration order, so the choice does not depend on FROM order)."""
    targets = {id(b) if declares else id(a) for a, b, rel, declares, _ in links if rel is not None}
    order = {e.name.lower(): i for i, e in enumerate(lens.entities)}
    candidates = [n for n in nodes if id(n) not in targets] or nodes
    return min(candidates, key=lambda n: (order.get(n.entity.lower(), len(order)), not n.user, n.position))


def _orient(root: JoinNode, nodes: list[JoinNode], links, specs: dict[str, JoinSpec]) -> None:
    """Hang every node from ``root``: parent, the relationship to it, and which side declares it."""
    adjacency: dict[int, list] = {id(n): [] for n in nodes}
    for a, b, rel, declares, spec in links:  # b is the entity the client's JOIN brought in (when spec)
        adjacency[id(a)].append((b, rel, declares, spec, False))
        adjacency[id(b)].append((a, rel, not declares, spec, True))
    seen = {id(root)}
    queue = deque([root])
    while queue:
        node = queue.popleft()
        for other, rel, declares, spec, against in sorted(adjacency[id(node)], key=lambda t: t[0].position):
            if id(other) in seen:
                continue
            seen.add(id(other))
            other.parent, other.relationship, other.forward = node, rel, declares
            own = specs.get(other.alias.lower()) if other.user else None
            if spec is not None:  # an explicit edge: the client's join type and ON, whichever way it hangs
                side = _FLIPPED.get(spec.side, spec.side) if against else spec.side
                other.side, other.on, other.keep = side, spec.on, spec.keep
            elif own is not None and own.partner is None:  # joined by the lens, with the client's type/filter
                other.side, other.on, other.keep = own.side, own.on, own.keep
            node.children.append(other)
            queue.append(other)


_FLIPPED = {"LEFT": "RIGHT", "RIGHT": "LEFT"}


def _render_order(root: JoinNode) -> list[JoinNode]:
    """Root first; then, among nodes whose parent is placed, intermediate entities before client ones and
    client ones in FROM order, so an ON naming earlier entities finds them already joined."""
    ordered = [root]
    available = list(root.children)
    while available:
        available.sort(key=lambda n: (n.user, n.position))
        node = available.pop(0)
        ordered.append(node)
        available.extend(node.children)
    return ordered
