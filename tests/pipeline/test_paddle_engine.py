"""The PaddleOCR engine: pinned model files, a real OCR run, the self-check, one load per process."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from printed import rendered_line

from declscan.config.options import OcrOptions
from declscan.pipeline.ocr import parse_paddle_result
from declscan.pipeline.paddle_engine import (
    FoldingDecode,
    ModelIntegrityError,
    PaddleOcrEngine,
    default_model_dir,
    doubt_weights,
    folded_probability,
    get_engine,
    line_scores,
    model_files,
    verify_model,
    width_fellows,
    word_classes,
)
from declscan.pipeline.selfcheck import SelfCheckError, self_check


def corrupted_copy(tmp_path: Path, name: str, file: str) -> Path:
    copy = tmp_path / name
    shutil.copytree(default_model_dir(name), copy)
    data = bytearray((copy / file).read_bytes())
    data[len(data) // 2] ^= 0x01
    (copy / file).write_bytes(bytes(data))
    return copy


# --- pins: no model is loaded, these fail before PaddleOCR is imported -----------------------


def test_the_shipped_models_match_their_pins() -> None:
    for role in ("det", "rec"):
        model = model_files(OcrOptions(), role)
        digests = verify_model(model)
        assert set(digests) >= {"inference.pdiparams", "inference.json", "inference.yml"}


def test_a_flipped_byte_in_the_weights_fails_the_checksum(tmp_path: Path) -> None:
    copy = corrupted_copy(tmp_path, "PP-OCRv5_mobile_det", "inference.pdiparams")
    with pytest.raises(ModelIntegrityError, match=r"det model PP-OCRv5_mobile_det: .*inference.pdiparams "
                                                  r"has sha256 [0-9a-f]{64}, pinned afa1820c") as err:
        PaddleOcrEngine(OcrOptions(det_model_dir=copy))
    assert "\n" not in str(err.value)


def test_a_changed_character_dictionary_fails_the_checksum(tmp_path: Path) -> None:
    copy = corrupted_copy(tmp_path, "PP-OCRv5_mobile_rec", "inference.yml")
    with pytest.raises(ModelIntegrityError, match=r"rec model PP-OCRv5_mobile_rec: .*inference\.yml"):
        PaddleOcrEngine(OcrOptions(rec_model_dir=copy))


def test_a_missing_model_file_is_named(tmp_path: Path) -> None:
    copy = tmp_path / "det"
    shutil.copytree(default_model_dir("PP-OCRv5_mobile_det"), copy)
    (copy / "inference.json").unlink()
    with pytest.raises(ModelIntegrityError, match=r"inference.json is missing"):
        PaddleOcrEngine(OcrOptions(det_model_dir=copy))


def test_an_unpinned_custom_model_is_refused(tmp_path: Path) -> None:
    copy = tmp_path / "custom"
    shutil.copytree(default_model_dir("PP-OCRv5_mobile_det"), copy)
    options = OcrOptions(det_model_name="my_det", det_model_dir=copy, det_sha256="ab" * 32)
    with pytest.raises(ModelIntegrityError, match=r"no sha256 pinned for inference\.json, inference\.yml"):
        PaddleOcrEngine(options)


def test_a_custom_model_carries_its_own_pins(tmp_path: Path) -> None:
    copy = corrupted_copy(tmp_path, "PP-OCRv5_mobile_det", "inference.yml")
    pins = verify_model(model_files(OcrOptions(), "det")) | {"inference.yml": "0" * 64}
    options = OcrOptions(det_model_name="my_det", det_model_dir=copy, det_pins=pins)
    with pytest.raises(ModelIntegrityError, match=r"inference\.yml has sha256"):
        verify_model(model_files(options, "det"))


CHARACTERS = ["blank", "项", "〔", "2"]


def ctc_output(frames: list[tuple[int, float]]) -> np.ndarray:
    """One line's CTC probabilities: per frame, the winning class and its probability."""
    probs = np.zeros((1, len(frames), len(CHARACTERS)))
    for t, (winner, p) in enumerate(frames):
        probs[0, t, :] = (1 - p) / (len(CHARACTERS) - 1)
        probs[0, t, winner] = p
    return probs


def scores(frames: list[tuple[int, float]], mean: float = 0.99, *, word_weight: float = 0.5) -> list[float]:
    weights = doubt_weights(CHARACTERS, word_weight=word_weight, mark_weight=0.2)
    probs = ctc_output(frames)
    return line_scores(probs.argmax(-1), probs.max(-1), weights, word_classes(CHARACTERS), [mean])


def test_one_doubtful_word_character_lowers_the_line_however_long() -> None:
    # 项 2 项 with a doubtful second 项; a repeat after a blank is a new character.
    frames = [(1, 0.99), (0, 0.99), (3, 0.98), (1, 0.99), (0, 0.97), (1, 0.6), (0, 0.99)]
    assert scores(frames) == [pytest.approx(1 - 0.5 * 0.4)]


def test_a_mark_read_less_surely_weighs_less() -> None:
    assert scores([(1, 0.99), (2, 0.6), (3, 0.99)]) == [pytest.approx(1 - 0.2 * 0.4)]
    assert scores([(1, 0.99), (2, 0.45), (3, 0.99)])[0] < 0.9, "a mark below 0.5 is flagged at 0.9"


def test_the_mean_of_the_word_characters_is_the_ceiling() -> None:
    # （项） with both brackets doubtful: the marks lower the line only through their weighted doubt.
    frames = [(2, 0.5), (1, 0.99), (2, 0.5)]
    assert scores(frames, word_weight=0.0) == [pytest.approx(1 - 0.2 * 0.5)]
    assert scores([(1, 0.7), (3, 0.9)], word_weight=0.0) == [pytest.approx(0.8)]
    assert scores([(2, 0.6)], mean=0.6) == [pytest.approx(0.6)], "marks alone: the decoder's mean"
    assert scores([(0, 0.99)], mean=0.0) == [0.0], "a line with no character"


FOLDED = ["blank", "晋", "晉", "（", "(", "：", ":", "於"]


def test_only_the_width_forms_of_one_character_fold_together() -> None:
    fellows = width_fellows(FOLDED)
    index = FOLDED.index
    assert set(fellows[index("（")]) - {-1} == {index("(")}
    assert set(fellows[index(":")]) - {-1} == {index("：")}
    assert set(fellows[index("晋")]) == {-1}, "a traditional form is another character"
    assert set(fellows[0]) == {-1}, "the blank folds with none"


def test_a_frame_counts_the_probability_of_every_width_form_of_its_winner() -> None:
    probs = np.zeros((1, 3, len(FOLDED)), np.float32)
    probs[0, 0, [3, 4, 7]] = [0.64, 0.34, 0.02]  # （ and (
    probs[0, 1, [5, 6]] = [0.2, 0.7]  # : wins, ： counts with it
    probs[0, 2, [1, 2]] = [0.56, 0.39]  # 晋 and 晉 stay apart
    best = folded_probability(probs, probs.argmax(-1), width_fellows(FOLDED))
    assert best[0].tolist() == pytest.approx([0.98, 0.9, 0.56])


class TableDecode:
    """Stands in for PaddleX's CTC decoder: its character list and its ``decode`` method."""

    character = FOLDED

    def decode(self, index: np.ndarray, prob: np.ndarray, **_: Any) -> list[tuple[str, float]]:
        results = []
        for line, p in zip(index, prob, strict=True):
            emits = line != 0
            emits[1:] &= line[1:] != line[:-1]  # as PaddleX: repeats merge, then blanks go
            results.append(("".join(FOLDED[i] for i in line[emits]), float(p[emits].mean())))
        return results


def test_the_folding_decoder_keeps_the_winner_and_scores_all_its_forms() -> None:
    probs = np.zeros((1, 2, len(FOLDED)), np.float32)
    probs[0, 0, [3, 4]] = [0.45, 0.55]  # ( wins the frame over （
    probs[0, 1, 0] = 1.0
    texts, scores = FoldingDecode(TableDecode(), OcrOptions())([probs])
    assert texts == ["("]
    assert scores == [pytest.approx(1.0)]


def test_a_character_read_in_two_forms_over_its_frames_is_one_character() -> None:
    # （ wins the first frame and ( the next two, of one printed bracket: one character, not （((.
    probs = np.zeros((1, 4, len(FOLDED)), np.float32)
    probs[0, 0, [3, 4]] = [0.5, 0.45]
    probs[0, 1, [3, 4]] = [0.45, 0.5]
    probs[0, 2, [3, 4]] = [0.4, 0.55]
    probs[0, 3, 0] = 1.0
    texts, scores = FoldingDecode(TableDecode(), OcrOptions())([probs])
    assert texts == ["（"]
    assert scores == [pytest.approx(0.95)]


# --- the real engine ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def engine() -> PaddleOcrEngine:
    return get_engine(OcrOptions())


@pytest.mark.ocr
def test_the_engine_loads_once_per_process(engine: PaddleOcrEngine) -> None:
    assert get_engine(OcrOptions()) is engine
    assert get_engine(OcrOptions(cpu_threads=2)) is engine


@pytest.mark.ocr
def test_a_rendered_line_is_read(engine: PaddleOcrEngine) -> None:
    lines = parse_paddle_result(engine.recognize(rendered_line("年度资金总额：11350万元")), page=1)
    assert [line.text for line in lines] == ["年度资金总额：11350万元"]
    assert lines[0].confidence > 0.9
    assert lines[0].bbox.x0 >= 20 and lines[0].bbox.x1 <= 30 + 30 * 13


@pytest.mark.ocr
def test_the_plain_predict_baseline_leaves_the_engine_as_it_was(engine: PaddleOcrEngine) -> None:
    folding = engine._ocr.paddlex_pipeline.text_rec_model.post_op
    plain = parse_paddle_result(engine.plain_predict(rendered_line("年度资金总额：11350万元")), page=1)
    assert [line.text for line in plain] == ["年度资金总额：11350万元"]
    assert engine._ocr.paddlex_pipeline.text_rec_model.post_op is folding
    assert isinstance(folding, FoldingDecode)


@pytest.mark.ocr
def test_versions_name_the_models_and_their_checksums(engine: PaddleOcrEngine) -> None:
    versions = engine.versions()
    assert versions["det_model"] == "PP-OCRv5_mobile_det"
    assert versions["rec_sha256"].startswith("2460da90")
    assert versions["engine"].startswith("paddleocr 3.")


@pytest.mark.ocr
def test_the_self_check_passes_on_the_real_engine(engine: PaddleOcrEngine) -> None:
    self_check(engine)


class MirroringEngine:
    """The real engine fed mirrored pages: what a model reading garbage looks like from outside."""

    def __init__(self, engine: PaddleOcrEngine) -> None:
        self.engine = engine

    def recognize(self, image: np.ndarray) -> Any:
        return self.engine.recognize(np.ascontiguousarray(image[:, ::-1]))

    def versions(self) -> dict[str, str]:
        return self.engine.versions()


@pytest.mark.ocr
def test_the_self_check_fails_when_the_engine_reads_garbage(engine: PaddleOcrEngine) -> None:
    with pytest.raises(SelfCheckError, match=r"reference image read as .*, expected '项目支出"):
        self_check(MirroringEngine(engine))
