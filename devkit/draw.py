"""Page geometry and clean rendering of a ``FormLayout``: A4 portrait, black ruled grid, CJK text.

``paginate`` is the single source of geometry: it wraps every cell's text by measured width, grows
row heights to fit, and breaks the table over pages. ``render_clean_pages`` draws it,
``page_grid`` reports it as perfect OCR + grid detection would, and ``declscan.devkit.digital_pdf``
writes it as vector PDF. A merged cell that straddles a page break is split: its text stays on the
first page and the continuation on the next page is a blank cell (like a merged cell's lower rows).
"""

from __future__ import annotations

import functools
import subprocess
from dataclasses import dataclass, replace
from typing import Literal

from PIL import Image, ImageDraw, ImageFont

from declscan.devkit.layout import FOOTER_GAP, FormLayout, LayoutCell
from declscan.models.geometry import BBox
from declscan.models.ocr import TextLine
from declscan.models.tables import GridCell, TableGrid

A4_MM = (210.0, 297.0)
MARGIN_MM = 15.0
BODY_PT, TITLE_PT = 10.0, 16.0
FONT_FAMILIES = ("Noto Sans CJK SC", "WenQuanYi Zen Hei")
TextKind = Literal["title", "subtitle", "body"]


@dataclass(frozen=True)
class FontFile:
    path: str
    index: int = 0


def find_cjk_font(*, bold: bool = False, families: tuple[str, ...] = FONT_FAMILIES) -> FontFile:
    """The first installed CJK font of ``families`` (via fontconfig); raises if none is installed."""
    return _find_font(bold, families)


@functools.lru_cache(maxsize=8)
def _find_font(bold: bool, families: tuple[str, ...]) -> FontFile:
    for family in families:
        pattern = f"{family}:lang=zh-cn" + (":bold" if bold else "")
        found = subprocess.run(["fc-match", "-f", "%{file}\t%{index}\t%{family}", pattern],
                               capture_output=True, text=True, check=False).stdout
        path, _, rest = found.partition("\t")
        index, _, names = rest.partition("\t")
        if path and family.lower() in names.lower():
            return FontFile(path, int(index or 0))
    raise RuntimeError(f"no CJK font installed (tried {', '.join(families)}); install fonts-noto-cjk")


@functools.lru_cache(maxsize=16)
def load_font(font: FontFile, size_px: float) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(font.path, size=size_px, index=font.index)


@dataclass(frozen=True)
class PlacedText:
    """One printed line and its box (page pixels); ``pointer`` is set for footer values."""

    text: str
    bbox: BBox
    kind: TextKind = "body"
    pointer: str | None = None


@dataclass(frozen=True)
class PlacedCell:
    """A layout cell on one page: page-local rows, its box and its wrapped, positioned lines."""

    cell: LayoutCell
    bbox: BBox
    lines: tuple[PlacedText, ...]


@dataclass(frozen=True)
class PageLayout:
    page: int
    width: int
    height: int
    dpi: int
    font: FontFile
    bold: FontFile
    row_edges: tuple[float, ...]  # empty when the page has no table rows (footer only)
    col_edges: tuple[float, ...]
    cells: tuple[PlacedCell, ...]
    free_text: tuple[PlacedText, ...]

    @property
    def table_bbox(self) -> BBox | None:
        if not self.row_edges:
            return None
        return BBox.of(self.col_edges[0], self.row_edges[0], self.col_edges[-1], self.row_edges[-1])


@dataclass(frozen=True)
class _Metrics:
    dpi: int
    width: int
    font: FontFile
    bold: FontFile

    @property
    def height(self) -> int:
        return round(self.width * A4_MM[1] / A4_MM[0])

    def px(self, mm: float) -> float:
        return mm / 25.4 * self.dpi

    @property
    def body_px(self) -> float:
        return BODY_PT / 72 * self.dpi

    @property
    def line_h(self) -> float:
        return round(self.body_px * 1.3)

    @property
    def pad(self) -> float:
        return round(self.body_px * 0.3)

    def measure(self, text: str, *, bold: bool = False, size: float | None = None) -> float:
        return load_font(self.bold if bold else self.font, size or self.body_px).getlength(text)

    def wrap(self, line: str, max_width: float, **kw: object) -> list[str]:
        """Breaks ``line`` into pieces no wider than ``max_width``; the pieces join back to ``line``."""
        pieces, start = [], 0
        for end in range(1, len(line) + 1):
            if end - start > 1 and self.measure(line[start:end], **kw) > max_width:
                pieces.append(line[start:end - 1])
                start = end - 1
        return [*pieces, line[start:]] if line else []


def paginate(layout: FormLayout, *, dpi: int = 200, width: int | None = None,
             font: FontFile | None = None, bold: FontFile | None = None) -> list[PageLayout]:
    """Where everything of ``layout`` is printed, page by page (A4 portrait ``width`` pixels wide)."""
    m = _Metrics(dpi, width or round(A4_MM[0] / 25.4 * dpi), font or find_cjk_font(),
                 bold or find_cjk_font(bold=True))
    margin = m.px(MARGIN_MM)
    table_w = m.width - 2 * margin
    col_edges = [margin]
    for fraction in layout.col_widths:
        col_edges.append(col_edges[-1] + fraction * table_w)
    wrapped = {cell: _wrap_cell(m, cell, col_edges) for cell in layout.cells}
    heights = _row_heights(m, layout, wrapped)
    heading, y = _heading(m, layout, margin, table_w)
    pages: list[PageLayout] = []
    start = 0
    while start < layout.n_rows:
        end = _page_break(m, layout, wrapped, heights, start, m.height - margin - y)
        edges = [y]
        for row in range(start, end):
            edges.append(edges[-1] + heights[row])
        cells = _place_cells(m, layout, wrapped, start, end, edges, col_edges)
        pages.append(PageLayout(len(pages) + 1, m.width, m.height, dpi, m.font, m.bold, tuple(edges),
                                tuple(col_edges), cells, heading if not pages else ()))
        start, y = end, margin
    footer_top = pages[-1].row_edges[-1] + m.line_h if pages else y
    footer = _footer(m, layout, margin, table_w, footer_top)
    if footer and footer[-1].bbox.y1 > m.height - margin:
        pages.append(PageLayout(len(pages) + 1, m.width, m.height, dpi, m.font, m.bold, (),
                                tuple(col_edges), (), _footer(m, layout, margin, table_w, margin)))
    elif pages:
        pages[-1] = replace(pages[-1], free_text=pages[-1].free_text + footer)
    return pages


def _wrap_cell(m: _Metrics, cell: LayoutCell, col_edges: list[float]) -> list[str]:
    inner = col_edges[cell.last_col + 1] - col_edges[cell.col] - 2 * m.pad
    return [piece for line in cell.lines for piece in m.wrap(line, inner)]


def _text_height(m: _Metrics, n_lines: int) -> float:
    return max(n_lines, 1) * m.line_h + 2 * m.pad


def _row_heights(m: _Metrics, layout: FormLayout, wrapped: dict[LayoutCell, list[str]]) -> list[float]:
    """Each row as tall as its tallest one-row cell; merged cells spread any deficit over their rows."""
    heights = [_text_height(m, 1)] * layout.n_rows
    for cell in sorted(layout.cells, key=lambda c: c.row_span):
        rows = range(cell.row, cell.row + cell.row_span)
        deficit = _text_height(m, len(wrapped[cell])) - sum(heights[r] for r in rows)
        for r in rows if deficit > 0 else ():
            heights[r] += deficit / cell.row_span
    return heights


def _page_break(m: _Metrics, layout: FormLayout, wrapped: dict[LayoutCell, list[str]],
                heights: list[float], start: int, room: float) -> int:
    """The first row of the next page: as many rows as fit, but never cut a merged cell so that
    its text no longer fits in the part left on this page."""
    end, used = start, 0.0
    while end < layout.n_rows and (end == start or used + heights[end] <= room):
        used += heights[end]
        end += 1
    moved = True
    while moved and end < layout.n_rows:
        moved = False
        for cell in layout.cells:
            straddles = start < cell.row < end <= cell.last_row and wrapped[cell]
            if straddles and sum(heights[cell.row:end]) < _text_height(m, len(wrapped[cell])):
                end, moved = cell.row, True
    return end


def _place_cells(m: _Metrics, layout: FormLayout, wrapped: dict[LayoutCell, list[str]], start: int,
                 end: int, edges: list[float], col_edges: list[float]) -> tuple[PlacedCell, ...]:
    placed = []
    for cell in layout.cells:
        if cell.last_row < start or cell.row >= end:
            continue
        first, last = max(cell.row, start), min(cell.last_row, end - 1)
        continuation = cell.row < start  # the lower part of a cell split by the page break: blank
        local = replace(cell, row=first - start, row_span=last - first + 1)
        if continuation:
            local = replace(local, lines=(), pointer=None)
        box = BBox.of(col_edges[cell.col], edges[first - start], col_edges[cell.last_col + 1],
                      edges[last - start + 1])
        lines = () if continuation else _place_lines(m, local, box, wrapped[cell])
        placed.append(PlacedCell(local, box, lines))
    return tuple(placed)


def _place_lines(m: _Metrics, cell: LayoutCell, box: BBox, lines: list[str]) -> tuple[PlacedText, ...]:
    top = box.y0 + (box.height - len(lines) * m.line_h) / 2
    placed = []
    for i, text in enumerate(lines):
        w = m.measure(text)
        x0 = box.x0 + m.pad if cell.align == "left" else box.x0 + (box.width - w) / 2
        y0 = top + i * m.line_h
        placed.append(PlacedText(text, BBox.of(x0, y0, x0 + w, y0 + m.line_h)))
    return tuple(placed)


def _heading(m: _Metrics, layout: FormLayout, margin: float,
             table_w: float) -> tuple[tuple[PlacedText, ...], float]:
    """Title (bold, larger, centred) and subtitle; returns them and the y where the table starts."""
    placed, y = [], margin
    title_px = TITLE_PT / 72 * m.dpi
    for text, kind, size, bold in ((layout.title, "title", title_px, True),
                                   (layout.subtitle, "subtitle", m.body_px, False)):
        for piece in m.wrap(text or "", table_w, bold=bold, size=size):
            w = m.measure(piece, bold=bold, size=size)
            x0 = margin + (table_w - w) / 2
            placed.append(PlacedText(piece, BBox.of(x0, y, x0 + w, y + size * 1.3), kind))
            y += size * 1.5
    return tuple(placed), y + m.pad


def _footer(m: _Metrics, layout: FormLayout, margin: float, table_w: float,
            top: float) -> tuple[PlacedText, ...]:
    """Signoff fragments below the table; fragments of one line sit at quarter-width stops."""
    placed, y = [], top
    for line, pointers in zip(layout.footer_lines, layout.footer_pointers, strict=True):
        x = margin
        for i, fragment in enumerate(line.split(FOOTER_GAP)):
            x = max(x, margin + i * table_w / 4)
            w = m.measure(fragment)
            pointer = next((p for value, p in pointers.items() if fragment.endswith(value)), None)
            placed.append(PlacedText(fragment, BBox.of(x, y, x + w, y + m.line_h), pointer=pointer))
            x += w + m.measure("　")
        y += m.line_h * 1.4
    return tuple(placed)


def page_grid(page: PageLayout) -> tuple[TableGrid, list[TextLine]]:
    """The page as perfect OCR + grid detection reports it (confidence 1.0 everywhere)."""
    texts = [*page.free_text, *(line for cell in page.cells for line in cell.lines)]
    text_lines = [TextLine(page=page.page, text=t.text, bbox=t.bbox, confidence=1.0) for t in texts]
    cells = tuple(
        GridCell(row=c.cell.row, col=c.cell.col, row_span=c.cell.row_span, col_span=c.cell.col_span,
                 bbox=c.bbox, lines=tuple(t.text for t in c.lines), confidence=1.0 if c.lines else None)
        for c in page.cells)
    bbox = page.table_bbox or BBox.of(0, 0, 0, 0)
    grid = TableGrid(page=page.page, bbox=bbox, row_edges=page.row_edges, col_edges=page.col_edges,
                     cells=cells)
    return grid, text_lines


def pointer_boxes(pages: list[PageLayout]) -> dict[str, tuple[int, BBox]]:
    """Page and pixel box of every value cell and footer value, by JSON pointer."""
    boxes: dict[str, tuple[int, BBox]] = {}
    for page in pages:
        for cell in page.cells:
            if cell.cell.pointer:
                boxes[cell.cell.pointer] = (page.page, cell.bbox)
        for text in page.free_text:
            if text.pointer:
                boxes[text.pointer] = (page.page, text.bbox)
    return boxes


def render_page(page: PageLayout) -> Image.Image:
    """One clean page: white RGB, black grid lines (~2 px at 200 dpi), black text."""
    image = Image.new("RGB", (page.width, page.height), "white")
    draw = ImageDraw.Draw(image)
    stroke = max(1, round(2 * page.dpi / 200))
    for cell in page.cells:
        draw.rectangle(cell.bbox.as_list(), outline="black", width=stroke)
    body = load_font(page.font, BODY_PT / 72 * page.dpi)
    title = load_font(page.bold, TITLE_PT / 72 * page.dpi)
    for text in (*page.free_text, *(line for cell in page.cells for line in cell.lines)):
        font = title if text.kind == "title" else body
        draw.text((text.bbox.x0, (text.bbox.y0 + text.bbox.y1) / 2), text.text, font=font, fill="black",
                  anchor="lm")
    return image


def render_clean_pages(layout: FormLayout, *, dpi: int = 200) -> list[Image.Image]:
    """The form as clean scans: one A4 RGB image per page (geometry as ``paginate``)."""
    return [render_page(page) for page in paginate(layout, dpi=dpi)]
