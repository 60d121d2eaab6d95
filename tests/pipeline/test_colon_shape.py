"""Colons told from semicolons by the ink under the dot: lines drawn in the installed CJK fonts."""

from __future__ import annotations

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from declscan.config.options import LineCheckOptions
from declscan.devkit.draw import find_cjk_font, load_font
from declscan.models.geometry import BBox
from declscan.models.ocr import TextLine
from declscan.pipeline.colon_shape import check_colon_marks, colon_family, colon_lines, mark_pieces
from declscan.pipeline.placement import PlacedLine

FONTS = ("Noto Sans CJK SC", "WenQuanYi Zen Hei")


def drawn_line(text: str, size: int, family: str = FONTS[0], blur: float = 0.0) -> PlacedLine:
    """``text`` drawn black on white, ``size`` px per em, placed at each character's centre."""
    font = load_font(find_cjk_font(families=(family,)), size)
    width = round(font.getlength(text)) + size
    image = Image.new("L", (width, round(1.4 * size)), 255)
    ImageDraw.Draw(image).text((size // 2, round(0.2 * size)), text, font=font, fill=0)
    columns = [size // 2 + font.getlength(text[:k]) + font.getlength(char) / 2 for k, char in enumerate(text)]
    pixels = np.asarray(image)
    if blur:
        pixels = cv2.GaussianBlur(pixels, (0, 0), blur)
    return PlacedLine(cv2.cvtColor(pixels, cv2.COLOR_GRAY2BGR), text, columns)


def judged(placed: PlacedLine, index: int) -> str | None:
    found = mark_pieces(placed, index)
    assert found is not None, f"no two pieces at {placed.text[index]!r}"
    return colon_family(placed.crop, placed.pieces[0], *found)


@pytest.mark.parametrize("family", FONTS)
@pytest.mark.parametrize(("size", "blur"), [(21, 0.0), (21, 0.6), (28, 0.8), (42, 1.0)])
@pytest.mark.parametrize(("mark", "expected"), [("：", "colon"), ("；", "semicolon")])
def test_each_mark_is_told_by_its_lower_piece(mark: str, expected: str, family: str, size: int,
                                              blur: float) -> None:
    # 150 DPI body text is ~21 px per em, 300 DPI ~42.
    assert judged(drawn_line(f"平台{mark}2、建", size, family, blur), 2) == expected


def test_a_mark_without_two_pieces_at_its_column_is_not_judged() -> None:
    placed = drawn_line("平台，2、建", 28)  # one piece only
    assert mark_pieces(placed, 2) is None
    blot = drawn_line("平台：2、建", 28)
    crop = blot.crop.copy()
    x = round(blot.columns[2])
    crop[:, x - 6:x + 6] = 0  # the two dots inked over into one bar
    assert mark_pieces(PlacedLine(crop, blot.text, blot.columns), 2) is None


@pytest.mark.parametrize("shift", [0.25, 0.3])
@pytest.mark.parametrize("size", [21, 28, 42])
@pytest.mark.parametrize("word", ["冲减", "况且"])
def test_the_two_strokes_of_a_neighbours_radical_are_no_mark(word: str, size: int, shift: float) -> None:
    # With the column off towards the next character, its 冫 is the only stacked pair within reach.
    placed = drawn_line(f"其中：{word}", size)
    off = PlacedLine(placed.crop, placed.text, [*placed.columns[:2], placed.columns[2] + shift * size,
                                                *placed.columns[3:]])
    assert mark_pieces(off, 2) is None
    assert judged(placed, 2) == "colon"


def test_a_speck_beside_a_dot_does_not_make_a_pair() -> None:
    placed = drawn_line("平台·建", 28)
    crop = placed.crop.copy()
    x = round(placed.columns[2])
    top = int(np.flatnonzero(crop[:, x, 0] < 128)[0])
    crop[top - 5, x] = 0  # one dark pixel above the middle dot
    assert mark_pieces(PlacedLine(crop, placed.text, placed.columns), 2) is None


def line_of(placed: PlacedLine, text: str) -> TextLine:
    height, width = placed.crop.shape[:2]
    return TextLine(page=1, text=text, bbox=BBox.of(0, 0, width, height), confidence=0.97)


def checked_as(placed: PlacedLine, read: str) -> str:
    """What ``check_colon_marks`` makes of the drawn line read as ``read``."""
    at = PlacedLine(placed.crop, "".join(read.split()), placed.columns)
    (out,) = check_colon_marks([line_of(placed, read)], {0: at}, LineCheckOptions())
    assert out.doubt is None
    return out.text


def test_a_semicolon_read_as_a_colon_is_written_as_printed_keeping_its_width() -> None:
    placed = drawn_line("应用；2、建设平台；3、", 24, blur=0.6)
    assert checked_as(placed, "应用：2、建设平台：3、") == "应用；2、建设平台；3、"
    assert checked_as(placed, "应用;2、建设平台:3、") == "应用;2、建设平台;3、"


def test_a_printed_colon_stays_and_a_semicolon_read_for_it_is_put_back() -> None:
    placed = drawn_line("指标1：完成", 24)
    assert checked_as(placed, "指标1：完成") == "指标1：完成"
    assert checked_as(placed, "指标1；完成") == "指标1：完成"


def test_spaces_in_a_line_keep_each_mark_at_its_place() -> None:
    assert checked_as(drawn_line("应用；2、", 24), "应用 ：2、") == "应用 ；2、"


def test_a_line_is_left_as_read_when_its_placement_spells_other_characters() -> None:
    placed = drawn_line("应用；2、", 24)
    line = line_of(placed, "应用：2、")
    stale = PlacedLine(placed.crop, "应用：2", placed.columns[:-1])
    assert check_colon_marks([line], {0: stale}, LineCheckOptions()) == [line]
    assert check_colon_marks([line], {}, LineCheckOptions()) == [line]


def test_a_mark_whose_ink_does_not_decide_is_flagged_and_left_as_read() -> None:
    crop = np.full((30, 40, 3), 255, np.uint8)
    crop[8:12, 10:14] = 0  # a dot
    crop[18:22, 10:15] = 0  # a wider dot: a quarter more ink, but no further down than the upper one
    placed = PlacedLine(crop, "：", [12.0])
    assert colon_family(crop, placed.pieces[0], *mark_pieces(placed, 0)) is None
    check = LineCheckOptions()
    (out,) = check_colon_marks([line_of(placed, "：")], {0: placed}, check)
    assert (out.text, out.doubt, out.confidence) == ("：", "confusable_colon", check.suspect_confidence)


def test_only_lines_with_a_colon_or_semicolon_are_checked() -> None:
    lines = [TextLine(page=1, text=text, bbox=BBox.of(0, 0, 10, 10), confidence=0.9)
             for text in ("其中：", "项目名称", "a;b", "9:30")]
    assert colon_lines(lines) == {0, 2, 3}
