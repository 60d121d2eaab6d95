"""The stages in order, for the one-shot CLI, the tests and the benchmarks.

The service runs the same stage functions one Celery task each; ``extract_content`` and
``finish_document`` are shared so both paths stay the same pipeline.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from declscan.config.formdata import load_form_rules
from declscan.config.options import LineCheckOptions, PipelineOptions
from declscan.models.document import FormDocument
from declscan.pipeline.confidence import flag_low_confidence
from declscan.pipeline.digest import file_sha256
from declscan.pipeline.digital import read_text_layer
from declscan.pipeline.labels import load_labels
from declscan.pipeline.load import load_pages, new_document
from declscan.pipeline.mapping import map_fields
from declscan.pipeline.ocr import OcrEngine, run_ocr
from declscan.pipeline.preprocess import preprocess
from declscan.pipeline.snap_taxonomy import snap_taxonomy
from declscan.pipeline.structure import detect_tables
from declscan.pipeline.validate import validate

Timings = dict[str, float]


@dataclass(frozen=True)
class ProcessedFile:
    document: FormDocument
    images: list[np.ndarray]
    timings: Timings


@contextmanager
def _timed(timings: Timings, stage: str) -> Iterator[None]:
    start = time.perf_counter()
    yield
    timings[stage] = timings.get(stage, 0.0) + time.perf_counter() - start


def utc_timestamp(moment: dt.datetime | None = None) -> str:
    moment = moment or dt.datetime.now(dt.UTC)
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def extract_content(doc: FormDocument, images: list[np.ndarray], source_path: Path, *,
                    engine: Callable[[], OcrEngine], check: LineCheckOptions | None = None,
                    timings: Timings | None = None) -> FormDocument:
    """Text and tables: the PDF's own text layer when it has one, else OCR then grid detection
    (``check``: the OCR stage's line checks).

    ``engine`` is called only for scans, so a born-digital batch never loads PaddleOCR.
    """
    timings = {} if timings is None else timings
    if doc.kind == "digital":
        with _timed(timings, "text_layer"):
            return read_text_layer(doc, source_path)
    with _timed(timings, "ocr"):
        doc = run_ocr(doc, images, engine=engine(), check=check)
    with _timed(timings, "structure"):
        return detect_tables(doc, images, check)


def finish_document(doc: FormDocument, *, options: PipelineOptions,
                    timings: Timings | None = None) -> FormDocument:
    """Map the cells onto the schema, validate, and flag what is not sure."""
    timings = {} if timings is None else timings
    with _timed(timings, "map_validate"):
        rules = load_form_rules()
        doc = map_fields(doc, labels=load_labels())
        doc = snap_taxonomy(doc, taxonomy=rules.taxonomy)
        doc = validate(doc, rules=rules)
        return flag_low_confidence(doc, threshold=options.flag_threshold)


def process_file(path: Path, *, engine: Callable[[], OcrEngine], options: PipelineOptions,
                 received_at: str | None = None) -> ProcessedFile:
    """Run every stage over one input file.

    Raises:
        InputError: the file is not a readable declaration input (one line: file and reason).
    """
    timings: Timings = {}
    with _timed(timings, "load"):
        loaded = load_pages(path, limits=options.limits)
        doc = new_document(path, loaded, sha256=file_sha256(path), received_at=received_at or utc_timestamp())
    with _timed(timings, "preprocess"):
        doc, images = preprocess(doc, loaded.images)
    doc = extract_content(doc, images, path, engine=engine, check=options.line_check, timings=timings)
    doc = finish_document(doc, options=options, timings=timings)
    return ProcessedFile(document=doc, images=images, timings=timings)
