"""Ruled-table grid detection: a page image → the table's grid lines and its (merged) cells.

Steps: adaptive threshold → ruling masks (morphological opening with long thin kernels, gaps
closed) → line segments clustered into row and column edges → for every pair of neighbouring grid
cells, is there a rule between them? → union-find over the cells without a rule between them →
cells with spans. Edges that separate nothing (a dash in a cell, a character's stroke) are dropped.
Worn scans are mended where the evidence is a rule's own: a vertical rule's piece between two
breaks, a side whose rule is worn but whole over the next cell, a table whose borders are broken
at the same place.
Residual skew is measured on the horizontal rules and the page is turned level before detection;
bboxes are mapped back to the input image.

Sizes are in millimetres of an A4 page (the image's short side is taken as 210 mm), so 150–300
DPI pages behave alike.
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from declscan.models.geometry import BBox
from declscan.models.tables import GridCell, TableGrid

log = logging.getLogger(__name__)

A4_SHORT_MM = 210.0
MIN_H_RULE_MM = 6.0  # longer than any character stroke (≈3.7 mm at 10.5 pt), shorter than a cell
GAP_MM = 0.6  # breaks closed in a rule: less than a text's padding, so text never joins a rule
PRESENCE = 0.55  # share of a cell side a rule must cover to separate two cells
WORN = 0.3  # ...or this share, where the same rule separates the next cell along it at full PRESENCE
BREAK_MM = 4.0  # a worn rule's longest break: shorter than any cell's side, so two rules never join
LONG_RULE_MM = 12.0  # longer than a title character's stroke: a rule even if it touches no other
ANCHOR_MM = 1.0  # a rule ends within half a rule width + blur of the rule it meets; text keeps ~1.5 mm away
MIN_ROW_RULE_CELLS = 2  # the dev-set layouts split at least 5 columns at every inner row edge
MAX_RESIDUAL_SKEW = 0.12  # degrees: below this, rules stay inside their clustering tolerance
MIN_TABLE_WIDTH_MM = 40.0
MIN_TABLE_HEIGHT_MM = 5.0  # one row: a continuation page may carry the table's last row only
SEAL_REDNESS = 25  # R - max(G, B) above this is red ink (a faint seal's pink included)
SEAL_MIN_RED = 120  # ...and a seal pixel where R is this bright; darker is text or a rule under the seal
PEN_BLUENESS = 12  # B - max(G, R) above the paper's: blue ballpoint; print is no bluer than its paper


def px_per_mm(image: np.ndarray) -> float:
    return min(image.shape[:2]) / A4_SHORT_MM


def to_grey(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


def seal_mask(image: np.ndarray) -> np.ndarray:
    """Red seal ink over paper: red and not dark. A black rule or text under a seal stays dark."""
    blue, green, red = cv2.split(image)
    return _seal_ink(red, _excess(red, green, blue)) > 0


def _seal_ink(red: np.ndarray, redness: np.ndarray) -> np.ndarray:
    """``seal_mask`` from a page's red plane and its ``redness``, as 255 where seal ink is."""
    return cv2.bitwise_and(_above(redness, SEAL_REDNESS), _above(red, SEAL_MIN_RED))


def redness(image: np.ndarray) -> np.ndarray:
    """R - max(G, B) of each pixel of a BGR image, at least 0."""
    blue, green, red = cv2.split(image)
    return _excess(red, green, blue)


def _excess(plane: np.ndarray, other: np.ndarray, another: np.ndarray) -> np.ndarray:
    """``plane`` - max(``other``, ``another``), at least 0: how much one colour outweighs the rest."""
    return cv2.subtract(plane, cv2.max(other, another))


def _above(plane: np.ndarray, level: float) -> np.ndarray:
    """255 where a uint8 ``plane`` is above ``level``, else 0 (as ``plane > level``)."""
    return cv2.threshold(plane, level, 255, cv2.THRESH_BINARY)[1]


def rule_grey(image: np.ndarray) -> np.ndarray:
    """Grey page with seal ink and blue pen ink (a signature scrawl) turned white: rules are black.

    Pen ink is judged against the paper's own tint: black print on tinted paper is at most as blue as
    the paper, while a scrawl's edges, blurred and JPEG-smoothed, are only a little bluer than it.
    The pixel around each pen pixel goes too: the stroke's fringe is grey, and a grey fringe along a
    rule would otherwise lengthen it.
    """
    grey = to_grey(image)
    if image.ndim == 2:
        return grey
    # One split and 8-bit OpenCV operations: the page is read by grid detection and the unread-ink
    # search alike, and numpy's boolean masks took 40 ms a page here.
    blue, green, red = cv2.split(image)
    # with its blurred fringe, grey but no bluer
    pen = cv2.dilate(_pen_ink(_excess(blue, green, red)), np.ones((3, 3), np.uint8))
    return cv2.max(grey, cv2.bitwise_or(pen, _seal_ink(red, _excess(red, green, blue))))


def pen_mask(image: np.ndarray, paper: float | None = None) -> np.ndarray:
    """Blue pen ink (BGR page or part of one): bluer than the page's paper (``paper_blueness`` of
    the whole page; by default of ``image``) by more than ``PEN_BLUENESS``."""
    return _pen_ink(_blueness(image), paper) > 0


def _pen_ink(blueness: np.ndarray, paper: float | None = None) -> np.ndarray:
    """``pen_mask`` from a page's ``_blueness``, as 255 where pen ink is."""
    return _above(blueness, (_paper_level(blueness) if paper is None else paper) + PEN_BLUENESS)


def paper_blueness(image: np.ndarray) -> float:
    """How blue a BGR page's paper is: B - max(G, R), at least 0, over the page (mostly paper)."""
    return _paper_level(_blueness(image))


def _paper_level(blueness: np.ndarray) -> float:
    """``paper_blueness`` from a page's ``_blueness``: its median over every fourth pixel."""
    return float(np.median(blueness[::4, ::4]))


def _blueness(image: np.ndarray) -> np.ndarray:
    blue, green, red = cv2.split(image)
    return _excess(blue, green, red)


def ink_mask(grey: np.ndarray, scale: float) -> np.ndarray:
    """Dark-on-light ink as 255: a local-mean threshold, so faint rules and uneven light still pass."""
    block = max(3, int(4 * scale) | 1)  # a thumbnail's scale would give OpenCV an invalid 1
    return cv2.adaptiveThreshold(grey, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, block, 12)


def rule_mask(ink: np.ndarray, length: int, gap: int, *, horizontal: bool) -> np.ndarray:
    """Straight runs of ink at least ``length`` px long along one axis, gaps up to ``gap`` closed."""
    def kernel(n: int, across: int = 1) -> np.ndarray:
        return cv2.getStructuringElement(cv2.MORPH_RECT, (n, across) if horizontal else (across, n))

    thick = cv2.dilate(ink, kernel(1, 3))  # a 1-px rule with slight skew is a staircase: make it solid
    # Open before closing: closing first would join a text line's characters into a "rule".
    rules = cv2.morphologyEx(thick, cv2.MORPH_OPEN, kernel(length))
    return cv2.morphologyEx(rules, cv2.MORPH_CLOSE, kernel(gap))


def rule_angle(h_mask: np.ndarray, min_length: float) -> float:
    """Skew of the horizontal rules in degrees (positive: right end lower), length-weighted median."""
    contours, _ = cv2.findContours(h_mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    angles, weights = [], []
    for contour in contours:
        _x, _y, w, _h = cv2.boundingRect(contour)
        if w >= min_length:
            vx, vy, _cx, _cy = cv2.fitLine(contour, cv2.DIST_L2, 0, 0.01, 0.01).ravel()
            angles.append(np.degrees(np.arctan2(vy, vx)) if vx > 0 else np.degrees(np.arctan2(-vy, -vx)))
            weights.append(w)
    if not angles:
        return 0.0
    order = np.argsort(angles)
    cumulative = np.cumsum(np.asarray(weights, float)[order])
    return float(np.asarray(angles)[order][np.searchsorted(cumulative, cumulative[-1] / 2)])


def detect_grid(image: np.ndarray, *, page: int) -> TableGrid | None:
    """The largest ruled table of an upright page image (BGR or grey), or None when there is none.

    ``row_edges``/``col_edges`` and every cell bbox are in the pixels of ``image``. A merged cell has
    ``row_span``/``col_span`` > 1; cells cover the grid without overlap.
    """
    grey = rule_grey(image)
    scale = px_per_mm(grey)
    ink = ink_mask(grey, scale)
    h_mask = rule_mask(ink, round(MIN_H_RULE_MM * scale), round(GAP_MM * scale), horizontal=True)
    angle = rule_angle(h_mask, min_length=40 * scale)
    if abs(angle) <= MAX_RESIDUAL_SKEW:
        return _detect_level(grey, ink, h_mask, scale, page)
    centre = (grey.shape[1] / 2, grey.shape[0] / 2)
    forward = cv2.getRotationMatrix2D(centre, angle, 1.0)
    level = cv2.warpAffine(grey, forward, grey.shape[::-1], flags=cv2.INTER_LINEAR, borderValue=255)
    ink = ink_mask(level, scale)
    h_mask = rule_mask(ink, round(MIN_H_RULE_MM * scale), round(GAP_MM * scale), horizontal=True)
    grid = _detect_level(level, ink, h_mask, scale, page)
    return None if grid is None else _map_grid(grid, cv2.invertAffineTransform(forward))


def _detect_level(grey: np.ndarray, ink: np.ndarray, h_mask: np.ndarray, scale: float,
                  page: int) -> TableGrid | None:
    tol = max(2, round(1.0 * scale))
    long_rule = LONG_RULE_MM * scale
    h_all = _segments(h_mask, min_length=MIN_H_RULE_MM * scale, horizontal=True)
    if len(h_all) < 2:
        return None
    v_len = _vertical_rule_length(_cluster(h_all, tol), scale)
    v_all = _segments(rule_mask(ink, v_len, round(GAP_MM * scale), horizontal=False), v_len, horizontal=False)
    # A rule meets the rules across it; a character's stroke, a dash or a scrawl floats in its cell.
    anchor = max(2.0, ANCHOR_MM * scale)
    gap = BREAK_MM * scale
    # Only vertical rules are mended piecewise: side by side, characters' strokes can join into a
    # horizontal run as long as a rule piece (never into a vertical one); worn horizontal rules are
    # judged by their coverage of each side instead.
    v_rules = _continued(v_all, _anchored(v_all, _cluster(_long(h_all, long_rule), tol), anchor, long_rule),
                         tol, gap, MIN_H_RULE_MM * scale)
    h_rules = _anchored(h_all, _cluster(_long(v_rules, long_rule), tol), anchor, long_rule)
    h_clean, v_clean = _drawn(h_mask.shape, h_rules), _drawn(h_mask.shape, v_rules)
    table = table_box(h_clean | v_clean, bridge=round(gap))
    if table is None:
        return None
    x0, y0, x1, y1 = table
    h_in = [s for s in h_rules if y0 - tol <= s[2] <= y1 + tol and s[1] > x0 and s[0] < x1]
    v_in = [s for s in v_rules if x0 - tol <= s[2] <= x1 + tol and s[1] > y0 and s[0] < y1]
    row_edges = _with_border(_cluster(h_in, tol), y0, y1, tol)
    col_edges = _with_border(_cluster(v_in, tol), x0, x1, tol)
    h_sep, v_sep, row_edges, col_edges = _separators(h_clean, v_clean, row_edges, col_edges, tol)
    if len(row_edges) < 2 or len(col_edges) < 2:
        return None
    cells = _cells(h_sep, v_sep, row_edges, col_edges)
    return TableGrid(page=page, bbox=BBox.of(col_edges[0], row_edges[0], col_edges[-1], row_edges[-1]),
                     row_edges=tuple(row_edges), col_edges=tuple(col_edges), cells=tuple(cells))


Segment = tuple[float, float, float, np.ndarray]  # start, end, position across, contour


def _segments(mask: np.ndarray, min_length: float, *, horizontal: bool) -> list[Segment]:
    """Connected rule pieces as (start, end, position across, contour): x0, x1, y for horizontal rules."""
    contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    out = []
    for contour in contours:
        x, y, w, h = cv2.boundingRect(contour)
        if horizontal and w >= min_length:
            out.append((float(x), float(x + w), y + h / 2, contour))
        elif not horizontal and h >= min_length:
            out.append((float(y), float(y + h), x + w / 2, contour))
    return out


def _long(segments: list[Segment], length: float) -> list[Segment]:
    return [s for s in segments if s[1] - s[0] >= length]


def _anchored(segments: list[Segment], crossing: list[float], tol: float, long: float) -> list[Segment]:
    """Segments too long to be anything but a rule, or starting or ending on a long crossing rule."""
    edges = np.asarray(crossing)

    def near(value: float) -> bool:
        return bool(edges.size) and bool(np.abs(edges - value).min() <= tol)

    return [s for s in segments if s[1] - s[0] >= long or near(s[0]) or near(s[1])]


def _continued(segments: list[Segment], kept: list[Segment], tol: float, gap: float,
               min_length: float) -> list[Segment]:
    """``kept`` plus the inner pieces of worn rules: on a kept piece's line (within ``tol``), at least
    ``min_length`` long (longer than a character's stroke) and between two kept pieces of that line,
    no break longer than ``gap``. Text near the end of a rule has a kept piece on one side only."""
    out = list(kept)
    candidates = [s for s in segments if s[1] - s[0] >= min_length and not any(s is k for k in kept)]
    for line in _cluster(kept, tol):
        on_line = [(s, True) for s in kept if abs(s[2] - line) <= tol]
        on_line += [(s, False) for s in candidates if abs(s[2] - line) <= tol]
        on_line.sort(key=lambda item: item[0][0])
        run: list[Segment] = []
        after_kept, end = False, -np.inf
        for piece, is_kept in on_line:
            if piece[0] - end > gap:  # a break too long: whatever came before is no part of this rule
                run, after_kept = [], False
            if is_kept:
                out += run if after_kept else []
                run, after_kept = [], True
            else:
                run.append(piece)
            end = max(end, piece[1])
    return out


def _drawn(shape: tuple[int, ...], segments: list[Segment]) -> np.ndarray:
    mask = np.zeros(shape[:2], np.uint8)
    return cv2.drawContours(mask, [s[3] for s in segments], -1, 255, thickness=cv2.FILLED)


def _cluster(segments: list[Segment], tol: float) -> list[float]:
    """Segment positions within ``tol`` of their neighbour → one length-weighted mean each, ascending."""
    if not segments:
        return []
    ordered = sorted(segments, key=lambda s: s[2])
    pos = np.array([s[2] for s in ordered])
    weight = np.array([s[1] - s[0] for s in ordered])
    groups, start = [], 0
    for i in range(1, len(pos) + 1):
        if i == len(pos) or pos[i] - pos[i - 1] > tol:
            groups.append(float(np.average(pos[start:i], weights=weight[start:i])))
            start = i
    return groups


def _vertical_rule_length(row_edges: list[float], scale: float) -> int:
    """Shorter than the lowest rows, longer than a character's vertical stroke where rows allow."""
    gaps = np.diff(row_edges)
    gaps = gaps[gaps > 3 * scale]
    typical = float(np.percentile(gaps, 10)) if len(gaps) else 8 * scale
    return round(float(np.clip(0.7 * typical, 3 * scale, 8 * scale)))


def table_box(rules: np.ndarray, *, bridge: int = 1) -> tuple[int, int, int, int] | None:
    """Bounding box of the largest connected web of rules, with any web overlapping it.

    Rules less than ``bridge`` px apart are one web: a worn border broken at the same place top and
    bottom would otherwise cut a one-row table in two.
    """
    bridge = max(1, bridge) | 1
    joined = cv2.dilate(rules, np.ones((bridge, bridge), np.uint8)) if bridge > 1 else rules
    contours, _ = cv2.findContours(joined, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    grow = bridge // 2
    boxes = [(x + grow, y + grow, x + w - grow, y + h - grow)
             for x, y, w, h in map(cv2.boundingRect, contours)]
    box = max(boxes, key=lambda b: (b[2] - b[0]) * (b[3] - b[1]))
    grown = True
    while grown:
        grown = False
        for b in boxes:
            overlaps = b[0] < box[2] and b[2] > box[0] and b[1] < box[3] and b[3] > box[1]
            union = (min(box[0], b[0]), min(box[1], b[1]), max(box[2], b[2]), max(box[3], b[3]))
            if overlaps and union != box:
                box, grown = union, True
    scale = px_per_mm(rules)
    if box[2] - box[0] < MIN_TABLE_WIDTH_MM * scale or box[3] - box[1] < MIN_TABLE_HEIGHT_MM * scale:
        return None
    return box


def _with_border(edges: list[float], lo: float, hi: float, tol: float) -> list[float]:
    inner = [e for e in edges if lo + tol < e < hi - tol]
    first = min([e for e in edges if e <= lo + tol], default=float(lo), key=lambda e: abs(e - lo))
    last = min([e for e in edges if e >= hi - tol], default=float(hi), key=lambda e: abs(e - hi))
    return [first, *inner, last]


def _coverage(profile: np.ndarray, lo: float, hi: float) -> float:
    """Share of ``profile[lo:hi]`` that is ink, the ends trimmed where the crossing rules are."""
    margin = max(1, round((hi - lo) * 0.1))
    part = profile[int(lo) + margin:int(hi) - margin]
    return float(part.mean()) if part.size else 0.0


def _separators(h_mask: np.ndarray, v_mask: np.ndarray, row_edges: list[float], col_edges: list[float],
                tol: int) -> tuple[np.ndarray, np.ndarray, list[float], list[float]]:
    """Which grid sides have a rule; edges that separate no pair of cells are dropped.

    ``h_sep[i, j]``: a rule along row edge ``i`` over column ``j``; ``v_sep[i, j]``: a rule along
    column edge ``j`` over row ``i``. Border edges are always rules. A row edge must separate
    cells in at least MIN_ROW_RULE_CELLS columns: a pen scrawl across one column is no rule.
    """
    while True:
        h_prof = [h_mask[max(0, round(y) - tol):round(y) + tol + 1].any(axis=0) for y in row_edges]
        v_prof = [v_mask[:, max(0, round(x) - tol):round(x) + tol + 1].any(axis=1) for x in col_edges]
        h_sep = _ruled(np.array([[_coverage(p, col_edges[j], col_edges[j + 1])
                                  for j in range(len(col_edges) - 1)] for p in h_prof]))
        v_sep = _ruled(np.array([[_coverage(p, row_edges[i], row_edges[i + 1])
                                  for i in range(len(row_edges) - 1)] for p in v_prof])).T
        h_sep[[0, -1], :] = True
        v_sep[:, [0, -1]] = True
        needed = min(MIN_ROW_RULE_CELLS, h_sep.shape[1])
        keep_rows = [i for i in range(len(row_edges)) if h_sep[i].sum() >= needed]
        keep_cols = [j for j in range(len(col_edges)) if v_sep[:, j].any()]
        if len(keep_rows) == len(row_edges) and len(keep_cols) == len(col_edges):
            return h_sep, v_sep, row_edges, col_edges
        row_edges = [row_edges[i] for i in keep_rows]
        col_edges = [col_edges[j] for j in keep_cols]


def _ruled(coverage: np.ndarray) -> np.ndarray:
    """Which sides have a rule, from ``coverage[edge, side]`` (the sides along one rule, in order).

    A side is ruled at PRESENCE; a worn stretch (WORN) counts where the same rule is whole over a
    neighbouring side, as one stroke drawn across several cells. A stub or scrawl in a merged cell
    covers far less than WORN.
    """
    strong = coverage >= PRESENCE
    neighbour = np.zeros_like(strong)
    neighbour[:, 1:] |= strong[:, :-1]
    neighbour[:, :-1] |= strong[:, 1:]
    return strong | ((coverage >= WORN) & neighbour)


def _cells(h_sep: np.ndarray, v_sep: np.ndarray, row_edges: list[float],
           col_edges: list[float]) -> list[GridCell]:
    """Union-find over grid cells with no rule between them; non-rectangular groups grow to rectangles."""
    n_rows, n_cols = len(row_edges) - 1, len(col_edges) - 1
    label = np.arange(n_rows * n_cols).reshape(n_rows, n_cols)
    parent = list(range(n_rows * n_cols))

    def find(a: int) -> int:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    def union(a: int, b: int) -> bool:
        ra, rb = find(a), find(b)
        parent[max(ra, rb)] = min(ra, rb)
        return ra != rb

    for i in range(n_rows):
        for j in range(n_cols):
            if j + 1 < n_cols and not v_sep[i, j + 1]:
                union(label[i, j], label[i, j + 1])
            if i + 1 < n_rows and not h_sep[i + 1, j]:
                union(label[i, j], label[i + 1, j])
    changed = True
    while changed:  # a group must be a rectangle: absorb whatever lies inside its bounding box
        changed = False
        roots = np.vectorize(find)(label)
        for root in np.unique(roots):
            rs, cs = np.nonzero(roots == root)
            block = roots[rs.min():rs.max() + 1, cs.min():cs.max() + 1]
            for other in np.unique(block[block != root]):
                changed |= union(int(root), int(other))
    roots = np.vectorize(find)(label)
    cells = []
    for root in np.unique(roots):
        rs, cs = np.nonzero(roots == root)
        r0, r1, c0, c1 = int(rs.min()), int(rs.max()), int(cs.min()), int(cs.max())
        bbox = BBox.of(col_edges[c0], row_edges[r0], col_edges[c1 + 1], row_edges[r1 + 1])
        cells.append(GridCell(row=r0, col=c0, row_span=r1 - r0 + 1, col_span=c1 - c0 + 1, bbox=bbox))
    return sorted(cells, key=lambda c: (c.row, c.col))


def _map_grid(grid: TableGrid, affine: np.ndarray) -> TableGrid:
    """The grid found on a levelled copy, in the input image's pixels (bboxes become envelopes)."""
    def box(b: BBox) -> BBox:
        corners = np.array([[b.x0, b.y0, 1], [b.x1, b.y0, 1], [b.x0, b.y1, 1], [b.x1, b.y1, 1]]) @ affine.T
        return BBox.of(*corners.min(axis=0), *corners.max(axis=0))

    cx, cy = grid.bbox.center
    rows = tuple(float((affine @ [cx, y, 1])[1]) for y in grid.row_edges)
    cols = tuple(float((affine @ [x, cy, 1])[0]) for x in grid.col_edges)
    cells = tuple(c.model_copy(update={"bbox": box(c.bbox)}) for c in grid.cells)
    update = {"bbox": box(grid.bbox), "row_edges": rows, "col_edges": cols, "cells": cells}
    return grid.model_copy(update=update)
