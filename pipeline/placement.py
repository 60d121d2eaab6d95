"""Where each character of a line lies on the page, for the checks that judge a mark by its ink.

The recognizer cannot tell some marks apart (``〔`` from ``（``, ``；`` from ``：``), but their shape
on the page can. Those checks need the ink at a character's place: a line's crop, each character's x
in it, and the crop's connected pieces of ink. The x comes from the first reading's glyphs (PaddleOCR's
word boxes) when they still spell the line, and otherwise from reading the crop again.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np

from declscan.models.ocr import TextLine
from declscan.pipeline.ocr_check import Reading
from declscan.pipeline.reread import LineReader, line_crop


def ink_pieces(crop: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The connected pieces of ink in ``crop`` (Otsu): their label image and their stats."""
    grey = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY) if crop.ndim == 3 else crop
    _, binary = cv2.threshold(grey, 0, 1, cv2.THRESH_BINARY_INV + cv2.THRESH_OTSU)
    _, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    return labels, stats


@dataclass(frozen=True)
class PlacedLine:
    """A line's crop, with the x in the crop of each character of ``text`` (from its reading's
    glyphs, or from reading the crop again)."""

    crop: np.ndarray
    text: str
    columns: Sequence[float]

    def __post_init__(self) -> None:
        if len(self.columns) != len(self.text):
            raise ValueError(f"{len(self.columns)} columns for {len(self.text)} characters: {self.text!r}")

    @functools.cached_property
    def pieces(self) -> tuple[np.ndarray, np.ndarray]:
        """``ink_pieces`` of the crop, labelled once however many marks the line holds."""
        return ink_pieces(self.crop)


def place_lines(lines: Sequence[TextLine], wanted: set[int], image: np.ndarray,
                readings: Sequence[Reading | None], reader: LineReader | None = None,
                reread: set[int] | None = None) -> dict[int, PlacedLine]:
    """The wanted lines with pixels on ``image``, placed by their readings in ``readings`` (one per
    line, None where unknown) when the reading's glyphs spell the line's text; the others are read
    again with ``reader`` (only those in ``reread``, when given), and left out without one."""
    crops = {i: crop for i in sorted(wanted) if (crop := line_crop(image, lines[i].bbox)) is not None}
    placed = {}
    for i, crop in crops.items():
        reading = readings[i] if i < len(readings) else None
        if reading is not None and (found := _glyph_characters(reading, lines[i])) is not None:
            placed[i] = PlacedLine(crop, *found)
    again = [i for i in crops if i not in placed and (reread is None or i in reread)]
    if reader is None or not again:
        return placed
    raws = reader.read_lines([crops[i] for i in again])
    return placed | {i: PlacedLine(crops[i], *_characters(raw, crops[i].shape[1]))
                     for i, raw in zip(again, raws, strict=True)}


def _glyph_characters(reading: Reading, line: TextLine) -> tuple[str, list[float]] | None:
    """The line's text and each character's x in its crop from the reading's glyphs (a run's
    characters spread evenly over it), or None when the glyphs do not spell the line's text."""
    text = "".join(glyph.text for glyph in reading.glyphs)
    if text != "".join(line.text.split()):
        return None
    origin = max(int(line.bbox.x0), 0)  # where line_crop starts
    columns = [glyph.x0 + (k + 0.5) * (glyph.x1 - glyph.x0) / len(glyph.text) - origin
               for glyph in reading.glyphs for k in range(len(glyph.text))]
    return text, columns


def _characters(raw: Mapping[str, Any], width: int) -> tuple[str, list[float]]:
    """A ``read_lines`` result's text and the x (in the crop) of each of its characters."""
    _, (columns, words, word_columns, _) = raw["rec_text"]
    cell = width / max(float(columns), 1.0)
    placed = [(char, (col + 0.5) * cell) for word, cols in zip(words, word_columns, strict=True)
              for char, col in zip(word, cols, strict=True)]
    return "".join(char for char, _ in placed), [x for _, x in placed]
