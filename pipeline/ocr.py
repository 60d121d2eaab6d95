"""OCR stage: text lines of every page from an :class:`OcrEngine` (PaddleOCR in production).

This module is pure: the engine is passed in, and PaddleOCR's raw output is converted by
:func:`parse_paddle_result`, which the tests drive with recorded JSON and no engine at all
(img2table's habit). Each page is recognized once; a page that reads as garbage (very low median
confidence) is tried once more turned 180°, the fallback behind preprocessing's uprighting.
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from declscan.models.document import FormDocument, PageInfo
from declscan.models.geometry import BBox
from declscan.models.ocr import TextLine

log = logging.getLogger(__name__)

# An upright page of print reads at a median of ~0.98; the same page upside down at ~0.47 (recorded).
UPSIDE_DOWN_MEDIAN = 0.7


class OcrEngine(Protocol):
    """Detects and recognizes the text of one page image."""

    def recognize(self, image: np.ndarray) -> Any:
        """The engine's raw output for one BGR page (for PaddleOCR: one ``predict()`` result)."""
        ...

    def versions(self) -> dict[str, str]:
        """Engine and model names and checksums, recorded with every result."""
        ...


def parse_paddle_result(raw: Any, *, page: int) -> list[TextLine]:
    """PaddleOCR 3.x ``predict()`` output for one page as TextLines, in the engine's order.

    ``raw`` is one result object of ``PaddleOCR.predict()`` (a mapping with ``rec_texts``,
    ``rec_scores`` and ``rec_polys`` or ``rec_boxes``) or its ``.json`` form (the same under
    ``"res"``). The bbox is the axis-aligned box around the line's polygon; the confidence is the
    recognition score. Lines whose text is blank are dropped.
    """
    res: Mapping[str, Any] = raw.get("res", raw)
    texts: Sequence[str] = res["rec_texts"]
    scores = np.asarray(res["rec_scores"], dtype=float).reshape(-1)
    boxes = _line_boxes(res, len(texts))
    if not len(texts) == len(scores) == len(boxes):
        raise ValueError(f"page {page}: {len(texts)} texts, {len(scores)} scores, {len(boxes)} boxes")
    return [
        TextLine(page=page, text=text.strip(), bbox=box, confidence=float(np.clip(score, 0.0, 1.0)))
        for text, score, box in zip(texts, scores, boxes, strict=True)
        if text.strip()
    ]


def _line_boxes(res: Mapping[str, Any], n: int) -> list[BBox]:
    polys = res.get("rec_polys")
    if polys is not None and len(polys) == n:
        return [_poly_box(np.asarray(poly, dtype=float)) for poly in polys]
    boxes = np.asarray(res.get("rec_boxes", []), dtype=float).reshape(-1, 4)
    return [BBox.of(*map(float, box)) for box in boxes]


def _poly_box(poly: np.ndarray) -> BBox:
    xs, ys = poly[:, 0], poly[:, 1]
    return BBox.of(float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max()))


def median_confidence(lines: Sequence[TextLine]) -> float:
    """The median line confidence of a page; 0.0 for a page without text."""
    return statistics.median(line.confidence for line in lines) if lines else 0.0


def run_ocr(doc: FormDocument, images: list[np.ndarray], *, engine: OcrEngine) -> FormDocument:
    """``doc`` with ``lines`` holding the recognized text of every page (boxes in page pixels).

    ``images`` are the preprocessed BGR pages, one per ``doc.pages`` entry. A page that reads
    better turned 180° is turned **in place** in ``images`` (so the caller's pixels keep matching
    the boxes), and its ``PageInfo.rotation`` grows by 180.
    """
    if len(images) != len(doc.pages):
        raise ValueError(f"{len(images)} images for {len(doc.pages)} pages")
    pages: list[PageInfo] = []
    lines: list[TextLine] = []
    for info, image in zip(doc.pages, images, strict=True):
        page_lines, turned = _read_page(engine, image, info.number)
        if turned:
            image[...] = np.ascontiguousarray(image[::-1, ::-1])
            info = info.model_copy(update={"rotation": (info.rotation + 180) % 360})
        pages.append(info)
        lines.extend(page_lines)
    return doc.model_copy(update={"pages": tuple(pages), "lines": tuple(lines)})


def _read_page(engine: OcrEngine, image: np.ndarray, page: int) -> tuple[list[TextLine], bool]:
    """The page's lines, and whether they were read from the page turned 180°."""
    lines = parse_paddle_result(engine.recognize(image), page=page)
    median = median_confidence(lines)
    if not lines or median >= UPSIDE_DOWN_MEDIAN:
        return lines, False
    turned = parse_paddle_result(engine.recognize(np.ascontiguousarray(image[::-1, ::-1])), page=page)
    turned_median = median_confidence(turned)
    log.info("page %d: median confidence %.2f upright, %.2f turned 180°", page, median, turned_median)
    if turned_median > median:
        return turned, True
    return lines, False
