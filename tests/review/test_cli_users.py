"""``declscan users add`` / ``tokens create|revoke`` against a real database file."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import select

from declscan.cli.main import main
from declscan.config.settings import get_settings
from declscan.review.accounts import principal_for_token
from declscan.review.security import verify_password
from declscan.review.tables import UserRow
from declscan.workers.db import make_engine, make_sessionmaker


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("DECLSCAN_DATA_DIR", str(tmp_path))
    get_settings.cache_clear()
    yield tmp_path
    get_settings.cache_clear()


def test_users_and_tokens_from_the_command_line(data_dir: Path, monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret-password\n"))
    assert main(["users", "add", "wang", "--role", "admin", "--password-stdin"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("s3cret-password\n"))
    assert main(["users", "add", "wang", "--password-stdin"]) == 2  # duplicate: one clear line
    assert "already exists" in capsys.readouterr().err
    assert main(["tokens", "create", "wang"]) == 0
    token = capsys.readouterr().out.strip()
    sessions = make_sessionmaker(make_engine(f"sqlite:///{data_dir / 'declscan.db'}"))
    with sessions() as session:
        user = session.scalar(select(UserRow).where(UserRow.name == "wang"))
        assert user.role == "admin" and verify_password(user.password_hash, "s3cret-password")
        assert principal_for_token(session, token).name == "wang"
    assert main(["tokens", "revoke", "1"]) == 0
    with sessions() as session:
        assert principal_for_token(session, token) is None
    assert main(["tokens", "revoke", "99"]) == 2
