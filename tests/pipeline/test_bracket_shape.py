"""Brackets around a year told apart by shape: synthetic drawings of each family, no engine."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from declscan.config.options import LineCheckOptions
from declscan.models.geometry import BBox
from declscan.models.ocr import TextLine
from declscan.pipeline.bracket_shape import (
    YearPair,
    bracket_family,
    check_year_brackets,
    pair_family,
    year_bracket_lines,
    year_pairs,
)
from declscan.pipeline.ocr_check import Glyph, Reading
from declscan.pipeline.placement import place_lines

Draw = str  # "round", "tortoise", "solid", "square"


def checked(lines: list[TextLine], image: np.ndarray, reader: object | None,
            readings: list[Reading | None] | None = None) -> list[TextLine]:
    """``check_year_brackets`` over ``lines`` placed as the OCR stage places them."""
    placed = place_lines(lines, year_bracket_lines(lines), image, readings or [], reader)
    return check_year_brackets(lines, placed, LineCheckOptions())


def draw_opening(canvas: np.ndarray, kind: Draw, x: int, top: int, height: int) -> None:
    """An opening bracket of ``kind`` in black on ``canvas``, ``height`` px tall, its back at ``x``."""
    width = max(4, round(0.3 * height))
    stroke = max(2, round(0.09 * height))
    bottom = top + height - 1
    if kind == "round":
        centre, axes = (x + 2 * width, top + height // 2), (2 * width - stroke, height // 2)
        cv2.ellipse(canvas, centre, axes, 0, 140, 220, 0, stroke)
    elif kind == "tortoise":
        points = [(x + width, top), (x, top + height // 7), (x, bottom - height // 7), (x + width, bottom)]
        cv2.polylines(canvas, [np.array(points, np.int32)], False, 0, stroke)
    elif kind == "solid":
        waist = x + round(0.45 * width)
        points = [(x, top), (x + width, top), (waist, top + height // 4), (waist, bottom - height // 4),
                  (x + width, bottom), (x, bottom)]
        cv2.fillPoly(canvas, [np.array(points, np.int32)], 0)
    else:
        points = [(x + width, top), (x, top), (x, bottom), (x + width, bottom)]
        cv2.polylines(canvas, [np.array(points, np.int32)], False, 0, stroke)


def bracket_ink(kind: Draw, height: int, *, closing: bool = False) -> np.ndarray:
    canvas = np.full((height + 10, height + 10), 255, np.uint8)
    draw_opening(canvas, kind, 5, 5, height)
    ink = canvas < 128
    ys, xs = np.nonzero(ink)
    ink = ink[ys.min():ys.max() + 1, xs.min():xs.max() + 1]
    return ink[:, ::-1] if closing else ink


@pytest.mark.parametrize("height", [20, 26, 40])
@pytest.mark.parametrize("closing", [False, True])
@pytest.mark.parametrize(("kind", "family"), [
    ("round", "round"), ("tortoise", "tortoise"), ("solid", "solid"), ("square", None),
])
def test_each_family_is_told_by_its_shape(kind: Draw, family: str | None, closing: bool, height: int) -> None:
    assert bracket_family(bracket_ink(kind, height, closing=closing), closing=closing) == family


def test_a_blot_or_a_bar_is_no_bracket() -> None:
    assert bracket_family(np.ones((26, 8), bool), closing=False) is None  # straight back, no waist: undecided
    bar = np.zeros((26, 8), bool)
    bar[:, 3:5] = True
    assert bracket_family(bar, closing=False) is None  # no bend at the tips
    assert bracket_family(np.ones((5, 2), bool), closing=False) is None  # too small to judge


def test_a_pair_needs_both_sides_decided_alike() -> None:
    assert pair_family("tortoise", None) is None  # one misjudged piece must not rewrite a pair
    assert pair_family("round", "round") == "round"
    assert pair_family("round", "tortoise") is None
    assert pair_family(None, None) is None


def test_a_bracket_read_as_a_tortoise_shell_or_solid_one_vouches_for_its_undecided_shape() -> None:
    assert pair_family(None, "tortoise", ("〔", "）")) == "tortoise"
    assert pair_family("solid", None, ("【", "】")) == "solid"
    assert pair_family(None, "round", ("（", "）")) is None  # the recognizer reads 〔 as （: no vote
    assert pair_family(None, "tortoise", ("（", "）")) is None
    assert pair_family(None, None, ("〔", "〕")) is None  # one shape at least
    assert pair_family("round", None, ("（", "〕")) is None


def test_years_in_brackets_are_found_in_a_line_and_wrapped_onto_the_row_below() -> None:
    def line(text: str, x0: float, y0: float) -> TextLine:
        return TextLine(page=1, text=text, bbox=BBox.of(x0, y0, x0 + 300, y0 + 30), confidence=0.99)

    lines = [line("发（2023）50号和（2024年度）", 0, 0), line("综示晋开管发【2", 400, 0),
             line("右栏", 800, 40), line("022】23号产业链", 400, 40), line("2022】", 0, 300)]
    assert year_pairs(lines) == [YearPair(0, 1, 0, 6), YearPair(1, 6, 3, 3)]


def line_image(kind: Draw, text: str = "发（2023）50号", height: int = 26) -> tuple[np.ndarray, list[float]]:
    """A crop of ``text`` with its brackets drawn as ``kind`` (the rest as blocks), and each
    character's x."""
    crop = np.full((height + 12, 16 * height), 255, np.uint8)
    xs, x = [], 6
    for char in text:
        if char in "（）":
            glyph = np.full((height + 12, height // 2), 255, np.uint8)
            draw_opening(glyph, kind, 3, 6, height)
            crop[:, x:x + height // 2] = glyph[:, ::-1] if char == "）" else glyph
            xs.append(x + height / 4)
            x += height // 2
        else:
            size = height if char in "发号" else height // 2
            cv2.rectangle(crop, (x + 2, 6 + height // 4), (x + size - 4, 6 + height - 4), 0, -1)
            xs.append(x + size / 2)
            x += size + 2
    return cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR), xs


class PlacingReader:
    """Reads every crop as ``text`` with its characters at ``xs``: the recognizer's output shape."""

    def __init__(self, text: str, xs: list[float]) -> None:
        self.text, self.xs = text, xs

    def read_lines(self, crops: list[np.ndarray]) -> list[dict]:
        cell = 4.0  # px per decoder column
        columns = [x / cell - 0.5 for x in self.xs[:len(self.text)]]
        return [{"rec_text": (self.text, [crop.shape[1] / cell, [list(self.text)], [columns], ["cn"]]),
                 "rec_score": 0.95} for crop in crops]


class LinesReader:
    """Reads the k-th crop of a call as the k-th of ``texts``, placed at the k-th of ``xs``."""

    def __init__(self, texts: tuple[str, ...], xs: tuple[list[float], ...]) -> None:
        self.rows = [PlacingReader(text, row) for text, row in zip(texts, xs, strict=True)]

    def read_lines(self, crops: list[np.ndarray]) -> list[dict]:
        return [row.read_lines([crop])[0] for row, crop in zip(self.rows, crops, strict=True)]


def read_line(kind: Draw, read_as: str = "发（2023）50号", placed_as: str | None = None,
              drawn: str = "发（2023）50号") -> TextLine:
    crop, xs = line_image(kind, drawn)
    line = TextLine(page=1, text=read_as, bbox=BBox.of(0, 0, crop.shape[1], crop.shape[0]), confidence=0.95)
    reader = PlacingReader(placed_as or read_as, xs)
    (out,) = checked([line], crop, reader)
    return out


def test_a_year_read_in_round_brackets_is_written_as_the_shape_printed() -> None:
    assert read_line("tortoise").text == "发〔2023〕50号"
    assert read_line("tortoise", read_as="发〔2023]50号").text == "发〔2023〕50号"  # a blurred 〕 reads as ]
    kept = read_line("round")
    assert (kept.text, kept.doubt) == ("发（2023）50号", None)


def test_an_undecided_round_pair_is_flagged_and_left_as_read() -> None:
    for line in (read_line("square"), read_line("round", placed_as="发2023号")):
        assert (line.text, line.doubt, line.confidence) == ("发（2023）50号", "confusable_bracket", 0.5)
    # a pair read in another family is kept as read when the shape does not decide
    assert read_line("square", read_as="发〔2023〕50号").doubt is None


def test_without_a_reader_a_round_year_is_flagged_and_others_are_kept() -> None:
    check = LineCheckOptions()
    image = np.full((100, 600, 3), 255, np.uint8)
    lines = [TextLine(page=1, text=text, bbox=BBox.of(10, 10 + 50 * i, 400, 40 + 50 * i), confidence=0.97)
             for i, text in enumerate(("发（2023）50号", "发〔2023〕50号", "（2024年度）"))]
    out = checked(lines, image, None)
    assert out[0].confidence == check.suspect_confidence
    assert out[0].doubt == "confusable_bracket"
    assert out[1:] == lines[1:]


def test_a_one_read_for_a_round_closing_bracket_is_not_taken_for_it() -> None:
    # A 】 reads as 1, and so may a round bracket; only a solid shape makes a 1 a bracket.
    line = read_line("round", read_as="发（2023150号")
    assert (line.text, line.doubt) == ("发（2023150号", "confusable_bracket")
    assert read_line("solid", read_as="发【2023150号").text == "发【2023】50号"


def test_a_year_wrapped_onto_the_row_below_is_settled_across_both_lines() -> None:
    top, top_xs = line_image("tortoise", "发（20")
    bottom, bottom_xs = line_image("tortoise", "23）50号")
    image = np.vstack([top, np.full((4, top.shape[1], 3), 255, np.uint8), bottom])
    height = top.shape[0]
    lines = [TextLine(page=1, text="发（20", bbox=BBox.of(0, 0, top.shape[1], height), confidence=0.95),
             TextLine(page=1, text="23）50号", bbox=BBox.of(0, height + 4, top.shape[1], 2 * height + 4),
                      confidence=0.95)]
    reader = LinesReader(("发（20", "23）50号"), (top_xs, bottom_xs))
    out = checked(lines, image, reader)
    assert [line.text for line in out] == ["发〔20", "23〕50号"]
    assert all(line.doubt is None for line in out)


class NoReader:
    def read_lines(self, crops: list[np.ndarray]) -> list[dict]:
        raise AssertionError("the line's own glyphs place its characters: no second read")


def test_the_first_readings_glyphs_place_the_characters_without_a_second_read() -> None:
    crop, xs = line_image("tortoise")
    text = "发（2023）50号"
    line = TextLine(page=1, text=text, bbox=BBox.of(0, 0, crop.shape[1], crop.shape[0]), confidence=0.95)
    runs = [("发", xs[0:1]), ("（", xs[1:2]), ("2023", xs[2:6]), ("）", xs[6:7]), ("50", xs[7:9]),
            ("号", xs[9:])]
    glyphs = tuple(Glyph(run, at[0] - 3, at[-1] + 3) for run, at in runs)  # as PaddleOCR's word boxes
    reading = Reading(text=text, score=0.95, glyphs=glyphs, x0=0, x1=crop.shape[1], height=crop.shape[0])
    (out,) = checked([line], crop, NoReader(), [reading])
    assert out.text == "发〔2023〕50号"


def test_a_line_whose_reading_no_longer_spells_it_is_read_again() -> None:
    crop, xs = line_image("tortoise")
    text = "发（2023）50号"
    line = TextLine(page=1, text=text, bbox=BBox.of(0, 0, crop.shape[1], crop.shape[0]), confidence=0.95)
    stale = Reading(text="发（2023）5号", score=0.95, glyphs=(Glyph("发（2023）5号", 0, 10),), x0=0,
                    x1=crop.shape[1], height=crop.shape[0])  # before a re-read added the 0, elsewhere
    (out,) = checked([line], crop, PlacingReader(text, xs), [stale])
    assert out.text == "发〔2023〕50号"
