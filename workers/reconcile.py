"""Re-enqueue unfinished documents that no queue and no worker holds: Redis is not the record.

The database says which documents are unfinished; Redis only carries messages, and loses them on
a FLUSHALL, a restart without persistence or a worker killed with its message in hand. A pass
looks at the queue and at what live workers are running or holding, and re-enqueues every
unfinished document found in neither, at its first stage without a result. A duplicate message is
harmless (stages skip when their result exists), so a pass errs on the side of enqueuing.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import logging
import threading
from typing import Any

import redis
from sqlalchemy import select

from declscan.workers.celery_app import QUEUE, Runtime, app, enqueue
from declscan.workers.db import FINISHED_STATES, DocumentRow, as_utc, utcnow
from declscan.workers.publisher import redrive_unstreamed
from declscan.workers.tasks import first_missing_stage

log = logging.getLogger(__name__)

LOCK_KEY = "declscan:reconcile-lock"
# A message is briefly in neither the queue nor a worker's hands (popped, not yet registered);
# a document enqueued this recently counts as in flight.
GRACE = dt.timedelta(seconds=10)
INSPECT_TIMEOUT = 1.0


def queued_document_ids(redis_client: redis.Redis, queue: str = QUEUE) -> set[str]:
    """Document ids of the stage messages waiting in ``queue`` (Celery protocol 2, JSON, on Redis)."""
    ids = set()
    for raw in redis_client.lrange(queue, 0, -1):
        document_id = _document_id(raw)
        if document_id:
            ids.add(document_id)
    return ids


def _document_id(raw: bytes) -> str | None:
    try:
        message = json.loads(raw)
        body = message["body"]
        if message.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        args = json.loads(body)[0]
        return str(args[0]) if args else None
    except (ValueError, KeyError, IndexError, TypeError):
        log.warning("unreadable message in the queue: %.120r", raw)
        return None


def held_document_ids(timeout: float = INSPECT_TIMEOUT) -> set[str]:
    """Document ids that live workers are running or have reserved (empty when no worker answers).

    The broadcast runs on a connection of its own, closed before returning. On the app's pooled
    connection, the reply consumer's pending BRPOP is inherited by every pool process the worker
    forks afterwards (``declscan worker`` reconciles before it starts its pool), and each such
    process hangs for ever closing it (celery/kombu#1785).
    """
    with app.connection_for_write() as connection:
        inspect = app.control.inspect(timeout=timeout, connection=connection)
        replies = (inspect.active() or {}, inspect.reserved() or {})
    ids = set()
    for by_worker in replies:
        for requests in by_worker.values():
            ids.update(str(request["args"][0]) for request in requests if request.get("args"))
    return ids


def reconcile_once(rt: Runtime, *, grace: dt.timedelta = GRACE) -> list[str]:
    """One pass: re-enqueue unfinished documents no one holds; returns their ids."""
    unfinished_filter = DocumentRow.state.not_in(FINISHED_STATES)
    with rt.sessions() as session:
        if session.scalar(select(DocumentRow.id).where(unfinished_filter).limit(1)) is None:
            return []  # the usual idle case: no Redis scan, no broadcast
    # Redis first, the database second: a document that moved on meanwhile shows a fresh
    # enqueued_at, so it counts as in flight instead of being doubled.
    in_flight = queued_document_ids(rt.redis) | held_document_ids()
    cutoff = utcnow() - grace
    with rt.sessions() as session:
        todo = []
        for row in session.scalars(select(DocumentRow).where(unfinished_filter)):
            recent = row.enqueued_at is not None and as_utc(row.enqueued_at) > cutoff
            if row.id in in_flight or recent:
                continue
            stage = first_missing_stage(session, row)
            if stage:
                todo.append((row.id, stage))
    for document_id, stage in todo:
        log.info("re-enqueuing %s at %s: on no queue and no worker", document_id, stage)
        enqueue(rt.sessions, document_id, stage)
    return [document_id for document_id, _ in todo]


def run_reconciler(rt: Runtime, stop: threading.Event, *, interval: float = 30.0, **kwargs: Any) -> None:
    """Reconcile now and every ``interval`` seconds until ``stop`` is set; outages are logged, not fatal.

    Each pass also finishes publications a crash interrupted (outbox file, stream entry).
    Several reconcilers (one per machine) take turns through a Redis lock, so a pass is never
    doubled; a duplicate would be harmless anyway.
    """
    while not stop.is_set():
        try:
            if rt.redis.set(LOCK_KEY, "1", nx=True, ex=max(1, int(interval * 0.8))):
                requeued = reconcile_once(rt, **kwargs)
                if requeued:
                    log.info("reconciler re-enqueued %d document(s)", len(requeued))
                # Publications a crash cut between the database claim and the outbox/stream.
                redrive_unstreamed(sessions=rt.sessions, settings=rt.settings, redis_client=rt.redis)
        except Exception as exc:  # the loop must outlive Redis and database outages
            log.warning("reconcile pass failed (%s: %s); next in %.0f s", type(exc).__name__, exc, interval)
        stop.wait(interval)
