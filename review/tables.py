"""The review app's own tables, on the service's ``Base``: accounts, tokens, claims and the audit trail."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Mapped, mapped_column

from declscan.workers.db import Base, DocumentRow, utcnow

ROLES = ("operator", "admin")


class UserRow(Base):
    """An operator or admin who logs in with a password (argon2 hash only)."""

    __tablename__ = "review_users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16), default="operator")
    password_hash: Mapped[str] = mapped_column(String(256))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # Part of every session cookie: bumping it on logout ends every session of this user at once.
    session_epoch: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ApiTokenRow(Base):
    """A Bearer token for a machine client, acting as ``user``; only its sha256 is stored."""

    __tablename__ = "review_api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("review_users.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class LoginAttemptRow(Base):
    """Failed logins per user name + client address, and until when that pair must wait."""

    __tablename__ = "review_login_attempts"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    locked_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class ClaimRow(Base):
    """Who is editing a document, until when; an expired claim is free for anyone."""

    __tablename__ = "review_claims"

    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), primary_key=True)
    user_name: Mapped[str] = mapped_column(String(64))
    claimed_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))


class AuditRow(Base):
    """One change to a document by a person: who, when, what, old → new."""

    __tablename__ = "review_audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    actor: Mapped[str] = mapped_column(String(64))
    action: Mapped[str] = mapped_column(String(32))
    pointer: Mapped[str | None] = mapped_column(String(256), default=None)
    old: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    new: Mapped[Any] = mapped_column(JSON, nullable=True, default=None)
    note: Mapped[str | None] = mapped_column(Text, default=None)


# The queue reads documents by state, oldest first, a page at a time (keyset on received_at, id).
QUEUE_INDEX = Index("ix_documents_state_received", DocumentRow.state, DocumentRow.received_at, DocumentRow.id)


def as_utc(moment: dt.datetime) -> dt.datetime:
    """SQLite hands back naive datetimes; every time stored here is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def create_review_tables(engine: Engine) -> None:
    """Create every table the app needs (the service's too) and the queue index if missing."""
    Base.metadata.create_all(engine)
    QUEUE_INDEX.create(engine, checkfirst=True)
