"""PaddleOCR output → TextLines, and the OCR stage's page loop, with no engine (recorded JSON)."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from declscan.models.document import FormDocument, PageInfo
from declscan.models.record import Source
from declscan.pipeline.ocr import median_confidence, parse_paddle_result, run_ocr
from declscan.pipeline.preprocess import NOISE_LEVEL, denoise_for_ocr, noise_level

# Recorded once from a real PaddleOCR 3.7 run (PP-OCRv5 mobile, 960 max): a 1654x600 strip of a
# dense 200-DPI form page, the same strip turned 180°, and config/selfcheck.png.
DATA = Path(__file__).resolve().parent.parent / "data" / "paddle"


def recorded(name: str) -> dict[str, Any]:
    return json.loads((DATA / f"{name}.json").read_text(encoding="utf-8"))


def test_lines_keep_text_score_and_the_box_around_the_polygon() -> None:
    raw = recorded("dense_excerpt")
    lines = parse_paddle_result(raw, page=2)
    assert len(lines) == len(raw["res"]["rec_texts"]) == 25
    first = lines[0]
    assert (first.page, first.text, first.source) == (2, "产业扶持专项", "ocr")
    assert first.bbox.as_list() == [127.0, 22.0, 305.0, 58.0]
    assert first.confidence == pytest.approx(raw["res"]["rec_scores"][0])
    assert [line.text for line in lines][:4] == ["产业扶持专项", "主管部门及代码", "经济运行部", "实施单位"]


def test_a_tilted_polygon_gives_its_enclosing_box() -> None:
    raw = copy.deepcopy(recorded("selfcheck"))
    raw["res"]["rec_polys"] = [[[30, 20], [550, 10], [552, 48], [28, 60]]]
    (line,) = parse_paddle_result(raw, page=1)
    assert line.bbox.as_list() == [28.0, 10.0, 552.0, 60.0]


def test_boxes_come_from_rec_boxes_when_there_are_no_polygons() -> None:
    raw = copy.deepcopy(recorded("selfcheck"))["res"]
    del raw["rec_polys"]
    (line,) = parse_paddle_result(raw, page=1)
    assert line.bbox.as_list() == [float(v) for v in raw["rec_boxes"][0]]
    assert line.text == "项目支出绩效目标申报表 2024年度 ≥98%"


def test_blank_texts_are_dropped_and_texts_stripped() -> None:
    raw = copy.deepcopy(recorded("dense_excerpt"))
    raw["res"]["rec_texts"][0] = "  "
    raw["res"]["rec_texts"][1] = " 主管部门及代码 "
    lines = parse_paddle_result(raw, page=1)
    assert len(lines) == 24
    assert lines[0].text == "主管部门及代码"


def test_live_results_with_numpy_arrays_parse_like_their_json() -> None:
    res = recorded("dense_excerpt")["res"]
    live = {**res, "rec_scores": np.asarray(res["rec_scores"], dtype=np.float32),
            "rec_polys": [np.asarray(p, dtype=np.int16) for p in res["rec_polys"]],
            "rec_boxes": np.asarray(res["rec_boxes"], dtype=np.int16)}
    as_json = parse_paddle_result({"res": res}, page=1)
    as_live = parse_paddle_result(live, page=1)
    assert [(a.text, a.bbox) for a in as_live] == [(b.text, b.bbox) for b in as_json]
    assert [a.confidence for a in as_live] == pytest.approx([b.confidence for b in as_json])


def test_mismatched_lengths_are_an_error_not_a_silent_shift() -> None:
    raw = copy.deepcopy(recorded("dense_excerpt"))
    raw["res"]["rec_scores"].pop()
    with pytest.raises(ValueError, match="25 texts, 24 scores"):
        parse_paddle_result(raw, page=1)


class ReplayEngine:
    """Answers each recognize() with the next recorded result; counts the calls."""

    def __init__(self, *names: str) -> None:
        self.results = [recorded(name) for name in names]
        self.seen: list[np.ndarray] = []

    def recognize(self, image: np.ndarray) -> Any:
        self.seen.append(image.copy())
        return self.results[len(self.seen) - 1]

    def versions(self) -> dict[str, str]:
        return {"engine": "replay"}


def document(n_pages: int) -> FormDocument:
    source = Source(filename="form.pdf", sha256="0" * 64, pages=n_pages, received_at="2024-01-26T09:00:00Z")
    pages = tuple(PageInfo(number=i, width=40, height=30, dpi=200) for i in range(1, n_pages + 1))
    return FormDocument(document_id="0" * 64, source=source, pages=pages)


def page_image(seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 255, (30, 40, 3), dtype=np.uint8)


def test_every_page_is_read_once_when_it_reads_well() -> None:
    engine = ReplayEngine("dense_excerpt", "selfcheck")
    images = [page_image(1), page_image(2)]
    doc = run_ocr(document(2), images, engine=engine)
    assert len(engine.seen) == 2
    assert [line.page for line in doc.lines] == [1] * 25 + [2]
    assert [page.rotation for page in doc.pages] == [0, 0]


def test_an_upside_down_page_is_read_turned_and_the_turn_is_recorded() -> None:
    # First the page as given (the turned strip: garbage), then the retry turned 180° (upright text).
    engine = ReplayEngine("dense_excerpt_180", "dense_excerpt")
    original = page_image(3)
    images = [original.copy()]
    doc = run_ocr(document(1), images, engine=engine)
    assert len(engine.seen) == 2
    assert np.array_equal(engine.seen[1], denoise_for_ocr(original)[::-1, ::-1]), "the engine reads denoised"
    assert doc.pages[0].rotation == 180
    assert np.array_equal(images[0], original[::-1, ::-1]), "caller's pixels must match the boxes"
    assert doc.lines[0].text == "产业扶持专项"
    assert median_confidence(doc.lines) > 0.9


def test_the_turn_is_kept_only_when_it_reads_better() -> None:
    engine = ReplayEngine("dense_excerpt_180", "dense_excerpt_180")
    original = page_image(4)
    images = [original.copy()]
    doc = run_ocr(document(1), images, engine=engine)
    assert len(engine.seen) == 2
    assert doc.pages[0].rotation == 0
    assert np.array_equal(images[0], original)


def test_one_image_per_page_is_required() -> None:
    with pytest.raises(ValueError, match="1 images for 2 pages"):
        run_ocr(document(2), [page_image(5)], engine=ReplayEngine())


def printed_page(noise_sigma: float) -> np.ndarray:
    page = np.full((300, 600, 3), 255, dtype=np.uint8)
    for row in range(4):
        cv2.putText(page, "2024.1.1--2024.12.31; 1,200.00", (20, 60 + 60 * row), cv2.FONT_HERSHEY_SIMPLEX,
                    0.9, (0, 0, 0), 2)
    noise = np.random.default_rng(7).normal(0, noise_sigma, page.shape) if noise_sigma else 0
    return np.clip(page + noise, 0, 255).astype(np.uint8)


def test_only_a_noisy_page_is_denoised_for_the_recognizer() -> None:
    quiet, noisy = printed_page(0), printed_page(6)
    assert noise_level(quiet) < NOISE_LEVEL < noise_level(noisy)
    assert denoise_for_ocr(quiet) is quiet, "small punctuation on a quiet page stays as printed"
    assert np.array_equal(denoise_for_ocr(noisy), cv2.medianBlur(noisy, 3))
