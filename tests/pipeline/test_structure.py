"""fill_cells / detect_tables: the layout's printed lines land in the detected cells, in reading order."""

from __future__ import annotations

import numpy as np
import pytest

from declscan.config.options import LineCheckOptions
from declscan.devkit.draw import render_clean_pages
from declscan.devkit.layout import layout_form, layout_to_grid
from declscan.models.document import FormDocument, PageInfo
from declscan.models.geometry import BBox
from declscan.models.ocr import TextLine
from declscan.models.record import GroundTruth, Source
from declscan.models.tables import GridCell, TableGrid
from declscan.pipeline.grid import detect_grid
from declscan.pipeline.structure import detect_tables, fill_cells, reading_order


def _line(text: str, x0: float, y0: float, x1: float, y1: float, conf: float = 0.99,
          page: int = 1) -> TextLine:
    return TextLine(page=page, text=text, bbox=BBox.of(x0, y0, x1, y1), confidence=conf)


def _grid() -> TableGrid:
    """Two columns; the left cell spans both rows:  | A (rows 0-1) | B |  /  |  | C |."""
    cells = (
        GridCell(row=0, col=0, row_span=2, bbox=BBox.of(0, 0, 100, 100)),
        GridCell(row=0, col=1, bbox=BBox.of(100, 0, 300, 50)),
        GridCell(row=1, col=1, bbox=BBox.of(100, 50, 300, 100)),
    )
    return TableGrid(page=1, bbox=BBox.of(0, 0, 300, 100), row_edges=(0, 50, 100), col_edges=(0, 100, 300),
                     cells=cells)


def test_lines_go_to_the_cell_of_their_centre_in_reading_order() -> None:
    lines = [
        _line("第二行", 5, 55, 90, 70, conf=0.8),
        _line("第一行", 5, 10, 90, 25),
        _line("右", 160, 10, 200, 25, conf=0.95),
        _line("左", 110, 12, 150, 27),  # same visual row as 右, slightly lower: still left first
        _line("标题", 0, -40, 300, -20),  # above the table: in no cell
        _line("别页", 110, 60, 200, 80, page=2),
    ]
    filled = fill_cells(_grid(), lines)
    a, b, c = filled.cells
    assert a.lines == ("第一行", "第二行") and a.confidence == 0.8 and a.line_confidences == (0.99, 0.8)
    assert b.lines == ("左", "右") and b.confidence == 0.95 and b.text == "左右"
    assert c.lines == () and c.confidence is None and c.line_confidences == ()


def test_line_crossing_a_vertical_rule_goes_where_it_overlaps_most() -> None:
    # centre at x=95 (left cell) but the box reaches far into the right cell
    lines = [_line("溢出的长文本", 70, 10, 120, 25), _line("跨格文本很长", 60, 60, 250, 75)]
    filled = fill_cells(_grid(), lines)
    assert filled.cells[0].lines == ("溢出的长文本",)  # 30 px in the left cell, 20 px in the right
    assert filled.cells[2].lines == ("跨格文本很长",)  # centre at 155: right cell, overlaps it most


def test_reading_order_rows_then_left_to_right() -> None:
    lines = [_line("c", 10, 40, 50, 55), _line("b", 60, 2, 90, 18), _line("a", 10, 0, 50, 16)]
    assert [ln.text for ln in reading_order(lines)] == ["a", "b", "c"]


def test_reading_order_stacked_lines_with_padded_boxes() -> None:
    """A scan's detector pads boxes to about twice the text's height, so the three lines of one cell
    (服务对象 / 满意度指 / 标, recorded on a harsh page) overlap by half a box: still three rows."""
    lines = [_line("满意度指", 675, 175, 776, 222), _line("服务对象", 677, 155, 773, 195),
             _line("标", 701, 210, 749, 247)]
    assert [ln.text for ln in reading_order(lines)] == ["服务对象", "满意度指", "标"]


@pytest.mark.parametrize("form", ["form-02", "form-05"])
def test_layout_text_fills_detected_cells(form: str, ground_truth: dict[str, GroundTruth]) -> None:
    """Rendered page + the layout's own text lines (perfect OCR) → the layout's cell texts."""
    layout = layout_form(ground_truth[form], seed=0)
    image = np.ascontiguousarray(np.asarray(render_clean_pages(layout)[0])[:, :, ::-1])
    expected, lines = layout_to_grid(layout, page=1)
    filled = fill_cells(detect_grid(image, page=1), lines)
    want = {(c.row, c.col, c.row_span, c.col_span): c.lines for c in expected.cells}
    got = {(c.row, c.col, c.row_span, c.col_span): c.lines for c in filled.cells}
    assert got == want
    assert all(c.confidence == 1.0 for c in filled.cells if c.lines)


def test_detect_tables_per_page_keeps_every_line(ground_truth: dict[str, GroundTruth]) -> None:
    layout = layout_form(ground_truth["form-01"], seed=0)
    images = [np.ascontiguousarray(np.asarray(p)[:, :, ::-1]) for p in render_clean_pages(layout)]
    lines = [line for number in range(1, len(images) + 1) for line in layout_to_grid(layout, page=number)[1]]
    source = Source(filename="f.png", sha256="0" * 64, pages=len(images), received_at="2024-01-26T09:00:00Z")
    doc = FormDocument(document_id="0" * 64, source=source, lines=tuple(lines),
                       pages=tuple(PageInfo(number=i, width=im.shape[1], height=im.shape[0], dpi=200)
                                   for i, im in enumerate(images, start=1)))
    out = detect_tables(doc, images)
    assert [t.page for t in out.tables] == [1, 2]
    assert out.lines == doc.lines  # title and footer lines stay for the mapper
    in_cells = sum(len(c.lines) for t in out.tables for c in t.cells)
    in_layout = sum(len(c.lines) for number in (1, 2) for c in layout_to_grid(layout, page=number)[0].cells)
    assert in_cells == in_layout
    titles = [ln for ln in lines if ln.page == 1 and ln.bbox.y1 < out.tables[0].bbox.y0]
    assert titles and not any(t in c.lines for c in out.tables[0].cells for t in (ln.text for ln in titles))


def test_a_cell_with_print_that_no_line_was_read_in_is_marked(ground_truth: dict[str, GroundTruth]) -> None:
    """Perfect lines but one lone 0's, as the detector leaves it out: that cell alone is marked."""
    layout = layout_form(ground_truth["form-02"], seed=0)
    image = np.ascontiguousarray(np.asarray(render_clean_pages(layout)[0])[:, :, ::-1])
    grid, lines = layout_to_grid(layout, page=1)
    zero = next(cell for cell in grid.cells if cell.text == "0")
    kept = [ln for ln in lines if not zero.bbox.contains(*ln.bbox.center)]
    source = Source(filename="f.png", sha256="0" * 64, pages=1, received_at="2024-01-26T09:00:00Z")
    doc = FormDocument(document_id="0" * 64, source=source, lines=tuple(kept),
                       pages=(PageInfo(number=1, width=image.shape[1], height=image.shape[0], dpi=200),))
    (table,) = detect_tables(doc, [image]).tables
    assert [(c.row, c.col) for c in table.cells if c.unread_ink] == [(zero.row, zero.col)]
    (table,) = detect_tables(doc, [image], LineCheckOptions(enabled=False)).tables
    assert not any(c.unread_ink for c in table.cells), "checks off"
    (table,) = detect_tables(doc.model_copy(update={"lines": tuple(lines)}), [image]).tables
    assert not any(c.unread_ink for c in table.cells), "every cell with print was read"
