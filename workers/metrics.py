"""Prometheus metrics of the whole service, read from its durable state at scrape time.

Workers are many processes on possibly many machines, recycled every few hundred tasks; so
nothing is counted in process memory. Documents per state and pages come from the database,
stage durations from ``stage_results.duration_ms``, queue depth from Redis. Any process that can
reach both (the review web app) serves the same figures: mount :func:`metrics_app` at ``/metrics``
or return :func:`render_metrics` with :data:`CONTENT_TYPE`.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import redis
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest, make_asgi_app
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Row, Select, case, func, select
from sqlalchemy.orm import sessionmaker

from declscan.workers.celery_app import QUEUE
from declscan.workers.db import DocumentRow, StageResultRow

log = logging.getLogger(__name__)

CONTENT_TYPE = CONTENT_TYPE_LATEST
STATES = ("received", "preprocessed", "ocr_done", "structured", "mapped", "awaiting_review", "published",
          "failed")
DURATION_BUCKETS = (0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0)


class ServiceCollector(Collector):
    """Collects the service metrics on each scrape (a few aggregate queries)."""

    def __init__(self, sessions: sessionmaker, redis_client: redis.Redis, queue: str = QUEUE) -> None:
        self.sessions = sessions
        self.redis = redis_client
        self.queue = queue

    def collect(self) -> Iterator[Metric]:
        with self.sessions() as session:
            per_state = select(DocumentRow.state, func.count()).group_by(DocumentRow.state)
            counts: dict[str, int] = dict(session.execute(per_state).all())
            pages = session.scalar(select(func.coalesce(func.sum(DocumentRow.pages), 0)).where(
                DocumentRow.state.in_(("awaiting_review", "published"))))
            durations = session.execute(_duration_query()).all()
        documents = GaugeMetricFamily("declscan_documents", "Documents per pipeline state", labels=["state"])
        for state in dict.fromkeys((*STATES, *counts)):
            documents.add_metric([state], counts.get(state, 0))
        yield documents
        yield CounterMetricFamily("declscan_pages_processed", "Pages of documents through the pipeline",
                                  value=int(pages or 0))
        yield _histogram(durations)
        depth = GaugeMetricFamily("declscan_queue_depth", "Stage messages waiting in the queue")
        try:
            depth.add_metric([], self.redis.llen(self.queue))
        except redis.RedisError as exc:
            log.warning("queue depth unavailable: %s", exc)
        yield depth


def _duration_query() -> Select[Any]:
    """Per stage: (stage, count, total ms, cumulative count per bucket…)."""
    buckets = [func.sum(case((StageResultRow.duration_ms <= bound * 1000, 1), else_=0))
               for bound in DURATION_BUCKETS]
    return (select(StageResultRow.stage, func.count(), func.coalesce(func.sum(StageResultRow.duration_ms), 0),
                   *buckets)
            .where(StageResultRow.duration_ms.is_not(None)).group_by(StageResultRow.stage))


def _histogram(rows: Sequence[Row[Any]]) -> HistogramMetricFamily:
    histogram = HistogramMetricFamily("declscan_stage_duration_seconds", "Wall time of each pipeline stage",
                                      labels=["stage"])
    for stage, count, total_ms, *cumulative in rows:
        buckets = [(str(bound), int(n or 0)) for bound, n in zip(DURATION_BUCKETS, cumulative, strict=True)]
        histogram.add_metric([stage], [*buckets, ("+Inf", int(count))], sum_value=float(total_ms) / 1000)
    return histogram


def service_registry(sessions: sessionmaker, redis_client: redis.Redis) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ServiceCollector(sessions, redis_client))
    return registry


def render_metrics(sessions: sessionmaker, redis_client: redis.Redis) -> bytes:
    """The metrics in Prometheus text format (serve with ``Content-Type: CONTENT_TYPE``)."""
    return generate_latest(service_registry(sessions, redis_client))


def metrics_app(sessions: sessionmaker, redis_client: redis.Redis) -> Callable[..., Any]:
    """An ASGI app serving the metrics: ``fastapi_app.mount("/metrics", metrics_app(...))``."""
    return make_asgi_app(service_registry(sessions, redis_client))
