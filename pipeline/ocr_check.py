"""Dropped-character check of OCR lines, from where the recognizer put each character.

PP-OCR's CTC recognizer emits every character at a column of the line crop, so each reading comes
with glyph positions. In print, consecutive CJK characters sit one em apart; a character the model
skipped (it happens at confidence ~1.0 on noisy scans: ``山西转型综合改革示范区`` read as
``转型综合改范区``) leaves a hole of about one em between its neighbours, or an empty stretch between
the detection box's end and the first or last glyph. This module measures those holes, in ems of
the page's own print, and decides which of several readings of a line to keep. Pure: no engine,
no image.

Textual signs too: a lone ``|``, ``I`` or ``l`` between CJK characters is a table rule or a
stroke read as a letter (``引|领``, ``指引I(试行``), and a hyphen or minus before a CJK character, at
a line's start or after another, is a ``一`` read as a dash (``-次性项目``); neither is print in
these forms. And a character outside GB 2312's 6,763 common simplified ones is rare in these forms
(no field of the dev set has one) and is what a misread looks like: a traditional form (``級`` for
``级``), or ``萬意座`` for ``满意度``.

Full-width punctuation fills only half of its em (``（《“`` on the right, ``，。）》”`` on the left),
so the blank half is allowed for. Lines without glyph positions (a recorded result, a text layer)
are never suspect.
"""

from __future__ import annotations

import functools
import itertools
import re
import statistics
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from declscan.config.options import LineCheckOptions
from declscan.models.geometry import BBox
from declscan.models.ocr import LineDoubt
from declscan.pipeline.normalize import squash

BLANK_BEFORE = frozenset("（《“‘〔【「『〈［｛")
BLANK_AFTER = frozenset("，。、；：！？）》”’〕】」』〉］｝")
# The decoder's column for a % lies over its left part: on the rendered dev set a %'s ink centre
# lay up to 0.28 em past its column's end, where a digit's or a letter's lay 0.15 at most. Only where
# ink is looked for (``glyph_extents``): a hole after a % is measured from its column, as every
# other glyph's.
INKS_PAST_COLUMN = {"%": 0.25}
# em past an ideograph's column centre where a comma or 。 skipped after it centres its ink: measured
# on the rendered harsh variants 0.62-0.83 em; the ideograph's own strokes end by 0.5 em.
MARK_ROOM = (0.6, 0.9)
# Marks printed doubled in these forms (``2024.1.1--2024.12.31``, ``——``, ``……``): CTC decoding merges
# two equal characters that no blank frame separates, so the doubling can vanish at full confidence.
# A hyphen or tilde counts only between the dates of a range: elsewhere (``623-山西…``) it is single.
REPEAT_PRONE = re.compile(r"(?<=[\d年月日])[-－~～](?=\d)|[—–…_]")
DOUBLED_MARKS = re.compile(r"[-—–…~_]")  # the same marks after NFKC, any context
STRAY_MARK = re.compile(r"\||(?<=[\u4e00-\u9fff])[Il](?=[\u4e00-\u9fff（(])")
DASH_FOR_YI = re.compile(r"(?:^|(?<=[\u4e00-\u9fff]))[-－−](?=[\u4e00-\u9fff])")
MIN_STEPS = 3  # CJK steps a line needs before its own spacing is trusted as the em
# Holes are read again in a window around them rather than along the whole line: the recognizer's
# time grows faster than a crop's width, and a crop up to ~6.7 em keeps the model's smallest input
# shape. Two glyphs either side give it context; a window over more than this share of its line is
# not worth it.
WINDOW_CONTEXT = 2
WINDOW_SHARE = 0.6
WINDOW_CUT_REACH = 0.3  # em either side of where two glyphs' ink should part, to find bare paper


@dataclass(frozen=True)
class Glyph:
    """One recognized CJK character, or one run of other characters, with its x-extent in page
    pixels (for a run: from its first to past its last character's column)."""

    text: str
    x0: float
    x1: float

    @property
    def cjk(self) -> bool:
        return len(self.text) == 1 and is_cjk(self.text)

    @property
    def centre(self) -> float:
        return (self.x0 + self.x1) / 2


@dataclass(frozen=True)
class Reading:
    """One recognition of a line: text, score, and its glyphs within the box ``x0``..``x1``."""

    text: str
    score: float
    glyphs: tuple[Glyph, ...]
    x0: float
    x1: float
    height: float


def reading_in_box(text: str, score: float, glyphs: tuple[Glyph, ...], box: BBox) -> Reading:
    """A Reading of the line in ``box`` (page pixels)."""
    return Reading(text=text, score=score, glyphs=glyphs, x0=box.x0, x1=box.x1, height=box.height)


def is_cjk(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff"


def cjk_steps(reading: Reading) -> list[float]:
    """Distances between the centres of consecutive CJK glyphs (not across other glyphs)."""
    glyphs = reading.glyphs
    return [b.centre - a.centre for a, b in itertools.pairwise(glyphs) if a.cjk and b.cjk]


def em_per_height(readings: Sequence[Reading]) -> float | None:
    """The page's em as a share of the box height: median over lines with enough CJK steps."""
    ratios = [statistics.median(steps) / r.height for r in readings
              if r.height > 0 and len(steps := cjk_steps(r)) >= MIN_STEPS]
    return statistics.median(ratios) if ratios else None


def line_em(reading: Reading, page_em_per_height: float | None) -> float | None:
    """The em of this line: its own median CJK step when it has enough, else the page's ratio.

    A median is not moved by a few skipped characters, so the line's own print size wins.
    """
    steps = cjk_steps(reading)
    if len(steps) >= MIN_STEPS:
        return statistics.median(steps)
    return page_em_per_height * reading.height if page_em_per_height else None


def _extent(glyph: Glyph, em: float) -> tuple[float, float]:
    """Where a glyph's ink is expected, blank halves of punctuation included."""
    if glyph.cjk:  # the recognizer's column marks a CJK character's centre
        return glyph.centre - em / 2, glyph.centre + em / 2
    before = em / 2 if glyph.text[0] in BLANK_BEFORE else 0.0
    after = em / 2 if glyph.text[-1] in BLANK_AFTER else 0.0
    return glyph.x0 - before, glyph.x1 + after


def _ink_extent(glyph: Glyph, em: float) -> tuple[float, float]:
    """``_extent``, reaching as far as the glyph inks past its column (``INKS_PAST_COLUMN``)."""
    x0, x1 = _extent(glyph, em)
    return x0, x1 + (0.0 if glyph.cjk else INKS_PAST_COLUMN.get(glyph.text[-1], 0.0) * em)


def glyph_extents(reading: Reading, em: float | None) -> tuple[tuple[float, float], ...] | None:
    """Page x-ranges where the reading's glyphs are expected to have their ink (``_ink_extent``), in
    order; None without glyphs or em."""
    if not reading.glyphs or not em:
        return None
    return tuple(_ink_extent(glyph, em) for glyph in reading.glyphs)


def mark_rooms(reading: Reading, em: float | None) -> tuple[tuple[float, float], ...] | None:
    """Page x-ranges where a half-width comma or a ``。`` the recognizer skipped right after an
    ideograph would centre its ink: ``MARK_ROOM`` em past the ideograph's column centre, when the
    line ends there or the next glyph, an ideograph too, is far enough on (a skipped comma widens
    the step to 1.2-1.3 em). None without glyphs or em."""
    if not reading.glyphs or not em:
        return None
    rooms = []
    for a, b in itertools.zip_longest(reading.glyphs, reading.glyphs[1:]):
        if not a.cjk or (b is not None and not b.cjk):
            continue
        x0, x1 = a.centre + MARK_ROOM[0] * em, a.centre + MARK_ROOM[1] * em
        if b is not None:
            x1 = min(x1, b.centre - em / 2)
        if x1 > x0:
            rooms.append((x0, x1))
    return tuple(rooms)


def worst_hole(reading: Reading, em: float, options: LineCheckOptions) -> float:
    """How far the reading's largest unexplained gap exceeds its limit, as a share of the limit.

    0 or less: every gap is within its limit (``max_cjk_hole`` between CJK characters,
    ``max_hole`` next to other text, ``max_margin`` at the box's ends, all in em).
    """
    return max(gap_excess(reading, em, options), default=0.0)


def gap_excess(reading: Reading, em: float, options: LineCheckOptions) -> list[float]:
    """Per gap of the reading, in order (the box's start, between each two glyphs, the box's end),
    how far it exceeds its limit as a share of the limit (see ``worst_hole``); none without glyphs."""
    if not reading.glyphs or em <= 0:
        return []
    extents = [_extent(g, em) for g in reading.glyphs]
    excess = [(extents[0][0] - reading.x0) / em / options.max_margin - 1]
    for (a, b), (ea, eb) in zip(itertools.pairwise(reading.glyphs), itertools.pairwise(extents), strict=True):
        limit = options.max_cjk_hole if a.cjk and b.cjk else options.max_hole
        excess.append((eb[0] - ea[1]) / em / limit - 1)
    return [*excess, (reading.x1 - extents[-1][1]) / em / options.max_margin - 1]


@dataclass(frozen=True)
class Window:
    """A stretch of a line to read again around its holes: page x ``x0``..``x1``, holding the first
    reading's glyphs ``first``..``last`` (``last`` excluded), its ``holes`` (gap n lies before
    glyph n) and their ``spans``: page x from where the ink before each should end to where the
    ink after it should start."""

    x0: float
    x1: float
    first: int
    last: int
    holes: tuple[int, ...]
    spans: tuple[tuple[float, float], ...]


def hole_window(reading: Reading, em: float, options: LineCheckOptions,
                paper_column: Callable[[float, float], float | None]) -> Window | None:
    """Where to read ``reading``'s line again for its holes: from ``WINDOW_CONTEXT`` glyphs before
    the first gap over its limit to as many after the last, each end cut at a column of bare paper
    that ``paper_column(a, b)`` finds between page x ``a`` and ``b`` (None: ink all along). A cut
    can still fall inside a character like 川; ``splice`` refuses what that reads.

    None, and the whole line is read again, when the line has no hole, when its text is not its
    glyphs' in order, when no paper column parts two glyphs at an end, or when the window would
    hold most of the line anyway (``WINDOW_SHARE``).
    """
    holes = [n for n, excess in enumerate(gap_excess(reading, em, options)) if excess > 0]
    if not holes or "".join(glyph.text for glyph in reading.glyphs) != reading.text:
        return None
    glyphs, extents = reading.glyphs, [_extent(g, em) for g in reading.glyphs]
    first, last = max(holes[0] - WINDOW_CONTEXT, 0), min(holes[-1] + WINDOW_CONTEXT, len(glyphs))

    def cut(n: int) -> float | None:
        """Paper between glyph n - 1 and glyph n, near where their ink is expected to part."""
        middle = (extents[n - 1][1] + extents[n][0]) / 2
        reach = min(WINDOW_CUT_REACH * em, (glyphs[n].centre - glyphs[n - 1].centre) / 2)
        return paper_column(middle - reach, middle + reach)

    x0 = reading.x0 if first == 0 else cut(first)
    x1 = reading.x1 if last == len(glyphs) else cut(last)
    if x0 is None or x1 is None or x1 - x0 > WINDOW_SHARE * (reading.x1 - reading.x0):
        return None
    bounds = [reading.x0, *(x for extent in extents for x in extent), reading.x1]  # gap n: 2n, 2n+1
    return Window(x0, x1, first, last, tuple(holes), tuple((bounds[2 * n], bounds[2 * n + 1]) for n in holes))


def splice(first: Reading, window: Window, again: Reading) -> Reading | None:
    """``first`` with the glyphs ``window`` holds replaced by ``again``, a reading of the window's
    crop, scored as the less sure of the two; None unless ``again`` reads the window's glyphs as
    they were with characters added at its holes alone, in its text and on the page (the glyphs
    whose centres lie outside the holes' spans read the window's own). A window's edge may still
    cut a stroke of the glyph beyond it, which would read as a character there: a ``一`` beside
    ``一一`` would pass on text alone."""
    edges = (window.first, *window.holes, window.last)
    pieces = ["".join(g.text for g in first.glyphs[a:b]) for a, b in itertools.pairwise(edges)]
    if not re.fullmatch("(.*)".join(re.escape(squash(piece)) for piece in pieces), squash(again.text)):
        return None
    outside = "".join(g.text for g in again.glyphs if not any(a <= g.centre <= b for a, b in window.spans))
    if "".join(g.text for g in again.glyphs) != again.text or squash(outside) != squash("".join(pieces)):
        return None
    before, after = first.glyphs[:window.first], first.glyphs[window.last:]
    text = "".join(g.text for g in before) + again.text + "".join(g.text for g in after)
    return Reading(text=text, score=min(first.score, again.score), glyphs=before + again.glyphs + after,
                   x0=first.x0, x1=first.x1, height=first.height)


def is_suspect(reading: Reading, page_em_per_height: float | None, options: LineCheckOptions) -> bool:
    """True when the reading has a hole where characters are missing."""
    em = line_em(reading, page_em_per_height)
    return em is not None and worst_hole(reading, em, options) > 0


def text_doubt(text: str) -> LineDoubt | None:
    """Why ``text`` is doubtful whatever its score (see the module docstring): a rule or stroke read
    as a letter (``"stray_mark"``), a ``一`` read as a dash (``"confusable_dash"``), an ideograph
    outside the common simplified ones (``"uncommon_character"``), else None."""
    if STRAY_MARK.search(text):
        return "stray_mark"
    if DASH_FOR_YI.search(text):
        return "confusable_dash"
    return "uncommon_character" if any(not is_common_ideograph(char) for char in text) else None


@functools.cache
def is_common_ideograph(char: str) -> bool:
    """False for a CJK ideograph outside GB 2312 (its 6,763 common simplified characters); True for
    one inside it and for anything that is no CJK ideograph."""
    if not ("\u3400" <= char <= "\u4dbf" or "\u4e00" <= char <= "\u9fff"):
        return True
    try:
        char.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


def hides_repeats(text: str) -> bool:
    """True when ``text`` holds a mark that may stand for the same mark printed twice."""
    return REPEAT_PRONE.search(text) is not None


def adds_only_repeats(first: str, other: str) -> bool:
    """True when ``other`` is ``first`` with some of its marks that may be printed doubled repeated
    (``--`` for ``-``) and nothing else changed: a digit or a word doubled is a misreading."""
    a, b = _runs(squash(first)), _runs(squash(other))
    if [char for char, _ in a] != [char for char, _ in b]:
        return False
    grown = [(char, n, m) for (char, n), (_, m) in zip(a, b, strict=True) if m != n]
    return bool(grown) and all(m > n and DOUBLED_MARKS.fullmatch(char) for char, n, m in grown)


def _runs(text: str) -> list[tuple[str, int]]:
    """``text`` as runs of one character: ``--1`` → ``[("-", 2), ("1", 1)]``."""
    return [(char, len(list(run))) for char, run in itertools.groupby(text)]


def is_subsequence(short: str, long: str) -> bool:
    chars = iter(long)
    return all(char in chars for char in short)


def completes(first: Reading, other: Reading, page_em_per_height: float | None,
              options: LineCheckOptions) -> bool:
    """True when ``other`` keeps every character of ``first`` in order, adds some, and has no hole."""
    read, again = squash(first.text), squash(other.text)
    return (len(again) > len(read) and is_subsequence(read, again)
            and not is_suspect(other, page_em_per_height, options))


def best_reading(first: Reading, others: Sequence[Reading], page_em_per_height: float | None,
                 options: LineCheckOptions) -> tuple[Reading, bool]:
    """The reading to keep for a suspect line, and whether it is still suspect.

    Another reading replaces ``first`` only when it keeps every character of ``first`` in order and
    adds some (the fault being fixed is a skipped character; a reading that changes characters
    read at full confidence is not more trustworthy) and has no hole. Among those the longest wins
    (``reread_lines`` with ``done`` stops at the first view that completes a line: one at most).
    """
    complete = [r for r in others if completes(first, r, page_em_per_height, options)]
    if complete:
        return max(complete, key=lambda r: (len(squash(r.text)), r.score)), False
    return first, True
