"""Table structure stage: the ruled grid of every page, with the OCR'd text lines put into its cells."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np

from declscan.config.options import LineCheckOptions
from declscan.models.document import FormDocument
from declscan.models.ocr import TextLine
from declscan.models.tables import GridCell, TableGrid
from declscan.pipeline.grid import detect_grid, px_per_mm
from declscan.pipeline.unread_ink import inked_cells

log = logging.getLogger(__name__)

CROSSING_TOLERANCE = 0.25  # share of a line's width that may stick out of its cell before it "crosses"
# Centres of two lines on one row differ by skew only (≤ 0.2 of a box); stacked lines by a line pitch
# (≥ 0.55 of a box even when the detector pads boxes to twice the text's height).
SAME_ROW = 0.35
# The forms' body print is 10.5 pt, about 3.7 mm an em: what ink in an empty cell is measured by.
BODY_EM_MM = 3.7


def detect_tables(doc: FormDocument, images: list[np.ndarray],
                  check: LineCheckOptions | None = None) -> FormDocument:
    """``doc.tables``: one filled TableGrid per page that has a ruled table, in page order, each
    cell the OCR read nothing in but that holds print marked ``unread_ink`` (``check``: how big
    print is; defaults; with ``check.enabled`` off, as the OCR stage's checks, none is marked).

    ``doc.lines`` (set by the OCR stage) is kept whole: lines outside every table (title, footer)
    are what the mapper reads outside the grid.
    """
    check = check or LineCheckOptions()
    tables = []
    for info, image in zip(doc.pages, images, strict=True):
        grid = detect_grid(image, page=info.number)
        if grid is None:
            log.info("page %d: no ruled table", info.number)
            continue
        filled = fill_cells(grid, [line for line in doc.lines if line.page == info.number])
        tables.append(mark_inked_cells(filled, image, check) if check.enabled else filled)
        log.debug("page %d: %d x %d grid, %d cells", info.number, grid.n_rows, grid.n_cols, len(grid.cells))
    return doc.model_copy(update={"tables": tuple(tables)})


def fill_cells(grid: TableGrid, lines: Sequence[TextLine]) -> TableGrid:
    """The grid with each cell's text lines (reading order) and their lowest confidence.

    A line belongs to the cell containing its centre; one that sticks out across a vertical rule
    goes to the cell it overlaps most. Lines of other pages and outside the grid are ignored.
    """
    by_cell: dict[int, list[TextLine]] = {}
    for line in lines:
        if line.page != grid.page:
            continue
        index = _cell_of(grid.cells, line)
        if index is not None:
            by_cell.setdefault(index, []).append(line)
    cells = []
    for index, cell in enumerate(grid.cells):
        inside = reading_order(by_cell.get(index, []))
        scores = tuple(line.confidence for line in inside)
        cells.append(cell.model_copy(update={"lines": tuple(line.text for line in inside),
                                             "confidence": min(scores, default=None),
                                             "line_confidences": scores}))
    return grid.model_copy(update={"cells": tuple(cells)})


def mark_inked_cells(grid: TableGrid, image: np.ndarray, check: LineCheckOptions) -> TableGrid:
    """The grid with ``unread_ink`` set on each cell with no text that holds print (``inked_cells``)."""
    empty = [i for i, cell in enumerate(grid.cells) if not cell.lines]
    inked = inked_cells(image, [grid.cells[i].bbox for i in empty], BODY_EM_MM * px_per_mm(image), check)
    cells = list(grid.cells)
    for i in (i for i, ink in zip(empty, inked, strict=True) if ink):
        cells[i] = cells[i].model_copy(update={"unread_ink": True})
    return grid.model_copy(update={"cells": tuple(cells)})


def _cell_of(cells: Sequence[GridCell], line: TextLine) -> int | None:
    cx, cy = line.bbox.center
    home = next((i for i, cell in enumerate(cells) if cell.bbox.contains(cx, cy)), None)
    if home is None:
        return None
    box, slack = cells[home].bbox, CROSSING_TOLERANCE * line.bbox.width
    if line.bbox.x0 >= box.x0 - slack and line.bbox.x1 <= box.x1 + slack:
        return home
    return max(range(len(cells)), key=lambda i: cells[i].bbox.intersection_area(line.bbox))


def reading_order(lines: Sequence[TextLine]) -> list[TextLine]:
    """Top to bottom by visual row; lines on one row left to right.

    A line is on a row when its vertical centre is within SAME_ROW of the row's first line's centre,
    as a share of the shorter box. Boxes on a scan are often twice the text's height, so two stacked
    lines of one cell overlap by half their boxes; their centres are still a line pitch apart.
    """
    rows: list[list[TextLine]] = []
    for line in sorted(lines, key=lambda ln: ln.bbox.center[1]):
        row = rows[-1] if rows else None
        if row is not None and _same_row(row[0], line):
            row.append(line)
        else:
            rows.append([line])
    return [line for row in rows for line in sorted(row, key=lambda ln: ln.bbox.x0)]


def _same_row(first: TextLine, line: TextLine) -> bool:
    shorter = min(line.bbox.height, first.bbox.height)
    return shorter > 0 and abs(line.bbox.center[1] - first.bbox.center[1]) <= SAME_ROW * shorter
