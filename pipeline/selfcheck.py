"""The OCR self-check a worker runs before taking work: a broken model install must never publish.

The committed reference image ``config/selfcheck.png`` must read as its known text (kept in
``config/ocr_models.yaml``). Model checksums catch a damaged file; this catches everything else
that makes an engine read garbage (wrong dictionary, wrong model pair, a broken runtime).
"""

from __future__ import annotations

import importlib.resources
import logging

import cv2
import numpy as np

from declscan.pipeline.ocr import OcrEngine, parse_paddle_result
from declscan.pipeline.paddle_engine import ocr_config

log = logging.getLogger(__name__)


class SelfCheckError(RuntimeError):
    """The engine did not read the reference image right (one line, says why)."""


def reference_image(name: str) -> np.ndarray:
    """A BGR image shipped in ``declscan.config``."""
    data = importlib.resources.files("declscan.config").joinpath(name).read_bytes()
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
    if image is None:
        raise SelfCheckError(f"reference image config/{name} is unreadable")
    return image


def self_check(engine: OcrEngine) -> None:
    """Return quietly when ``engine`` reads the reference image as expected.

    Raises:
        SelfCheckError: the text differs (both texts are in the message) or a line's confidence
            is below the configured minimum.
    """
    spec = ocr_config()["selfcheck"]
    lines = parse_paddle_result(engine.recognize(reference_image(spec["image"])), page=1)
    read = "".join(line.text for line in sorted(lines, key=lambda line: line.bbox.x0))
    expected = str(spec["text"])
    if _squash(read) != _squash(expected):
        raise SelfCheckError(f"reference image read as {read!r}, expected {expected!r}")
    weakest = min(line.confidence for line in lines)
    if weakest < float(spec["min_confidence"]):
        raise SelfCheckError(f"reference image read right but at confidence {weakest:.2f}, "
                             f"below {spec['min_confidence']}")
    log.info("OCR self-check passed (confidence %.3f)", weakest)


def _squash(text: str) -> str:
    return "".join(text.split())
