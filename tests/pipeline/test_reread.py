"""Re-reads the page asks for: ink beside a line that no box took (found on synthetic pages, then
read or flagged) and marks printed doubled that CTC decoding merges."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cv2
import numpy as np
import pytest
from printed import EM, comma, page, print_line

from declscan.config.options import LineCheckOptions
from declscan.models.geometry import BBox
from declscan.models.ocr import TextLine
from declscan.pipeline.ocr_check import adds_only_repeats, hides_repeats
from declscan.pipeline.reread import (
    paper_columns,
    read_collapsed_repeats,
    read_unread_ink,
    reads_the_ink,
    reread_lines,
)
from declscan.pipeline.unread_ink import UnreadInk, unread_ink

OPTIONS = LineCheckOptions()


def test_a_mark_just_past_the_box_is_unread_ink_after_the_line() -> None:
    image = page()
    line = print_line(image, 100, 100, 10)
    comma(image, int(line.bbox.x1) + 6, int(line.bbox.y1) - 4)
    (found,) = unread_ink(image, [line], [EM], OPTIONS)
    assert (found.line, found.side) == (0, "after")
    assert found.box.x0 >= line.bbox.x1


@pytest.mark.parametrize(("last", "past", "unread"), [
    ("，", 5, False),  # the box cut the line's own comma: its ink starts at the box's end
    ("字", 5, True),  # no mark read there: a comma the recognizer skipped
    ("，", 12, True),  # apart from the box, within the comma's column: a second mark (，” read ，)
])
def test_a_closing_mark_its_box_cut_off_is_the_lines_own(last: str, past: int, unread: bool) -> None:
    image = page()
    line = print_line(image, 100, 100, 9)
    comma(image, int(line.bbox.x1) + past, int(line.bbox.y1) - 4)  # its ink past the box
    line = line.model_copy(update={"text": line.text + last})
    read = extents_of(range(9))
    mark = (read[-1][1], read[-1][1] + 6 + EM / 2) if last == "，" else (read[-1][1], read[-1][1] + EM)
    found = unread_ink(image, [line], [EM], OPTIONS, [(*read, mark)])
    assert [ink.side for ink in found] == (["after"] if unread else [])


def test_ink_inside_boxes_specks_and_the_next_cell_are_not_unread() -> None:
    image = page()
    line = print_line(image, 100, 100, 10)
    image[int(line.bbox.y1) - 3, int(line.bbox.x1) + 8] = 0  # one speck
    cv2.line(image, (int(line.bbox.x1) + 4, 60), (int(line.bbox.x1) + 4, 180), (0, 0, 0), 2)  # cell rule
    comma(image, int(line.bbox.x1) + 14, int(line.bbox.y1) - 4)  # beyond the rule: the next cell's
    assert unread_ink(image, [line], [EM], OPTIONS) == []


def test_a_lone_mark_at_the_start_of_the_next_row_is_charged_to_the_line_above() -> None:
    image = page()
    first = print_line(image, 100, 100, 10)
    far = print_line(image, 100, 400, 10)
    cv2.circle(image, (104, int(first.bbox.y1) + 20), 5, (0, 0, 0), 2)  # 。 wrapped, left out
    (found,) = unread_ink(image, [far, first], [EM, EM], OPTIONS)
    assert (found.line, found.side) == (1, "below")


def test_a_speck_past_the_end_of_the_next_rows_text_is_not_wrapped_from_the_line_above() -> None:
    image = page()
    first = print_line(image, 100, 100, 10)
    second = print_line(image, 100, int(first.bbox.y1) + 4, 5)  # the paragraph's last row
    comma(image, int(second.bbox.x1) + 2 * int(EM), int(second.bbox.y1) - 6)  # beyond its reach
    assert unread_ink(image, [first, second], [EM, EM], OPTIONS) == []
    one = second.model_copy(update={"text": "字"})  # a one-character box may be a mark's: no row end
    (found,) = unread_ink(image, [first, one], [EM, EM], OPTIONS)
    assert (found.line, found.side) == (0, "below")
    comma(image, 104, int(second.bbox.y1) + 12)  # a mark wrapped alone onto the row below it
    (found,) = unread_ink(image, [first, second], [EM, EM], OPTIONS)
    assert (found.line, found.side) == (1, "below")


def test_a_character_past_the_end_of_the_next_rows_text_is_unread() -> None:
    image = page()
    first = print_line(image, 100, 100, 10)
    second = print_line(image, 100, int(first.bbox.y1) + 4, 5)
    print_line(image, int(second.bbox.x1) + 2 * int(EM), int(second.bbox.y0) + 3, 1)  # no box took it
    (found,) = unread_ink(image, [first, second], [EM, EM], OPTIONS)
    assert (found.line, found.side) == (0, "below")


def test_a_centred_cells_last_character_on_a_row_of_its_own_is_charged_to_the_line_above() -> None:
    image = page()
    line = print_line(image, 100, 100, 10)
    print_line(image, 230, int(line.bbox.y1) + 8, 1)  # 广 alone, centred under the line, not detected
    (found,) = unread_ink(image, [line], [EM], OPTIONS)
    assert (found.line, found.side) == (0, "below")


def extents_of(chars: range) -> tuple[tuple[float, float], ...]:
    """Where print_line's characters ``chars`` have their ink, as the OCR stage expects it."""
    return tuple((100 + k * EM - 0.1 * EM, 100 + (k + 1) * EM - 0.1 * EM) for k in chars)


@pytest.mark.parametrize(("read", "side"), [(range(1, 10), "start"), (range(9), "end"),
                                            ((*range(4), *range(5, 10)), "within")])
def test_a_character_inside_the_box_that_no_glyph_read_explains_is_unread(read: Sequence[int],
                                                                          side: str) -> None:
    image = page()
    line = print_line(image, 100, 100, 10)
    (found,) = unread_ink(image, [line], [EM], OPTIONS, [extents_of(read)])
    assert (found.line, found.side) == (0, side)
    assert unread_ink(image, [line], [EM], OPTIONS, [extents_of(range(10))]) == [], "all read"


@pytest.mark.parametrize(("at", "unread"), [(0.9, True), (0.45, False)])  # share of the box's height
def test_a_mark_on_the_baseline_in_a_room_after_an_ideograph_is_unread(at: float, unread: bool) -> None:
    image = page()
    line = print_line(image, 100, 100, 9)
    line = line.model_copy(update={"bbox": BBox.of(line.bbox.x0, line.bbox.y0, 362, line.bbox.y1)})
    comma(image, 353, int(line.bbox.y0 + at * line.bbox.height))
    read = (*extents_of(range(8)), (330.0, 358.0))  # the last ideograph's column a little right
    assert unread_ink(image, [line], [EM], OPTIONS, [read]) == [], "within the glyph's slack"
    found = unread_ink(image, [line], [EM], OPTIONS, [read], [((346.0, 362.0),)])
    assert [ink.side for ink in found] == (["end"] if unread else [])


def test_a_mark_just_past_the_box_under_the_next_rows_box_is_still_its_lines() -> None:
    image = page()
    line = print_line(image, 100, 100, 9)
    line = line.model_copy(update={"bbox": BBox.of(line.bbox.x0, line.bbox.y0, 351, line.bbox.y1)})
    below = line.model_copy(update={"text": "字" * 12,  # its box overlaps this row's by 2 px
                                    "bbox": BBox.of(98, line.bbox.y1 - 2, 440, line.bbox.y1 + 26)})
    comma(image, 352, int(line.bbox.y1) - 2)  # centred 2 px past the box's end, inside the next row's
    read = (*extents_of(range(8)), (330.0, 358.0))
    found = unread_ink(image, [line, below], [EM, EM], OPTIONS, [read, extents_of(range(12))],
                       [((346.0, 362.0),), None])
    assert [(ink.line, ink.side) for ink in found] == [(0, "end")]


def test_an_image_far_smaller_than_a_page_is_judged_without_error() -> None:
    image = np.full((40, 300, 3), 255, np.uint8)  # a line crop, a thumbnail: millimetres are tiny
    line = print_line(image, 10, 8, 8)
    assert unread_ink(image, [line], [EM], OPTIONS, [((10.0, 230.0),)]) == []


def test_ink_under_a_line_but_across_a_rule_is_the_next_rows() -> None:
    image = page()
    line = print_line(image, 100, 100, 10)
    rule_y = int(line.bbox.y1) + 4
    cv2.line(image, (60, rule_y), (500, rule_y), (0, 0, 0), 2)
    cv2.circle(image, (230, rule_y + 14), 5, (0, 0, 0), 2)
    assert unread_ink(image, [line], [EM], OPTIONS) == []


def test_a_piece_spanning_less_than_the_smallest_extent_is_not_print() -> None:
    image = page()
    line = print_line(image, 100, 100, 10)
    comma(image, int(line.bbox.x1) + 6, int(line.bbox.y1) - 4)  # 7 x 11 px: 0.4 em high
    assert unread_ink(image, [line], [EM], LineCheckOptions(min_unread_extent=0.5)) == []
    assert len(unread_ink(image, [line], [EM], LineCheckOptions(min_unread_extent=0.3))) == 1


def test_extents_must_match_the_lines() -> None:
    image = page()
    line = print_line(image, 100, 100, 10)
    with pytest.raises(ValueError, match="2 extents for 1 lines"):
        unread_ink(image, [line], [EM], OPTIONS, [None, None])


def test_lines_of_unknown_size_are_not_judged() -> None:
    image = page()
    line = print_line(image, 100, 100, 10)
    comma(image, int(line.bbox.x1) + 6, int(line.bbox.y1) - 4)
    assert unread_ink(image, [line], [None], OPTIONS) == []


def test_the_smallest_piece_that_counts_is_a_setting() -> None:
    image = page()
    line = print_line(image, 100, 100, 10)
    comma(image, int(line.bbox.x1) + 6, int(line.bbox.y1) - 4)
    assert unread_ink(image, [line], [EM], LineCheckOptions(min_unread_ink=1.0)) == []


class FixedReader:
    """A LineReader that reads every crop as ``text``, its characters spread over the crop."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.crops: list[np.ndarray] = []

    def recognize(self, image: np.ndarray) -> Any:
        raise AssertionError("only line crops are read here")

    def versions(self) -> dict[str, str]:
        return {}

    def read_lines(self, crops: Sequence[np.ndarray]) -> list[dict[str, Any]]:
        self.crops += crops
        n = len(self.text)
        return [{"rec_text": (self.text, [n, [list(self.text)], [list(range(n))], ["cn"]]), "rec_score": 0.97}
                for _ in crops]


@pytest.fixture
def line_with_comma() -> tuple[np.ndarray, TextLine]:
    image = page()
    line = print_line(image, 100, 100, 10)
    comma(image, int(line.bbox.x1) + 6, int(line.bbox.y1) - 4)
    return image, line


def test_a_widened_rereading_that_adds_the_mark_replaces_the_line(line_with_comma: Any) -> None:
    image, line = line_with_comma
    reader = FixedReader(line.text + "，")
    (read,) = read_unread_ink([line], [EM], [None], image, reader, OPTIONS)
    assert read.text == line.text + "，"
    assert read.bbox.x1 > line.bbox.x1 and read.confidence == pytest.approx(0.97)
    assert all(crop.shape[1] > line.bbox.width for crop in reader.crops)


@pytest.mark.parametrize("reread", ["字字字", "字字字字字字字字字字", "子字字字字字字字字字，"])
def test_a_line_not_completed_by_its_rereading_is_capped(line_with_comma: Any, reread: str) -> None:
    image, line = line_with_comma
    (read,) = read_unread_ink([line], [EM], [None], image, FixedReader(reread), OPTIONS)
    assert read.text == line.text
    assert (read.confidence, read.doubt) == (OPTIONS.suspect_confidence, "unread_ink")



def wrapped_below(image: np.ndarray, line: TextLine, characters: int) -> None:
    """``characters`` wrapped onto the row below ``line`` and centred under it, or a 。 for 0."""
    x, y = int(line.bbox.center[0]), int(line.bbox.y1) + 8
    if characters:
        print_line(image, x, y, characters)
    else:
        cv2.circle(image, (x, y + 6), 5, (0, 0, 0), 2)


def test_a_character_wrapped_alone_onto_the_row_below_is_read_on_its_own_and_added() -> None:
    image = page()
    line = print_line(image, 100, 100, 3)
    wrapped_below(image, line, 1)
    reader = FixedReader("标")
    (read,) = read_unread_ink([line], [EM], [None], image, reader, OPTIONS)
    assert (read.text, read.doubt) == ("字字字标", None)
    assert read.confidence == pytest.approx(0.97) and read.bbox.y1 > line.bbox.y1 + EM / 2
    (crop,) = reader.crops
    assert crop.shape[0] < 1.5 * EM and crop.shape[1] < 1.5 * EM, "the character alone is read"


@pytest.mark.parametrize(("characters", "reads"), [
    (1, "标准化"),  # more characters than the ink can hold
    (2, "标"),  # fewer: a character left out
    (1, ""),
    (0, "。"),  # a mark is never read alone: a speck reads as one at full confidence
])
def test_ink_below_not_read_as_the_characters_it_holds_is_flagged(characters: int, reads: str) -> None:
    image = page()
    line = print_line(image, 100, 100, 3)
    wrapped_below(image, line, characters)
    reader = FixedReader(reads)
    (read,) = read_unread_ink([line], [EM], [None], image, reader, OPTIONS)
    assert (read.text, read.confidence, read.doubt) == (line.text, OPTIONS.suspect_confidence, "unread_ink")
    assert bool(reader.crops) is bool(characters)


def test_ink_below_is_not_read_with_a_line_its_crop_reaches_into() -> None:
    image = page()
    line = print_line(image, 100, 100, 12)
    y = int(line.bbox.y1) + 8
    print_line(image, 100, y, 1)  # a character wrapped at the row's start, left out...
    under = print_line(image, 100, y + int(EM) - 2, 4)  # ...over a row whose box reaches up to it
    reader = FixedReader("字字")
    read, again = read_unread_ink([line, under], [EM, EM], [None, None], image, reader, OPTIONS)
    assert (read.text, read.doubt, again) == (line.text, "unread_ink", under)
    assert reader.crops == []


def test_ink_inside_two_boxes_that_one_lines_glyph_explains_is_read() -> None:
    image = page()
    upper = print_line(image, 100, 100, 10)
    comma(image, 386, int(upper.bbox.y1) - 4)  # its own last mark, read
    upper = upper.model_copy(update={"bbox": upper.bbox.model_copy(update={"x1": 394.0})})
    lower = print_line(image, 100, int(upper.bbox.y1) + 1, 10)
    lower = lower.model_copy(update={"bbox": lower.bbox.model_copy(update={"y0": upper.bbox.y1 - 8,
                                                                            "x1": 394.0})})
    read = extents_of(range(10))
    assert unread_ink(image, [upper, lower], [EM, EM], OPTIONS, [(*read, (380.0, 394.0)), read]) == []
    (found,) = unread_ink(image, [upper, lower], [EM, EM], OPTIONS, [read, read])
    assert found.side == "end", "read by neither line"


def test_a_mark_a_line_skipped_is_its_own_though_the_next_rows_box_reaches_over_it() -> None:
    image = page()
    upper = print_line(image, 100, 100, 10)
    image[95:130, 211:239] = 255  # the fifth character is a comma instead, which the recognizer skipped
    comma(image, 222, int(upper.bbox.y1) - 6)
    lower = print_line(image, 100, int(upper.bbox.y1) + 5, 10)
    lower = lower.model_copy(update={"bbox": lower.bbox.model_copy(update={"y0": upper.bbox.y1 - 8})})
    extents = [extents_of(range(10)), extents_of((*range(4), *range(5, 10)))]
    (found,) = unread_ink(image, [lower, upper], [EM, EM], OPTIONS, extents)
    assert (found.line, found.side) == (1, "within"), "the lower line's glyphs, at every x, explain nothing"


@pytest.mark.parametrize(("first", "other", "expected"), [
    ("2024.1.1-2024.12.31", "2024.1.1--2024.12.31", True),
    ("详见附件—", "详见附件——", True),
    ("2024.1.1-2024.12.31", "2024.1.1-2024.12.31", False),  # nothing added
    ("2024.1.1-2024.12.31", "2024.1.11-2024.12.31", False),  # a digit doubled is a misreading
    ("2024.1.1-2024.12.31", "2024.1.1--2024.12.311", False),
    ("2024.1.1-2024.12.31", "2024.1.1~-2024.12.31", False),  # a new character
    ("2024.1.1-2024.12.31", "2024.1.1-2024.12.3", False),
])
def test_a_rereading_may_only_add_repeats(first: str, other: str, expected: bool) -> None:
    assert adds_only_repeats(first, other) is expected


def test_only_lines_with_marks_printed_doubled_are_read_stretched() -> None:
    lines = [TextLine(page=1, text=text, bbox=BBox.of(100, 100 + 50 * k, 500, 130 + 50 * k), confidence=0.98)
             for k, text in enumerate(["2024.1.1-2024.12.31", "项目名称"])]
    reader = FixedReader("2024.1.1--2024.12.31")
    out = read_collapsed_repeats(lines, page(), reader, OPTIONS)
    assert [line.text for line in out] == ["2024.1.1--2024.12.31", "项目名称"]
    assert out[0].confidence == pytest.approx(0.97)
    (crop,) = reader.crops
    assert crop.shape[1] == 2 * 400
    assert hides_repeats("——") and hides_repeats("2024年1月~12月")
    assert not hides_repeats("项目名称") and not hides_repeats("623-山西转型综合改革示范区")


def test_a_line_of_placeholders_only_is_not_read_stretched() -> None:
    lines = [TextLine(page=1, text=text, bbox=BBox.of(100, 100 + 50 * k, 500, 130 + 50 * k), confidence=0.98)
             for k, text in enumerate(["……", "目标1：…", "详见附件—"])]
    reader = FixedReader("详见附件——")
    out = read_collapsed_repeats(lines, page(), reader, OPTIONS)
    assert [line.text for line in out] == ["……", "目标1：…", "详见附件——"]
    assert len(reader.crops) == 1, "rule 2 drops the first two lines whatever their dots"


def test_a_stretched_rereading_that_changes_characters_is_refused() -> None:
    line = TextLine(page=1, text="2024.1.1-2024.12.31", bbox=BBox.of(100, 100, 500, 130), confidence=0.98)
    (out,) = read_collapsed_repeats([line], page(), FixedReader("2024.1.1~~2024.12.31"), OPTIONS)
    assert out == line


def ink(side: str, width: float) -> UnreadInk:
    return UnreadInk(line=0, box=BBox.of(0, 0, width, 10), side=side)  # type: ignore[arg-type]


@pytest.mark.parametrize(("first", "other", "side", "width", "expected"), [
    ("提升为开发区做贡献的意识", "提升为开发区做贡献的意识，", "after", 6, True),
    ("1000", "1000，", "end", 6, True),
    ("1000", "10000，", "after", 6, False),  # more than a comma's ink can hold
    ("1000", "10000", "after", 14, True),  # a digit's width: one more digit
    ("省级重点专业", "、省级重点专业", "before", 7, True),
    ("省级重点专业", "省级重点专业、", "before", 7, False),  # added on the wrong side
    ("次性项目", "一次性项目", "start", 25, True),
    ("信息方便企业", "信息，方便企业", "within", 6, True),
    ("信息方便企业", "信息，方便企业，", "within", 6, False),  # two marks where one fits
    ("提升为开发区", "提高为开发区，", "after", 6, False),  # a character changed
    ("开发区", "开发区", "after", 6, False),  # nothing added
])
def test_a_widened_rereading_must_read_the_ink_and_only_it(first: str, other: str, side: str, width: float,
                                                           expected: bool) -> None:
    assert reads_the_ink(first, other, [ink(side, width)], EM) is expected


def test_a_line_is_read_in_the_next_view_only_while_the_views_before_have_not_completed_it() -> None:
    image = page()
    boxes = [BBox.of(100, 100, 300, 130), BBox.of(100, 200, 300, 230), BBox.of(-50, -50, -10, -10)]
    reader = FixedReader("示范区")
    views = (lambda crop: crop, lambda crop: crop[:, ::-1])
    read = reread_lines(reader, image, boxes, views=views, done=lambda n, _: n == 0)
    assert [len(readings) for readings in read] == [1, 2, 0]  # the box off the page has no crop
    assert len(reader.crops) == 3
    assert [len(r) for r in reread_lines(FixedReader("示范区"), image, boxes, views=views)] == [2, 2, 0]


def test_a_window_is_cut_only_where_a_column_is_bare_paper() -> None:
    image = np.full((60, 300, 3), 255, np.uint8)
    image[20:40, 50:100] = 0  # a glyph
    image[20:40, 104:150] = 0  # the next, 4 px of paper between them
    image[30, 102] = 0  # a scanner speck in that gap: not ink
    image[20:40, 150:200] = 180  # a faint glyph right against it: ink all the same
    image[30, 250:280] = 0  # a one-pixel stroke of 一
    nearest = paper_columns(image, BBox.of(10, 10, 290, 50))
    assert nearest(95, 110) == 102.0  # the speck's column, nearest the middle
    assert nearest(60, 90) is None  # inside a glyph
    assert nearest(140, 160) is None  # glyph against faint glyph
    assert nearest(200, 240) == 220.0  # bare paper all along: the middle
    assert nearest(255, 275) is None  # the stroke is ink, however thin

