"""Born-digital PDFs: tables and text straight from the PDF, no OCR.

camelot's lattice parser finds the ruled tables from the PDF's vector strokes (``engine="vector"``:
no rasterizing, no ghostscript); its cells' edge flags give the merged cells. The text comes from
pdfium's character boxes, grouped into lines per cell and outside the tables. Everything is in page
pixels at the page's raster DPI (origin top-left, like the scan path), with confidence 1.0.
"""

from __future__ import annotations

import itertools
import logging
import statistics
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from declscan.models.document import FormDocument, PageInfo
from declscan.models.geometry import BBox
from declscan.models.ocr import TextLine
from declscan.models.tables import GridCell, TableGrid
from declscan.pipeline.errors import InputError

log = logging.getLogger(__name__)

EDGE_TOLERANCE_PT = 2.0  # rules this close are the same grid line
LINE_GAP_EM = 2.0  # outside tables, a gap this wide (in character heights) splits a line, as OCR would


@dataclass(frozen=True)
class Char:
    text: str
    box: BBox  # page pixels, loose (font-height) box
    space_before: bool = False  # the PDF has white space between this and the previous character


def read_text_layer(doc: FormDocument, pdf_path: Path) -> FormDocument:
    """``doc`` with ``tables`` and ``lines`` read from the text layer and vector grid of ``pdf_path``.

    Raises:
        InputError: the PDF cannot be read (one line: file and reason).
    """
    import pypdfium2 as pdfium

    try:
        pdf = pdfium.PdfDocument(pdf_path)
    except pdfium.PdfiumError as exc:
        raise InputError(pdf_path, f"corrupt PDF ({exc})") from None
    try:
        tables_by_page = _camelot_tables(pdf_path, [info.number for info in doc.pages])
        tables: list[TableGrid] = []
        lines: list[TextLine] = []
        for info in doc.pages:
            page = pdf[info.number - 1]
            height_pt = page.get_size()[1]
            chars = page_chars(page, scale=info.dpi / 72.0, height_pt=height_pt)
            grids = [_table_grid(t, info, height_pt) for t in tables_by_page.get(info.number, [])]
            page_grids, page_lines = _fill(grids, chars, info.number)
            tables += page_grids
            lines += page_lines
    finally:
        pdf.close()
    tolerance = EDGE_TOLERANCE_PT * (doc.pages[0].dpi / 72.0 if doc.pages else 1.0)
    return doc.model_copy(update={"tables": tuple(share_columns(tables, tolerance)), "lines": tuple(lines)})


def _camelot_tables(pdf_path: Path, pages: Sequence[int]) -> dict[int, list[Any]]:
    import camelot

    found = camelot.read_pdf(str(pdf_path), flavor="lattice", engine="vector", backend="pdfium",
                             use_fallback=False, pages=",".join(map(str, pages)))
    by_page: dict[int, list[Any]] = {}
    for table in found:
        by_page.setdefault(int(table.page), []).append(table)
    return by_page


def page_chars(page: Any, *, scale: float, height_pt: float) -> list[Char]:
    """The page's visible characters with boxes in pixels (``scale`` px per point, y down)."""
    import pypdfium2.raw as pdfium_c

    textpage = page.get_textpage()
    try:
        text = textpage.get_text_range()
        chars: list[Char] = []
        space = False
        # get_text_range returns one character per char index, pdfium's generated ones included:
        # those are guesses (it puts line breaks between CJK glyphs of one line), so only the
        # PDF's own white space counts.
        for index, ch in enumerate(text[: textpage.count_chars()]):
            if pdfium_c.FPDFText_IsGenerated(textpage.raw, index) == 1:
                continue
            if ch.isspace() or not ch.isprintable():
                space = space or ch.isspace()
                continue
            left, bottom, right, top = textpage.get_charbox(index, loose=True)
            box = BBox.of(left * scale, (height_pt - top) * scale,
                          right * scale, (height_pt - bottom) * scale)
            chars.append(Char(ch, box, space_before=space))
            space = False
        return chars
    finally:
        textpage.close()


def _table_grid(table: Any, info: PageInfo, height_pt: float) -> TableGrid:
    """A camelot table as a TableGrid: edges in pixels, merged cells from missing inner rules."""
    scale = info.dpi / 72.0

    def x(value: float) -> float:
        return value * scale

    def y(value: float) -> float:
        return (height_pt - value) * scale

    row_edges = (y(table.rows[0][0]), *(y(bottom) for _, bottom in table.rows))
    col_edges = (x(table.cols[0][0]), *(x(right) for _, right in table.cols))
    cells = tuple(
        GridCell(row=r0, col=c0, row_span=r1 - r0 + 1, col_span=c1 - c0 + 1,
                 bbox=BBox.of(col_edges[c0], row_edges[r0], col_edges[c1 + 1], row_edges[r1 + 1]))
        for r0, c0, r1, c1 in merged_cells(table.cells)
    )
    bbox = BBox.of(col_edges[0], row_edges[0], col_edges[-1], row_edges[-1])
    return TableGrid(page=info.number, bbox=bbox, row_edges=row_edges, col_edges=col_edges, cells=cells)


def merged_cells(cells: Sequence[Sequence[Any]]) -> list[tuple[int, int, int, int]]:
    """``(first_row, first_col, last_row, last_col)`` of each merged cell, in row-major order.

    ``cells[r][c]`` has camelot's edge flags (``right``, ``bottom``: a rule is drawn there); two
    neighbouring grid cells with no rule between them are one cell.
    """
    n_rows, n_cols = len(cells), len(cells[0]) if cells else 0
    parent = {(r, c): (r, c) for r in range(n_rows) for c in range(n_cols)}

    def root(key: tuple[int, int]) -> tuple[int, int]:
        while parent[key] != key:
            parent[key] = parent[parent[key]]
            key = parent[key]
        return key

    def join(a: tuple[int, int], b: tuple[int, int]) -> None:
        ra, rb = root(a), root(b)
        if ra != rb:
            parent[max(ra, rb)] = min(ra, rb)

    for r in range(n_rows):
        for c in range(n_cols):
            if c + 1 < n_cols and not (cells[r][c].right or cells[r][c + 1].left):
                join((r, c), (r, c + 1))
            if r + 1 < n_rows and not (cells[r][c].bottom or cells[r + 1][c].top):
                join((r, c), (r + 1, c))
    groups: dict[tuple[int, int], list[tuple[int, int]]] = {}
    for key in parent:
        groups.setdefault(root(key), []).append(key)
    return sorted(
        (min(r for r, _ in g), min(c for _, c in g), max(r for r, _ in g), max(c for _, c in g))
        for g in groups.values()
    )


def _fill(grids: list[TableGrid], chars: list[Char], page: int) -> tuple[list[TableGrid], list[TextLine]]:
    """The grids with each cell's text lines, and every text line of the page (cells and outside)."""
    lines: list[TextLine] = []
    filled = []
    centers = np.array([ch.box.center for ch in chars], dtype=float).reshape(-1, 2)
    free = np.ones(len(chars), dtype=bool)
    for grid in grids:
        cells = []
        for cell in grid.cells:
            box = cell.bbox
            inside = free & (centers[:, 0] >= box.x0) & (centers[:, 0] <= box.x1) \
                & (centers[:, 1] >= box.y0) & (centers[:, 1] <= box.y1)
            free &= ~inside
            cell_chars = [chars[i] for i in np.flatnonzero(inside)]
            cell_lines = [_line(run, page) for run in group_lines(cell_chars, split_em=None)]
            lines += cell_lines
            cells.append(cell.model_copy(update={"lines": tuple(line.text for line in cell_lines),
                                                 "confidence": 1.0 if cell_lines else None,
                                                 "line_confidences": (1.0,) * len(cell_lines)}))
        filled.append(grid.model_copy(update={"cells": tuple(cells)}))
    outside = [chars[i] for i in np.flatnonzero(free)]
    lines += [_line(run, page) for run in group_lines(outside, split_em=LINE_GAP_EM)]
    return filled, sorted(lines, key=lambda line: (line.bbox.y0, line.bbox.x0))


def group_lines(chars: Iterable[Char], *, split_em: float | None) -> list[list[Char]]:
    """Characters grouped into lines, top to bottom, each left to right.

    A character joins the line it overlaps vertically by more than half its height. With
    ``split_em``, a horizontal gap wider than that many character heights starts a new line.
    """
    rows: list[list[Char]] = []
    for ch in sorted(chars, key=lambda ch: (ch.box.center[1], ch.box.x0)):
        row = rows[-1] if rows else None
        if row is not None and _overlap(row, ch) > 0.5 * ch.box.height:
            row.append(ch)
        else:
            rows.append([ch])
    runs: list[list[Char]] = []
    for row in rows:
        row.sort(key=lambda ch: ch.box.x0)
        em = statistics.median(ch.box.height for ch in row)
        runs.append([row[0]])
        for prev, ch in itertools.pairwise(row):
            if split_em is not None and ch.box.x0 - prev.box.x1 > split_em * em:
                runs.append([])
            runs[-1].append(ch)
    return runs


def _overlap(row: list[Char], ch: Char) -> float:
    top = statistics.median(c.box.y0 for c in row)
    bottom = statistics.median(c.box.y1 for c in row)
    return min(bottom, ch.box.y1) - max(top, ch.box.y0)


def _line(run: list[Char], page: int) -> TextLine:
    box = run[0].box
    for ch in run[1:]:
        box = box.union(ch.box)
    text = run[0].text + "".join((" " if ch.space_before else "") + ch.text for ch in run[1:])
    return TextLine(page=page, text=text, bbox=box, confidence=1.0, source="text_layer")


def share_columns(grids: list[TableGrid], tolerance: float) -> list[TableGrid]:
    """Tables with the same left and right edges (a table continued over pages) on one column grid.

    A continuation page draws only the column rules its own rows need, so its table alone has fewer
    columns than the form's; numbering every page's cells on the union of the rules keeps a column
    the same column on every page, as the scan path reports it.
    """
    shared: list[TableGrid] = []
    for grid in grids:
        family = [g for g in grids if abs(g.bbox.x0 - grid.bbox.x0) <= tolerance
                  and abs(g.bbox.x1 - grid.bbox.x1) <= tolerance]
        edges = _cluster(sorted(x for g in family for x in g.col_edges), tolerance)
        if len(edges) == len(grid.col_edges):
            shared.append(grid)
            continue

        def index(x: float, edges: list[float] = edges) -> int:
            return min(range(len(edges)), key=lambda i: abs(edges[i] - x))

        cells = tuple(cell.model_copy(update={"col": index(cell.bbox.x0),
                                              "col_span": index(cell.bbox.x1) - index(cell.bbox.x0)})
                      for cell in grid.cells)
        shared.append(grid.model_copy(update={"col_edges": tuple(edges), "cells": cells}))
    return shared


def _cluster(values: list[float], tolerance: float) -> list[float]:
    """Sorted ``values`` merged into the mean of each run of neighbours closer than ``tolerance``."""
    groups: list[list[float]] = []
    for value in values:
        if groups and value - groups[-1][-1] <= tolerance:
            groups[-1].append(value)
        else:
            groups.append([value])
    return [sum(group) / len(group) for group in groups]
