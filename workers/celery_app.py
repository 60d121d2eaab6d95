"""The Celery application: broker settings for durable, at-least-once stage tasks on Redis.

``celery -A declscan.workers.celery_app worker`` works as is (settings are read from the
environment when the configuration is first needed); ``declscan worker`` calls :func:`configure`
with the settings it was started with. Tasks live in :mod:`declscan.workers.tasks`.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass
from functools import cache
from typing import Any

import cv2
import redis
from celery import Celery, signals
from sqlalchemy import update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import sessionmaker

from declscan.config.settings import Settings, get_settings
from declscan.workers.db import DocumentRow, make_engine, make_sessionmaker, utcnow
from declscan.workers.logs import configure_logging, current_document

log = logging.getLogger(__name__)

QUEUE = "declscan"
TASK_PREFIX = "declscan."
# (soft, hard) seconds per stage. OCR on CPU is ~5-30 s a page and a file may have up to
# InputLimits.max_pages pages; the other stages are seconds at most.
TIME_LIMITS: dict[str, tuple[int, int]] = {
    "preprocess": (300, 330),
    "ocr": (1500, 1560),
    "structure": (300, 330),
    "text_layer": (300, 330),
    "map_validate": (120, 150),
    "route": (120, 150),
}
# Redis has no real acks: a delivered message sits in the "unacked" hash and is handed to another
# worker once this many seconds pass. If a task ran (or waited prefetched behind one task) longer
# than that, a second worker would OCR the same page concurrently; so it must exceed twice the
# longest hard time limit. A worker killed outright is covered sooner by the reconciler.
VISIBILITY_TIMEOUT = 2 * max(hard for _, hard in TIME_LIMITS.values()) + 300
# PaddleOCR on CPU grows with every page: a pool process is replaced after this many tasks or once
# its resident memory passes the ceiling (KiB; checked after each task).
MAX_TASKS_PER_CHILD = 100
MAX_MEMORY_PER_CHILD_KIB = 2_000_000

app = Celery("declscan", include=["declscan.workers.tasks"])


def celery_config(settings: Settings) -> dict[str, Any]:
    """The Celery settings for ``settings``' Redis: late acks, one message at a time, JSON only."""
    return {
        "broker_url": settings.redis_url,
        "broker_transport_options": {
            "visibility_timeout": VISIBILITY_TIMEOUT,
            # Broadcasts (inspect ping) stay within this Redis database, not the whole server.
            "fanout_prefix": True,
            "fanout_patterns": True,
        },
        "broker_connection_retry_on_startup": True,
        # Redis restarts must never kill a worker: keep reconnecting (with backoff) forever.
        "broker_connection_max_retries": None,
        # A running stage keeps going through a broker blip: its result is in the database and the
        # reconciler re-enqueues whatever message the blip lost.
        "worker_cancel_long_running_tasks_on_connection_loss": False,
        "task_serializer": "json",
        "accept_content": ["json"],
        "result_serializer": "json",
        "task_ignore_result": True,
        "task_default_queue": QUEUE,
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "worker_prefetch_multiplier": 1,
        "worker_max_tasks_per_child": MAX_TASKS_PER_CHILD,
        "worker_max_memory_per_child": MAX_MEMORY_PER_CHILD_KIB,
        "worker_hijack_root_logger": False,
        "worker_send_task_events": False,
        "timezone": "UTC",
    }


def configure(settings: Settings) -> Celery:
    """Point :data:`app` at ``settings`` (call before the worker starts or a task is sent)."""
    app.conf.update(celery_config(settings))
    return app


# Without an explicit configure(), the settings come from the environment, lazily.
app.add_defaults(lambda: celery_config(get_settings()))


@dataclass(frozen=True)
class Runtime:
    """What tasks and the service loops share within one process: settings, database, Redis."""

    settings: Settings
    engine: Engine
    sessions: sessionmaker
    redis: redis.Redis

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        engine = make_engine(settings.db_url)
        return cls(settings=settings, engine=engine, sessions=make_sessionmaker(engine),
                   redis=redis.Redis.from_url(settings.redis_url))


@cache
def runtime() -> Runtime:
    """This process's :class:`Runtime` (built on first use: a pool process never inherits sockets)."""
    return Runtime.build(get_settings())


def enqueue(sessions: sessionmaker, document_id: str, stage: str) -> None:
    """Put ``stage`` of ``document_id`` on the queue and record when.

    Raises the broker's connection error when Redis is down (after a short retry): the document
    stays unfinished in the database and the reconciler enqueues it once Redis is back.
    """
    mark_enqueued(sessions, document_id)
    app.send_task(TASK_PREFIX + stage, args=[document_id], queue=QUEUE, retry=True,
                  retry_policy={"max_retries": 2, "interval_start": 0.2, "interval_step": 0.5})


def mark_enqueued(sessions: sessionmaker, document_id: str, moment: dt.datetime | None = None) -> None:
    with sessions.begin() as session:
        session.execute(update(DocumentRow).where(DocumentRow.id == document_id)
                        .values(enqueued_at=moment or utcnow()))


@signals.setup_logging.connect
def _setup_logging(loglevel: int | str | None = None, **_: Any) -> None:
    # Connecting here stops Celery from installing its own handlers: ours add the document id.
    level = logging.getLevelName(loglevel.upper()) if isinstance(loglevel, str) else loglevel
    configure_logging(level if isinstance(level, int) else logging.INFO)


@signals.task_prerun.connect
def _set_document(args: tuple[Any, ...] | list[Any] | None = None, **_: Any) -> None:
    current_document.set(str(args[0]) if args else None)


@signals.task_postrun.connect
def _clear_document(**_: Any) -> None:
    current_document.set(None)


@signals.worker_process_init.connect
def _fresh_runtime(**_: Any) -> None:
    # A forked pool process must open its own database and Redis connections.
    runtime.cache_clear()
    # OpenCV (preprocessing, grid detection) would start a thread per core in every pool process:
    # keep it to the OCR's share, so that processes do not fight over the cores.
    cv2.setNumThreads(get_settings().ocr.cpu_threads)
