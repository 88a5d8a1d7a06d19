"""A lens's relationships as an SVG diagram, laid out and drawn on the server (no script, nothing fetched).

Layout: entities in columns by their distance, along relationships, from the entity that declares the
most (the hub: ``customer`` in the seed), each column ordered by where its neighbours sit in the column
before (fewer crossings), unconnected groups stacked below. Each declared relationship is one edge, from
the declaring entity to its target, labelled with its kind (``1:N``); temporal (ActivitySchema)
relationships between the same two entities are one dashed edge labelled with how many there are. The
join condition of each edge is in its ``<title>`` (a tooltip) and in the table beside the diagram.

Text widths are estimated for a monospace font, which is why the diagram uses one.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from html import escape

from rewriter.lens import Lens

CHAR = 8.2  # px per character of the 13-14px monospace labels
NODE_H = 48
H_GAP = 120
V_GAP = 26
MARGIN = 24
LANE = 14  # px between parallel edges of the same two entities
ARC_BASE = 50  # how far right of its column the first arc between entities of one column reaches
ARC_STEP = 56  # ... and each next one further out, so their labels do not overlap


@dataclass(frozen=True, slots=True)
class Node:
    name: str
    subtitle: str
    x: float
    y: float
    w: float
    h: float = NODE_H
    layer: int = 0


@dataclass(frozen=True, slots=True)
class Edge:
    source: str
    target: str
    kind: str  # "1:N", "N:1", "1:1", or "temporal"
    label: str
    title: str
    dashed: bool = False


def edges_of(lens: Lens) -> list[Edge]:
    edges = [Edge(e.name, r.target, r.kind, r.kind,
                  f"{e.name}.{r.field} = {r.target}.{r.target_field} ({r.kind})"
                  + (f" AND {r.extra_snippet}" if r.extra_snippet else ""))
             for e in lens.entities for r in e.relationships if lens.entity(r.target) is not None]
    temporal: dict[tuple[str, str], list[str]] = defaultdict(list)
    for entity in lens.entities:
        for t in entity.temporals:
            if lens.entity(t.target) is not None:
                temporal[(entity.name, t.target)].append(f"{t.name} ({t.kind})")
    for (source, target), names in temporal.items():
        label = "temporal" if len(names) == 1 else f"temporal ×{len(names)}"
        edges.append(Edge(source, target, "temporal", label, f"{source} → {target}: " + ", ".join(names), True))
    return edges


def layout(lens: Lens, edges: list[Edge]) -> tuple[list[Node], float, float]:
    names = [e.name for e in lens.entities]
    if not names:
        return [], 0, 0
    neighbours: dict[str, list[str]] = {n: [] for n in names}
    declared = {n: 0 for n in names}
    for edge in edges:
        if edge.source in neighbours and edge.target in neighbours and edge.source != edge.target:
            neighbours[edge.source].append(edge.target)
            neighbours[edge.target].append(edge.source)
            declared[edge.source] += 1
    order = {n: i for i, n in enumerate(names)}
    layer_of: dict[str, int] = {}
    components: list[list[str]] = []
    for start in sorted(names, key=lambda n: (-declared[n], -len(neighbours[n]), order[n])):
        if start in layer_of:
            continue
        component, frontier = [start], [start]
        layer_of[start] = 0
        while frontier:
            nxt = []
            for name in frontier:
                for other in sorted(set(neighbours[name]), key=order.__getitem__):
                    if other not in layer_of:
                        layer_of[other] = layer_of[name] + 1
                        component.append(other)
                        nxt.append(other)
            frontier = nxt
        components.append(component)

    subtitle = {e.name: _subtitle(e) for e in lens.entities}
    width_of = {n: max(150.0, 28 + CHAR * len(n), 20 + 6.6 * len(subtitle[n])) for n in names}
    nodes: list[Node] = []
    top = MARGIN
    total_w = 0.0
    for component in components:
        layers: dict[int, list[str]] = defaultdict(list)
        for name in component:
            layers[layer_of[name]].append(name)
        position: dict[str, float] = {}
        for depth in sorted(layers):
            def barycenter(name: str, depth: int = depth, position: dict = position) -> tuple[float, int]:
                before = [position[o] for o in neighbours[name] if layer_of.get(o) == depth - 1 and o in position]
                return (sum(before) / len(before) if before else 0.0, order[name])

            layers[depth].sort(key=barycenter)
            for i, name in enumerate(layers[depth]):
                position[name] = float(i)
        column_w = {d: max(width_of[n] for n in members) for d, members in layers.items()}
        tallest = max(len(m) for m in layers.values())
        band_h = tallest * NODE_H + (tallest - 1) * V_GAP
        x = MARGIN
        for depth in sorted(layers):
            members = layers[depth]
            height = len(members) * NODE_H + (len(members) - 1) * V_GAP
            y = top + (band_h - height) / 2
            for name in members:
                w = width_of[name]
                nodes.append(Node(name, subtitle[name], x + (column_w[depth] - w) / 2, y, w, layer=depth))
                y += NODE_H + V_GAP
            x += column_w[depth] + H_GAP
        total_w = max(total_w, x - H_GAP + MARGIN)
        top += band_h + 2 * V_GAP
    return nodes, total_w, top - 2 * V_GAP + MARGIN


def _subtitle(entity) -> str:
    parts = [f"{len(entity.fields)} fields"]
    if entity.dimensions:
        parts.append(f"{len(entity.dimensions)} dims")
    if entity.measures:
        parts.append(f"{len(entity.measures)} measures")
    return " · ".join(parts)


def render_svg(lens: Lens, id_prefix: str) -> str:
    """The diagram of ``lens`` (entities as shown: pass the viewer's lens view)."""
    edges = edges_of(lens)
    nodes, width, height = layout(lens, edges)
    by_name = {n.name: n for n in nodes}
    marker = f"{id_prefix}-arrow"
    arcs = [e for e in edges if e.source in by_name and e.target in by_name
            and by_name[e.source].layer == by_name[e.target].layer]  # drawn as nested arcs on the right
    if arcs:
        width += ARC_BASE + ARC_STEP * len(arcs) + 60
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="diagram" viewBox="0 0 {width:.0f} {height:.0f}" '
           f'width="{width:.0f}" height="{height:.0f}" role="img" aria-label="relationships of {escape(lens.name)}">',
           f'<defs><marker id="{marker}" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="8" markerHeight="8" '
           f'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#475569"/></marker></defs>']
    lanes: dict[frozenset[str], list[Edge]] = defaultdict(list)
    for edge in edges:
        lanes[frozenset((edge.source, edge.target))].append(edge)
    for edge in edges:
        a, b = by_name.get(edge.source), by_name.get(edge.target)
        if a is None or b is None:
            continue
        group = lanes[frozenset((edge.source, edge.target))]
        offset = (group.index(edge) - (len(group) - 1) / 2) * LANE
        path, (lx, ly) = _path(a, b, offset, arcs.index(edge) if edge in arcs else 0)
        dash = ' stroke-dasharray="6 4"' if edge.dashed else ""
        label_w = 12 + 7.2 * len(edge.label)
        out.append(
            f'<g class="edge" data-source="{escape(edge.source)}" data-target="{escape(edge.target)}" '
            f'data-kind="{escape(edge.kind)}"><title>{escape(edge.title)}</title>'
            f'<path d="{path}" fill="none" stroke="#475569" stroke-width="1.6"{dash} marker-end="url(#{marker})"/>'
            f'<rect x="{lx - label_w / 2:.1f}" y="{ly - 10:.1f}" width="{label_w:.1f}" height="20" rx="9" '
            f'fill="{"#fef3c7" if edge.dashed else "#e0f2fe"}" stroke="#94a3b8" stroke-width="0.8"/>'
            f'<text x="{lx:.1f}" y="{ly + 4.5:.1f}" text-anchor="middle" class="edge-label">{escape(edge.label)}</text></g>')
    for node in nodes:
        out.append(
            f'<g class="node" data-entity="{escape(node.name)}"><title>{escape(node.name)}: {escape(node.subtitle)}</title>'
            f'<a href="#{escape(id_prefix)}-{escape(node.name)}">'
            f'<rect x="{node.x:.1f}" y="{node.y:.1f}" width="{node.w:.1f}" height="{node.h}" rx="8" fill="#ffffff" '
            f'stroke="#2563eb" stroke-width="1.8"/>'
            f'<text x="{node.x + node.w / 2:.1f}" y="{node.y + 20:.1f}" text-anchor="middle" class="node-name">'
            f'{escape(node.name)}</text>'
            f'<text x="{node.x + node.w / 2:.1f}" y="{node.y + 38:.1f}" text-anchor="middle" class="node-sub">'
            f'{escape(node.subtitle)}</text></a></g>')
    out.append("</svg>")
    return "".join(out)


def _path(a: Node, b: Node, offset: float, arc: int = 0) -> tuple[str, tuple[float, float]]:
    """A cubic curve from ``a`` to ``b`` (between columns: side to side; same column: an arc on the right),
    and where its label goes (the curve's midpoint)."""
    ay, by = a.y + a.h / 2 + offset, b.y + b.h / 2 + offset
    if a.layer != b.layer:
        forward = b.layer > a.layer
        x1 = a.x + a.w if forward else a.x
        x2 = b.x if forward else b.x + b.w
        bend = (x2 - x1) * 0.5
        c1, c2 = (x1 + bend, ay), (x2 - bend, by)
    else:
        x1, x2 = a.x + a.w, b.x + b.w
        reach = max(x1, x2) + ARC_BASE + ARC_STEP * arc
        c1, c2 = (reach, ay), (reach, by)
    p0, p3 = (x1, ay), (x2, by)
    mid = tuple(0.125 * p0[i] + 0.375 * c1[i] + 0.375 * c2[i] + 0.125 * p3[i] for i in range(2))
    d = f"M{p0[0]:.1f},{p0[1]:.1f} C{c1[0]:.1f},{c1[1]:.1f} {c2[0]:.1f},{c2[1]:.1f} {p3[0]:.1f},{p3[1]:.1f}"
    return d, (mid[0], mid[1])
