"""The dropped-character check: its math on synthetic readings (glyphs placed as PP-OCR reports
them), and the real engine on a noisy crop where PP-OCRv5 skips characters."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest
from printed import rendered_line

from declscan.config.options import LineCheckOptions, OcrOptions, PipelineOptions
from declscan.models.document import FormDocument, PageInfo
from declscan.models.ocr import TextLine
from declscan.models.record import Source
from declscan.pipeline.ocr import check_lines, parse_paddle_readings, parse_paddle_result, run_ocr
from declscan.pipeline.ocr_check import (
    Glyph,
    Reading,
    Window,
    best_reading,
    em_per_height,
    gap_excess,
    glyph_extents,
    hole_window,
    is_subsequence,
    is_suspect,
    line_em,
    mark_rooms,
    splice,
    text_doubt,
    worst_hole,
)
from declscan.pipeline.paddle_engine import PaddleOcrEngine, get_engine

EM = 30.0  # one CJK character's advance in these synthetic lines, px
HEIGHT = 36.0  # box height, px
OPTIONS = LineCheckOptions()


def printed(text: str, *, skip: tuple[int, ...] = (), x0: float = 100.0, pad: float = 5.0,
            score: float = 0.99) -> Reading:
    """``text`` printed one em per character; characters at ``skip`` are in the box but not read.

    CJK glyphs are one em wide around their centre (as PaddleOCR's word boxes); punctuation and
    ASCII runs get the narrow box the decoder's column gives them.
    """
    glyphs = []
    for i, char in enumerate(text):
        if i in skip:
            continue
        left = x0 + pad + i * EM
        if "\u4e00" <= char <= "\u9fff":
            glyphs.append(Glyph(char, left, left + EM))
        elif char in "（《“":
            glyphs.append(Glyph(char, left + EM - 6, left + EM))  # ink on the right of its em
        else:
            glyphs.append(Glyph(char, left, left + 6))  # ，。）》” and ASCII: ink on the left
    kept = "".join(c for i, c in enumerate(text) if i not in skip)
    return Reading(text=kept, score=score, glyphs=tuple(glyphs), x0=x0,
                   x1=x0 + 2 * pad + len(text) * EM, height=HEIGHT)


def paper_between_glyphs(a: float, b: float) -> float | None:
    """``paper_columns`` of a synthetic line: bare paper at each em boundary (x0 + pad + n em)."""
    n = np.ceil((a - 105.0) / EM)
    x = 105.0 + n * EM
    return x if x <= b else None


def test_a_percent_sign_inks_past_its_column() -> None:
    reading = printed("≥90%")
    *_, (_, digits_end), (_, percent_end) = glyph_extents(reading, EM) or ()
    assert digits_end == reading.glyphs[-2].x1, "a digit inks where its column is"
    assert percent_end == reading.glyphs[-1].x1 + 0.25 * EM
    end_gap = (reading.x1 - reading.glyphs[-1].x1) / EM / OPTIONS.max_margin - 1
    assert gap_excess(reading, EM, OPTIONS)[-1] == pytest.approx(end_gap), "holes: from the column"


def test_a_mark_skipped_after_an_ideograph_has_room_at_a_row_end_or_a_wide_step() -> None:
    centre = 105 + EM / 2  # of the first character
    assert mark_rooms(printed("奖励"), EM) == ((centre + 1.6 * EM, centre + 1.9 * EM),), "row end only"
    skipped = printed("工作,强化", skip=(2,))  # the comma's em left empty: a 2 em step
    assert mark_rooms(skipped, EM) == ((centre + 1.6 * EM, centre + 1.9 * EM),
                                       (centre + 4.6 * EM, centre + 4.9 * EM))
    assert mark_rooms(printed("工作，"), EM) == (), "a mark read ends the row"
    assert mark_rooms(printed("作"), None) is None


LONG = "山西转型综合改革示范区晋中开发区国有资本运营有限公司"


def test_a_hole_is_read_again_in_a_window_two_glyphs_either_side() -> None:
    reading = printed(LONG, skip=(11,))  # 晋 not read
    window = hole_window(reading, EM, OPTIONS, paper_between_glyphs)
    assert window == Window(x0=105 + 9 * EM, x1=105 + 14 * EM, first=9, last=13, holes=(11,),
                            spans=((105 + 11 * EM, 105 + 12 * EM),))
    assert "".join(g.text for g in reading.glyphs[window.first:window.last]) == "范区中开"


def test_holes_near_each_end_of_a_window_share_it() -> None:
    window = hole_window(printed(LONG, skip=(11, 15)), EM, OPTIONS, paper_between_glyphs)
    assert window is not None and (window.first, window.last, window.holes) == (9, 16, (11, 14))


def test_a_hole_at_the_start_is_read_from_the_box_start() -> None:
    reading = printed(LONG, skip=(0,))
    window = hole_window(reading, EM, OPTIONS, paper_between_glyphs)
    assert window == Window(x0=reading.x0, x1=105 + 3 * EM, first=0, last=2, holes=(0,),
                            spans=((reading.x0, 105 + EM),))


@pytest.mark.parametrize("why", ["no hole", "ink at the cut", "most of the line", "text not its glyphs"])
def test_the_whole_line_is_read_when_a_window_would_not_do(why: str) -> None:
    reading = printed(LONG, skip=(11,))
    paper = paper_between_glyphs
    if why == "no hole":
        reading = printed(LONG)
    elif why == "ink at the cut":
        paper = lambda a, b: None  # noqa: E731 - ink all along
    elif why == "most of the line":
        reading = printed("山西转型综合", skip=(3,))
    else:
        reading = Reading(reading.text + "”", reading.score, reading.glyphs, reading.x0, reading.x1, HEIGHT)
    assert hole_window(reading, EM, OPTIONS, paper) is None


def test_a_window_read_again_is_spliced_into_its_line_and_scored_as_the_less_sure() -> None:
    first = printed(LONG, skip=(11,), score=0.98)
    window = hole_window(first, EM, OPTIONS, paper_between_glyphs)
    assert window is not None
    again = printed("范区晋中开", x0=window.x0 - 5.0, score=0.93)
    whole = splice(first, window, again)
    assert whole is not None and whole.text == LONG and whole.score == 0.93
    assert (whole.x0, whole.x1) == (first.x0, first.x1)
    assert not is_suspect(whole, EM / HEIGHT, OPTIONS)
    assert [g.x0 for g in whole.glyphs] == sorted(g.x0 for g in whole.glyphs)


def test_a_complete_line_is_not_suspect() -> None:
    reading = printed("山西转型综合改革示范区晋中开发区")
    assert worst_hole(reading, EM, OPTIONS) <= 0
    assert not is_suspect(reading, EM / HEIGHT, OPTIONS)


@pytest.mark.parametrize("skip", [(6,), (6, 8), (0,), (0, 1), (15,)], ids=["one inside", "two inside",
                                                                          "first", "first two", "last"])
def test_a_skipped_character_anywhere_makes_the_line_suspect(skip: tuple[int, ...]) -> None:
    reading = printed("山西转型综合改革示范区晋中开发区", skip=skip)
    assert len(reading.text) == 16 - len(skip)
    assert is_suspect(reading, EM / HEIGHT, OPTIONS)


def test_punctuation_blank_half_is_allowed_for_but_a_skip_next_to_it_is_not() -> None:
    text = "部门（单位）项目，《通知》“小巨人”企业"
    assert not is_suspect(printed(text), EM / HEIGHT, OPTIONS)
    assert is_suspect(printed(text, skip=(text.index("小"),)), EM / HEIGHT, OPTIONS)
    assert is_suspect(printed(text, skip=(text.index("项"),)), EM / HEIGHT, OPTIONS)


def test_the_line_measures_its_own_em_and_falls_back_to_the_page() -> None:
    long = printed("为鼓励小微企业壮大规模", skip=(4,))
    assert line_em(long, 0.5) == pytest.approx(EM), "a median ignores the one skipped step"
    short = printed("项目")
    assert line_em(short, 0.5) == pytest.approx(0.5 * HEIGHT)
    assert line_em(short, None) is None
    assert not is_suspect(short, None, OPTIONS), "no em known: nothing to judge by"


def test_the_page_em_is_the_median_over_lines_with_enough_characters() -> None:
    lines = [printed("山西转型综合"), printed("晋中开发区管委会"), printed("项目"),
             printed("示范区晋中", skip=(2,))]
    assert em_per_height(lines) == pytest.approx(EM / HEIGHT)
    assert em_per_height([printed("项目")]) is None


def test_a_reading_without_glyphs_is_never_suspect() -> None:
    reading = Reading(text="山西", score=1.0, glyphs=(), x0=0, x1=500, height=HEIGHT)
    assert not is_suspect(reading, EM / HEIGHT, OPTIONS)


def test_thresholds_come_from_the_options() -> None:
    reading = printed("山西转型综合改革示范区", skip=(5,))
    assert is_suspect(reading, EM / HEIGHT, OPTIONS)
    assert not is_suspect(reading, EM / HEIGHT, LineCheckOptions(max_cjk_hole=1.5))


def test_a_complete_rereading_replaces_the_first() -> None:
    first = printed("山西转型综合改革示范区", skip=(0, 7))
    other = printed("山西转型综合改革示范区", score=0.95)
    best, still = best_reading(first, [printed("山西转型综合改革示范区", skip=(7,)), other], EM / HEIGHT,
                               OPTIONS)
    assert (best.text, best.score, still) == ("山西转型综合改革示范区", 0.95, False)


def test_a_rereading_that_changes_characters_or_still_misses_some_is_refused() -> None:
    first = printed("山西转型综合改革示范区", skip=(7,))
    changed = printed("出西转型综合改革示范区")  # complete, but 山 became 出
    holed = printed("山西转型综合改革示范区", skip=(3,))
    best, still = best_reading(first, [changed, holed], EM / HEIGHT, OPTIONS)
    assert best is first and still


def test_half_and_full_width_punctuation_count_as_the_same_characters() -> None:
    assert is_subsequence("项目(1年结束)", "一次性项目（1年结束）") is False  # raw forms differ
    first = printed("一次性项目（1年结束）", skip=(0,))
    first = Reading(text="次性项目(1年结束)", score=0.99, glyphs=first.glyphs, x0=first.x0, x1=first.x1,
                    height=HEIGHT)
    best, still = best_reading(first, [printed("一次性项目（1年结束）")], EM / HEIGHT, OPTIONS)
    assert (best.text, still) == ("一次性项目（1年结束）", False)


@pytest.mark.parametrize(("text", "doubt"), [
    ("在全市起到引|领、标杆作用", "stray_mark"), ("指引I(试行)的通知", "stray_mark"), ("引l领", "stray_mark"),
    ("AI协同创新子平台", None), ("第1次会议", None), ("2024.1.1-2024.12.31", None), ("Ⅰ类", None),
    ("-次性项目", "confusable_dash"), ("统−规划", "confusable_dash"), ("623-山西", None), ("——", None),
    ("省級重点专业", "uncommon_character"), ("萬意座", "uncommon_character"), ("满意度指标", None),
    ("助企纾困，晋开管发〔2023〕50号；①②", None),
])
def test_a_rule_read_as_a_letter_or_a_dash_before_characters_is_doubted(text: str, doubt: str | None) -> None:
    assert text_doubt(text) == doubt


# A 480x58 crop of the rendered dev set's form-03 at the mild level (Gaussian noise, JPEG q80),
# preprocessed: PP-OCRv5 mobile reads "623-西转型综合改范区晋中开" from it at ~0.98, skipping 山, 革, 示.
DROPPED = Path(__file__).resolve().parent.parent / "data" / "paddle" / "dropped_characters.png"
PRINTED = "623-山西转型综合改革示范区晋中开"


@pytest.fixture(scope="module")
def engine() -> PaddleOcrEngine:
    # The mean over the line's word characters alone: the check must catch this line by the glyph
    # gaps alone, whatever else lowers its score.
    return get_engine(OcrOptions(doubt_weight_word=0.0, doubt_weight_mark=0.0))


@pytest.fixture(scope="module")
def noisy_crop() -> np.ndarray:
    image = cv2.imread(str(DROPPED))
    assert image is not None, DROPPED
    return image


def one_page(image: np.ndarray) -> FormDocument:
    source = Source(filename="crop.png", sha256="0" * 64, pages=1, received_at="2024-01-26T09:00:00Z")
    page = PageInfo(number=1, width=image.shape[1], height=image.shape[0], dpi=200)
    return FormDocument(document_id="0" * 64, source=source, pages=(page,))


def complete_or_flagged(line: TextLine) -> bool:
    return line.text == PRINTED or line.confidence < PipelineOptions().flag_threshold


@pytest.mark.ocr
def test_a_noisy_line_missing_characters_is_read_whole_or_flagged(engine: PaddleOcrEngine,
                                                                  noisy_crop: np.ndarray) -> None:
    readings = parse_paddle_readings(engine.recognize(noisy_crop), page=1)
    (plain, reading), = readings
    assert plain.text != PRINTED and plain.confidence > 0.9, "the crop no longer shows the failure"
    assert reading is not None and is_suspect(reading, None, OPTIONS)

    (capped,) = check_lines(readings, noisy_crop, engine, LineCheckOptions(reread=False))
    assert capped.text == plain.text and capped.confidence == OPTIONS.suspect_confidence
    assert capped.doubt == "skipped_character"
    (checked,) = check_lines(readings, noisy_crop, engine, OPTIONS)
    assert complete_or_flagged(checked), checked

    lines = run_ocr(one_page(noisy_crop), [noisy_crop.copy()], engine=engine).lines
    assert [line.text for line in lines] == [PRINTED] or all(map(complete_or_flagged, lines)), lines


@pytest.mark.ocr
def test_the_doubtful_character_score_flags_the_noisy_line_on_its_own(noisy_crop: np.ndarray) -> None:
    (line,) = parse_paddle_result(get_engine(OcrOptions()).recognize(noisy_crop), page=1)
    assert line.text != PRINTED
    assert line.confidence < PipelineOptions().flag_threshold


@pytest.mark.parametrize("read", ["小范区晋中开", "范区晋中开1", "范区晋开", "范区晋中升", "范晋区中开"])
def test_a_window_read_otherwise_than_as_its_glyphs_with_the_hole_filled_is_not_spliced(read: str) -> None:
    """A stroke of the glyph beyond a cut read as a character at either edge; a context glyph
    dropped or changed; a character added away from the hole: each would pass as the line whole."""
    first = printed(LONG, skip=(11,))
    window = hole_window(first, EM, OPTIONS, paper_between_glyphs)
    assert window is not None
    assert splice(first, window, printed(read, x0=window.x0 - 5.0)) is None


def test_a_stroke_beside_a_repeated_character_read_as_one_more_is_not_spliced() -> None:
    """``晋`` skipped before ``一一``: a window reading ``范区晋一一一`` matches its text with ``晋一``
    filling the hole, but the third ``一`` lies at the window's edge, not in the hole."""
    first = printed("山西转型示范区晋一一对应关系", skip=(7,))
    window = hole_window(first, EM, OPTIONS, paper_between_glyphs)
    assert window is not None and window.holes == (7,)
    assert splice(first, window, printed("范区晋一一一", x0=window.x0 - 5.0)) is None
    assert splice(first, window, printed("范区晋一一", x0=window.x0 - 5.0)) is not None


class CropWidths:
    """The real engine, noting the width of every crop it is asked to read alone."""

    def __init__(self, engine: PaddleOcrEngine) -> None:
        self.engine, self.widths = engine, []

    def recognize(self, image: np.ndarray) -> Any:
        return self.engine.recognize(image)

    def versions(self) -> dict[str, str]:
        return self.engine.versions()

    def read_lines(self, crops: Sequence[np.ndarray]) -> list[dict[str, Any]]:
        self.widths += [crop.shape[1] for crop in crops]
        return self.engine.read_lines(crops)


@pytest.mark.ocr
def test_a_skipped_character_is_read_again_in_a_window_and_spliced(engine: PaddleOcrEngine) -> None:
    image = rendered_line(LONG)
    ((line, reading),) = parse_paddle_readings(engine.recognize(image), page=1)
    assert line.text == LONG and reading is not None, "the engine no longer reads the line whole"
    k = LONG.index("晋")  # taken out, as the recognizer skips a character at full confidence
    skipped = Reading(LONG[:k] + LONG[k + 1:], reading.score, reading.glyphs[:k] + reading.glyphs[k + 1:],
                      reading.x0, reading.x1, reading.height)
    reader = CropWidths(engine)
    short = line.model_copy(update={"text": skipped.text})
    (checked,) = check_lines([(short, skipped)], image, reader, OPTIONS)
    assert checked.text == LONG and checked.confidence > OPTIONS.suspect_confidence
    assert reader.widths and max(reader.widths) < 0.6 * line.bbox.width

