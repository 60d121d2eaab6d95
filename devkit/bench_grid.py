"""Grid detection benchmark: our ``detect_grid`` against img2table's bordered-table extraction.

Pages are the 7 dev-set forms as the devkit renders them (``layout``/``draw``), degraded by
``declscan.devkit.degrade`` at each level and preprocessed as in the pipeline. For each page the
detected cells are compared with ``layout_to_grid``'s by (row, col, row_span, col_span); printed
are the share of expected cells found right, the share of pages with every cell right, and the
median seconds per page.

    python -m declscan.devkit.bench_grid [--levels clean mild harsh] [--dpi 200]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import cv2
import numpy as np

from declscan.models.geometry import BBox
from declscan.models.tables import GridCell, TableGrid


def cell_spans(found: TableGrid, expected: TableGrid) -> set[tuple[int, int, int, int]]:
    """The cells of ``found`` named in the row/column numbers of ``expected``.

    Edges are compared as fractions of the table's height and width, so the comparison holds on a
    degraded page (shifted, scaled, rotated back) without knowing the transform. A detected edge
    with no expected edge near it gets number -1, so an extra or a missing edge shows up as wrong
    cells rather than shifting every number after it.
    """
    def numbering(edges: tuple[float, ...], reference: tuple[float, ...]) -> list[int]:
        def rel(values: tuple[float, ...]) -> np.ndarray:
            return (np.asarray(values) - values[0]) / max(values[-1] - values[0], 1e-6)

        want, got = rel(reference), rel(edges)
        tol = 0.4 * float(np.diff(want).min()) if len(want) > 1 else 0.01
        nearest = [int(np.argmin(abs(want - g))) for g in got]
        return [n if abs(want[n] - g) <= tol else -1 for n, g in zip(nearest, got, strict=True)]

    rows = numbering(found.row_edges, expected.row_edges)
    cols = numbering(found.col_edges, expected.col_edges)
    out = set()
    for cell in found.cells:
        r0, r1 = rows[cell.row], rows[cell.row + cell.row_span]
        c0, c1 = cols[cell.col], cols[cell.col + cell.col_span]
        out.add((r0, c0, r1 - r0, c1 - c0))
    return out


def cell_accuracy(found: TableGrid | None, expected: TableGrid) -> float:
    """Share of expected cells found with the right position and spans (1.0 for a rightly empty page)."""
    want = {(c.row, c.col, c.row_span, c.col_span) for c in expected.cells}
    if not want:  # a page without a table (footer only)
        return 1.0 if found is None else 0.0
    if found is None:
        return 0.0
    return len(want & cell_spans(found, expected)) / len(want)


def stamp_seals(image: np.ndarray, centres: list[tuple[int, int]], *, radius: int = 140) -> np.ndarray:
    """Red seals (ring + star disc) multiplied over a BGR page, as stamp ink on paper: black stays black."""
    ink = np.zeros(image.shape[:2], np.uint8)
    for centre in centres:
        cv2.circle(ink, centre, radius, 255, max(3, radius // 15))
        cv2.circle(ink, centre, radius // 3, 255, -1)
    alpha = ink.astype(np.float32)[..., None] / 255 * 0.85
    red = np.array([40, 32, 214], np.float32) / 255  # BGR
    return (image.astype(np.float32) * (1 - alpha * (1 - red))).astype(np.uint8)


def img2table_grid(image: np.ndarray, page: int = 1) -> TableGrid | None:
    """img2table's bordered extraction as a TableGrid: merged cells are repeated per row there."""
    from img2table.document import Image as I2TImage

    _ok, png = cv2.imencode(".png", image)
    tables = I2TImage(src=png.tobytes(), detect_rotation=False).extract_tables(
        ocr=None, implicit_rows=False, borderless_tables=False)
    if not tables:
        return None
    table = max(tables, key=lambda t: (t.bbox.x2 - t.bbox.x1) * (t.bbox.y2 - t.bbox.y1))
    boxes = {(c.bbox.x1, c.bbox.y1, c.bbox.x2, c.bbox.y2) for row in table.content.values() for c in row}
    xs = sorted({b[0] for b in boxes} | {b[2] for b in boxes})
    ys = sorted({b[1] for b in boxes} | {b[3] for b in boxes})
    cells = [GridCell(row=ys.index(b[1]), col=xs.index(b[0]), row_span=ys.index(b[3]) - ys.index(b[1]),
                      col_span=xs.index(b[2]) - xs.index(b[0]), bbox=BBox.of(*b)) for b in boxes]
    return TableGrid(page=page, bbox=BBox.of(xs[0], ys[0], xs[-1], ys[-1]), row_edges=tuple(map(float, ys)),
                     col_edges=tuple(map(float, xs)), cells=tuple(cells))


Detector = Callable[[np.ndarray], TableGrid | None]
Page = tuple[str, np.ndarray, TableGrid]


def shared_dir() -> Path:
    return Path(os.environ.get("DECLSCAN_SHARED", Path(__file__).resolve().parents[2] / "shared"))


def dev_pages(level: str, *, dpi: int = 200, seed: int = 0, forms: tuple[str, ...] = ()) -> Iterator[Page]:
    """Every page of the dev-set forms (all 7, or ``forms``) rendered, degraded at ``level``, with its grid.

    Degraded pages are run through ``preprocess`` first (orientation, deskew, seal removal), as in
    the pipeline, so the grid is measured on what the grid stage really gets.
    """
    from declscan.devkit.degrade import degrade
    from declscan.devkit.draw import render_clean_pages
    from declscan.devkit.layout import layout_form, layout_to_grid
    from declscan.models.record import GroundTruth
    from declscan.pipeline.preprocess import flatten_background, remove_red_seals, upright_page

    for path in sorted((shared_dir() / "dev" / "ground-truth").glob("form-*.json")):
        if forms and path.stem not in forms:
            continue
        truth = GroundTruth.model_validate(json.loads(path.read_text(encoding="utf-8")))
        layout = layout_form(truth, seed=seed)
        for number, page in enumerate(render_clean_pages(layout, dpi=dpi), start=1):
            expected, _lines = layout_to_grid(layout, page=number, width=page.width, dpi=dpi)
            if level != "clean":
                page = degrade(page, level=level, seed=seed * 100 + number)
            image = np.ascontiguousarray(np.asarray(page)[:, :, ::-1])
            if level != "clean":
                image = upright_page(remove_red_seals(flatten_background(image)))[0]
            yield f"{path.stem}-p{number}-{level}", image, expected


def bench(pages: list[Page], detector: Detector) -> dict[str, float]:
    scores, times = [], []
    for _name, image, expected in pages:
        start = time.perf_counter()
        found = detector(image)
        times.append(time.perf_counter() - start)
        scores.append(cell_accuracy(found, expected))
    perfect = sum(score == 1.0 for score in scores) / len(scores)
    return {"cells": float(np.mean(scores)), "perfect_pages": perfect, "s_per_page": float(np.median(times))}


def main() -> None:
    from declscan.pipeline.grid import detect_grid

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--levels", nargs="+", default=["clean", "mild", "harsh"])
    parser.add_argument("--dpi", type=int, default=200)
    args = parser.parse_args()
    detectors: dict[str, Detector] = {"declscan": lambda im: detect_grid(im, page=1),
                                      "img2table": img2table_grid}
    for level in args.levels:
        pages = list(dev_pages(level, dpi=args.dpi))
        for name, detector in detectors.items():
            result = bench(pages, detector)
            print(f"{level:6s} {name:10s} cells right {result['cells']:6.1%}  pages all right "
                  f"{result['perfect_pages']:4.0%}  {result['s_per_page']:.3f} s/page "
                  f"(median of {len(pages)} pages)")


if __name__ == "__main__":
    main()
