"""Review-app fixtures: an app over a temporary data dir, three accounts, dev-set documents seeded."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis
from argon2 import PasswordHasher
from fastapi.testclient import TestClient
from review_support import FLAGS, MISREAD_NAME, PASSWORD, TEST_REDIS, login
from sqlalchemy.orm import Session

from declscan.config.settings import Settings
from declscan.devkit.bench_web import document_id_for, review_document, seed_document
from declscan.models.document import FormDocument
from declscan.review import security
from declscan.review.accounts import add_user
from declscan.review.app import create_app
from declscan.workers.store import DocumentStore


@pytest.fixture(autouse=True)
def cheap_password_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Real argon2, lighter parameters: the default costs ~1 s per hash on this shared 2-core box."""
    monkeypatch.setattr(security, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path, secret_key="test-secret", redis_url=TEST_REDIS,
                    outbox_dir=tmp_path / "outbox")


@pytest.fixture
def app(settings: Settings):
    app = create_app(settings, redis_client=redis.Redis.from_url(TEST_REDIS))
    with app.state.review.sessions.begin() as session:
        add_user(session, "alice", "operator", PASSWORD)
        add_user(session, "bob", "operator", PASSWORD)
        add_user(session, "root", "admin", PASSWORD)
    return app


@pytest.fixture
def db(app) -> Iterator[Session]:
    with app.state.review.sessions() as session:
        yield session


@pytest.fixture
def seed(app, settings: Settings, ground_truth):
    """seed(name, flags=…, extracted=…, state=…) → the seeded FormDocument (form-01 printed)."""

    def make(name: str = "doc", *, flags: dict[str, str] | None = None, extracted: dict | None = None,
             state: str = "awaiting_review", form: str = "form-01") -> FormDocument:
        doc, images = review_document(
            ground_truth[form], document_id=document_id_for(name), dpi=80,
            flags=FLAGS if flags is None else flags,
            extracted={"/project/name": MISREAD_NAME} if extracted is None else extracted)
        with app.state.review.sessions.begin() as session:
            seed_document(session, DocumentStore(settings), doc, images, state=state)
        return doc

    return make


@pytest.fixture
def alice(app) -> tuple[TestClient, str]:
    client = TestClient(app)
    return client, login(client, "alice")


@pytest.fixture
def bob(app) -> tuple[TestClient, str]:
    client = TestClient(app)
    return client, login(client, "bob")
