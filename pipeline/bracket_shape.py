"""The brackets around a document number's year, told apart by their shape on the page.

These forms cite documents as ``晋开管发〔2023〕50号``: the year in the tortoise-shell brackets that
GB/T 9704 prescribes, or, as typed in practice, in round ``（2023）`` or solid ``【2023】`` ones. On
scans the recognizer reads ``〔`` as ``（`` at 0.9 and ``】`` as the digit ``1`` (``【2022123号``),
so the text alone cannot say which was printed. The ink can: a round bracket bends all along its
height, a tortoise-shell one is straight in the middle and bends only near its tips, and a solid
one is a filled wedge whose back is straight from tip to tip and whose front is hollowed. This
module finds the ink of each bracket around a 4-digit year (the connected piece at the
recognizer's column for it), tells its family (:func:`bracket_family`), and writes the pair in
that family. A pair whose shape does not decide is left as read; if it reads round, the line is
capped so the field is flagged, since a misread ``〔`` reads exactly so.

Thresholds measured on the rendered dev set (clean, mild and harsh scans, 155 brackets): fitted over
the middle 70% of the height, the curve accounts for 0.95-1.32 of the tips' bend in round brackets
and for -0.14 to 0.37 of it in tortoise shells; the margins below leave the gap between undecided. A
square ``[`` has a straight back like a solid bracket but is not filled; with none in the dev set to
measure, such a shape is left undecided, while a bracket whose tips bend away from its back is no
square one (the recognizer reads a blurred ``〕`` as ``]``).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from declscan.config.options import LineCheckOptions
from declscan.models.geometry import BBox
from declscan.models.ocr import TextLine
from declscan.pipeline.placement import PlacedLine
from declscan.pipeline.reread import capped

log = logging.getLogger(__name__)

Family = Literal["round", "tortoise", "solid"]
PAIRS: dict[Family, tuple[str, str]] = {"round": ("（", "）"), "tortoise": ("〔", "〕"),
                                        "solid": ("【", "】")}
FAMILY_OF = {**dict.fromkeys("（(）)", "round"), **dict.fromkeys("〔〕", "tortoise"),
             **dict.fromkeys("【】", "solid"), **dict.fromkeys("[]［］", "square")}
OPENING, CLOSING = r"[（(〔【\[［]", r"[）)〕】\]］1]"  # what may be read for a bracket (a 】 reads as 1)
YEAR = r"(?:19|20)\d\d"
# An opening bracket, a year, and what was read for its closing bracket.
YEAR_IN_BRACKETS = re.compile(rf"({OPENING}){YEAR}({CLOSING})")
WRAPPED_TAIL = re.compile(rf"({OPENING})(\d{{0,4}})$")  # a year's start at a line's end, its rest below
ROUND_CURVE = 0.8  # the middle's curve, as a share of the tips' bend: at least this is round
TORTOISE_CURVE = 0.5  # at most this is a tortoise shell
MIDDLE = 0.7  # the share of the height, about its middle, the curve is fitted over
SOLID_TIP = 0.15  # a solid bracket's back is straight: its tips start this share of its width in, at most
STROKE_TIP = 0.30  # a stroke bracket's tips start at least this share in
SOLID_FILL = 0.5  # and a solid one fills this share of its box, at least
SOLID_WAIST = 0.2  # and its front is hollowed: mid-height, this share of its width short of the tips
MIN_BEND = 0.05  # a tip this share of the height out of line, at least: else it is no bracket
VOUCHED = ("tortoise", "solid")  # read on the dev set only where printed; 〔 read as （ is the confusion
SAME_HEIGHT = 0.85  # the two brackets of a pair are as tall as each other; a digit 1 is shorter


def bracket_family(mask: np.ndarray, *, closing: bool) -> Family | None:
    """The family of the bracket whose ink is ``mask`` (True = ink, cropped to it), or None when
    its shape does not decide. Closing brackets are mirrored, so every bracket opens to the right."""
    ink = mask[:, ::-1] if closing else mask
    rows = np.flatnonzero(ink.any(axis=1))
    height, width = ink.shape
    if len(rows) < 8 or width > 0.6 * height:
        return None
    lefts = np.array([np.flatnonzero(ink[y])[0] for y in rows], dtype=float)
    rights = np.array([np.flatnonzero(ink[y])[-1] for y in rows], dtype=float)
    centres = np.array([np.flatnonzero(ink[y]).mean() for y in rows])
    t = np.abs(np.arange(len(rows)) - (len(rows) - 1) / 2) / ((len(rows) - 1) / 2)  # 0 mid, 1 tips
    tip = lefts[t > 0.8].mean() / width
    waist = (rights[t > 0.85].mean() - rights[t < 0.15].mean()) / width
    if tip <= SOLID_TIP and ink.mean() >= SOLID_FILL and waist >= SOLID_WAIST:
        return "solid"
    if tip < STROKE_TIP:
        return None
    bend_at_tips = centres[t > 0.85].mean() - centres[t < 0.15].mean()
    if bend_at_tips < MIN_BEND * height:
        return None
    curve = _middle_curve(centres, t) / bend_at_tips
    return "round" if curve >= ROUND_CURVE else "tortoise" if curve <= TORTOISE_CURVE else None


def _middle_curve(centres: np.ndarray, t: np.ndarray) -> float:
    """How far the stroke's centre bends from the middle to the tips by a parabola ``a + b·t²``
    fitted over the middle rows only (``b``); a straight middle fits ~0 whatever its tips do."""
    middle = t < MIDDLE
    design = np.column_stack([np.ones(int(middle.sum())), t[middle] ** 2])
    return float(np.linalg.lstsq(design, centres[middle], rcond=None)[0][1])


def pair_family(opening: Family | None, closing: Family | None,
                read: tuple[str, str] = ("", "")) -> Family | None:
    """The family both brackets of a pair decide on, else None: one piece of ink misjudged, or
    not a bracket at all, must not rewrite a pair. A bracket whose shape does not decide may be
    vouched for by what was ``read`` for it (opening, closing) when that is a tortoise shell or a
    solid bracket, which the recognizer does not read for a round one."""
    if opening == closing:
        return opening
    votes = [shape or (FAMILY_OF.get(char) if FAMILY_OF.get(char) in VOUCHED else None)
             for shape, char in zip((opening, closing), read, strict=True)]
    return votes[0] if votes[0] == votes[1] and (opening or closing) else None


def bracket_ink(placed: PlacedLine, index: int) -> np.ndarray | None:
    """The ink of the tall, narrow piece nearest the ``index``-th character of ``placed`` (True =
    ink, cropped to it), or None when no piece is within one crop height."""
    if not 0 <= index < len(placed.columns):
        return None
    labels, stats = placed.pieces
    x, height = placed.columns[index], labels.shape[0]
    near = [j for j in range(1, len(stats))
            if stats[j, cv2.CC_STAT_HEIGHT] >= 0.5 * height
            and stats[j, cv2.CC_STAT_WIDTH] <= 0.6 * stats[j, cv2.CC_STAT_HEIGHT]
            and abs(stats[j, 0] + stats[j, 2] / 2 - x) < height]
    if not near:
        return None
    j = min(near, key=lambda j: abs(stats[j, 0] + stats[j, 2] / 2 - x))
    left, top, width, tall = stats[j, :4]
    return labels[top:top + tall, left:left + width] == j


@dataclass(frozen=True)
class YearPair:
    """The brackets around one year: the opening one at ``opening`` in line ``line``'s text, the
    closing one at ``closing`` in line ``closing_line`` (the next row of the cell when the year
    wraps)."""

    line: int
    opening: int
    closing_line: int
    closing: int


def year_pairs(lines: Sequence[TextLine]) -> list[YearPair]:
    """Every year in brackets in ``lines``: within a line, or wrapped from a line's end onto the
    start of the row below it (``【2`` / ``022】23号``)."""
    pairs = []
    for i, line in enumerate(lines):
        pairs += [YearPair(i, m.start(1), i, m.start(2)) for m in YEAR_IN_BRACKETS.finditer(line.text)]
        tail = WRAPPED_TAIL.search(line.text)
        j = _row_below(lines, i) if tail else None
        head = _wrapped_head(tail, lines[j].text) if tail and j is not None else None
        if tail and head and j is not None:
            pairs.append(YearPair(i, tail.start(1), j, head.start(2)))
    return pairs


def _wrapped_head(tail: re.Match[str] | None, text: str) -> re.Match[str] | None:
    """The rest of the year whose start ``tail`` found, and its closing bracket, at the start of
    ``text``."""
    if tail is None:
        return None
    head = re.match(rf"(\d{{{4 - len(tail[2])}}})({CLOSING})", text)
    return head if head and re.fullmatch(YEAR, tail[2] + head[1]) else None


def _row_below(lines: Sequence[TextLine], i: int) -> int | None:
    """The line that continues line ``i`` on the row below, in the same column, if any."""
    box = lines[i].bbox
    below = [j for j, other in enumerate(lines)
             if other.page == lines[i].page and j != i
             and box.y1 - 0.3 * box.height <= other.bbox.y0 <= box.y1 + box.height
             and _overlap(box, other.bbox) > 0.5 * min(box.width, other.bbox.width)]
    return min(below, key=lambda j: lines[j].bbox.y0) if below else None


def _overlap(a: BBox, b: BBox) -> float:
    return min(a.x1, b.x1) - max(a.x0, b.x0)


def placed_pair(pair: YearPair, lines: Sequence[TextLine],
                placed: Mapping[int, PlacedLine]) -> tuple[int, int] | None:
    """Where ``pair``'s brackets are in the placed texts of its lines: the same occurrence of the
    year, or None when the placed texts do not have it so."""
    first, second = placed.get(pair.line), placed.get(pair.closing_line)
    if first is None or second is None:
        return None
    if pair.line != pair.closing_line:
        tail = WRAPPED_TAIL.search(first.text)
        head = _wrapped_head(tail, second.text)
        return (tail.start(1), head.start(2)) if tail and head else None
    text = lines[pair.line].text
    ours = [m.start(1) for m in YEAR_IN_BRACKETS.finditer(text)]
    again = list(YEAR_IN_BRACKETS.finditer(first.text))
    if len(again) != len(ours):
        return None
    found = again[ours.index(pair.opening)]
    return found.start(1), found.start(2)


def pair_family_of(opening: np.ndarray | None, closing: np.ndarray | None, *,
                   read: tuple[str, str]) -> Family | None:
    """The family of a bracket pair from the ink of each (``pair_family``; ``read``: what was read
    for each). Pieces of unequal height are not a pair (one is a digit or a stroke); a ``1`` read
    for the closing bracket is taken for a 】 only."""
    if opening is None or closing is None:
        return None
    if min(opening.shape[0], closing.shape[0]) < SAME_HEIGHT * max(opening.shape[0], closing.shape[0]):
        return None
    family = pair_family(bracket_family(opening, closing=False), bracket_family(closing, closing=True), read)
    return family if read[1] != "1" or family == "solid" else None


def year_bracket_lines(lines: Sequence[TextLine]) -> set[int]:
    """The lines that hold a bracket of a year in brackets (``year_pairs``)."""
    return {i for p in year_pairs(lines) for i in (p.line, p.closing_line)}


def check_year_brackets(lines: Sequence[TextLine], placed: Mapping[int, PlacedLine],
                        check: LineCheckOptions) -> list[TextLine]:
    """``lines`` with the brackets around each year (``year_pairs``) written in the family their
    shapes say; ``placed`` holds the placed lines (``declscan.pipeline.placement``) of those in
    :func:`year_bracket_lines`, where the page and a reading have them.

    A pair is rewritten only when both its brackets decide the same family, or one does and the
    other was read as a tortoise shell or solid bracket of that family (``pair_family``). The lines
    of a pair with a bracket read round whose shapes do not decide, or that are not placed, are
    capped at ``check.suspect_confidence`` with doubt ``"confusable_bracket"``. (With
    ``check.enabled`` off, the OCR stage runs no checks, this one included.)
    """
    pairs = year_pairs(lines)
    texts = [list(line.text) for line in lines]
    undecided = set()
    for pair in pairs:
        read = (lines[pair.line].text[pair.opening], lines[pair.closing_line].text[pair.closing])
        where = placed_pair(pair, lines, placed)
        inks = (bracket_ink(placed[pair.line], where[0]),
                bracket_ink(placed[pair.closing_line], where[1])) if where else None
        family = pair_family_of(*inks, read=read) if inks else None
        if family is None:
            if "round" in {FAMILY_OF.get(char) for char in read}:
                undecided |= {pair.line, pair.closing_line}
            continue
        for i, index, char in zip((pair.line, pair.closing_line), (pair.opening, pair.closing),
                                  PAIRS[family], strict=True):
            if FAMILY_OF.get(texts[i][index]) != family:
                texts[i][index] = char
    out = []
    for i, line in enumerate(lines):
        text = "".join(texts[i])
        if text != line.text:
            log.info("line %r: year brackets by shape %r", line.text, text)
            line = line.model_copy(update={"text": text})
        out.append(capped(line, check, "confusable_bracket") if i in undecided else line)
    return out
