"""Ink that is not print is not unread ink: a seal's remnant, a signature's core, a placeholder's
dots (declscan.pipeline.not_print, through unread_ink). Each beside its twin in print, which is."""

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


def found_after(bgr: tuple[int, int, int]) -> list:
    image = page()
    line = print_line(image, 100, 100, 10)
    blob(image, int(line.bbox.x1) + 8, int(line.bbox.y1) - 8, bgr)
    return unread_ink(image, [line], [EM], OPTIONS)


@pytest.mark.parametrize(("bgr", "unread"), [
    ((195, 195, 215), False),  # a seal's fringe: pink, too grey to be removed as red, light in red
    ((50, 50, 70), True),  # print under the seal: reddened, but dark in the red channel too
    ((200, 200, 200), True),  # as faint, but grey: a faint mark, not a seal's
])
def test_a_seals_faint_remnant_is_not_unread_but_print_under_it_is(bgr: tuple[int, int, int],
                                                                   unread: bool) -> None:
    assert bool(found_after(bgr)) is unread


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


def dots(image: np.ndarray, x: int, y: int, count: int) -> None:
    """``count`` pairs of placeholder dots merged by blur, 9 x 4 px each, 6 px apart."""
    for k in range(count):
        cv2.rectangle(image, (x + 15 * k, y), (x + 15 * k + 8, y + 3), (0, 0, 0), -1)


def test_a_placeholders_dots_on_the_row_below_are_not_unread() -> None:
    image = page()
    line = print_line(image, 100, 100, 10)
    dots(image, 104, int(line.bbox.y1) + 14, 3)
    assert unread_ink(image, [line], [EM], OPTIONS) == []


def test_one_short_dash_below_or_dots_after_the_text_are_unread() -> None:
    image = page()
    line = print_line(image, 100, 100, 10)
    dots(image, 104, int(line.bbox.y1) + 14, 1)  # a lone 一 or — wrapped: not a placeholder
    dots(image, int(line.bbox.x1) + 6, int(line.bbox.y1) - 10, 3)  # 等…… : trailing dots are text
    assert {ink.side for ink in unread_ink(image, [line], [EM], OPTIONS)} == {"after", "below"}
