"""Fixtures for the ingest/publish workers: real folders, real SQLite or PostgreSQL, real Redis."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

import declscan.workers.ingest
import declscan.workers.publisher  # noqa: F401  (registers its tables on Base)
from declscan.config.settings import Settings
from declscan.workers.db import create_tables, make_engine, make_sessionmaker

POSTGRES_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
REDIS_URL = "redis://127.0.0.1:6379/6"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "var", published_stream=f"declscan:test:{uuid.uuid4().hex[:8]}")


@pytest.fixture
def sqlite_sessions(tmp_path: Path) -> Iterator[sessionmaker]:
    """A SQLite database file with every table."""
    engine = make_engine(f"sqlite:///{tmp_path / 'test.db'}")
    create_tables(engine)
    yield make_sessionmaker(engine)
    engine.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sessions(request: pytest.FixtureRequest) -> Iterator[sessionmaker]:
    """A database with every table: a SQLite file, or a throwaway schema on the local PostgreSQL."""
    if request.param == "sqlite":
        yield request.getfixturevalue("sqlite_sessions")
        return
    schema = f"t_{uuid.uuid4().hex[:12]}"
    admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    engine = create_engine(POSTGRES_URL, connect_args={"options": f"-c search_path={schema}"})
    try:
        create_tables(engine)
        yield make_sessionmaker(engine)
    finally:
        engine.dispose()
        with admin.connect() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture
def redis_url() -> str:
    return REDIS_URL


@pytest.fixture
def redis_client() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(REDIS_URL)
    client.flushdb()
    yield client
    client.flushdb()
    client.close()

