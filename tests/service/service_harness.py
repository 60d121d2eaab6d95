"""The service under test, as a test drives it: processes, inbox, database and outbox views.

Processes are started with ``declscan <command>`` in their own session, so a test can SIGKILL a
worker together with its pool.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import redis
from sqlalchemy import func, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from declscan.workers.db import DocumentRow, PublicationRow

FINISHED = ("published", "awaiting_review", "failed")


@dataclass
class Service:
    """One service installation in a temporary data dir, and the processes a test started on it."""

    data_dir: Path
    env: dict[str, str]
    engine: Engine
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def inbox(self) -> Path:
        return self.data_dir / "inbox"

    @property
    def outbox(self) -> Path:
        return self.data_dir / "outbox"

    @property
    def quarantine(self) -> Path:
        return self.data_dir / "quarantine"

    def start(self, *argv: str) -> subprocess.Popen[bytes]:
        """``declscan <argv>`` in its own session, output to ``data_dir/logs``."""
        logs = self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log_file = (logs / f"{argv[0]}-{len(self.processes)}.log").open("wb")
        process = subprocess.Popen([sys.executable, "-P", "-m", "declscan.cli.main", *argv], env=self.env,
                                   stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append(process)
        return process

    def start_worker(self, *, concurrency: int = 1, self_check: bool = False,
                     timeout: float = 300) -> subprocess.Popen[bytes]:
        """A worker, once it is consuming (after its self-check, unless skipped)."""
        args = ["worker", "--concurrency", str(concurrency)]
        process = self.start(*args, *([] if self_check else ["--skip-self-check"]))
        log = self.data_dir / "logs" / f"worker-{len(self.processes) - 1}.log"
        self.wait_until(lambda: " ready." in log.read_text(errors="replace"), timeout=timeout,
                        what="the worker to be ready")
        return process

    def start_watcher(self, *, reconcile_interval: float = 2.0) -> subprocess.Popen[bytes]:
        """The inbox watcher (and reconciler), once it is watching."""
        process = self.start("watch", "--reconcile-interval", str(reconcile_interval))
        log = self.data_dir / "logs" / f"watch-{len(self.processes) - 1}.log"
        self.wait_until(lambda: "watching " in log.read_text(errors="replace"), timeout=60,
                        what="the watcher to be watching")
        return process

    def kill(self, process: subprocess.Popen[bytes], sig: int = signal.SIGKILL) -> None:
        """Signal the process and its whole session (a worker's pool processes too); wait if fatal."""
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)
        if sig in (signal.SIGKILL, signal.SIGTERM):
            process.wait(timeout=30)

    def stop_all(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGCONT)  # a stopped process cannot act on SIGTERM
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.kill(process)

    def logs(self) -> str:
        return "\n".join(f"--- {p.name}\n{p.read_text(errors='replace')[-4000:]}"
                         for p in sorted((self.data_dir / "logs").glob("*.log")))

    def drop(self, name: str, data: bytes) -> Path:
        """Put a file in the inbox the way a careful writer does: written aside, renamed in."""
        self.inbox.mkdir(parents=True, exist_ok=True)
        part = self.inbox / f"{name}.part"
        part.write_bytes(data)
        part.rename(self.inbox / name)
        return self.inbox / name

    def documents(self) -> list[DocumentRow]:
        with Session(self.engine) as session:
            return list(session.scalars(select(DocumentRow).order_by(DocumentRow.filename)))

    def publications(self, document_id: str) -> int:
        with self.engine.connect() as conn:
            query = select(func.count()).select_from(PublicationRow).where(
                PublicationRow.document_id == document_id)
            return int(conn.execute(query).scalar_one())

    def stream_entries(self) -> list[dict[str, Any]]:
        client = redis.Redis.from_url(self.env["REDIS_URL"])
        return [{k.decode(): v.decode() for k, v in fields.items()}
                for _, fields in client.xrange("declscan:published")]

    def outbox_records(self) -> list[dict[str, Any]]:
        return [json.loads(p.read_text(encoding="utf-8")) for p in sorted(self.outbox.rglob("*.json"))]

    def wait_until(self, condition: Callable[[], Any], *, timeout: float, what: str) -> Any:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if value := condition():
                return value
            for process in self.processes:
                if process.returncode is None and process.poll() not in (None, 0, -9, -15):
                    pytest.fail(f"{process.args[4:]} exited with {process.returncode} waiting for {what}\n"
                                f"{self.logs()}")
            time.sleep(0.3)
        pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}; documents: "
                    f"{[(d.filename, d.state, d.error) for d in self.documents()]}\n{self.logs()}")

    def wait_finished(self, count: int, *, timeout: float) -> list[DocumentRow]:
        """The documents once ``count`` of them exist and all are finished."""
        def finished() -> list[DocumentRow] | None:
            documents = self.documents()
            done = len(documents) == count and all(d.state in FINISHED for d in documents)
            return documents if done else None
        return self.wait_until(finished, timeout=timeout, what=f"{count} finished document(s)")


def tiny_digital_pdf(label: str) -> bytes:
    """A one-line born-digital PDF (a text layer with enough CJK to be read without OCR), unique by label.

    Not a declaration: it maps to an all-blank record, which is flagged for review. For tests of
    the service's bookkeeping (nothing lost, nothing doubled), where the pipeline's verdict is moot.
    """
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    if "STSong-Light" not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=(300, 100), invariant=True)
    pdf.setFont("STSong-Light", 10)
    pdf.drawString(10, 70, "项目支出绩效目标申报表 服务测试用的数字文件")
    pdf.drawString(10, 50, f"编号 {label}")
    pdf.save()
    return buffer.getvalue()
