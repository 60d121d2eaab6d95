"""Running the service: start-up checks, the inbox loop, and the supervisor behind ``declscan serve``.

``declscan serve`` is the one-machine layout: this process watches the inbox and reconciles, and
supervises a Celery worker process (itself a pool of ``--concurrency`` processes) and the review
web app, restarting either when it dies. The same parts run alone as ``declscan watch``,
``declscan worker`` and ``declscan web`` on separate machines sharing storage, database and Redis.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field

import redis
from sqlalchemy import text

from declscan.config.options import OcrOptions
from declscan.config.settings import Settings
from declscan.workers.celery_app import Runtime, enqueue
from declscan.workers.db import create_tables
from declscan.workers.reconcile import run_reconciler

log = logging.getLogger(__name__)

EXIT_UNAVAILABLE = 2  # Redis or the database cannot be reached
EXIT_SELF_CHECK = 3  # the OCR self-check failed: this machine must not take work
REFUSALS = (EXIT_UNAVAILABLE, EXIT_SELF_CHECK)  # a child exiting so is not restarted
SELF_CHECK_TIMEOUT = 600.0
STOP_GRACE = 20.0


def ensure_dirs(settings: Settings) -> None:
    """Create the data folders that do not exist yet."""
    for folder in (settings.data_dir, settings.inbox, settings.outbox, settings.quarantine,
                   settings.store_dir):
        folder.mkdir(parents=True, exist_ok=True)


def redis_problem(url: str, timeout: float = 2.0) -> str | None:
    """None when Redis at ``url`` answers a PING, else one line saying how to start one."""
    try:
        redis.Redis.from_url(url, socket_connect_timeout=timeout, socket_timeout=timeout).ping()
    except redis.RedisError as exc:
        return (f"Redis at {url} is not reachable ({exc}). Start one with "
                "`redis-server --daemonize yes`, or use `make run`, which starts one.")
    return None


def prepare_database(settings: Settings) -> Runtime:
    """The process runtime after checking the database answers and creating missing tables.

    Raises sqlalchemy.exc.OperationalError when the database cannot be reached.
    """
    rt = Runtime.build(settings)
    with rt.engine.connect() as conn:
        conn.execute(text("SELECT 1"))
    create_tables(rt.engine)
    return rt


def self_check_problem(ocr: OcrOptions, timeout: float = SELF_CHECK_TIMEOUT) -> str | None:
    """Load the OCR engine and read the self-check image in a fresh process; None when it passed.

    A fresh (spawned) process, because the Celery parent forks its pool: a parent that had loaded
    PaddleOCR would hand every child a copy of its threads' state, and its memory, for nothing.
    """
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        try:
            return pool.submit(_run_self_check, ocr).result(timeout=timeout)
        except BrokenProcessPool:
            return "OCR self-check crashed its process (see the log above)"
        except TimeoutError:
            return f"OCR self-check took longer than {timeout:.0f} s"


def _run_self_check(ocr: OcrOptions) -> str | None:
    from declscan.pipeline.paddle_engine import get_engine
    from declscan.pipeline.selfcheck import self_check

    try:
        self_check(get_engine(ocr))
    except Exception as exc:  # any failure means this machine must not take work
        return " ".join(f"OCR self-check failed: {type(exc).__name__}: {exc}".split())
    return None


def watch_inbox(rt: Runtime, stop: threading.Event, *, reconcile_interval: float = 30.0) -> None:
    """Ingest inbox files and enqueue each new document; reconcile in a thread. Until ``stop``."""
    from declscan.workers.watcher import run_watcher

    def on_document(document_id: str) -> None:
        try:
            enqueue(rt.sessions, document_id, "preprocess")
        except Exception as exc:  # Redis down: the document is in the database, the reconciler has it
            log.warning("%s not queued (%s); the reconciler will queue it", document_id, exc)

    reconciler = threading.Thread(target=run_reconciler, args=(rt, stop),
                                  kwargs={"interval": reconcile_interval}, name="reconciler", daemon=True)
    reconciler.start()
    try:
        run_watcher(rt.settings, on_document=on_document, stop_event=stop, sessions=rt.sessions)
    finally:
        stop.set()
        reconciler.join(timeout=10)


def stop_on_signals(stop: threading.Event) -> None:
    """SIGTERM and SIGINT set ``stop`` (call from the main thread)."""
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())


@dataclass
class Child:
    """A supervised command: ``argv`` after ``declscan``."""

    name: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = None
    started: float = 0.0
    failures: int = 0
    restart_at: float | None = field(default=None)

    def start(self) -> None:
        command = [sys.executable, "-P", "-m", "declscan.cli.main", *self.argv]
        self.process = subprocess.Popen(command, env=os.environ.copy())
        self.started, self.restart_at = time.monotonic(), None
        log.info("started %s (pid %d): %s", self.name, self.process.pid, " ".join(self.argv))


class Supervisor:
    """Keeps its children running until ``stop`` is set; a child that refuses to start ends it."""

    def __init__(self, children: list[Child], stop: threading.Event) -> None:
        self.children = children
        self.stop = stop

    def run(self) -> int:
        for child in self.children:
            child.start()
        try:
            while not self.stop.is_set():
                code = self._check_children()
                if code is not None:
                    return code
                self.stop.wait(0.5)
            return 0
        finally:
            self._terminate()

    def _check_children(self) -> int | None:
        now = time.monotonic()
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at:
                    child.start()
                continue
            code = child.process.poll() if child.process else None
            if code is None:
                continue
            if code in REFUSALS:
                log.error("%s refused to start (exit %d); stopping", child.name, code)
                return code
            # Crash loops back off (1, 2, 4 … 60 s); a child that ran a while starts over at 1 s.
            child.failures = 0 if now - child.started > 120 else child.failures + 1
            delay = min(60.0, 2.0 ** child.failures)
            log.warning("%s exited with %d; restarting in %.0f s", child.name, code, delay)
            child.restart_at = now + delay
        return None

    def _terminate(self) -> None:
        running = [c.process for c in self.children if c.process and c.process.poll() is None]
        for process in running:
            process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE
        for process in running:
            try:
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                # Late acks make this safe: the interrupted stage is redelivered and redone.
                process.kill()
                process.wait()
