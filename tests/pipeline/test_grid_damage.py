"""detect_grid on drawn tables with the damage of worn scans: broken and worn rules, a split border,
a pen scrawl along a rule, characters beside a rule's end. Each case is one mechanism, on a plain
150-DPI page drawn here (no renderer, no OCR)."""

from __future__ import annotations

import cv2
import numpy as np

from declscan.models.tables import TableGrid
from declscan.pipeline.grid import detect_grid

PAGE = (1754, 1240)  # A4 at 150 DPI
PAPER = (205, 236, 240)  # yellowed paper, BGR
INK = (40, 40, 40)
X = [100, 220, 340, 520, 700, 880, 1100]  # column rules
Y = [200, 240, 300, 360, 420]  # row rules: a 7 mm row, then rows of 10 mm


def _page() -> np.ndarray:
    return np.full((*PAGE, 3), PAPER, np.uint8)


def _table(image: np.ndarray, *, merged: tuple[int, int, int] | None = None) -> np.ndarray:
    """Rules of a 4 x 6 table; ``merged=(col, row0, row1)`` leaves out the rules inside that column's rows."""
    for i, y in enumerate(Y):
        for j in range(len(X) - 1):
            if merged and j == merged[0] and merged[1] < i <= merged[2]:
                continue
            cv2.line(image, (X[j], y), (X[j + 1], y), INK, 2)
    for x in X:
        cv2.line(image, (x, Y[0]), (x, Y[-1]), INK, 2)
    return image


def _spans(grid: TableGrid | None) -> set[tuple[int, int, int, int]]:
    assert grid is not None
    return {(c.row, c.col, c.row_span, c.col_span) for c in grid.cells}


def _all_single(n_rows: int = 4, n_cols: int = 6) -> set[tuple[int, int, int, int]]:
    return {(r, c, 1, 1) for r in range(n_rows) for c in range(n_cols)}


def test_intact_table_is_found() -> None:
    assert _spans(detect_grid(_table(_page()), page=1)) == _all_single()


def test_vertical_rule_broken_twice_within_a_row_still_separates() -> None:
    """The piece between two breaks touches no crossing rule, but it continues the rule above and below."""
    image = _table(_page())
    x = X[3]
    image[Y[1] + 6:Y[1] + 12, x - 3:x + 4] = PAPER  # a 1 mm break just under the row rule
    image[Y[2] - 10:Y[2] - 5, x - 3:x + 4] = PAPER  # and one above the next: 6.3 mm of rule between
    assert _spans(detect_grid(image, page=1)) == _all_single()


def test_one_row_table_cut_by_breaks_in_both_borders_is_one_table() -> None:
    """A continuation page's single row, its top and bottom rules both worn through beside a column rule."""
    image = _page()
    top, bottom = 100, 160
    for y in (top, bottom):
        cv2.line(image, (X[0], y), (X[-1], y), INK, 2)
    for x in X:
        cv2.line(image, (x, top), (x, bottom), INK, 2)
    gap = slice(X[3] - 20, X[3] - 3)  # 3 mm of both borders gone, left of the middle column rule
    image[top - 3:top + 4, gap] = PAPER
    image[bottom - 3:bottom + 4, gap] = PAPER
    grid = detect_grid(image, page=1)
    assert _spans(grid) == _all_single(1, 6)
    assert grid is not None and abs(grid.bbox.x1 - X[-1]) < 4


def test_row_rule_worn_over_part_of_one_cell_still_separates() -> None:
    """Half of one cell's side gone (from the crossing), the same rule whole over its neighbours."""
    image = _table(_page())
    image[Y[2] - 3:Y[2] + 4, X[0] + 2:X[0] + 62] = PAPER  # 60 of 120 px missing
    assert _spans(detect_grid(image, page=1)) == _all_single()


def test_rule_stub_in_a_merged_cell_does_not_split_it() -> None:
    """A rule overshooting 2 mm into a merged cell covers far less than a worn rule's remnant."""
    image = _table(_page(), merged=(1, 0, 2))
    cv2.line(image, (X[2] - 12, Y[1]), (X[2], Y[1]), INK, 2)
    assert (0, 1, 3, 1) in _spans(detect_grid(image, page=1))


def test_pen_scrawl_along_a_row_edge_does_not_split_a_merged_cell() -> None:
    """A blue pen stroke from the merged cell onto the end of a neighbour's row rule, its edges pale
    after blur and JPEG: no rule, though dark enough to be ink."""
    image = _table(_page(), merged=(0, 1, 2))
    points = np.array([[60, Y[2] + 14], [X[0] + 15, Y[2] + 6], [X[0] + 25, Y[2]], [X[1] + 20, Y[2]]],
                      np.int32)
    cv2.polylines(image, [points], False, (150, 100, 95), 3)  # BGR: desaturated blue ink
    image = cv2.GaussianBlur(image, (3, 3), 0.9)
    _ok, jpeg = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 60])
    assert (1, 0, 2, 1) in _spans(detect_grid(cv2.imdecode(jpeg, cv2.IMREAD_COLOR), page=1))


def test_characters_beside_a_row_rule_end_are_no_rule() -> None:
    """A run of character strokes (7 mm) on a merged cell's middle line, 2 mm from where the
    neighbour's row rule ends: it continues no rule, so the merged cell stays whole."""
    image = _table(_page(), merged=(0, 1, 2))
    cv2.line(image, (X[1] - 12 - 42, Y[2] + 1), (X[1] - 12, Y[2] + 1), INK, 3)
    assert (1, 0, 2, 1) in _spans(detect_grid(image, page=1))
