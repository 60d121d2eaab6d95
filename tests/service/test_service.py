"""The service end to end: files dropped in the inbox come out as published JSON or a clear refusal,
through crashes and Redis outages, never lost and never doubled. Born-digital inputs (no OCR)."""

from __future__ import annotations

import hashlib
import json
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest
import redis
from service_harness import Service, tiny_digital_pdf
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from declscan.workers.db import StageResultRow
from declscan.workers.ingest import ReceiptRow
from declscan.workers.metrics import render_metrics

pytestmark = pytest.mark.service


def _receipts(service: Service) -> list[ReceiptRow]:
    with Session(service.engine) as session:
        return list(session.scalars(select(ReceiptRow)))


def _stage_counts(service: Service, document_id: str) -> dict[str, int]:
    """Stored results per stage, once the last stage's is: the publisher marks a document published
    in its own transaction (so it goes out once), a moment before the route stage stores its result."""
    def counts() -> dict[str, int] | None:
        with Session(service.engine) as session:
            query = (select(StageResultRow.stage, func.count())
                     .where(StageResultRow.document_id == document_id).group_by(StageResultRow.stage))
            found = dict(session.execute(query).all())
        return found if "route" in found else None
    return service.wait_until(counts, timeout=30, what="the route stage's result")


def test_drop_is_published_once_to_outbox_and_stream(service: Service, declaration_pdf: bytes) -> None:
    service.start_worker()
    service.start_watcher()
    service.drop("申报表.pdf", declaration_pdf)
    (document,) = service.wait_finished(1, timeout=120)

    assert document.state == "published", (document.state, document.error, document.flagged)
    assert document.id == hashlib.sha256(declaration_pdf).hexdigest()
    assert document.kind == "digital" and document.pipeline_version
    assert _stage_counts(service, document.id) == {"preprocess": 1, "text_layer": 1, "map_validate": 1,
                                                   "route": 1}
    (record,) = service.outbox_records()
    assert record["document_id"] == document.id
    assert record["source"]["filename"] == "申报表.pdf"
    assert record["review"]["flagged"] == []
    assert service.publications(document.id) == 1
    assert len(service.stream_entries()) == 1
    assert not list(service.inbox.iterdir())


def test_corrupt_file_is_quarantined_with_its_reason_while_another_finishes(service: Service) -> None:
    service.start_worker()
    service.start_watcher()
    # Passes the watcher's magic-byte sniff, so the refusal comes from the worker's loader.
    service.drop("broken.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >> garbage, no xref, no trailer\n")
    service.drop("fine.pdf", tiny_digital_pdf("fine"))
    broken, fine = service.wait_finished(2, timeout=90)

    assert fine.state == "awaiting_review" and fine.error is None  # finished: a blank form is flagged
    assert broken.state == "failed"
    assert broken.error.startswith("broken.pdf: ") and "\n" not in broken.error
    assert "PDF" in broken.error
    note = json.loads((service.quarantine / "broken.pdf.json").read_text(encoding="utf-8"))
    assert note["filename"] == "broken.pdf" and note["reason"] in broken.error
    assert (service.quarantine / "broken.pdf").read_bytes().startswith(b"%PDF-1.7")


def test_same_file_dropped_twice_is_one_document(service: Service) -> None:
    service.start_worker()
    service.start_watcher()
    data = tiny_digital_pdf("twice")
    service.drop("first.pdf", data)
    service.wait_until(lambda: not (service.inbox / "first.pdf").exists(), timeout=30, what="first taken")
    service.drop("again.pdf", data)
    service.wait_until(lambda: len(_receipts(service)) == 2, timeout=30, what="second drop taken")
    (document,) = service.wait_finished(1, timeout=60)

    assert document.filename == "first.pdf"
    assert sorted((r.filename, r.duplicate) for r in _receipts(service)) == [("again.pdf", True),
                                                                           ("first.pdf", False)]
    assert sum(_stage_counts(service, document.id).values()) == 4


def test_slowly_written_file_is_taken_once_and_complete(service: Service) -> None:
    service.start_worker()
    service.start_watcher()
    data = tiny_digital_pdf("slow")
    target = service.inbox / "slow.pdf"
    service.inbox.mkdir(parents=True, exist_ok=True)
    with target.open("wb") as fh:  # in place, no rename: a scanner's upload over several seconds
        for start in range(0, len(data), len(data) // 8 + 1):
            fh.write(data[start:start + len(data) // 8 + 1])
            fh.flush()
            time.sleep(0.6)
    (document,) = service.wait_finished(1, timeout=60)

    assert document.id == hashlib.sha256(data).hexdigest()
    assert document.state == "awaiting_review"
    assert len(_receipts(service)) == 1
    assert not service.quarantine.exists() or not list(service.quarantine.iterdir())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _redis_server(port: int, directory: Path) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
                                "--appendonly", "no", "--dir", str(directory)], stdout=subprocess.DEVNULL)
    client = redis.Redis(port=port)
    for _ in range(100):
        try:
            client.ping()
            return process
        except redis.ConnectionError:
            time.sleep(0.05)
    process.kill()
    pytest.fail("private redis-server did not start")


def test_redis_restart_while_files_arrive_loses_nothing(service: Service, tmp_path: Path) -> None:
    # A private, memory-only Redis, so stopping it does not disturb anything else on this machine.
    port = _free_port()
    server = _redis_server(port, tmp_path)
    service.env["REDIS_URL"] = f"redis://127.0.0.1:{port}/0"
    try:
        worker = service.start_worker()
        service.start_watcher()
        service.kill(worker, signal.SIGSTOP)  # frozen, so the next messages wait in Redis
        for n in range(3):
            service.drop(f"queued-{n}.pdf", tiny_digital_pdf(f"queued-{n}"))
        service.wait_until(lambda: redis.Redis(port=port).llen("declscan") == 3, timeout=30,
                           what="three queued messages")
        server.terminate()  # and with it every queued message: no persistence
        server.wait(timeout=10)
        for n in range(3):
            service.drop(f"during-{n}.pdf", tiny_digital_pdf(f"during-{n}"))
        service.wait_until(lambda: len(service.documents()) == 6, timeout=30, what="six documents taken in")
        server = _redis_server(port, tmp_path)
        service.kill(worker, signal.SIGCONT)
        documents = service.wait_finished(6, timeout=120)
    finally:
        server.kill()
        server.wait()
    assert [d.filename for d in documents] == sorted(
        [f"queued-{n}.pdf" for n in range(3)] + [f"during-{n}.pdf" for n in range(3)])
    assert {d.state for d in documents} == {"awaiting_review"}
    with Session(service.engine) as session:
        routes = session.scalar(select(func.count()).where(StageResultRow.stage == "route"))
    assert routes == 6


def test_many_files_at_once_none_lost_or_doubled(service: Service) -> None:
    count = 200
    service.inbox.mkdir(parents=True, exist_ok=True)
    names = [f"batch-{n:03d}.pdf" for n in range(count)]
    for name in names:
        service.drop(name, tiny_digital_pdf(name))
    service.start_worker(concurrency=2)
    service.start_watcher()
    documents = service.wait_finished(count, timeout=240)

    assert sorted(d.filename for d in documents) == names
    assert {d.state for d in documents} == {"awaiting_review"}
    assert sorted(r.filename for r in _receipts(service)) == names
    with Session(service.engine) as session:
        per_stage = dict(session.execute(select(StageResultRow.stage, func.count())
                                         .group_by(StageResultRow.stage)).all())
    assert per_stage == {"preprocess": count, "text_layer": count, "map_validate": count, "route": count}
    metrics = render_metrics(sessionmaker(service.engine), redis.Redis.from_url(service.env["REDIS_URL"]))
    assert f'declscan_documents{{state="awaiting_review"}} {count}.0' in metrics.decode()
    assert 'declscan_stage_duration_seconds_count{stage="text_layer"} 200.0' in metrics.decode()
