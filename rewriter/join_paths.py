"""Which relationships connect a query's entities: one rule over the lens's relationship graph.

When a client names entities without saying how to join them (``FROM a, b, c``, ``CROSS JOIN``), the lens
decides, and the answer must not depend on the order the client listed them in. The rule:

1. **Fewest joins**: the smallest set of relationships connecting every entity (a Steiner tree over the
   relationship graph; entities already joined by the client's own ``JOIN … ON`` count as one).
2. Among those, **the fewest joins that can multiply rows**: a ``1:1`` relationship never repeats a row; a
   ``1:N``/``N:1`` one (or any with an extra ``sql_snippet`` condition) can.
3. Among those, **declaration order**: the relationships declared first in the lens.

When step 3 had to choose (several trees equally good by 1 and 2, which may give different answers), the
choice is reported (a NOTICE to the client, a line in EXPLAIN) with the alternatives and how to pick one
explicitly (``JOIN … ON``).

Trees are searched exactly among the relationships that lie on a shortest path between two of the groups to
connect (that holds every minimal tree of the graphs lenses have in practice; the search stays small).
"""

from __future__ import annotations

import itertools
from collections import deque
from dataclasses import dataclass

from rewriter.errors import SqlError
from rewriter.lens import Lens, Relationship

RULE = "fewest joins, then fewest joins that can multiply rows, then the relationships declared first"
_MAX_SEARCH_EDGES = 24


@dataclass(frozen=True, slots=True)
class Edge:
    """A declared relationship as an edge of the graph: ``source`` declares it, towards ``target``."""

    index: int  # declaration order in the lens
    source: str  # lower-case entity names
    target: str
    relationship: Relationship

    @property
    def multiplies(self) -> bool:
        return self.relationship.kind != "1:1" or self.relationship.extra_condition is not None

    def describe(self) -> str:
        r = self.relationship
        return f"{self.source} {r.kind} {self.target} ({self.source}.{r.field} = {self.target}.{r.target_field})"


@dataclass(frozen=True, slots=True)
class Connection:
    """The chosen edges, and the equally good alternatives step 3 decided between (empty: no choice)."""

    edges: tuple[Edge, ...]
    alternatives: tuple[tuple[Edge, ...], ...] = ()

    def notice(self, entities: list[str]) -> tuple[str, str] | None:
        """(message, hint) a client gets when step 3 chose; entities sorted, so FROM order changes nothing."""
        if not self.alternatives:
            return None
        names = sorted({e.lower() for e in entities})
        chosen = "; ".join(e.describe() for e in self.edges)
        others = " | ".join("; ".join(e.describe() for e in alt) for alt in self.alternatives)
        return (
            f"{', '.join(names)} can be joined in {len(self.alternatives) + 1} equally short ways; joined by {chosen} "
            f"(declared first); not by {others}",
            "to join them another way, write JOIN … ON with that relationship's fields",
        )


def graph_edges(lens: Lens) -> list[Edge]:
    return [
        Edge(i, source.lower(), rel.target.lower(), rel)
        for i, (source, rel) in enumerate((e.name, r) for e in lens.entities for r in e.relationships)
    ]


def connect(lens: Lens, groups: list[frozenset[str]]) -> Connection:
    """The relationships connecting ``groups`` (each a set of lower-case entity names already joined
    together), chosen by the rule. Raises 42P10 when no path exists."""
    if len(groups) <= 1:
        return Connection(())
    vertex = _contraction(groups)
    edges = [e for e in graph_edges(lens) if e.source != e.target and vertex(e.source) != vertex(e.target)]
    distances = [_distances(edges, vertex, g) for g in range(len(groups))]
    for i in range(1, len(groups)):
        if _group(i) not in distances[0]:
            raise _no_path(lens, groups[0], groups[i])
    useful = [e for e in edges if _on_a_shortest_path(e, vertex, distances, len(groups))]
    if len(useful) > _MAX_SEARCH_EDGES:
        return Connection(_greedy(useful, vertex, len(groups)))
    for size in range(len(groups) - 1, len(useful) + 1):
        trees = [combo for combo in itertools.combinations(useful, size) if _spans(combo, vertex, len(groups))]
        if trees:
            return _choose(trees)
    raise _no_path(lens, groups[0], groups[-1])  # unreachable: the shortest paths themselves connect


def _group(i: int) -> tuple[str, object]:
    return ("group", i)


def _contraction(groups: list[frozenset[str]]):
    """Vertex of an entity: its group's when the client already joined it, else its own."""
    owner: dict[str, tuple[str, object]] = {}
    for i, group in enumerate(groups):
        for entity in group:
            if entity in owner:
                raise SqlError(
                    f"entity {entity} appears twice; join it with an explicit ON condition",
                    sqlstate="42P10",
                    hint="a second instance of an entity needs its own JOIN … ON",
                )
            owner[entity] = _group(i)
    return lambda entity: owner.get(entity, ("entity", entity))


def _distances(edges: list[Edge], vertex, group: int) -> dict[tuple, int]:
    adjacency: dict[tuple, list[tuple]] = {}
    for e in edges:
        a, b = vertex(e.source), vertex(e.target)
        adjacency.setdefault(a, []).append(b)
        adjacency.setdefault(b, []).append(a)
    start = _group(group)
    dist = {start: 0}
    queue = deque([start])
    while queue:
        v = queue.popleft()
        for w in adjacency.get(v, []):
            if w not in dist:
                dist[w] = dist[v] + 1
                queue.append(w)
    return dist


def _on_a_shortest_path(edge: Edge, vertex, distances: list[dict[tuple, int]], n: int) -> bool:
    a, b = vertex(edge.source), vertex(edge.target)
    for i in range(n):
        for j in range(i + 1, n):
            di, dj, goal = distances[i], distances[j], _group(j)
            if goal not in di:
                continue
            for x, y in ((a, b), (b, a)):
                if x in di and y in dj and di[x] + 1 + dj[y] == di[goal]:
                    return True
    return False


def _spans(combo: tuple[Edge, ...], vertex, n: int) -> bool:
    """Acyclic and connecting every group (over the contracted graph)."""
    parent: dict[tuple, tuple] = {}

    def find(v: tuple) -> tuple:
        while parent.get(v, v) != v:
            v = parent[v]
        return v

    for e in combo:
        a, b = find(vertex(e.source)), find(vertex(e.target))
        if a == b:
            return False
        parent[a] = b
    root = find(_group(0))
    return all(find(_group(i)) == root for i in range(1, n))


def _choose(trees: list[tuple[Edge, ...]]) -> Connection:
    def quality(tree: tuple[Edge, ...]) -> int:
        return sum(e.multiplies for e in tree)

    def key(tree: tuple[Edge, ...]) -> tuple:
        return (quality(tree), sorted(e.index for e in tree))

    ordered = sorted(trees, key=key)
    best = ordered[0]
    alternatives = tuple(t for t in ordered[1:] if quality(t) == quality(best))
    return Connection(tuple(sorted(best, key=lambda e: e.index)), alternatives)


def _greedy(edges: list[Edge], vertex, n: int) -> tuple[Edge, ...]:
    """Very large graphs: grow from group 0, adding the next group by the shortest path, groups and edges
    taken in a fixed order (still independent of FROM order, though not always the smallest tree)."""
    chosen: list[Edge] = []
    connected = {_group(0)}
    for _ in range(1, n):
        frontier = deque((v, ()) for v in sorted(connected, key=str))
        seen = set(connected)
        found = None
        while frontier and found is None:
            v, path = frontier.popleft()
            for e in sorted(edges, key=lambda e: e.index):
                a, b = vertex(e.source), vertex(e.target)
                w = b if a == v else a if b == v else None
                if w is None or w in seen:
                    continue
                seen.add(w)
                if w[0] == "group":
                    found = (*path, e)
                    break
                frontier.append((w, (*path, e)))
        assert found is not None
        chosen.extend(found)
        for e in found:
            connected |= {vertex(e.source), vertex(e.target)}
    return tuple(chosen)


def _no_path(lens: Lens, first: frozenset[str], other: frozenset[str]) -> SqlError:
    rels = "; ".join(e.describe() for e in graph_edges(lens))
    return SqlError(
        f"no relationship path between {', '.join(sorted(other))} and {', '.join(sorted(first))}",
        sqlstate="42P10",
        hint=f"the lens declares: {rels or 'no relationships'}",
    )
