"""The pattern map: a deterministic layout of patterns and their cross-links.

Patterns sit on the two side arcs of a circle (within 60 degrees of the
horizontal, so every label can be written level without running into its
neighbour's), grouped by their first category and sorted by title within it:
related patterns are neighbours and the same catalog always gives the same
picture. Each cross-link between two patterns is one edge, drawn as a
curve bending toward the centre. The template turns the layout into inline SVG.

Past a size (``[map] max_patterns``) a drawing stops being legible, the circle
growing by about 8 px of radius per pattern: then the map is its text version
only, the same groups and links as a list.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .content import Page

# Colour-blind-safe hues (after Okabe-Ito), each at least 3:1 against the page's light and
# dark surfaces, as a mark that carries meaning needs.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#B4588E", "#8C7000", "#2B86C5", "#C0602B", "#767676")
NODE_RADIUS = 7
LABEL_GAP = 12
CHAR_WIDTH = 7.2          # average label width per character at 13px
MIN_SPACING = 32          # px along the circle between two node centres
ARC = math.pi * 2 / 3     # each side arc spans 120 degrees
LABEL_MAX = 40            # longer titles are cut in the drawing (the full title is its tooltip)


@dataclass(frozen=True)
class MapNode:
    page: Page
    x: float
    y: float
    category: str
    color: str
    label_x: float
    label_y: float
    anchor: str           # "start" or "end"

    @property
    def label(self) -> str:
        title = self.page.title
        return title if len(title) <= LABEL_MAX else title[:LABEL_MAX - 1].rstrip() + "\u2026"


@dataclass(frozen=True)
class MapEdge:
    source: str           # page source paths, source < target
    target: str
    path: str             # SVG path data
    mutual: bool          # both pages link to each other


@dataclass(frozen=True)
class MapLegend:
    category: str
    color: str
    count: int


@dataclass(frozen=True)
class PatternMap:
    width: float
    height: float
    nodes: tuple[MapNode, ...]
    edges: tuple[MapEdge, ...]
    legend: tuple[MapLegend, ...]
    drawn: bool = True            # False: too many patterns to draw; nodes have no position

    def by_category(self) -> list[tuple[MapLegend, list[MapNode]]]:
        """Each category with its nodes, in map order."""
        groups: dict[str, list[MapNode]] = {item.category: [] for item in self.legend}
        for node in self.nodes:
            groups[node.category].append(node)
        return [(item, groups[item.category]) for item in self.legend]

    def edges_svg(self) -> str:
        """Every edge as an SVG ``<path>``: plain geometry, so written here rather than looped
        over in the template (a large catalog has thousands of edges)."""
        mutual = ' class="mutual"'
        return "\n".join(f'<path d="{e.path}"{mutual if e.mutual else ""}/>' for e in self.edges)


def _fmt(value: float) -> str:
    text = f"{value:.1f}"
    return "0.0" if text == "-0.0" else text


def layout(patterns: tuple[Page, ...] | list[Page], links: dict[str, tuple[Page, ...]],
           max_drawn: int | None = None) -> PatternMap:
    """Place every pattern and draw every cross-link once. ``links``: source -> pages it links to.
    With more than ``max_drawn`` patterns, nothing is placed or drawn: the groups only."""
    ordered_categories: list[str] = []
    for page in sorted(patterns, key=lambda p: (p.categories[0].casefold() if p.categories else "~",)):
        category = page.categories[0] if page.categories else "Uncategorised"
        if category not in ordered_categories:
            ordered_categories.append(category)
    colors = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(ordered_categories)}
    rank = {c: i for i, c in enumerate(ordered_categories)}
    grouped = sorted(patterns, key=lambda p: (rank[p.categories[0] if p.categories else "Uncategorised"],
                                              p.title.casefold(), p.source))
    count = len(grouped)
    if max_drawn is not None and count > max_drawn:
        nodes = tuple(MapNode(page, 0.0, 0.0, category, colors[category], 0.0, 0.0, "start")
                      for page in grouped
                      for category in (page.categories[0] if page.categories else "Uncategorised",))
        return PatternMap(0.0, 0.0, nodes, (), _legend(ordered_categories, colors, nodes), drawn=False)
    longest = min(max((len(p.title) for p in grouped), default=10), LABEL_MAX)
    # Leave a gap between category groups: one empty slot per group.
    slots = count + len(ordered_categories)
    radius = max(150.0, slots * MIN_SPACING / (2 * ARC))
    margin = LABEL_GAP + NODE_RADIUS + longest * CHAR_WIDTH + 10
    vertical_margin = LABEL_GAP + NODE_RADIUS + 24
    width = 2 * (radius + margin)
    height = 2 * (radius + vertical_margin)
    cx, cy = width / 2, height / 2

    nodes: list[MapNode] = []
    positions: dict[str, tuple[float, float]] = {}
    slot = 0
    previous = None
    for page in grouped:
        category = page.categories[0] if page.categories else "Uncategorised"
        if previous is not None and category != previous:
            slot += 1
        previous = category
        half = slots / 2
        position = slot + 0.5
        if position < half:          # right arc, top to bottom
            angle = -ARC / 2 + ARC * position / half
        else:                        # left arc, bottom to top
            angle = math.pi - ARC / 2 + ARC * (position - half) / half
        slot += 1
        x, y = cx + radius * math.cos(angle), cy + radius * math.sin(angle)
        right = math.cos(angle) >= -1e-9
        lx = cx + (radius + NODE_RADIUS + LABEL_GAP) * math.cos(angle)
        ly = cy + (radius + NODE_RADIUS + LABEL_GAP) * math.sin(angle) + 4
        nodes.append(MapNode(page, round(x, 1), round(y, 1), category, colors[category],
                             round(lx, 1), round(ly, 1), "start" if right else "end"))
        positions[page.source] = (x, y)

    pairs: dict[tuple[str, str], int] = {}
    for source, targets in links.items():
        if source not in positions:
            continue
        for target in targets:
            if target.source == source or target.source not in positions:
                continue
            key = (min(source, target.source), max(source, target.source))
            pairs[key] = pairs.get(key, 0) | (1 if source == key[0] else 2)
    edges = []
    for (a, b), direction in sorted(pairs.items()):
        (x1, y1), (x2, y2) = positions[a], positions[b]
        mx, my = (x1 + x2) / 2, (y1 + y2) / 2
        qx, qy = cx + (mx - cx) * 0.25, cy + (my - cy) * 0.25
        path = f"M{_fmt(x1)} {_fmt(y1)} Q{_fmt(qx)} {_fmt(qy)} {_fmt(x2)} {_fmt(y2)}"
        edges.append(MapEdge(a, b, path, direction == 3))

    return PatternMap(round(width, 1), round(height, 1), tuple(nodes), tuple(edges),
                      _legend(ordered_categories, colors, nodes))


def _legend(categories: list[str], colors: dict[str, str], nodes) -> tuple[MapLegend, ...]:
    counts = dict.fromkeys(categories, 0)
    for node in nodes:
        counts[node.category] += 1
    return tuple(MapLegend(c, colors[c], counts[c]) for c in categories)
