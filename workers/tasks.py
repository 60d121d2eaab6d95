"""The pipeline stages as Celery tasks: each takes a document id and is safe to run twice.

A stage's output (the FormDocument as JSON) is stored in ``stage_results`` under
``(document, stage)`` in the same transaction that advances the document's state, and only then is
the next stage enqueued. A redelivered or duplicated message therefore finds its result and skips
ahead, a crash resumes at the first stage without a result, and the reconciler can re-enqueue any
unfinished document at any time. Scans run preprocess → ocr → structure → map_validate → route;
born-digital PDFs read their text layer instead of OCR and grid detection.
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path
from typing import Any

import kombu.exceptions
import redis
import sqlalchemy.exc
from celery import Task
from celery.exceptions import SoftTimeLimitExceeded
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from declscan.models.document import FormDocument
from declscan.pipeline.errors import InputError
from declscan.workers.celery_app import TASK_PREFIX, TIME_LIMITS, Runtime, app, enqueue, runtime
from declscan.workers.db import FINISHED_STATES, DocumentRow, StageResultRow, as_utc

log = logging.getLogger(__name__)

SCAN_STAGES = ("preprocess", "ocr", "structure", "map_validate", "route")
DIGITAL_STAGES = ("preprocess", "text_layer", "map_validate", "route")
STATE_AFTER = {"preprocess": "preprocessed", "ocr": "ocr_done", "structure": "structured",
               "text_layer": "structured", "map_validate": "mapped"}
# A stage that killed its worker (or hit the hard time limit) this many times is a poison document.
MAX_ATTEMPTS = 3
# Broker and database outages: retried with exponential backoff and jitter, never a verdict on the file.
TRANSIENT_ERRORS = (sqlalchemy.exc.OperationalError, sqlalchemy.exc.InterfaceError,
                    redis.ConnectionError, redis.TimeoutError, kombu.exceptions.OperationalError)
PIPELINE_VERSION = version("declscan")


def stages_for(kind: str | None) -> tuple[str, ...]:
    """The stages a document of ``kind`` runs; before loading the kind is unknown (scan order)."""
    return DIGITAL_STAGES if kind == "digital" else SCAN_STAGES


def first_missing_stage(session: Session, row: DocumentRow) -> str | None:
    """The first stage of ``row`` without a stored result, or None when all are done."""
    done = set(session.scalars(select(StageResultRow.stage).where(StageResultRow.document_id == row.id)))
    return next((stage for stage in stages_for(row.kind) if stage not in done), None)


@dataclass
class StageOutput:
    """What a stage produced: the stored payload and the document-row fields it changes."""

    payload: dict[str, Any]
    row: dict[str, Any] = field(default_factory=dict)


def _document_output(doc: FormDocument, **row: Any) -> StageOutput:
    return StageOutput(payload=doc.model_dump(mode="json"),
                       row={"document": doc.model_dump(mode="json"), **row})


def _preprocess(rt: Runtime, row: DocumentRow, _: FormDocument | None) -> StageOutput:
    from declscan.pipeline.load import load_pages, new_document
    from declscan.pipeline.preprocess import preprocess
    from declscan.workers.store import DocumentStore

    loaded = load_pages(Path(row.stored_path), limits=rt.settings.limits)
    # Source.filename is the name the file arrived under, not the store's content-addressed name.
    doc = new_document(Path(row.filename), loaded, sha256=row.id, received_at=as_utc(row.received_at))
    doc, images = preprocess(doc, loaded.images)
    DocumentStore(rt.settings).save_pages(row.id, images)
    return _document_output(doc, kind=doc.kind, pages=len(doc.pages), pipeline_version=PIPELINE_VERSION)


def _ocr(rt: Runtime, row: DocumentRow, doc: FormDocument | None) -> StageOutput:
    from declscan.pipeline.ocr import run_ocr
    from declscan.pipeline.paddle_engine import get_engine
    from declscan.workers.store import DocumentStore

    assert doc is not None
    engine = get_engine(rt.settings.ocr)  # loaded once per worker process, on its first scan
    store = DocumentStore(rt.settings)
    images = store.load_pages(row.id)
    read = run_ocr(doc, images, engine=engine, check=rt.settings.line_check)
    if [page.rotation for page in read.pages] != [page.rotation for page in doc.pages]:
        # run_ocr turned an upside-down page in place; grid detection and the review UI need it upright.
        store.save_pages(row.id, images)
    return _document_output(read, model_versions=dict(engine.versions()))


def _structure(rt: Runtime, row: DocumentRow, doc: FormDocument | None) -> StageOutput:
    from declscan.pipeline.structure import detect_tables
    from declscan.workers.store import DocumentStore

    assert doc is not None
    images = DocumentStore(rt.settings).load_pages(row.id)
    return _document_output(detect_tables(doc, images, rt.settings.line_check))


def _text_layer(rt: Runtime, row: DocumentRow, doc: FormDocument | None) -> StageOutput:
    from declscan.pipeline.digital import read_text_layer

    assert doc is not None
    return _document_output(read_text_layer(doc, Path(row.stored_path)), model_versions={})


def _map_validate(rt: Runtime, row: DocumentRow, doc: FormDocument | None) -> StageOutput:
    from declscan.pipeline.run import finish_document

    assert doc is not None
    doc = finish_document(doc, options=rt.settings.pipeline_options())
    project = doc.declaration.project if doc.declaration else None
    return _document_output(doc, flagged=doc.flagged, project_name=project and project.name,
                            department=project and project.department)


def _route(rt: Runtime, row: DocumentRow, doc: FormDocument | None) -> StageOutput:
    from declscan.workers.publisher import publish_document

    assert doc is not None
    if doc.flagged:
        log.info("%d field(s) flagged: awaiting review", len(doc.flagged))
        return StageOutput(payload={"route": "review", "flagged": doc.flagged},
                           row={"state": "awaiting_review"})
    version = publish_document(sessions=rt.sessions, settings=rt.settings, redis_client=rt.redis,
                               document_id=row.id)
    if version is None:  # already out (a redelivered route), or the publisher refused: it logged why
        with rt.sessions() as session:
            version = session.get_one(DocumentRow, row.id).published_version or None
        if version is None:
            raise RuntimeError("the publisher refused the document (its log line says why)")
    log.info("nothing flagged: published version %d", version)
    return StageOutput(payload={"route": "publish", "version": version}, row={"state": "published"})


STAGES: dict[str, Callable[[Runtime, DocumentRow, FormDocument | None], StageOutput]] = {
    "preprocess": _preprocess, "ocr": _ocr, "structure": _structure, "text_layer": _text_layer,
    "map_validate": _map_validate, "route": _route,
}


def run_stage(stage: str, document_id: str, rt: Runtime) -> None:
    """Run ``stage`` of a document unless its result exists, store it, enqueue the next stage."""
    with rt.sessions.begin() as session:
        row = session.get(DocumentRow, document_id)
        if row is None or row.state in FINISHED_STATES:
            log.info("%s: document is %s; nothing to do", stage, row.state if row else "unknown")
            return
        todo = first_missing_stage(session, row)
        attempts, previous = row.attempts, None
        if todo == stage and attempts < MAX_ATTEMPTS:
            row.attempts += 1  # committed before the work: a crash loop is visible on the next try
            previous = _previous_document(session, row, stage)
            session.flush()
            session.expunge(row)
    if todo != stage:
        log.info("%s: already done; resuming at %s", stage, todo)
        if todo:
            enqueue(rt.sessions, document_id, todo)
        return
    if attempts >= MAX_ATTEMPTS:
        mark_failed(rt, document_id, f"{stage}: gave up after {attempts} attempts "
                                     "(the worker died or hit the time limit each time)")
        return
    started = time.perf_counter()
    output = STAGES[stage](rt, row, previous)
    elapsed_ms = round((time.perf_counter() - started) * 1000)
    if not _store_result(rt, document_id, stage, output, elapsed_ms):
        log.info("%s: a concurrent run stored its result first", stage)
    log.info("%s: done in %d ms", stage, elapsed_ms)
    with rt.sessions() as session:
        row = session.get(DocumentRow, document_id)
        after = first_missing_stage(session, row) if row and row.state not in FINISHED_STATES else None
    if after:
        enqueue(rt.sessions, document_id, after)


def _previous_document(session: Session, row: DocumentRow, stage: str) -> FormDocument | None:
    stages = stages_for(row.kind)
    index = stages.index(stage)
    if index == 0:
        return None
    payload = session.scalar(select(StageResultRow.payload).where(
        StageResultRow.document_id == row.id, StageResultRow.stage == stages[index - 1]))
    return FormDocument.model_validate(payload)


def _store_result(rt: Runtime, document_id: str, stage: str, output: StageOutput, elapsed_ms: int) -> bool:
    """Store the stage result and advance the document in one transaction; False if one existed."""
    try:
        with rt.sessions.begin() as session:
            session.add(StageResultRow(document_id=document_id, stage=stage, payload=output.payload,
                                       duration_ms=elapsed_ms))
            session.flush()
            row = session.get(DocumentRow, document_id)
            values = {"state": STATE_AFTER.get(stage, row.state), "attempts": 0, "error": None,
                      **output.row}
            for key, value in values.items():
                setattr(row, key, value)
        return True
    except sqlalchemy.exc.IntegrityError:
        return False


def mark_failed(rt: Runtime, document_id: str, error: str) -> None:
    """Terminal failure: the document stops, ``error`` (one line) is shown to operators."""
    log.error("failed: %s", error)
    with rt.sessions.begin() as session:
        row = session.get(DocumentRow, document_id)
        if row is not None:
            row.state, row.error = "failed", error


def reset_document(session: Session, row: DocumentRow) -> None:
    """Forget every stage result of ``row`` so the pipeline runs it again from the start."""
    session.execute(delete(StageResultRow).where(StageResultRow.document_id == row.id))
    row.state, row.error, row.attempts, row.enqueued_at = "received", None, 0, None


def _quarantine(rt: Runtime, document_id: str, exc: InputError) -> None:
    """Fail the document with ``"<filename>: <reason>"`` and put a copy of the file in quarantine.

    The stored source stays, so ``declscan reprocess`` can retry it (say, after raising a limit).
    """
    from declscan.workers.quarantine import quarantine

    with rt.sessions() as session:
        row = session.get_one(DocumentRow, document_id)
        filename, stored = row.filename, Path(row.stored_path)
    if stored.is_file():
        staging = rt.settings.data_dir / "tmp" / document_id
        staging.mkdir(parents=True, exist_ok=True)
        copy = staging / Path(filename).name
        shutil.copyfile(stored, copy)
        quarantine(copy, settings=rt.settings, reason=exc.reason)
        shutil.rmtree(staging, ignore_errors=True)
    mark_failed(rt, document_id, f"{filename}: {exc.reason}")


class StageTask(Task):
    """Late-acked, rejected back to the queue if its process dies, retried on outages."""

    acks_late = True
    reject_on_worker_lost = True
    autoretry_for = TRANSIENT_ERRORS
    retry_backoff = 2
    retry_backoff_max = 300
    retry_jitter = True
    max_retries = 8


def _execute(stage: str, document_id: str) -> None:
    rt = runtime()
    try:
        run_stage(stage, document_id, rt)
    except TRANSIENT_ERRORS:
        raise  # StageTask retries; past max_retries the reconciler picks the document up again
    except InputError as exc:
        _quarantine(rt, document_id, exc)
    except SoftTimeLimitExceeded:
        mark_failed(rt, document_id, f"{stage}: over the time limit of {TIME_LIMITS[stage][0]} s")
    except Exception as exc:
        log.exception("%s raised", stage)
        mark_failed(rt, document_id, f"{stage}: {type(exc).__name__}: {' '.join(str(exc).split())}")


def _register(stage: str) -> Task:
    soft, hard = TIME_LIMITS[stage]

    def stage_task(document_id: str) -> None:
        _execute(stage, document_id)

    stage_task.__name__ = stage_task.__qualname__ = stage
    stage_task.__doc__ = f"The {stage} stage of one document."
    return app.task(stage_task, base=StageTask, name=TASK_PREFIX + stage,
                    soft_time_limit=soft, time_limit=hard)


stage_tasks = {stage: _register(stage) for stage in STAGES}
