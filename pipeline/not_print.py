"""Ink that no OCR box took and that is not print: what a red seal left, a signature's strokes, the
dots of a template placeholder.

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
from declscan.pipeline.grid import paper_blueness, pen_mask

SEAL_TRACE = 10  # R - max(G, B) above this: a seal's faintest ink (preprocessing removes above 25)
# In the red channel a seal's ink hardly shows (red ink reflects red), while black print under a
# seal stays dark: the seal's multiply blend keeps at least 0.87 of its red. Measured on the harsh
# dev set, at their darkest in red: seal remnants 156-228, print and scanner specks 137 at most.
SEAL_REMNANT_RED = 150
TOUCH = 0.2  # em: seal or pen ink this close to a piece claims it...
TOUCH_AREA = 0.01  # ...when it covers this many em² (measured: 0.02-0.16 beside remnants, 0 by print)
# Print is at most as blue as its paper (0 on white, below 0 on yellowed paper once flattened); a
# scrawl's grey core keeps a little of the pen's blue. Measured on the harsh dev set: 2.0-7.1 for
# the cores beside signatures, of the pieces touching pen ink.
PEN_CORE_BLUENESS = 1.5
# A placeholder's dots, and two of them merged by blur, are at most this tall; a comma, 、 or 。
# is 0.28 em or more. Measured on the rendered dev set: 0.2 em.
DOT_HEIGHT = 0.22
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
        """The page's pixels within ``TOUCH`` em of ``box`` (int16, BGR), None on a grey page."""
        if self.image.ndim == 2:
            return None
        pad = TOUCH * em
        return _inside(self.image, BBox.of(box.x0 - pad, box.y0 - pad, box.x1 + pad, box.y1 + pad))


def is_seal_remnant(colours: PageColours, piece: np.ndarray, box: BBox, em: float) -> bool:
    """True when the piece (``piece``: its pixels within ``box``) lies in a seal's faint ink and
    hardly shows in the red channel: seal ink, not print under the seal."""
    near = colours.around(box, em)
    if near is None:
        return False
    near16 = near.astype(np.int16)
    redness = near16[..., 2] - np.maximum(near16[..., 0], near16[..., 1])
    touching = (redness > SEAL_TRACE).sum() >= TOUCH_AREA * em * em
    return bool(touching and _inside(colours.image[..., 2], box)[piece].min() >= SEAL_REMNANT_RED)


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
    ``LEADER_GAP`` em from the next: a ``……`` or ``.....`` placeholder."""
    y, h = int(stats[k, 1]), int(stats[k, 3])
    if h > DOT_HEIGHT * em:
        return False
    cy = y + h / 2
    xs, ys, ws, hs = (stats[1:, c].astype(float) for c in range(4))
    row = np.flatnonzero((hs <= DOT_HEIGHT * em) & (np.abs(ys + hs / 2 - cy) <= DOT_HEIGHT * em / 2))
    order = row[np.argsort(xs[row])]
    starts, ends = xs[order], xs[order] + ws[order]
    at = int(np.flatnonzero(order == k - 1)[0])  # stats[1:] leaves out the background
    first = last = at
    while first > 0 and starts[first] - ends[first - 1] <= LEADER_GAP * em:
        first -= 1
    while last < len(order) - 1 and starts[last + 1] - ends[last] <= LEADER_GAP * em:
        last += 1
    return last - first + 1 >= LEADER_DOTS


def _inside(values: np.ndarray, box: BBox) -> np.ndarray:
    return values[max(int(box.y0), 0):int(box.y1), max(int(box.x0), 0):int(box.x1)]
