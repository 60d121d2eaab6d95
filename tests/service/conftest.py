"""Fixtures of the service tests: real Redis, real Celery worker and watcher subprocesses, a fresh data dir.

Every test runs against SQLite and against PostgreSQL (its own schema, dropped afterwards), on
Redis database 5 (flushed before and after).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from service_harness import Service
from sqlalchemy import create_engine, text

import declscan.workers.ingest  # noqa: F401 - registers the receipts table
from declscan.workers.db import create_tables

REDIS_URL = "redis://127.0.0.1:6379/5"
POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@pytest.fixture
def redis_url() -> Iterator[str]:
    client = redis.Redis.from_url(REDIS_URL)
    try:
        client.ping()
    except redis.RedisError as exc:
        pytest.fail(f"no Redis at {REDIS_URL} ({exc}); run scripts/ensure-services")
    client.flushdb()
    yield REDIS_URL
    client.flushdb()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'declscan.db'}"
        return
    schema = f"svc_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield f"{POSTGRES_URL}?options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture
def service(tmp_path: Path, redis_url: str, database_url: str) -> Iterator[Service]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DECLSCAN_") and k not in ("REDIS_URL", "DATABASE_URL")}
    env.update(DECLSCAN_DATA_DIR=str(tmp_path / "data"), REDIS_URL=redis_url, DATABASE_URL=database_url,
               PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK="True", PYTHONUNBUFFERED="1")
    engine = create_engine(database_url)
    create_tables(engine)  # as the first service process would; the test reads them from the start
    svc = Service(data_dir=tmp_path / "data", env=env, engine=engine)
    try:
        yield svc
    finally:
        svc.stop_all()
        engine.dispose()


@pytest.fixture(scope="session")
def declaration_pdf() -> bytes:
    """A born-digital declaration (dev-set form 1, laid out anew) the pipeline can publish unreviewed."""
    from declscan.devkit.digital_pdf import render_pdf
    from declscan.devkit.fixtures import load_ground_truth
    from declscan.devkit.layout import layout_form

    # Not a make_variant: its random values can be ones validation rightly flags (a 满意度 value
    # that is not a number), and this document must route straight to publishing.
    return render_pdf(layout_form(load_ground_truth()["form-01"], seed=11))
