"""Reading single lines again, from other views of their crops, where the page says the first
reading is short.

Three kinds of evidence lead to a re-read, each with its own acceptance rule, so a re-read never
swaps characters read at full confidence for others:

* **skipped characters** (``declscan.pipeline.ocr_check``): a hole where glyphs should be; the OCR
  stage reads other views (:data:`REREAD_VIEWS`) of a window around the holes, cut at bare paper
  (``hole_window``, :func:`paper_columns`), or of the whole line, accepted by ``best_reading``;
* **unread ink** (``declscan.pipeline.unread_ink``): a mark beside the box that the detector left
  out, or a first or last character the recognizer skipped; the crop widened over it, accepted
  when it adds text only where the ink is (:func:`reads_the_ink`); a character wrapped alone onto
  the row below, from its own crop, accepted when it fits the ink's width (:func:`read_wrapped`);
* **collapsed repeats**: CTC decoding merges two equal characters with no blank frame between them,
  so a printed ``--`` or ``——`` reads as one mark at full confidence; the crop stretched to twice
  its width gives the decoder the frames, accepted when only such marks are repeated.

The engine must be a :class:`LineReader`. Without one, a line with unread ink is flagged instead.
"""

from __future__ import annotations

import functools
import logging
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, runtime_checkable

import cv2
import numpy as np

from declscan.config.options import LineCheckOptions
from declscan.models.geometry import BBox
from declscan.models.ocr import LineDoubt, TextLine
from declscan.pipeline.grid import to_grey
from declscan.pipeline.normalize import clean_cell_text, squash
from declscan.pipeline.ocr_check import (
    Glyph,
    Reading,
    adds_only_repeats,
    hides_repeats,
    is_cjk,
    is_subsequence,
    is_suspect,
    reading_in_box,
)
from declscan.pipeline.unread_ink import WRAPPED_CHARACTER, Extents, UnreadInk, unread_ink

log = logging.getLogger(__name__)

View = Callable[[np.ndarray], np.ndarray]


@runtime_checkable
class LineReader(Protocol):
    """An engine that can also recognize single line crops (no detection)."""

    def read_lines(self, crops: Sequence[np.ndarray]) -> list[Any]:
        """One raw recognition per crop (for PaddleOCR: ``rec_text`` with word info, ``rec_score``)."""
        ...


def parse_paddle_rec(raw: Mapping[str, Any], box: BBox) -> Reading:
    """One recognition of a line crop (``read_lines``) as a Reading placed in ``box``.

    ``rec_text`` is ``(text, [columns, words, word_columns, kinds])``: the decoder's column of every
    character out of ``columns`` spanning the crop, so a column maps to page x whatever the scale
    of the view that was read.
    """
    text, (columns, words, word_columns, kinds) = raw["rec_text"]
    cell = box.width / max(float(columns), 1.0)
    glyphs = []
    for word, cols, kind in zip(words, word_columns, kinds, strict=True):
        if kind == "cn":
            glyphs += [Glyph(char, box.x0 + col * cell, box.x0 + (col + 1) * cell)
                       for char, col in zip(word, cols, strict=True)]
        else:
            glyphs.append(Glyph("".join(word), box.x0 + cols[0] * cell, box.x0 + (cols[-1] + 1) * cell))
    return reading_in_box(str(text).strip(), float(np.clip(raw["rec_score"], 0.0, 1.0)), tuple(glyphs), box)


def capped(line: TextLine, check: LineCheckOptions, doubt: LineDoubt) -> TextLine:
    """``line`` with its confidence at most ``check.suspect_confidence`` (so it is flagged) and
    ``doubt`` saying why (the first reason found is kept)."""
    return line.model_copy(update={"confidence": min(line.confidence, check.suspect_confidence),
                                   "doubt": line.doubt or doubt})


def _otsu(crop: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    _, binary = cv2.threshold(grey, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    return cv2.cvtColor(binary, cv2.COLOR_GRAY2BGR)


# Other views of a suspect line's crop: the recognizer skips different characters on each. Of
# eight measured on the dev set's suspect lines (median, Gaussian, bilateral, Otsu with and without
# a median first, area-downscaled to the model's 48 px, doubled, as is), these two completed every
# line any of them completed.
REREAD_VIEWS: tuple[View, ...] = (
    lambda crop: _otsu(cv2.medianBlur(crop, 3)),
    lambda crop: cv2.bilateralFilter(crop, 5, 40, 5),
)


WRAPPED_MARGIN = 0.15  # em of paper around a wrapped character's crop: the recognizer wants a margin
WIDTH_SLACK = 0.3  # em: a character's ink is narrower than its advance (标 inks 0.85 em of 1)
# Darker than this is ink where a window is cut: light grey, so even a glyph's blurred edge counts.
PAPER_COLUMN_GREY = 200
SPECK_AREA = 2  # pixels: a piece of ink this small is scanner noise, not a stroke


def stretched(crop: np.ndarray) -> np.ndarray:
    """The crop at twice its width: twice the decoder's frames per character."""
    return cv2.resize(crop, None, fx=2.0, fy=1.0, interpolation=cv2.INTER_CUBIC)


def line_crop(image: np.ndarray, box: BBox) -> np.ndarray | None:
    """The pixels of ``image`` inside ``box``; None for a box off the page."""
    height, width = image.shape[:2]
    x0, y0 = max(int(box.x0), 0), max(int(box.y0), 0)
    x1, y1 = min(int(np.ceil(box.x1)), width), min(int(np.ceil(box.y1)), height)
    return np.ascontiguousarray(image[y0:y1, x0:x1]) if x1 > x0 and y1 > y0 else None


def paper_columns(image: np.ndarray, box: BBox) -> Callable[[float, float], float | None]:
    """For the line in ``box`` on ``image``: a function of page x ``a`` and ``b`` giving the page x
    of the column of bare paper nearest the middle of ``a``..``b``, or None. Bare: no pixel darker
    than ``PAPER_COLUMN_GREY`` in the box's rows, but for scanner specks (pieces of ink of at most
    ``SPECK_AREA`` pixels; a one-pixel stroke of 一 is longer). Print at 200 DPI leaves one or two
    such columns between characters, none between some; a character like 川 has some inside it,
    so a window cut there must still read as the glyphs it holds (``ocr_check.splice``)."""
    crop = line_crop(image, box)
    if crop is None:
        return lambda a, b: None
    dark = (to_grey(crop) < PAPER_COLUMN_GREY).astype(np.uint8)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(dark, connectivity=8)
    inked = (stats[labels, cv2.CC_STAT_AREA] > SPECK_AREA) & (labels > 0)
    bare = ~inked.any(axis=0)
    left = max(int(box.x0), 0)

    def nearest(a: float, b: float) -> float | None:
        lo, hi = max(math.ceil(a) - left, 0), min(math.floor(b) - left, len(bare) - 1)
        columns = np.flatnonzero(bare[lo:hi + 1]) + lo if hi >= lo else np.empty(0, int)
        if not len(columns):
            return None
        return float(left + columns[np.argmin(np.abs(columns - ((a + b) / 2 - left)))])

    return nearest


def reread_lines(reader: LineReader, image: np.ndarray, boxes: Sequence[BBox],
                 views: Sequence[View] = REREAD_VIEWS,
                 done: Callable[[int, Reading], bool] | None = None) -> list[list[Reading]]:
    """Each box's crop read by the engine in each of ``views`` in turn, as Readings per box; none
    for a box with no pixels on the page. With ``done``, a box whose reading ``done(index,
    reading)`` accepts is not read in the views after (one engine call per view)."""
    readings: list[list[Reading]] = [[] for _ in boxes]
    crops = {i: crop for i, box in enumerate(boxes) if (crop := line_crop(image, box)) is not None}
    pending = list(crops)
    for view in views:
        if not pending:
            break
        raws = reader.read_lines([view(crops[i]) for i in pending])
        for i, raw in zip(pending, raws, strict=True):
            readings[i].append(parse_paddle_rec(raw, boxes[i]))
        pending = [i for i in pending if done is None or not done(i, readings[i][-1])]
    return readings


def read_unread_ink(lines: Sequence[TextLine], ems: Sequence[float | None], extents: Sequence[Extents | None],
                    image: np.ndarray, reader: LineReader | None, check: LineCheckOptions,
                    rooms: Sequence[Extents | None] = ()) -> list[TextLine]:
    """``lines`` with each line that has unread ink beside it or at an end of its box
    (``unread_ink``; ``ems``, ``extents`` and ``rooms`` as it takes them) read again, widened over
    that ink.

    A re-reading replaces the line only when it reads the ink and nothing else changes
    (:func:`reads_the_ink`) and it has no hole. Ink on the row below is not part of the line's crop:
    a character there is read on its own (:func:`read_wrapped`). A line not completed so (no
    ``reader``, ``check.reread`` off, or ink that is not so read) has its confidence capped at
    ``check.suspect_confidence``. A line already capped is not read again.
    """
    found = unread_ink(image, lines, ems, check, extents, rooms)
    inks: dict[int, list[UnreadInk]] = {}
    wrapped: dict[int, list[UnreadInk]] = {}
    flagged = set()
    for ink in found:
        if lines[ink.line].confidence <= check.suspect_confidence:
            continue
        if reader is None or not check.reread:
            flagged.add(ink.line)
        else:
            (wrapped if ink.side == "below" else inks).setdefault(ink.line, []).append(ink)
    boxes = {i: functools.reduce(BBox.union, [ink.box for ink in pieces], lines[i].bbox)
             for i, pieces in inks.items()}
    order = list(boxes)

    def completes(n: int, reading: Reading) -> bool:
        i = order[n]
        em = ems[i] or boxes[i].height
        return (reads_the_ink(lines[i].text, reading.text, inks[i], em)
                and not is_suspect(reading, em / boxes[i].height, check))

    rereads = reread_lines(reader, image, list(boxes.values()), done=completes) if reader and boxes else []
    out = list(lines)
    for n, ((i, box), others) in enumerate(zip(boxes.items(), rereads, strict=True)):
        complete = [r for r in others if completes(n, r)]
        if complete:
            out[i] = _read_again(out[i], max(complete, key=lambda r: r.score), bbox=box)
        else:
            flagged.add(i)
    if wrapped and reader is not None:
        out, unread = read_wrapped(out, wrapped, ems, image, reader)
        flagged |= unread
    for i in flagged:
        out[i] = capped(out[i], check, "unread_ink")
    if found:
        log.info("page %d: unread ink beside %d line(s), %d completed by a re-read", lines[0].page,
                 len({ink.line for ink in found}), len((set(inks) | set(wrapped)) - flagged))
    return out


def read_wrapped(lines: Sequence[TextLine], wrapped: Mapping[int, Sequence[UnreadInk]],
                 ems: Sequence[float | None], image: np.ndarray,
                 reader: LineReader) -> tuple[list[TextLine], set[int]]:
    """``lines`` with the ink on the row below each line in ``wrapped`` (``UnreadInk`` charged to
    it) read on its own and added at the line's end: a character wrapped alone onto a row of its
    own, which the detector leaves out. Also the lines whose ink below was not so read, to flag:

    * ink smaller than a character (a mark, a speck), which is never read alone, as a speck can
      read as a mark at full confidence;
    * ink whose crop reaches into another line's box, which would read that line's text too;
    * a reading that does not fit the ink's width (:func:`fits_width`): more or fewer characters.

    The line's box grows over the ink, so it spans two rows."""
    out, unread, inks = list(lines), set(), {}
    for i, pieces in wrapped.items():
        ink = functools.reduce(BBox.union, [piece.box for piece in pieces])
        em = ems[i] or lines[i].bbox.height
        crop = ink.padded(WRAPPED_MARGIN * em)
        small = min(ink.width, ink.height) < WRAPPED_CHARACTER * em
        if small or any(crop.intersection_area(line.bbox) > 0 for n, line in enumerate(lines) if n != i):
            unread.add(i)
        else:
            inks[i] = ink, em, crop
    rereads = reread_lines(reader, image, [crop for _, _, crop in inks.values()], views=(_as_is,))
    for (i, (ink, em, crop)), readings in zip(inks.items(), rereads, strict=True):
        reading = readings[0] if readings else None  # one view; none for a box off the page
        if reading is None or not fits_width(reading.text, ink.width / em):
            unread.add(i)
            continue
        log.info("line %r: %r read on the row below", lines[i].text, reading.text)
        out[i] = _read_again(out[i], reading, text=out[i].text + reading.text, bbox=out[i].bbox.union(crop))
    return out, unread


def fits_width(text: str, ems: float) -> bool:
    """True when ``text`` is what ``ems`` of ink can print, within ``WIDTH_SLACK`` either way: an
    ideograph takes an em, any other character half an em (a digit; a full-width mark inks half
    its em). Empty text fits nothing."""
    width = sum(1.0 if is_cjk(char) else 0.5 for char in text)
    return bool(text) and abs(width - ems) <= WIDTH_SLACK


def _as_is(crop: np.ndarray) -> np.ndarray:
    return crop


def reads_the_ink(first: str, other: str, inks: Sequence[UnreadInk], em: float) -> bool:
    """True when ``other`` is ``first`` with text added only where the ``inks`` are (after it, before
    it, inside it) and no more characters than the ink can hold (one per half em of its width)."""
    a, b = squash(first), squash(other)
    added = len(b) - len(a)
    if added <= 0:
        return False
    sides = {"before" if ink.side == "start" else "after" if ink.side == "end" else ink.side for ink in inks}
    if sides == {"after"}:
        in_place = b.startswith(a)
    elif sides == {"before"}:
        in_place = b.endswith(a)
    else:
        in_place = is_subsequence(a, b)
    room = max(1, math.ceil(sum(ink.box.width for ink in inks) / (0.5 * em)))
    return in_place and added <= room


def _read_again(line: TextLine, reading: Reading, **update: Any) -> TextLine:
    """``line`` as ``reading`` reads it; its confidence never rises above the first reading's."""
    return line.model_copy(update={"text": reading.text, "confidence": min(reading.score, line.confidence),
                                   **update})


def read_collapsed_repeats(lines: Sequence[TextLine], image: np.ndarray, reader: LineReader | None,
                           check: LineCheckOptions) -> list[TextLine]:
    """``lines`` with each line holding a mark that is printed doubled (``hides_repeats``) read
    again stretched; the re-reading replaces the line when it only repeats some of those marks
    (``--`` for ``-``). A line of placeholders only (``……``) is not read: contract rule 2 drops it
    however many marks it has."""
    doubtful = [i for i, line in enumerate(lines)
                if hides_repeats(line.text) and clean_cell_text([line.text]) is not None]
    if reader is None or not check.reread or not doubtful:
        return list(lines)
    rereads = reread_lines(reader, image, [lines[i].bbox for i in doubtful], views=(stretched,))
    out = list(lines)
    for i, views in zip(doubtful, rereads, strict=True):
        for again in views:  # one view, none for a box off the page
            if adds_only_repeats(out[i].text, again.text):
                log.info("line %r: %r read stretched", out[i].text, again.text)
                out[i] = _read_again(out[i], again)
    return out
