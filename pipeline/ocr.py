"""OCR stage: text lines of every page from an :class:`OcrEngine` (PaddleOCR in production).

This module is pure: the engine is passed in, and PaddleOCR's raw output is converted by
:func:`parse_paddle_result`, which the tests drive with recorded JSON and no engine at all
(img2table's habit). Each page is recognized once; a page that reads as garbage (very low median
confidence) is tried once more turned 180°, the fallback behind preprocessing's uprighting.

The engine reads a denoised copy of each page (``denoise_for_ocr``: fine scanner noise makes the
recognizer skip characters at full confidence). Every line is then checked for skipped characters
by where its glyphs sit (``declscan.pipeline.ocr_check``), for ink beside it that no box took
(``declscan.pipeline.unread_ink``) and for marks that may be printed doubled; such a line is read
again from other views of its crop when the engine can read crops (``declscan.pipeline.reread``),
and one still short keeps its text with a confidence low enough to be flagged. Last, marks the
recognizer confuses at full confidence are written as their shape on the page says: ``；`` read as
``：`` (``declscan.pipeline.colon_shape``), and the brackets around a document number's year,
``〔2023〕`` read as ``（2023）`` (``declscan.pipeline.bracket_shape``).
"""

from __future__ import annotations

import logging
import statistics
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from declscan.config.options import LineCheckOptions
from declscan.models.document import FormDocument, PageInfo
from declscan.models.geometry import BBox
from declscan.models.ocr import TextLine
from declscan.pipeline.bracket_shape import check_year_brackets, year_bracket_lines
from declscan.pipeline.colon_shape import check_colon_marks, colon_lines
from declscan.pipeline.ocr_check import (
    Glyph,
    Reading,
    best_reading,
    completes,
    em_per_height,
    glyph_extents,
    hole_window,
    is_suspect,
    line_em,
    mark_rooms,
    reading_in_box,
    splice,
    text_doubt,
)
from declscan.pipeline.placement import place_lines
from declscan.pipeline.preprocess import denoise_for_ocr
from declscan.pipeline.reread import (
    LineReader,
    capped,
    paper_columns,
    read_collapsed_repeats,
    read_unread_ink,
    reread_lines,
)

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
    return [line for line, _ in parse_paddle_readings(raw, page=page)]


def parse_paddle_readings(raw: Any, *, page: int) -> list[tuple[TextLine, Reading | None]]:
    """As :func:`parse_paddle_result`, each line with its :class:`Reading` (glyph positions) when
    the result has them (``predict(..., return_word_box=True)``), else None."""
    res: Mapping[str, Any] = raw.get("res", raw)
    texts: Sequence[str] = res["rec_texts"]
    scores = np.asarray(res["rec_scores"], dtype=float).reshape(-1)
    boxes = _line_boxes(res, len(texts))
    if not len(texts) == len(scores) == len(boxes):
        raise ValueError(f"page {page}: {len(texts)} texts, {len(scores)} scores, {len(boxes)} boxes")
    words, regions = res.get("text_word"), res.get("text_word_region")
    has_glyphs = words is not None and regions is not None and len(words) == len(regions) == len(texts)
    parsed = []
    for i, (text, score, box) in enumerate(zip(texts, scores, boxes, strict=True)):
        if not text.strip():
            continue
        line = TextLine(page=page, text=text.strip(), bbox=box, confidence=float(np.clip(score, 0.0, 1.0)))
        glyphs = _region_glyphs(words[i], regions[i]) if has_glyphs else None
        parsed.append((line, reading_in_box(line.text, line.confidence, glyphs, box) if glyphs else None))
    return parsed


def _region_glyphs(words: Sequence[str], regions: Sequence[Any]) -> tuple[Glyph, ...]:
    """Glyphs from PaddleOCR's word boxes (one per CJK character or run of other characters)."""
    glyphs = []
    for word, region in zip(words, regions, strict=False):
        xs = np.asarray(region, dtype=float).reshape(-1, 2)[:, 0]
        glyphs.append(Glyph(str(word), float(xs.min()), float(xs.max())))
    return tuple(sorted(glyphs, key=lambda g: g.x0))


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


def run_ocr(doc: FormDocument, images: list[np.ndarray], *, engine: OcrEngine,
            check: LineCheckOptions | None = None) -> FormDocument:
    """``doc`` with ``lines`` holding the recognized text of every page (boxes in page pixels).

    ``images`` are the preprocessed BGR pages, one per ``doc.pages`` entry. A page that reads
    better turned 180° is turned **in place** in ``images`` (so the caller's pixels keep matching
    the boxes), and its ``PageInfo.rotation`` grows by 180. ``check`` sets the dropped-character
    check (default: ``LineCheckOptions()``).
    """
    if len(images) != len(doc.pages):
        raise ValueError(f"{len(images)} images for {len(doc.pages)} pages")
    check = check or LineCheckOptions()
    pages: list[PageInfo] = []
    lines: list[TextLine] = []
    for info, image in zip(doc.pages, images, strict=True):
        page_lines, turned = _read_page(engine, image, info.number, check)
        if turned:
            image[...] = np.ascontiguousarray(image[::-1, ::-1])
            info = info.model_copy(update={"rotation": (info.rotation + 180) % 360})
        pages.append(info)
        lines.extend(page_lines)
    return doc.model_copy(update={"pages": tuple(pages), "lines": tuple(lines)})


def _read_page(engine: OcrEngine, image: np.ndarray, page: int,
               check: LineCheckOptions) -> tuple[list[TextLine], bool]:
    """The page's checked lines, and whether they were read from the page turned 180°."""
    readings = parse_paddle_readings(engine.recognize(denoise_for_ocr(image)), page=page)
    median = median_confidence([line for line, _ in readings])
    if not readings or median >= UPSIDE_DOWN_MEDIAN:
        return check_lines(readings, image, engine, check), False
    turned_image = np.ascontiguousarray(image[::-1, ::-1])
    turned = parse_paddle_readings(engine.recognize(denoise_for_ocr(turned_image)), page=page)
    turned_median = median_confidence([line for line, _ in turned])
    log.info("page %d: median confidence %.2f upright, %.2f turned 180°", page, median, turned_median)
    if turned_median > median:
        return check_lines(turned, turned_image, engine, check), True
    return check_lines(readings, image, engine, check), False


def check_lines(readings: Sequence[tuple[TextLine, Reading | None]], image: np.ndarray, engine: OcrEngine,
                check: LineCheckOptions) -> list[TextLine]:
    """The page's lines after the checks for characters the OCR missed.

    A line missing characters (``is_suspect``) is replaced by a complete re-reading from
    ``REREAD_VIEWS`` of its crop of ``image`` (the page before denoising) when ``engine`` is a
    ``LineReader`` and one view reads it whole (``best_reading``). Only a window around its holes
    is read when one can be cut at bare paper (``hole_window``), and spliced into the line. Then
    lines with unread ink beside them or at their ends, and lines with marks that may be printed
    doubled, are read again (``declscan.pipeline.reread``). A line still missing characters, with
    unread ink not read, or with a doubtful text (``text_doubt``: a stray mark, a dash for 一, an
    uncommon ideograph) keeps its text with its confidence capped at ``check.suspect_confidence``
    and ``TextLine.doubt`` saying why.
    """
    lines = [line for line, _ in readings]
    if not check.enabled:
        return lines
    em = em_per_height([reading for _, reading in readings if reading is not None])
    suspects = [(i, reading) for i, (_, reading) in enumerate(readings)
                if reading is not None and is_suspect(reading, em, check)]
    reader = engine if isinstance(engine, LineReader) and check.reread else None
    windows = [hole_window(reading, line_em(reading, em) or 0.0, check, paper_columns(image, lines[i].bbox))
               if reader else None for i, reading in suspects]
    boxes = [BBox.of(window.x0, lines[i].bbox.y0, window.x1, lines[i].bbox.y1) if window else lines[i].bbox
             for (i, _), window in zip(suspects, windows, strict=True)]

    def whole(n: int, again: Reading) -> Reading | None:
        """A re-reading of suspect ``n``'s crop as a reading of its whole line (``splice``)."""
        window = windows[n]
        return splice(suspects[n][1], window, again) if window else again

    def done(n: int, again: Reading) -> bool:
        return (line := whole(n, again)) is not None and completes(suspects[n][1], line, em, check)

    if suspects and reader is not None:
        rereads = reread_lines(reader, image, boxes, done=done)
    else:
        rereads = [[] for _ in boxes]
    fixed = 0
    now = [reading for _, reading in readings]
    for n, ((i, first), others) in enumerate(zip(suspects, rereads, strict=True)):
        spliced = [line for again in others if (line := whole(n, again)) is not None]
        best, still_suspect = best_reading(first, spliced, em, check)
        if still_suspect:
            lines[i] = capped(lines[i], check, "skipped_character")
        else:
            fixed += 1
            lines[i] = lines[i].model_copy(update={"text": best.text, "confidence": best.score})
            now[i] = best
        log.debug("line %r missed characters: %r (%s %s)", first.text, best.text,
                  "flagged after reading" if still_suspect else "re-read", windows[n] or "the whole line")
    if suspects:
        log.info("page %d: %d of %d lines missed characters, %d completed by a re-read",
                 lines[0].page, len(suspects), len(lines), fixed)
    ems = [line_em(reading, em) if reading is not None else None for reading in now]
    extents = [glyph_extents(r, e) if r is not None else None for r, e in zip(now, ems, strict=True)]
    rooms = [mark_rooms(r, e) if r is not None else None for r, e in zip(now, ems, strict=True)]
    read = lines
    lines = read_unread_ink(lines, ems, extents, image, reader, check, rooms)
    lines = read_collapsed_repeats(lines, image, reader, check)
    # A line read again since has other glyphs than ``now`` holds: its characters are placed anew.
    still = [reading if (before.text, before.bbox) == (after.text, after.bbox) else None
             for reading, before, after in zip(now, read, lines, strict=True)]
    lines = check_mark_shapes(lines, image, reader, check, still)
    return [capped(line, check, doubt) if (doubt := text_doubt(line.text)) else line for line in lines]


def check_mark_shapes(lines: list[TextLine], image: np.ndarray, reader: LineReader | None,
                      check: LineCheckOptions, readings: Sequence[Reading | None]) -> list[TextLine]:
    """``lines`` with the marks the recognizer confuses written as their ink on ``image`` says:
    colons and semicolons (``declscan.pipeline.colon_shape``), then the brackets around a year
    (``declscan.pipeline.bracket_shape``). Each line is placed once, by its reading in ``readings``
    (None where a check since has read it again); only a line with a year in brackets is read again
    with ``reader`` to place it: a bracket pair read round and not placed is flagged, while a colon
    not placed stays as read, as one whose ink is not found does."""
    colons, brackets = colon_lines(lines), year_bracket_lines(lines)
    placed = place_lines(lines, colons | brackets, image, readings, reader, reread=brackets)
    # Both checks change single characters in place, so each line's placement holds for the other.
    lines = check_colon_marks(lines, placed, check)
    return check_year_brackets(lines, placed, check)


