"""Operating the service: refusing to start without Redis or a working OCR, status, reprocess."""

from __future__ import annotations

import subprocess
import sys

import pytest
from service_harness import Service, tiny_digital_pdf
from sqlalchemy import select
from sqlalchemy.orm import Session

from declscan.workers.db import StageResultRow

pytestmark = pytest.mark.service


def _declscan(service: Service, *argv: str, env: dict[str, str] | None = None,
              timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-P", "-m", "declscan.cli.main", *argv], env=env or service.env,
                          capture_output=True, text=True, timeout=timeout, check=False)


def test_serve_without_redis_exits_with_how_to_start_it(service: Service) -> None:
    env = {**service.env, "REDIS_URL": "redis://127.0.0.1:1/0"}  # nothing listens on port 1
    result = _declscan(service, "serve", "--no-web", env=env, timeout=60)

    assert result.returncode == 2
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("declscan:")]
    assert "redis-server --daemonize yes" in line and "make run" in line
    assert "Traceback" not in result.stderr


def test_worker_refuses_work_when_the_ocr_self_check_fails(service: Service) -> None:
    env = {**service.env, "DECLSCAN_OCR__DET_MODEL_DIR": str(service.data_dir / "no-such-model")}
    result = _declscan(service, "worker", env=env, timeout=300)

    assert result.returncode == 3, result.stderr[-3000:]
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("declscan:")]
    assert line.startswith("declscan: worker refuses to take work: OCR self-check failed")
    assert "celery@" not in result.stderr and "ready." not in result.stderr  # never joined the queue


def test_status_counts_states_and_live_workers_and_reprocess_runs_again(service: Service) -> None:
    service.start_worker()
    service.start_watcher()
    service.drop("form.pdf", tiny_digital_pdf("status"))
    (document,) = service.wait_finished(1, timeout=60)
    assert document.state == "awaiting_review"

    status = _declscan(service, "status")
    assert status.returncode == 0, status.stderr
    assert "documents: 1" in status.stdout and "awaiting_review 1" in " ".join(status.stdout.split())
    assert "queue depth: 0" in status.stdout and "workers alive: 1" in status.stdout

    with Session(service.engine) as session:
        first_run = session.scalar(select(StageResultRow.created_at).where(StageResultRow.stage == "route"))
    reprocess = _declscan(service, "reprocess", document.id[:12])
    assert reprocess.returncode == 0, reprocess.stderr
    assert "reprocessing 1 document(s) (1 queued now)" in reprocess.stdout

    def rerun_finished() -> bool:
        with Session(service.engine) as session:
            route = session.scalar(select(StageResultRow.created_at).where(StageResultRow.stage == "route"))
        return route is not None and route > first_run
    service.wait_until(rerun_finished, timeout=60, what="the reprocessed document's new route result")
    (again,) = service.wait_finished(1, timeout=30)
    assert again.state == "awaiting_review" and again.error is None

    unknown = _declscan(service, "reprocess", "0123456789abcdef")
    assert unknown.returncode == 1 and "no such document" in unknown.stderr
