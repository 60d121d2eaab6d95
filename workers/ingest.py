"""Taking one file from the inbox: refuse it to quarantine, or store it and record the document.

The order makes a crash harmless: the bytes are stored (fsynced) first, then the document row
is committed, and only then is the inbox copy removed. A crash at any point leaves the file in
the inbox, and taking it again finds the same sha256.

Every file taken is recorded in ``receipts`` (:class:`ReceiptRow`), including a repeated drop of
bytes already received (``duplicate=True``, linked to the first document): so "I dropped it
three times" is answerable from the database without a second document ever being made.
"""

from __future__ import annotations

import datetime as dt
import logging
import stat
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from declscan.config.settings import Settings
from declscan.pipeline.load import sniff_kind
from declscan.workers.db import Base, DocumentRow, utcnow
from declscan.workers.quarantine import printable_name, quarantine
from declscan.workers.store import DocumentStore, StoredFile

log = logging.getLogger(__name__)


class ReceiptRow(Base):
    """One file taken from the inbox; ``duplicate`` when its bytes were already a document."""

    __tablename__ = "receipts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    filename: Mapped[str] = mapped_column(String(512))
    received_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    duplicate: Mapped[bool] = mapped_column(Boolean, default=False)


@dataclass(frozen=True)
class IngestResult:
    """What became of one inbox file; at most one of the first three is set.

    ``document_id``: a new document to process. ``duplicate_of``: the bytes were already that
    document (nothing to process). ``quarantined``: refused, moved there, ``reason`` says why.
    All three None: the file was gone before it could be taken (``reason`` says so).
    """

    document_id: str | None = None
    duplicate_of: str | None = None
    quarantined: Path | None = None
    reason: str | None = None


def ingest_file(path: Path, *, settings: Settings, sessions: sessionmaker) -> IngestResult:
    """Store ``path`` content-addressed, record its document, remove it from the inbox.

    Bad input (not a regular file, empty, too big, not PDF/PNG/JPEG/TIFF) is quarantined.
    Infrastructure errors (database, disk) raise and leave the file in the inbox for a retry.
    """
    path = Path(path)
    name = printable_name(path.name)
    try:
        reason = refusal_reason(path, settings)
    except FileNotFoundError:
        return _vanished(name)
    if reason is not None:
        return IngestResult(quarantined=quarantine(path, settings=settings, reason=reason), reason=reason)
    try:
        stored = DocumentStore(settings).put_source(path)
    except FileNotFoundError:
        return _vanished(name)
    result = _record_receipt(stored, name, sessions)
    try:
        path.unlink()
    except FileNotFoundError:
        pass
    except OSError as exc:
        log.error("%s: stored as %s but cannot be removed from the inbox: %s", name, stored.sha256, exc)
    return result


def refusal_reason(path: Path, settings: Settings) -> str | None:
    """Why ``path`` cannot be a document, from its metadata and first bytes; None when it may be one.

    Raises FileNotFoundError when ``path`` does not exist.
    """
    info = path.lstat()
    if not stat.S_ISREG(info.st_mode):
        return "not a regular file (a folder, link or device)"
    if info.st_size == 0:
        return "file is empty (0 bytes)"
    limit = settings.limits.max_file_bytes
    if info.st_size > limit:
        return f"file is {info.st_size} bytes, over the limit of {limit} bytes"
    if sniff_kind(path) is None:
        return "unsupported file type (expected PDF, PNG, JPEG or TIFF)"
    return None


def _record_receipt(stored: StoredFile, filename: str, sessions: sessionmaker) -> IngestResult:
    now = utcnow()
    try:
        with sessions.begin() as session:
            first = session.get(DocumentRow, stored.sha256)
            if first is None:
                session.add(DocumentRow(id=stored.sha256, filename=filename, stored_path=str(stored.path),
                                        state="received", received_at=now, updated_at=now))
                session.add(ReceiptRow(document_id=stored.sha256, filename=filename, received_at=now))
        if first is None:
            log.info("%s: received as document %s", filename, stored.sha256)
            return IngestResult(document_id=stored.sha256)
    except IntegrityError:
        pass  # another ingest recorded the same bytes a moment ago: this drop is its duplicate
    with sessions.begin() as session:
        first_name = session.get_one(DocumentRow, stored.sha256).filename
        session.add(ReceiptRow(document_id=stored.sha256, filename=filename, received_at=now, duplicate=True))
    log.info("%s: same bytes as document %s (first received as %s); recorded as a duplicate drop",
             filename, stored.sha256, first_name)
    return IngestResult(duplicate_of=stored.sha256)


def _vanished(name: str) -> IngestResult:
    log.info("%s: gone from the inbox before it could be taken", name)
    return IngestResult(reason="file vanished before it could be taken")
