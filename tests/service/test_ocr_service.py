"""A scan through the service with real PaddleOCR, including a worker SIGKILLed in the middle of OCR."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import redis
from service_harness import Service
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from declscan.config.settings import Settings
from declscan.workers.db import DocumentRow, StageResultRow
from declscan.workers.publisher import publish_document

pytestmark = [pytest.mark.service, pytest.mark.ocr]


@pytest.fixture(scope="module")
def clean_scan(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Dev-set form 1 printed and scanned cleanly (a two-page TIFF or PNG from the fixture renderer)."""
    from declscan.devkit.fixtures import build_fixtures

    (fixture,) = build_fixtures(tmp_path_factory.mktemp("scan"), forms=["form-01"], levels=["clean"])
    return fixture.path


def _ocr_running(service: Service) -> bool:
    """The OCR stage has started on the document (attempt counted) and not stored its result."""
    with Session(service.engine) as session:
        row = session.scalar(select(DocumentRow))
        return row is not None and row.state == "preprocessed" and row.attempts >= 1


def approve_as_operator(service: Service, document: DocumentRow) -> int | None:
    """What the review app does on approval: every flag confirmed, then the publisher."""
    with Session(service.engine) as session, session.begin():
        row = session.get_one(DocumentRow, document.id)
        row.confirmed = list(row.flagged)
        row.reviewed_by = ["operator"]
    settings = Settings(data_dir=service.data_dir, database_url=service.env["DATABASE_URL"],
                        redis_url=service.env["REDIS_URL"])
    return publish_document(sessions=sessionmaker(service.engine), settings=settings,
                            redis_client=redis.Redis.from_url(service.env["REDIS_URL"]),
                            document_id=document.id)


# The OCR part does not depend on the database; PostgreSQL runs the same stages in test_service.py.
@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_worker_killed_mid_ocr_finishes_after_restart_and_publishes_once(service: Service,
                                                                         clean_scan: Path) -> None:
    worker = service.start_worker(self_check=True)
    service.start_watcher()
    service.drop(clean_scan.name, clean_scan.read_bytes())
    service.wait_until(lambda: _ocr_running(service), timeout=300, what="the OCR stage to start")
    time.sleep(4)  # into model loading and recognition
    assert _ocr_running(service), "OCR finished before the kill: the test did not interrupt it"
    service.kill(worker)  # the whole worker, pool included: its message stays unacked in Redis

    service.start_worker(self_check=True)
    (document,) = service.wait_finished(1, timeout=400)

    assert document.state in ("published", "awaiting_review"), (document.state, document.error)
    if document.state == "awaiting_review":  # a field the OCR was not sure of waits for a person
        assert document.flagged
        assert approve_as_operator(service, document) == 1
    assert document.model_versions, "the OCR result records its model versions"
    with Session(service.engine) as session:
        stages = dict(session.execute(select(StageResultRow.stage, func.count())
                                      .group_by(StageResultRow.stage)).all())
    assert stages == {"preprocess": 1, "ocr": 1, "structure": 1, "map_validate": 1, "route": 1}
    assert service.publications(document.id) == 1
    assert len(service.outbox_records()) == 1
    assert len(service.stream_entries()) == 1
