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
from declscan.pipeline.grid import pen_mask

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
    """What a page's colours say about its ink (BGR page; all None for a grey one)."""

    red: np.ndarray | None
    seal: np.ndarray | None
    pen: np.ndarray | None
    blueness: np.ndarray | None

    @classmethod
    def of(cls, image: np.ndarray) -> PageColours:
        if image.ndim == 2:
            return cls(None, None, None, None)
        blue, green, red = (image[..., c].astype(np.int16) for c in range(3))
        redness = red - np.maximum(green, blue)
        blueness = blue - np.maximum(green, red)
        paper = float(np.median(blueness[::4, ::4]))  # the page is mostly paper
        return cls(red=image[..., 2], seal=redness > SEAL_TRACE, pen=pen_mask(image),
                   blueness=blueness - paper)


def is_seal_remnant(colours: PageColours, piece: np.ndarray, box: BBox, em: float) -> bool:
    """True when the piece (``piece``: its pixels within ``box``) lies in a seal's faint ink and
    hardly shows in the red channel: seal ink, not print under the seal."""
    if colours.red is None or colours.seal is None:
        return False
    touching = _near(colours.seal, box, em).sum() >= TOUCH_AREA * em * em
    return bool(touching and _inside(colours.red, box)[piece].min() >= SEAL_REMNANT_RED)


def is_pen_stroke(colours: PageColours, piece: np.ndarray, box: BBox, em: float) -> bool:
    """True when the piece touches pen ink and is, on average, bluer than the paper: the grey core
    of a signature's stroke, which the pen's colour test left. Print is at most as blue as its
    paper, so a printed character a scrawl runs across stays print."""
    if colours.pen is None or colours.blueness is None:
        return False
    touching = _near(colours.pen, box, em).sum() >= TOUCH_AREA * em * em
    return bool(touching and _inside(colours.blueness, box)[piece].mean() >= PEN_CORE_BLUENESS)


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


def _near(mask: np.ndarray, box: BBox, em: float) -> np.ndarray:
    pad = TOUCH * em
    return _inside(mask, BBox.of(box.x0 - pad, box.y0 - pad, box.x1 + pad, box.y1 + pad))


def _inside(values: np.ndarray, box: BBox) -> np.ndarray:
    return values[max(int(box.y0), 0):int(box.y1), max(int(box.x0), 0):int(box.x1)]
