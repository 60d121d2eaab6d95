"""Clean rendering and scan degradation: A4 pages, geometry as laid out, deterministic by seed."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from declscan.devkit.degrade import degrade, quarter_turn
from declscan.devkit.draw import paginate, pointer_boxes, render_clean_pages, render_page
from declscan.devkit.layout import layout_form
from declscan.models.record import GroundTruth


@pytest.fixture(scope="module")
def form_02_pages(ground_truth: dict[str, GroundTruth]) -> tuple[list, list[Image.Image]]:
    pages = paginate(layout_form(ground_truth["form-02"], seed=1))
    return pages, [render_page(page) for page in pages]


def dark(image: Image.Image, box: tuple[float, float, float, float]) -> float:
    """Share of dark pixels in ``box``."""
    pixels = np.asarray(image.convert("L").crop(tuple(round(v) for v in box)))
    return float((pixels < 128).mean())


def test_clean_pages_are_a4_and_deterministic(ground_truth: dict[str, GroundTruth]) -> None:
    layout = layout_form(ground_truth["form-05"], seed=2)
    first, second = render_clean_pages(layout), render_clean_pages(layout)
    assert [page.size for page in first] == [(1654, 2339)] * len(first)
    assert [page.tobytes() for page in first] == [page.tobytes() for page in second]


def test_text_and_ruling_are_drawn_where_the_geometry_says(form_02_pages) -> None:
    pages, images = form_02_pages
    page, image = pages[0], images[0]
    boxes = pointer_boxes(pages)
    assert boxes["/project/name"][0] == 1
    name_line = next(c.lines[0] for c in page.cells if c.cell.pointer == "/project/name")
    assert dark(image, name_line.bbox.as_list()) > 0.05  # ink where the text is said to be
    empty = next(c for c in page.cells if c.cell.pointer == "/funding/implementation_period/other")
    inner = empty.bbox
    assert dark(image, (inner.x0 + 6, inner.y0 + 6, inner.x1 - 6, inner.y1 - 6)) == 0  # blank cell
    top, bottom = page.row_edges[0], page.row_edges[-1]
    for x in page.col_edges:  # every vertical grid line is ruled somewhere down the table
        column = np.asarray(image.convert("L"))[round(top):round(bottom), round(x) - 1:round(x) + 2]
        assert (column.min(axis=1) < 100).mean() > 0.2


@pytest.mark.parametrize("level", ["mild", "harsh"])
def test_degrade_is_deterministic_by_seed(form_02_pages, level: str) -> None:
    _, images = form_02_pages
    one = degrade(images[0], level=level, seed=7)
    assert one.tobytes() == degrade(images[0], level=level, seed=7).tobytes()
    assert one.tobytes() != degrade(images[0], level=level, seed=8).tobytes()
    assert np.asarray(one).std() > 0  # not blank


def test_mild_keeps_the_page_size_and_clean_is_a_copy(form_02_pages) -> None:
    _, images = form_02_pages
    assert degrade(images[0], level="mild", seed=1).size == images[0].size
    clean = degrade(images[0], level="clean", seed=1)
    assert clean.tobytes() == images[0].tobytes() and clean.info["rotation"] == 0


def test_harsh_is_150_dpi_with_a_red_seal_and_recorded_quarter_turn(form_02_pages) -> None:
    pages, images = form_02_pages
    values = [c.bbox for c in pages[0].cells if c.cell.pointer and c.lines]
    turned = next(seed for seed in range(50) if quarter_turn("harsh", seed) == 90)
    upright = next(seed for seed in range(50) if quarter_turn("harsh", seed) == 0)
    w, h = round(images[0].width * 0.75), round(images[0].height * 0.75)
    image = degrade(images[0], level="harsh", seed=upright, value_boxes=values)
    assert image.info["rotation"] == 0 and abs(image.width - w) < 60 and abs(image.height - h) < 60
    rgb = np.asarray(image).astype(int)
    red = (rgb[..., 0] > 150) & (rgb[..., 1] < 110) & (rgb[..., 2] < 110)
    assert red.sum() > 2000  # the seal
    rotated = degrade(images[0], level="harsh", seed=turned)
    assert rotated.info["rotation"] == 90 and rotated.width > rotated.height
    assert {quarter_turn("harsh", s) for s in range(50)} == {0, 90, 180, 270}
    assert {quarter_turn("mild", s) for s in range(50)} == {0}


def test_numpy_input_is_treated_as_bgr(form_02_pages) -> None:
    pages, images = form_02_pages
    values = [c.bbox for c in pages[0].cells if c.cell.pointer and c.lines]
    seed = next(s for s in range(50) if quarter_turn("harsh", s) == 0)
    bgr = np.ascontiguousarray(np.asarray(images[0])[:, :, ::-1])
    out = degrade(bgr, level="harsh", seed=seed, value_boxes=values)
    as_pil = degrade(images[0], level="harsh", seed=seed, value_boxes=values)
    assert isinstance(out, np.ndarray)
    assert np.array_equal(out[:, :, ::-1], np.asarray(as_pil))
