"""The service's database: documents, their stage results and publications (SQLite or PostgreSQL).

The review app adds its own tables (users, tokens, claims, audit) on the same ``Base``.
"""

from __future__ import annotations

import datetime as dt
import time
from typing import Any

import sqlalchemy.exc
from sqlalchemy import JSON, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint, create_engine
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker

CREATE_ATTEMPTS = 3


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def as_utc(moment: dt.datetime) -> dt.datetime:
    """``moment`` as an aware UTC datetime: SQLite hands back naive ones, which were stored as UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


class Base(DeclarativeBase):
    pass


class DocumentRow(Base):
    """One declaration, identified by the sha256 of its source bytes."""

    __tablename__ = "documents"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    filename: Mapped[str] = mapped_column(String(512))
    stored_path: Mapped[str] = mapped_column(String(1024))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)
    # received → preprocessed → ocr_done → structured → mapped → awaiting_review | published; failed
    state: Mapped[str] = mapped_column(String(32), index=True, default="received")
    pages: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text, default=None)
    project_name: Mapped[str | None] = mapped_column(String(512), index=True, default=None)
    department: Mapped[str | None] = mapped_column(String(512), index=True, default=None)
    # The current FormDocument as JSON (declaration, provenance, issues) after the last stage or edit.
    document: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    flagged: Mapped[list[str]] = mapped_column(JSON, default=list)
    corrected: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Flagged pointers a person accepted as they are; publishable once flagged ⊆ confirmed ∪ corrected.
    confirmed: Mapped[list[str]] = mapped_column(JSON, default=list)
    reviewed_by: Mapped[list[str]] = mapped_column(JSON, default=list)
    published_version: Mapped[int] = mapped_column(Integer, default=0)
    pipeline_version: Mapped[str | None] = mapped_column(String(64), default=None)
    model_versions: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    # "scan" | "digital", known once the file is loaded; decides which stages the document runs.
    kind: Mapped[str | None] = mapped_column(String(16), default=None)
    # When a stage task for it was last put on the queue: the reconciler re-enqueues an unfinished
    # document that is on no queue and no worker once this is older than a grace period.
    enqueued_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True), default=None)


class StageResultRow(Base):
    """A stage's output for a document, so a retry resumes where the document stopped."""

    __tablename__ = "stage_results"
    __table_args__ = (UniqueConstraint("document_id", "stage"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    stage: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    duration_ms: Mapped[int | None] = mapped_column(Integer, default=None)
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PublicationRow(Base):
    """One published version of a document; a version is never published twice."""

    __tablename__ = "publications"
    __table_args__ = (UniqueConstraint("document_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    path: Mapped[str] = mapped_column(String(1024))
    stream_id: Mapped[str | None] = mapped_column(String(64), default=None)
    published_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


# A document in one of these states needs nothing more from the pipeline.
FINISHED_STATES = ("awaiting_review", "published", "failed")


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL and a busy timeout so several processes can share it."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})
        with engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")
        return engine
    return create_engine(url, pool_pre_ping=True)


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


def create_tables(engine: Engine) -> None:
    """Create every service table that does not exist yet (idempotent).

    Several processes may start at once on a fresh database (``declscan worker`` and ``watch``):
    a table another one created between the existence check and the CREATE is not an error.
    """
    # Receipts and published JSON live beside the code that writes them; register them here.
    import declscan.workers.ingest
    import declscan.workers.publisher  # noqa: F401

    for attempt in range(CREATE_ATTEMPTS):
        try:
            Base.metadata.create_all(engine)
            return
        except (sqlalchemy.exc.OperationalError, sqlalchemy.exc.ProgrammingError,
                sqlalchemy.exc.IntegrityError):
            if attempt == CREATE_ATTEMPTS - 1:
                raise
            time.sleep(0.5)
