"""Ink beside a line that no detection box took: a mark or character the OCR never read.

PP-OCRv5's detector leaves out small marks and lone characters: a comma or ``。`` just past a box,
a ``、`` wrapped to the start of the next row, a lone ``。`` or the last character of a centred cell
on a row of its own. Its recognizer skips a first character, or a half-width comma between two, at
full confidence. No score can tell; the field reads whole and wrong. This module finds such ink on
the page: connected pieces of ink, table rules removed, big enough to be print (not scanner noise
or a dotted placeholder), that either no line box covers and lie just after or before a line on
its row or on the row below and under it (not past the end of a line on that row: wrapped text
starts its row), or lie inside a box where no glyph read explains them. Each is charged to the
nearest line. A piece beyond a rule belongs to another cell and is not charged; nor is one that a
glyph of the line on whose row it lies explains (boxes of neighbouring rows overlap) or a row's
closing mark that its box cut off, nor ink that is not print: a seal's remnant, a signature's
core, a stretch of a rule a seal broke, a placeholder's dots (``declscan.pipeline.not_print``).
``inked_cells`` asks the same of table cells the OCR read nothing in. Pure: image and lines (or
cells) in, findings out.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import cv2
import numpy as np

from declscan.config.options import LineCheckOptions
from declscan.models.geometry import BBox
from declscan.models.ocr import TextLine
from declscan.pipeline.grid import ink_mask, px_per_mm, rule_grey, rule_mask
from declscan.pipeline.not_print import (
    PageColours,
    is_pen_stroke,
    is_placeholder_dot,
    is_rule_fragment,
    is_seal_remnant,
)
from declscan.pipeline.ocr_check import BLANK_AFTER, BLANK_BEFORE

Side = Literal["after", "before", "below", "start", "within", "end"]
Extents = tuple[tuple[float, float], ...]  # where each glyph read is expected to have its ink
RULE_MM = 4.0  # any straight run this long is a rule (the longest stroke of 10.5 pt print is shorter)
ROW_DROP = 0.35  # a mark's centre may sit this share of the box height below it (a comma's tail)
BELOW_ROWS = 1.6  # the next row starts within this many box heights below the line
# em beyond a glyph's expected ink (±0.5 em about a CJK character's centre, which already holds its
# ink) that the recognizer's glyph positions may be off by. Measured on the rendered dev set: 0.15
# catches a half-width comma skipped between two characters (0.25 did not) for 0.6-1.4 points
# more review load.
GLYPH_SLACK = 0.15
CELL_MARGIN = 0.15  # em inside a cell's rules where a rule's blurred edge, not print, may lie
# A value alone in a cell is a character: a digit is 0.7 em tall, 一 0.8 em wide. A mark or a
# scanner speck (up to 0.3 em on the harsh dev set) alone is no value.
CELL_CHARACTER = 0.4
# A character wrapped alone onto the row below is at least this many em high and wide; a mark or a
# speck is smaller. Measured on the rendered dev set: 0.85-0.95 em (标, 广).
WRAPPED_CHARACTER = 0.5
TOUCH_PX = 2  # a box cut a mark's ink off when the ink reaches this close to its edge
# A comma's or a 。's ink (0.19-0.38 em on the rendered harsh variants) centres in the lowest fifth of
# the line's box (0.81-1.0 of its height); an ideograph's dots that reach as far right sit higher
# or are bigger, save a title's print.
MARK_SIZE = 0.45
MARK_BASELINE = 0.8


@dataclass(frozen=True)
class UnreadInk:
    """A piece of ink the OCR did not read, charged to ``lines[line]``; ``box`` in page pixels."""

    line: int
    box: BBox
    side: Side


def unread_ink(image: np.ndarray, lines: Sequence[TextLine], ems: Sequence[float | None],
               options: LineCheckOptions, extents: Sequence[Extents | None] = (),
               rooms: Sequence[Extents | None] = ()) -> list[UnreadInk]:
    """Every piece of ink outside the boxes and next to one of ``lines`` (``ems``: each line's em
    in pixels, None where unknown), in page order. ``image`` is the BGR page the lines were read from.

    With ``extents`` (per line, the page x-range where each glyph read is expected to have its ink;
    None where unknown), a piece inside a box whose centre no glyph read explains counts too
    (sides ``start``, ``within``, ``end``): a character or mark the recognizer skipped. With
    ``rooms`` (per line, ``declscan.pipeline.ocr_check.mark_rooms``), so does a mark-sized piece on
    the line's baseline whose centre lies in one, though a glyph's slack reaches over it: a comma or
    ``。`` skipped right after an ideograph.
    """
    # A one-character line's em is a guess from its box, which may be a mark's (a ticked √).
    known = [(i, line.bbox, em) for i, (line, em) in enumerate(zip(lines, ems, strict=True))
             if em and len(line.text) > 1]
    for name, given in (("extents", extents), ("rooms", rooms)):
        if given and len(given) != len(lines):
            raise ValueError(f"{len(given)} {name} for {len(lines)} lines")
    rooms = rooms or [None] * len(lines)
    if not known:
        return []
    (horizontal, vertical), labels, stats = _unruled_pieces(image)
    covered = np.bincount(labels[_box_mask(labels.shape, lines)], minlength=len(stats))
    smallest = options.min_unread_ink * min(em for _, _, em in known) ** 2
    in_reach = _within_reach(_reach(known), stats)
    in_reach[:, 0] = False  # label 0 is the background
    rows = [box for _, box, _ in known]  # lines whose em is known: a one-character box may be a mark's
    found = []
    colours = functools.cache(lambda: PageColours.of(image))  # measured once, if a piece needs it
    for k in np.flatnonzero(in_reach.any(axis=0) & (stats[:, cv2.CC_STAT_AREA] >= smallest)):
        x, y, w, h, area = (int(v) for v in stats[k])
        piece = BBox.of(x, y, x + w, y + h)
        candidates = [known[n] for n in np.flatnonzero(in_reach[:, k])]
        inside = covered[k] > area / 2
        if inside and _explained_by_its_row(piece, candidates, extents, rooms):
            continue
        near = []
        for i, box, em in candidates:
            if area < options.min_unread_ink * em * em or max(w, h) < options.min_unread_extent * em:
                continue
            if inside:
                hit = _unexplained(piece, box, extents[i] if extents else None, em, rooms[i])
            else:
                hit = _beside_unread(piece, lines[i], extents[i] if extents else None, em, rows)
            if hit and not _ruled_between(vertical, horizontal, piece, box, hit[1]):
                near.append((hit[0], i, hit[1], em))
        if near:
            _, i, side, em = min(near)
            if not _not_print(colours(), (horizontal, vertical), labels, stats, k, piece, side, em):
                found.append(UnreadInk(i, piece, side))
    return found


def inked_cells(image: np.ndarray, cells: Sequence[BBox], em: float, options: LineCheckOptions) -> list[bool]:
    """Per cell box: whether a character's piece of print lies inside it (at least
    ``options.min_unread_ink`` em² and ``CELL_CHARACTER`` em, away from its rules), ink that is not
    print left out as beside a line. Asked of cells the OCR read nothing in: the detector leaves out
    a lone ``0``."""
    if not cells:
        return []
    rules, labels, stats = _unruled_pieces(image)
    x0, y0 = stats[:, cv2.CC_STAT_LEFT], stats[:, cv2.CC_STAT_TOP]
    x1, y1 = x0 + stats[:, cv2.CC_STAT_WIDTH], y0 + stats[:, cv2.CC_STAT_HEIGHT]
    big = ((stats[:, cv2.CC_STAT_AREA] >= options.min_unread_ink * em * em)
           & (np.maximum(x1 - x0, y1 - y0) >= CELL_CHARACTER * em))
    big[0] = False  # the background
    colours = functools.cache(lambda: PageColours.of(image))  # measured once, if a piece needs it

    def is_print(k: int) -> bool:
        # a lone piece in a cell is judged as one on a row of its own: placeholder dots are not print
        piece = BBox.of(*map(int, (x0[k], y0[k], x1[k], y1[k])))
        return not _not_print(colours(), rules, labels, stats, k, piece, "below", em)

    inked = []
    for cell in cells:
        room = cell.padded(-CELL_MARGIN * em)
        inside = big & (x0 >= room.x0) & (y0 >= room.y0) & (x1 <= room.x1) & (y1 <= room.y1)
        inked.append(any(is_print(int(k)) for k in np.flatnonzero(inside)))
    return inked


def _unruled_pieces(image: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], np.ndarray, np.ndarray]:
    """The page's ink, scanner specks and table rules removed, as connected pieces: the (horizontal,
    vertical) rule masks, the label image and the stats of ``connectedComponentsWithStats``."""
    scale = px_per_mm(image)
    ink = ink_mask(cv2.medianBlur(rule_grey(image), 3), scale)  # scanner specks go, print stays
    length, gap = max(3, round(RULE_MM * scale)), max(1, round(0.5 * scale))
    vertical = rule_mask(ink, length, gap, horizontal=False)
    horizontal = rule_mask(ink, length, gap, horizontal=True)
    ink[(vertical | horizontal) > 0] = 0
    _, labels, stats, _ = cv2.connectedComponentsWithStats(ink, connectivity=8)
    return (horizontal, vertical), labels, stats


def _not_print(colours: PageColours, rules: tuple[np.ndarray, np.ndarray], labels: np.ndarray,
               stats: np.ndarray, k: int, piece: BBox, side: Side, em: float) -> bool:
    """True when piece ``k`` is a seal's or a signature's ink, or, outside every box, a stretch of
    a rule a seal broke (``rules``: the horizontal and vertical rule masks), or, on a row of its
    own or before a line, a placeholder's dots (contract rule 2 drops those wherever the OCR had
    read them)."""
    mask = labels[int(piece.y0):int(piece.y1), int(piece.x0):int(piece.x1)] == k
    outside = side in ("below", "before", "after")
    return (is_seal_remnant(colours, mask, piece, em) or is_pen_stroke(colours, mask, piece, em)
            or (outside and is_rule_fragment(colours, piece, *rules, em))
            or (side in ("below", "before") and is_placeholder_dot(stats, k, em)))


def _reach(known: Sequence[tuple[int, BBox, float]]) -> np.ndarray:
    """Per line (rows as ``known``): the page region a piece of ink must touch to be beside it,
    inside it or below it (x0, y0, x1, y1; the piece's centre must lie within y0..y1)."""
    return np.array([(box.x0 - em, box.y0, box.x1 + em, box.y1 + BELOW_ROWS * box.height)
                     for _, box, em in known], dtype=float).reshape(-1, 4)


def _within_reach(reach: np.ndarray, stats: np.ndarray) -> np.ndarray:
    """Lines × pieces (``stats`` of ``connectedComponentsWithStats``): whether the piece touches the
    line's reach. Only those lines can ``_beside`` or ``_unexplained`` charge it to (each asks
    more), so a page's thousands of strokes are not each measured against every line."""
    x0, y0 = stats[:, cv2.CC_STAT_LEFT].astype(float), stats[:, cv2.CC_STAT_TOP].astype(float)
    x1, cy = x0 + stats[:, cv2.CC_STAT_WIDTH], y0 + stats[:, cv2.CC_STAT_HEIGHT] / 2
    lx0, ly0, lx1, ly1 = (reach[:, [i]] for i in range(4))
    return (x1 >= lx0) & (x0 <= lx1) & (cy >= ly0) & (cy <= ly1)


def _box_mask(shape: tuple[int, ...], lines: Sequence[TextLine]) -> np.ndarray:
    mask = np.zeros(shape[:2], bool)
    for line in lines:
        b = line.bbox
        mask[max(int(b.y0), 0):int(np.ceil(b.y1)), max(int(b.x0), 0):int(np.ceil(b.x1))] = True
    return mask


def _beside(piece: BBox, box: BBox, em: float) -> tuple[float, Side] | None:
    """How far ``piece`` is from ``box`` and on which side, or None when it is not next to it."""
    _, cy = piece.center
    if box.y0 <= cy <= box.y1 + ROW_DROP * box.height:
        if box.x1 - 0.2 * em <= piece.x0 <= box.x1 + em:
            return piece.x0 - box.x1, "after"
        if box.x0 - em <= piece.x1 <= box.x0 + 0.2 * em:
            return box.x0 - piece.x1, "before"
    elif box.y1 < cy <= box.y1 + BELOW_ROWS * box.height and box.x0 - em / 2 <= piece.x0 <= box.x1:
        return cy - box.y1, "below"
    return None


def _beside_unread(piece: BBox, line: TextLine, extents: Extents | None, em: float,
                   rows: Sequence[BBox]) -> tuple[float, Side] | None:
    """``_beside`` the line's box, unless ``piece`` is a speck past the end of a row below
    (``_past_a_row_end``; ``rows``: boxes of the lines whose em is known) or the line's own end
    mark that its box clipped (``_clipped_mark``)."""
    hit = _beside(piece, line.bbox, em)
    if hit is None:
        return None
    if hit[1] == "below":
        return None if _past_a_row_end(piece, line.bbox, rows, em) else hit
    return None if _clipped_mark(piece, line, extents, em, hit[1]) else hit


def _clipped_mark(piece: BBox, line: TextLine, extents: Extents | None, em: float, side: Side) -> bool:
    """True when ``piece``, touching the box's end (or start), is where the line reads its last
    (first) glyph, a mark whose ink the box cut off (a ``，`` at a row's end). Only a mark: a
    character left out after an ideograph would lie within slack of the ideograph's em; and only ink
    the box cut: a second mark past the first (``，”``) stands apart from the box."""
    box, text = line.bbox, line.text
    if not extents:
        return False
    if side == "after" and text[-1] in BLANK_AFTER and piece.x0 <= box.x1 + TOUCH_PX:
        x0, x1 = extents[-1]
    elif side == "before" and text[0] in BLANK_BEFORE and piece.x1 >= box.x0 - TOUCH_PX:
        x0, x1 = extents[0]
    else:
        return False
    slack = GLYPH_SLACK * em
    return x0 - slack <= piece.center[0] <= x1 + slack


def _past_a_row_end(piece: BBox, box: BBox, rows: Sequence[BBox], em: float) -> bool:
    """True when ``piece`` is a speck, smaller than a character, past the end of a line of ``rows``
    on its row under ``box`` (their x-ranges overlap): not a character or mark wrapped from
    ``box``'s row, which would start the row (and, in a centred cell, lie alone on it)."""
    if max(piece.width, piece.height) >= WRAPPED_CHARACTER * em:
        return False
    _, cy = piece.center
    return any(b.y0 <= cy <= b.y1 and b.x1 <= piece.x0 and b.x1 > box.x0 and b.x0 < box.x1 for b in rows)


def _explained_by_its_row(piece: BBox, candidates: Sequence[tuple[int, BBox, float]],
                          extents: Sequence[Extents | None], rooms: Sequence[Extents | None]) -> bool:
    """True when a glyph of the line whose row ``piece`` lies on explains it (``_explained``): of
    the boxes holding its centre, the one whose middle is nearest. Another line's box may reach
    over a row's last mark (boxes of neighbouring rows overlap by a few pixels); that line's
    glyphs, with ink at every x of a full row, would explain anything."""
    cx, cy = piece.center
    holding = [(i, box, em) for i, box, em in candidates if _holds(box, cx, cy)]
    if not holding or not extents:
        return False
    i, box, em = min(holding, key=lambda line: abs(line[1].center[1] - cy))
    return _explained(piece, box, extents[i], em, rooms[i])


def _holds(box: BBox, cx: float, cy: float) -> bool:
    """True when (cx, cy) lies in ``box``, or just past its start or end: a mark's ink the box cut
    off centres there (and the next row's box, overlapping, may hold it outright)."""
    return box.x0 - TOUCH_PX <= cx <= box.x1 + TOUCH_PX and box.y0 <= cy <= box.y1


def _explained(piece: BBox, box: BBox, extents: Extents | None, em: float, rooms: Extents | None) -> bool:
    """True when ``piece``'s centre is inside ``box`` where one of its line's glyphs has its ink,
    and it is no mark in one of the line's ``rooms`` (``_skipped_mark``)."""
    cx, cy = piece.center
    slack = GLYPH_SLACK * em
    inside = bool(extents) and _holds(box, cx, cy)
    return (inside and any(x0 - slack <= cx <= x1 + slack for x0, x1 in extents or ())
            and not _skipped_mark(piece, box, rooms, em))


def _skipped_mark(piece: BBox, box: BBox, rooms: Extents | None, em: float) -> bool:
    """True when ``piece`` is mark-sized, on the baseline of ``box``'s line (a comma's, a ``。``'s
    place) and centred in one of ``rooms``."""
    cx, cy = piece.center
    return (max(piece.width, piece.height) <= MARK_SIZE * em and cy >= box.y0 + MARK_BASELINE * box.height
            and any(x0 <= cx <= x1 for x0, x1 in rooms or ()))


def _unexplained(piece: BBox, box: BBox, extents: Extents | None, em: float,
                 rooms: Extents | None) -> tuple[float, Side] | None:
    """Where ``piece``, inside ``box``, lies when no glyph read explains its centre, else None."""
    cx, cy = piece.center
    if not extents or not _holds(box, cx, cy) or _explained(piece, box, extents, em, rooms):
        return None
    if cx < extents[0][0]:
        return extents[0][0] - cx, "start"
    if cx > sum(extents[-1]) / 2:  # past the last glyph's middle: a mark skipped after it, or more
        return max(cx - extents[-1][1], 0.0), "end"
    return 0.0, "within"


def _ruled_between(vertical: np.ndarray, horizontal: np.ndarray, piece: BBox, box: BBox, side: Side) -> bool:
    """True when a rule runs between ``piece`` and ``box``: it is another cell's."""
    if side == "below":
        band = horizontal[int(box.y1):int(piece.y0) + 1, int(piece.x0):int(piece.x1) + 1]
    elif side in ("after", "before"):
        x0, x1 = (box.x1, piece.x0) if side == "after" else (piece.x1, box.x0)
        y0, y1 = int(box.y0 + 0.3 * box.height), int(box.y1 - 0.3 * box.height)
        band = vertical[y0:max(y1, y0 + 1), int(min(x0, x1)):int(max(x0, x1)) + 1]
    else:
        return False  # inside the box
    return bool(band.size and band.any())
