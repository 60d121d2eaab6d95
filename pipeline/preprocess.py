"""Page preprocessing before OCR: white paper, no red seals, upright, level. No OCR involved.

Per page, in this order:

1. **Illumination**: each colour channel is divided by its background (a max filter wider than any
   stroke, on a quarter-size copy, then smoothed), so grey, yellowed or unevenly lit paper becomes
   white and ink keeps its contrast.
2. **Red seals** (公章): red pixels that are not dark become white. Black text under a seal stays
   dark after the seal's multiply blend, so it survives.
3. **Orientation** from the ruled table: a form's table has more horizontal rule length than
   vertical, so a page whose rules are mostly vertical lies on its side. Upright vs upside-down: the
   row-spanning label cells (绩效指标, 一级/二级指标, 项目资金) sit at the table's left, so the left
   quarter of the table has less horizontal rule than the right; the 8-column indicator block is
   at the bottom, so the lower half has more vertical rule than the upper; and a continuation
   page's table starts at the top of the page.
4. **Deskew** (±5°): the table outline's minimum-area rectangle gives a coarse angle, the fitted
   horizontal rules refine it; one affine warp applies it.

A page without a ruled table (a footer-only last page) is not deskewed; it is turned a quarter
when its text lines run vertically (see ``_text_quarter_turn``).
"""

from __future__ import annotations

import logging

import cv2
import numpy as np

from declscan.models.document import FormDocument
from declscan.pipeline.grid import (
    ink_mask,
    px_per_mm,
    rule_angle,
    rule_mask,
    seal_mask,
    table_box,
    to_grey,
)

log = logging.getLogger(__name__)

MAX_SKEW = 5.0
ANALYSIS_SCALE = 0.5  # orientation and skew are measured on a half-size copy: 4x fewer pixels
BACKGROUND_WINDOW_MM = 3.0  # wider than any stroke of body text or a rule
# Measured on the rendered dev set after flattening: clean pages 0.46-0.74, mild (Gaussian noise,
# JPEG q80) 1.05-1.28, harsh 2.8-3.1.
NOISE_LEVEL = 0.9
PAPER_GREY = 200
_ROTATE = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


def preprocess(doc: FormDocument, images: list[np.ndarray]) -> tuple[FormDocument, list[np.ndarray]]:
    """Clean, upright, level pages (BGR uint8) and ``doc.pages`` with rotation, skew and new sizes.

    Born-digital pages are returned as rendered: they are upright and level by construction, and
    their text layer's boxes must keep matching the pixels.
    """
    if doc.kind == "digital":
        return doc, list(images)
    pages, out = [], []
    for info, image in zip(doc.pages, images, strict=True):
        page = remove_red_seals(flatten_background(image))
        page, rotation, skew = upright_page(page)
        height, width = page.shape[:2]
        pages.append(info.model_copy(update={"width": width, "height": height, "rotation": rotation,
                                             "skew": round(skew, 2)}))
        out.append(page)
        log.debug("page %d: rotated %d°, deskewed %.2f°", info.number, rotation, skew)
    return doc.model_copy(update={"pages": tuple(pages)}), out


def flatten_background(image: np.ndarray) -> np.ndarray:
    """Divide each channel by its estimated paper brightness: paper → white, ink stays dark."""
    small = cv2.resize(image, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    window = max(3, round(BACKGROUND_WINDOW_MM * px_per_mm(small))) | 1
    paper = cv2.dilate(small, cv2.getStructuringElement(cv2.MORPH_RECT, (window, window)))
    paper = cv2.blur(paper, (window * 2 + 1, window * 2 + 1))
    paper = cv2.resize(paper, (image.shape[1], image.shape[0]), interpolation=cv2.INTER_LINEAR)
    return cv2.divide(image, np.maximum(paper, 1), scale=255)


def remove_red_seals(image: np.ndarray) -> np.ndarray:
    """Red, not dark pixels (seal ink over paper) → white; dark pixels under a seal are kept."""
    out = image.copy()
    out[seal_mask(image)] = 255
    return out


def upright_page(image: np.ndarray) -> tuple[np.ndarray, int, float]:
    """The page turned upright and levelled, the clockwise quarter turn applied and the skew undone.

    ``skew`` is in degrees, positive when the page was scanned turned counter-clockwise.
    """
    grey = to_grey(image)
    small = cv2.resize(grey, None, fx=ANALYSIS_SCALE, fy=ANALYSIS_SCALE, interpolation=cv2.INTER_AREA)
    scale = px_per_mm(small)
    ink = ink_mask(small, scale)
    coarse = _outline_skew(ink, scale)
    if coarse is None:
        rotation = _text_quarter_turn(ink, scale)
        return (cv2.rotate(image, _ROTATE[rotation]) if rotation else image), rotation, 0.0
    ink = _rotated(ink, coarse, border=0)
    rotation = _quarter_turn(ink, scale)
    if rotation:
        ink = cv2.rotate(ink, _ROTATE[rotation])
    h_mask = rule_mask(ink, round(10 * scale), round(1.5 * scale), horizontal=True)
    skew = coarse - rule_angle(h_mask, min_length=40 * scale)
    if abs(skew) > MAX_SKEW + 1:  # not a form page as expected: leave it as scanned
        log.info("skew %.1f° beyond ±%g°: page left unrotated", skew, MAX_SKEW)
        skew = 0.0
    page = _rotated(image, skew, border=255) if abs(skew) >= 0.05 else image
    if rotation:
        page = cv2.rotate(page, _ROTATE[rotation])
    return page, rotation, skew


def _rotated(image: np.ndarray, ccw_degrees: float, *, border: int) -> np.ndarray:
    """``image`` turned clockwise by ``ccw_degrees``, undoing a counter-clockwise skew."""
    centre = (image.shape[1] / 2, image.shape[0] / 2)
    matrix = cv2.getRotationMatrix2D(centre, -ccw_degrees, 1.0)
    return cv2.warpAffine(image, matrix, (image.shape[1], image.shape[0]), flags=cv2.INTER_LINEAR,
                          borderValue=(border, border, border))


def _outline_skew(ink: np.ndarray, scale: float) -> float | None:
    """Counter-clockwise skew of the table's outline (modulo quarter turns), None without a table."""
    closed = cv2.dilate(ink, cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3)))
    contours, _ = cv2.findContours(closed, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    if not contours:
        return None
    table = max(contours, key=cv2.contourArea)
    (_cx, _cy), (w, h), _angle = rect = cv2.minAreaRect(table)
    if min(w, h) < 5 * scale or max(w, h) < 80 * scale:
        return None
    corners = cv2.boxPoints(rect)
    dx, dy = corners[1] - corners[0]
    angle = -np.degrees(np.arctan2(dy, dx))  # image y points down: negate for counter-clockwise
    return float((angle + 45) % 90 - 45)


def _quarter_turn(ink: np.ndarray, scale: float) -> int:
    """Clockwise quarter turn (0, 90, 180, 270) that makes the levelled page upright."""
    long_h = rule_mask(ink, round(10 * scale), round(1.5 * scale), horizontal=True)
    long_v = rule_mask(ink, round(10 * scale), round(1.5 * scale), horizontal=False)
    on_side = cv2.countNonZero(long_v) > cv2.countNonZero(long_h)
    if on_side:
        ink = cv2.rotate(ink, cv2.ROTATE_90_CLOCKWISE)
    flip = _upside_down_score(ink, scale) > 0
    return (90 if on_side else 0) + (180 if flip else 0)


def _text_quarter_turn(ink: np.ndarray, scale: float) -> int:
    """A page without a table (a footer-only last page): 90 or 270 when its text lines run vertically.

    Which of the two: the footer is printed at the top left. Upside down (180) is not told apart
    here; the OCR stage's 180° fallback reads such a page.
    """
    def lines_along(mask: np.ndarray) -> int:
        """Ink in horizontal runs of 15 mm once the characters of a line are joined."""
        joined = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, _row_kernel(2 * scale))
        return cv2.countNonZero(cv2.morphologyEx(joined, cv2.MORPH_OPEN, _row_kernel(15 * scale)))

    across, along = lines_along(cv2.rotate(ink, cv2.ROTATE_90_CLOCKWISE)), lines_along(ink)
    if across < max(2 * along, 50 * scale):
        return 0
    turned = cv2.rotate(ink, cv2.ROTATE_90_CLOCKWISE)
    ys, xs = np.nonzero(turned[::4, ::4])
    bottom_right = ys.mean() / turned[::4].shape[0] + xs.mean() / turned[:, ::4].shape[1] > 1
    return 270 if bottom_right else 90


def _row_kernel(length: float) -> np.ndarray:
    return cv2.getStructuringElement(cv2.MORPH_RECT, (max(1, round(length)), 1))


def _upside_down_score(ink: np.ndarray, scale: float) -> float:
    """Positive when the table looks upside down (see the module docstring), in [-3, 3]."""
    h_mask = rule_mask(ink, round(6 * scale), round(1.5 * scale), horizontal=True)
    v_mask = rule_mask(ink, round(4 * scale), round(1.5 * scale), horizontal=False)
    box = table_box(h_mask | v_mask)
    if box is None:
        return 0.0
    x0, y0, x1, y1 = box
    quarter, middle = (x1 - x0) // 4, (y0 + y1) // 2
    left = cv2.countNonZero(h_mask[y0:y1, x0:x0 + quarter])
    right = cv2.countNonZero(h_mask[y0:y1, x1 - quarter:x1])
    top = cv2.countNonZero(v_mask[y0:middle, x0:x1])
    bottom = cv2.countNonZero(v_mask[middle:y1, x0:x1])
    # A continuation page's table starts at the top margin; page 1's fills the page (neutral).
    low_on_page = 2 * middle / ink.shape[0] - 1
    return _balance(left, right) + _balance(top, bottom) + low_on_page


def _balance(expected_low: int, expected_high: int) -> float:
    total = expected_low + expected_high
    return (expected_low - expected_high) / total if total else 0.0


def denoise_for_ocr(image: np.ndarray) -> np.ndarray:
    """The page for the recognizer: a 3x3 median of it when it is noisy, else ``image`` itself.

    PP-OCRv5's recognizer skips characters at full confidence on pages with fine pixel noise; the
    median removes the noise and keeps strokes. On a quiet page it only costs: it thins the tails
    of small punctuation (``；`` reads as ``：``, ``,`` vanishes), so a page whose paper is already
    still (``noise_level`` at most ``NOISE_LEVEL``) is read as it is. Only OCR reads this copy:
    grid detection keeps the undenoised page, where a one-pixel rule still counts.
    """
    return cv2.medianBlur(image, 3) if noise_level(image) > NOISE_LEVEL else image


def noise_level(image: np.ndarray) -> float:
    """Mean grey-level difference between the paper pixels and their 3x3 median."""
    grey = to_grey(image)
    median = cv2.medianBlur(grey, 3)
    paper = median > PAPER_GREY
    return float(cv2.absdiff(grey, median)[paper].mean()) if paper.any() else 0.0
