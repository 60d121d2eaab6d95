"""Ink that no OCR box took and that is not print: what a red seal left, a signature's strokes, the
dots of a template placeholder, the stretch of a rule a seal broke.

``unread_ink`` finds pieces of ink beside a line that the OCR never read, and each sends the line's
field to review. On a harsh scan most of them are none of print: a seal's fringe that JPEG left too
grey for preprocessing to take as red, the grey core of a ballpoint scrawl beside 负责人, a ``……``
on a row of its own. These tests tell such ink from a mark the OCR left out by its colour and its
company, never by faintness alone: a blurred ``。`` wrapped onto a row of its own can be as faint as
a seal's fringe. Pure: page and piece in, a verdict out.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from declscan.models.geometry import BBox
from declscan.pipeline.grid import paper_blueness, pen_mask, redness

SEAL_TRACE = 10  # R - max(G, B) above this: a seal's faintest ink (preprocessing removes above 25)
# In the red channel a seal's ink hardly shows (red ink reflects red), while black print under a
# seal stays dark: the seal's multiply blend keeps at least 0.87 of its red. Measured on the harsh
# dev set, at their darkest in red: seal remnants 177-228, print and scanner specks 137 at most.
SEAL_REMNANT_RED = 175
# A seal's ink is darker in green than in red; grey print is as dark in both. Measured on the harsh
# dev set, the share of a piece's darkness in green that it has in red: seal remnants 0.47-0.83
# (one at 0.93 stays flagged), grey print 1. JPEG bleeds a seal's hue into grey print a few pixels
# from it (0.64-0.9 for a grey comma 2-5 px from a ring, drawn): print that faint (175+ in red)
# that close to a seal is the one kind of print this takes for the seal.
SEAL_HUE_SHARE = 0.85
TOUCH = 0.2  # em: seal or pen ink this close to a piece claims it...
TOUCH_AREA = 0.01  # ...when it covers this many em² (measured: 0.02-0.16 beside remnants, 0 by print)
# Print is at most as blue as its paper; a scrawl's grey core keeps a little of the pen's blue:
# 1.7-6.1 above the paper on the harsh dev set. But JPEG smears the pen's blue into print beside a
# stroke too: of 1,008 black commas drawn 1-8 px from a stroke, blurred and JPEG-compressed, a
# threshold of 1.5 took 76 more for the stroke; 4.0 takes 6 (the pen mask itself swallows 120).
PEN_CORE_BLUENESS = 4.0
# A placeholder's dots, and two of them merged by blur, are at most this tall; a comma, 、 or 。
# is 0.28 em or more. Measured on the rendered dev set: 0.2 em.
DOT_HEIGHT = 0.22
DOT_WIDTH = 0.6  # em: two dots merged span 0.45 em; a 一 or — spans most of an em
RULE_THICKNESS = 0.25  # em: a rule's stretch is at most this thick (a 1-px rule, blurred: 4 px)
RULE_REACH = 15.0  # em along its line within which a rule a seal broke must go on: a seal spans 13
LEADER_GAP = 0.6  # em between neighbouring dots of one placeholder
LEADER_DOTS = 3  # pieces in a row that make a placeholder (….. or …… with pairs merged)


@dataclass(frozen=True)
class PageColours:
    """A BGR page (or a grey one, whose colours say nothing) and how blue its paper is. Colours are
    measured only around the pieces asked about: a whole page's take 30 ms."""

    image: np.ndarray
    paper: float  # ``paper_blueness``: what pen ink is judged against, as preprocessing judged it

    @classmethod
    def of(cls, image: np.ndarray) -> PageColours:
        return cls(image, paper_blueness(image) if image.ndim == 3 else 0.0)

    def around(self, box: BBox, em: float) -> np.ndarray | None:
        """The page's pixels (BGR) within ``TOUCH`` em of ``box``, None on a grey page."""
        if self.image.ndim == 2:
            return None
        return _inside(self.image, box.padded(TOUCH * em))


def is_seal_remnant(colours: PageColours, piece: np.ndarray, box: BBox, em: float) -> bool:
    """True when the piece (``piece``: its pixels within ``box``) lies in a seal's faint ink, has a
    seal's hue itself and hardly shows in the red channel: seal ink, not print under the seal."""
    if not touches_seal(colours, box, em):
        return False
    own = _inside(colours.image, box)[piece].astype(np.int32)
    red_share = (255 - own[:, 2]).clip(0).sum() / max(int((255 - own[:, 1]).clip(0).sum()), 1)
    return bool(red_share <= SEAL_HUE_SHARE and own[:, 2].min() >= SEAL_REMNANT_RED)


def touches_seal(colours: PageColours, box: BBox, em: float) -> bool:
    """True when seal ink (``SEAL_TRACE``) covers ``TOUCH_AREA`` em² within ``TOUCH`` em of ``box``."""
    near = colours.around(box, em)
    return near is not None and bool((redness(near) > SEAL_TRACE).sum() >= TOUCH_AREA * em * em)


def is_pen_stroke(colours: PageColours, piece: np.ndarray, box: BBox, em: float) -> bool:
    """True when the piece touches pen ink and is, on average, bluer than the paper: the grey core
    of a signature's stroke, which the pen's colour test left. Print is at most as blue as its
    paper, so a printed character a scrawl runs across stays print."""
    near = colours.around(box, em)
    if near is None:
        return False
    touching = pen_mask(near, colours.paper).sum() >= TOUCH_AREA * em * em
    own = _inside(colours.image, box)[piece].astype(np.int16)
    blueness = own[:, 0] - np.maximum(own[:, 1], own[:, 2])
    return bool(touching and blueness.mean() - colours.paper >= PEN_CORE_BLUENESS)


def is_placeholder_dot(stats: np.ndarray, k: int, em: float) -> bool:
    """True when piece ``k`` of ``stats`` (OpenCV's connected-component stats: x, y, w, h, area)
    is one of ``LEADER_DOTS`` or more dots in a row, each at most ``DOT_HEIGHT`` em tall and
    ``DOT_WIDTH`` em wide, ``LEADER_GAP`` em from the next: a ``……`` or ``.....`` placeholder.
    (``stats`` come from the median-filtered page, so specks smaller than a dot are gone.)"""
    xs, ys, ws, hs = (stats[1:, c].astype(float) for c in range(4))
    dots = (hs <= DOT_HEIGHT * em) & (ws <= DOT_WIDTH * em)
    if not dots[k - 1]:  # stats[1:] leaves out the background
        return False
    cy = ys[k - 1] + hs[k - 1] / 2
    row = np.flatnonzero(dots & (np.abs(ys + hs / 2 - cy) <= DOT_HEIGHT * em / 2))
    order = row[np.argsort(xs[row])]
    starts, ends = xs[order], xs[order] + ws[order]
    at = int(np.flatnonzero(order == k - 1)[0])
    first = last = at
    while first > 0 and starts[first] - ends[first - 1] <= LEADER_GAP * em:
        first -= 1
    while last < len(order) - 1 and starts[last + 1] - ends[last] <= LEADER_GAP * em:
        last += 1
    return last - first + 1 >= LEADER_DOTS


def is_rule_fragment(colours: PageColours, box: BBox, horizontal: np.ndarray, vertical: np.ndarray,
                     em: float) -> bool:
    """True when the piece in ``box`` is a stretch of a table rule that a seal broke: in a seal's
    ink (``touches_seal``), as thin as a rule, on the line of a rule that runs on at both its ends
    within ``RULE_REACH`` em (``horizontal``/``vertical``: the page's rule masks). A seal over a
    rule whitens it in places; what is left between is shorter than a rule and would otherwise be
    a mark. Without the seal, a rule broken on both sides of a piece is a merged cell, whose text
    may sit on the missing rule's line, or a ``——`` placeholder, which ``rule_mask`` takes for a
    rule."""
    if not touches_seal(colours, box, em):
        return False
    reach = RULE_REACH * em
    if box.height <= RULE_THICKNESS * em:
        rows = slice(max(int(box.y0) - 1, 0), int(box.y1) + 1)
        before = horizontal[rows, max(int(box.x0 - reach), 0):int(box.x0)]
        after = horizontal[rows, int(box.x1):int(box.x1 + reach)]
        return bool(before.any() and after.any())
    if box.width <= RULE_THICKNESS * em:
        columns = slice(max(int(box.x0) - 1, 0), int(box.x1) + 1)
        above = vertical[max(int(box.y0 - reach), 0):int(box.y0), columns]
        below = vertical[int(box.y1):int(box.y1 + reach), columns]
        return bool(above.any() and below.any())
    return False


def _inside(values: np.ndarray, box: BBox) -> np.ndarray:
    return values[max(int(box.y0), 0):int(box.y1), max(int(box.x0), 0):int(box.x1)]
