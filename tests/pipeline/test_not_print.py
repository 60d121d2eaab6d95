"""Ink that is not print is not unread ink: a seal's remnant, a signature's core, a stretch of a
rule a seal broke, a placeholder's dots (declscan.pipeline.not_print, through unread_ink). Each
beside its twin in print, which is."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from printed import EM, page, print_line

from declscan.config.options import LineCheckOptions
from declscan.models.ocr import TextLine
from declscan.pipeline.unread_ink import unread_ink

OPTIONS = LineCheckOptions()
NAVY = (80, 30, 25)  # BGR: a ballpoint's blue, as the fixtures' signatures


def blob(image: np.ndarray, x: int, y: int, bgr: tuple[int, int, int]) -> None:
    cv2.ellipse(image, (x, y), (4, 6), 0, 0, 360, bgr, -1)


@pytest.mark.parametrize(("bgr", "unread"), [
    ((180, 170, 215), False),  # a seal's fringe: pink, too grey to be removed as red, light in red
    ((50, 50, 70), True),  # print under the seal: reddened, but dark in the red channel too
    ((200, 200, 200), True),  # as faint, but grey: a faint mark beside the seal, not the seal's
    ((198, 196, 203), True),  # grey with a tinge of red, as JPEG leaves print near a seal
])
def test_a_seals_faint_remnant_is_not_unread_but_print_beside_or_under_it_is(bgr: tuple[int, int, int],
                                                                           unread: bool) -> None:
    image = page()
    line = print_line(image, 100, 100, 10)
    x, y = int(line.bbox.x1) + 8, int(line.bbox.y1) - 8
    cv2.circle(image, (x + 34, y), 30, (200, 200, 235), 2)  # the seal's ring, as pale as preprocessing leaves
    blob(image, x, y, bgr)
    assert bool(unread_ink(image, [line], [EM], OPTIONS)) is unread


def scrawl_beside(image: np.ndarray, line: TextLine, core: tuple[int, int, int]) -> None:
    """A pen stroke after the line, and a piece of ``core`` colour just off its end."""
    x, y = int(line.bbox.x1) + 30, int(line.bbox.y0) + 8
    cv2.line(image, (x, y), (x + 40, y + 6), NAVY, 3)
    cv2.line(image, (int(line.bbox.x1) + 6, y - 2), (x - 3, y - 1), core, 3)


@pytest.mark.parametrize(("core", "unread"), [
    ((118, 110, 110), False),  # the stroke's grey core, a little bluer than the paper
    ((40, 40, 40), True),  # print the stroke runs into
])
def test_a_signatures_grey_core_is_not_unread_but_print_it_touches_is(core: tuple[int, int, int],
                                                                     unread: bool) -> None:
    image = page()
    line = print_line(image, 100, 100, 10)
    scrawl_beside(image, line, core)
    assert bool(unread_ink(image, [line], [EM], OPTIONS)) is unread


def test_print_beside_a_signatures_stroke_stays_print_when_the_scan_smears_blue_into_it() -> None:
    # A black comma 1 px from a stroke, blurred and JPEG-compressed at quality 50: the pen's blue
    # bleeds into it (2.8 above the paper), yet it is print.
    image = page()
    line = print_line(image, 100, 100, 10)
    x, y = int(line.bbox.x1) + 8, int(line.bbox.y1) - 8
    cv2.ellipse(image, (x, y), (3, 5), 20, 0, 360, (0, 0, 0), -1)
    cv2.line(image, (x + 5, y - 14), (x + 5, y + 25), NAVY, 3)
    region = cv2.GaussianBlur(image[60:200, 300:500], (0, 0), 0.9)
    _, jpeg = cv2.imencode(".jpg", region, [cv2.IMWRITE_JPEG_QUALITY, 50])
    image[60:200, 300:500] = cv2.imdecode(jpeg, cv2.IMREAD_COLOR)
    assert [ink.side for ink in unread_ink(image, [line], [EM], OPTIONS)] == ["after"]


def dots(image: np.ndarray, x: int, y: int, count: int) -> None:
    """``count`` pairs of placeholder dots merged by blur, 9 x 4 px each, 6 px apart."""
    for k in range(count):
        cv2.rectangle(image, (x + 15 * k, y), (x + 15 * k + 8, y + 3), (0, 0, 0), -1)


def test_a_placeholders_dots_on_the_row_below_are_not_unread() -> None:
    image = page()
    line = print_line(image, 100, 100, 10)
    dots(image, 104, int(line.bbox.y1) + 14, 3)
    assert unread_ink(image, [line], [EM], OPTIONS) == []


def test_dashes_in_a_row_below_are_not_a_placeholder() -> None:
    image = page()
    line = print_line(image, 100, 100, 10)
    for k in range(3):  # 一 一 一 wrapped: as flat as dots, but each most of an em wide
        cv2.rectangle(image, (104 + 34 * k, int(line.bbox.y1) + 14), (128 + 34 * k, int(line.bbox.y1) + 17),
                      (0, 0, 0), -1)
    assert {ink.side for ink in unread_ink(image, [line], [EM], OPTIONS)} == {"below"}


def test_one_short_dash_below_or_dots_after_the_text_are_unread() -> None:
    image = page()
    line = print_line(image, 100, 100, 10)
    dots(image, 104, int(line.bbox.y1) + 14, 1)  # a lone 一 or — wrapped: not a placeholder
    dots(image, int(line.bbox.x1) + 6, int(line.bbox.y1) - 10, 3)  # 等…… : trailing dots are text
    assert {ink.side for ink in unread_ink(image, [line], [EM], OPTIONS)} == {"after", "below"}


@pytest.mark.parametrize(("rule_after", "seal", "unread"), [
    (True, True, False),
    (False, True, True),  # a rule that ends nearby, at a merged cell, claims nothing
    (True, False, True),  # without a seal the gap is a merged cell's, or the stretch a —— placeholder
])
def test_a_stretch_of_a_rule_a_seal_broke_is_not_unread(rule_after: bool, seal: bool, unread: bool) -> None:
    image = page()
    line = print_line(image, 100, 100, 10)
    y = int(line.bbox.y1) + 14
    cv2.line(image, (40, y), (200, y), (0, 0, 0), 2)  # the rule, whitened by a seal from 200 on...
    cv2.line(image, (230, y), (242, y), (60, 40, 110) if seal else (0, 0, 0), 2)  # ...but for this stretch...
    if seal:
        cv2.circle(image, (236, y + 50), 45, (200, 200, 235), 2)  # ...in the seal's faint ring...
    if rule_after:
        cv2.line(image, (300, y), (700, y), (0, 0, 0), 2)  # ...and from 300 on
    assert bool(unread_ink(image, [line], [EM], OPTIONS)) is unread
