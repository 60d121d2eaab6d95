"""Born-digital PDFs: the grid and text read from the PDF equal the layout the devkit printed."""

from __future__ import annotations

from pathlib import Path

import pytest

from declscan.config.options import InputLimits
from declscan.devkit.digital_pdf import RENDER_DPI, render_pdf
from declscan.devkit.layout import FormLayout, layout_form, layout_to_grid
from declscan.models.document import FormDocument
from declscan.models.ocr import TextLine
from declscan.models.record import GroundTruth
from declscan.models.tables import TableGrid
from declscan.pipeline.digital import read_text_layer
from declscan.pipeline.errors import InputError
from declscan.pipeline.load import load_pages, new_document
from declscan.pipeline.normalize import squash

FORMS = [f"form-0{i}" for i in range(1, 8)]


def digital_document(path: Path) -> FormDocument:
    loaded = load_pages(path, limits=InputLimits(raster_dpi=RENDER_DPI))
    return new_document(path, loaded, sha256="0" * 64, received_at="2024-01-26T09:00:00Z")


def read(layout: FormLayout, tmp_path: Path) -> FormDocument:
    path = tmp_path / "form.pdf"
    path.write_bytes(render_pdf(layout))
    doc = digital_document(path)
    assert doc.kind == "digital"
    return read_text_layer(doc, path)


def cell_keys(grids: list[TableGrid]) -> list[tuple[int, int, int, int, str]]:
    return sorted((c.row, c.col, c.row_span, c.col_span, squash(c.text)) for g in grids for c in g.cells)


def outside(lines: list[TextLine], grids: list[TableGrid]) -> list[str]:
    return [squash(line.text) for line in lines
            if not any(g.cells and g.bbox.contains(*line.bbox.center) for g in grids)]


@pytest.mark.parametrize("form", FORMS)
def test_every_page_reads_as_the_printed_layout(form: str, ground_truth: dict[str, GroundTruth],
                                               tmp_path: Path) -> None:
    layout = layout_form(ground_truth[form], seed=0)
    doc = read(layout, tmp_path)
    for page in doc.pages:
        expected, expected_lines = layout_to_grid(layout, page=page.number)
        grids = [g for g in doc.tables if g.page == page.number]
        assert cell_keys(grids) == cell_keys([expected] if expected.cells else []), f"page {page.number}"
        lines = [line for line in doc.lines if line.page == page.number]
        assert outside(lines, grids) == outside(expected_lines, [expected]), f"page {page.number}"


def test_boxes_are_page_pixels_at_the_raster_dpi_origin_top_left(ground_truth: dict[str, GroundTruth],
                                                                 tmp_path: Path) -> None:
    layout = layout_form(ground_truth["form-03"], seed=0)
    doc = read(layout, tmp_path)
    expected, expected_lines = layout_to_grid(layout, page=1)
    (grid,) = [g for g in doc.tables if g.page == 1]
    assert grid.col_edges == pytest.approx(expected.col_edges, abs=2.0)
    assert grid.row_edges == pytest.approx(expected.row_edges, abs=2.0)
    by_key = {(c.row, c.col): c for c in expected.cells}
    for cell in grid.cells:
        assert cell.bbox.as_list() == pytest.approx(by_key[cell.row, cell.col].bbox.as_list(), abs=2.0)
        assert cell.confidence == (1.0 if cell.lines else None)
    title = next(line for line in doc.lines if line.page == 1)
    assert title.bbox.intersection_area(expected_lines[0].bbox) > 0.5 * expected_lines[0].bbox.width * \
        expected_lines[0].bbox.height
    assert {(line.source, line.confidence) for line in doc.lines} == {("text_layer", 1.0)}


def test_multi_line_cells_keep_their_lines(ground_truth: dict[str, GroundTruth], tmp_path: Path) -> None:
    layout = layout_form(ground_truth["form-02"], seed=0)
    doc = read(layout, tmp_path)
    expected, _ = layout_to_grid(layout, page=1)
    wrapped = {(c.row, c.col): c.lines for c in expected.cells if len(c.lines) > 1}
    assert wrapped
    got = {(c.row, c.col): c.lines for g in doc.tables if g.page == 1 for c in g.cells}
    for key, lines in wrapped.items():
        assert [squash(line) for line in got[key]] == [squash(line) for line in lines]


def test_an_unreadable_pdf_is_one_line_naming_the_file(tmp_path: Path, ground_truth) -> None:
    good = tmp_path / "good.pdf"
    good.write_bytes(render_pdf(layout_form(ground_truth["form-01"], seed=0)))
    doc = digital_document(good)
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.4\n" + b"\x00" * 64)
    with pytest.raises(InputError, match=r"^broken\.pdf: corrupt PDF"):
        read_text_layer(doc, broken)
