"""Publishing a reviewed document: a numbered JSON file in the outbox and an entry on a Redis stream.

A publication is claimed in the database first, in one transaction that bumps
``DocumentRow.published_version`` (only from the version this publisher read), inserts the
:class:`PublicationRow` and keeps the exact JSON (:class:`PublishedJsonRow`). The outbox file and
the stream entry are then derived from that row, each step idempotent:

* the file is written atomically (temp file, fsync, rename) from the stored JSON;
* the stream entry is added by a Redis script that remembers ``(document, version) → entry id``
  in a hash, so adding it again returns the first entry instead of a second one;
* the row's ``stream_id`` is set last.

So a crash after the claim loses nothing (:func:`redrive_unstreamed` finishes every row still
without a ``stream_id``), and no step can publish a version twice: two racing publishers claim
the same version, the database lets one win, the other returns None.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import JSON, ForeignKey, Integer, UniqueConstraint, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column, sessionmaker

from declscan.config.settings import Settings
from declscan.models.document import FormDocument
from declscan.models.record import PublishedRecord, Review
from declscan.pipeline.publish import build_record
from declscan.workers.db import Base, DocumentRow, PublicationRow
from declscan.workers.store import check_document_id, write_atomic

if TYPE_CHECKING:
    import redis

log = logging.getLogger(__name__)

# KEYS: stream, id hash. ARGV: hash field, then the entry's field/value pairs.
_XADD_ONCE = """
local known = redis.call('HGET', KEYS[2], ARGV[1])
if known then return known end
local id = redis.call('XADD', KEYS[1], '*', unpack(ARGV, 2))
redis.call('HSET', KEYS[2], ARGV[1], id)
return id
"""


class PublishedJsonRow(Base):
    """The exact JSON of one publication, so an interrupted one is finished byte for byte."""

    __tablename__ = "published_json"
    __table_args__ = (UniqueConstraint("document_id", "version"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    document_id: Mapped[str] = mapped_column(ForeignKey("documents.id"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    record: Mapped[dict[str, Any]] = mapped_column(JSON)


@dataclass(frozen=True)
class _Snapshot:
    """What the publisher read of a document, in one transaction."""

    published_version: int
    document: FormDocument | None
    flagged: list[str]
    resolved: set[str]
    corrected: list[str]
    reviewed_by: list[str]
    last_record: dict[str, Any] | None


def publish_document(
    *,
    sessions: sessionmaker,
    settings: Settings,
    redis_client: redis.Redis,
    document_id: str,
    record: PublishedRecord | None = None,
) -> int | None:
    """Publish the next version of ``document_id``; the version number, or None when not published.

    Not published (logged, None): an unknown or unmapped document; a flagged pointer neither
    confirmed nor corrected (contract rule 7: flags come from the row, the document's issues and
    ``record``); a record equal to the last published one but for ``published_at``; another
    publisher claimed the version first. ``record`` overrides the record built from the row
    (its ``review.published_at`` is set here either way).
    """
    check_document_id(document_id)
    if record is not None and record.document_id != document_id:
        raise ValueError(f"record of {record.document_id} given to publish {document_id}")
    snapshot = _read_snapshot(sessions, document_id)
    if snapshot is None:
        log.warning("%s: not published: no such document", document_id)
        return None
    if record is None and (snapshot.document is None or snapshot.document.declaration is None):
        log.warning("%s: not published: the document has not been mapped yet", document_id)
        return None

    flagged = _ordered_union(snapshot.flagged, snapshot.document.flagged if snapshot.document else [],
                             record.review.flagged if record else [])
    unresolved = [pointer for pointer in flagged if pointer not in snapshot.resolved]
    if unresolved:
        log.warning("%s: not published: %d flagged field(s) neither confirmed nor corrected: %s",
                    document_id, len(unresolved), ", ".join(unresolved))
        return None

    at = dt.datetime.now(dt.UTC).replace(microsecond=0)
    stamp = at.strftime("%Y-%m-%dT%H:%M:%SZ")
    if record is None:
        review = Review(flagged=flagged, corrected=snapshot.corrected, reviewed_by=snapshot.reviewed_by,
                        published_at=stamp)
        record = build_record(snapshot.document, review=review)
    else:
        stamped = record.review.model_copy(update={"published_at": stamp})
        record = record.model_copy(update={"review": stamped})
    payload = record.to_json_dict()
    if snapshot.last_record is not None and _without_stamp(payload) == _without_stamp(snapshot.last_record):
        log.info("%s: not published: unchanged since version %d", document_id, snapshot.published_version)
        return None

    version = snapshot.published_version + 1
    path = (settings.outbox / f"{document_id}-v{version}.json").resolve()
    if not _claim(sessions, document_id, version, path, payload, at):
        log.info("%s: not published: version %d was claimed by another publisher", document_id, version)
        return None
    stream_id = _deliver(sessions, settings, redis_client, document_id, version, path, payload)
    log.info("%s: published version %d to %s (stream entry %s)", document_id, version, path, stream_id)
    return version


def redrive_unstreamed(*, sessions: sessionmaker, settings: Settings, redis_client: redis.Redis,
                       limit: int = 100) -> int:
    """Finish publications a crash interrupted (no ``stream_id`` yet); how many were finished.

    Safe to run at any time, also beside a live publisher: every step is idempotent.
    """
    with sessions() as session:
        rows = session.execute(
            select(PublicationRow, PublishedJsonRow.record)
            .outerjoin(PublishedJsonRow, (PublishedJsonRow.document_id == PublicationRow.document_id)
                       & (PublishedJsonRow.version == PublicationRow.version))
            .where(PublicationRow.stream_id.is_(None))
            .order_by(PublicationRow.id)
            .limit(limit)
        ).all()
    finished = 0
    for publication, payload in rows:
        label = f"{publication.document_id} v{publication.version}"
        if payload is None:
            log.error("%s: cannot re-drive the publication: its JSON was not kept", label)
            continue
        try:
            _deliver(sessions, settings, redis_client, publication.document_id, publication.version,
                     Path(publication.path), payload)
        except Exception:
            log.exception("%s: re-drive failed; will be tried again", label)
            continue
        log.info("%s: re-driven to %s", label, publication.path)
        finished += 1
    return finished


def _read_snapshot(sessions: sessionmaker, document_id: str) -> _Snapshot | None:
    with sessions() as session:
        row = session.get(DocumentRow, document_id)
        if row is None:
            return None
        last_record = session.scalar(select(PublishedJsonRow.record).where(
            PublishedJsonRow.document_id == document_id, PublishedJsonRow.version == row.published_version))
        return _Snapshot(
            published_version=row.published_version,
            document=FormDocument.model_validate(row.document) if row.document else None,
            flagged=list(row.flagged or []),
            resolved=set(row.confirmed or []) | set(row.corrected or []),
            corrected=list(row.corrected or []),
            reviewed_by=list(row.reviewed_by or []),
            last_record=last_record,
        )


def _claim(sessions: sessionmaker, document_id: str, version: int, path: Path, payload: dict[str, Any],
           at: dt.datetime) -> bool:
    """Take ``version`` for this publisher, or False when another took it first."""
    try:
        with sessions.begin() as session:
            # The first statement writes: on SQLite it takes the write lock at once, so a racing
            # publisher waits here and then sees the bumped version, instead of failing on a stale read.
            bumped = session.execute(
                update(DocumentRow)
                .where(DocumentRow.id == document_id, DocumentRow.published_version == version - 1)
                .values(published_version=version, state="published")
                .execution_options(synchronize_session=False)
            ).rowcount
            if bumped != 1:
                return False
            session.add(PublicationRow(document_id=document_id, version=version, path=str(path),
                                       published_at=at))
            session.add(PublishedJsonRow(document_id=document_id, version=version, record=payload))
    except IntegrityError:
        return False
    return True


def _deliver(sessions: sessionmaker, settings: Settings, redis_client: redis.Redis, document_id: str,
             version: int, path: Path, payload: dict[str, Any]) -> str:
    """Outbox file, stream entry, ``stream_id``: each idempotent, in the order a crash can resume."""
    text = json.dumps(payload, ensure_ascii=False, indent=2) + "\n"
    write_atomic(path, text.encode("utf-8"))
    stream = settings.published_stream
    fields = ["document_id", document_id, "version", str(version), "path", str(path), "json", text]
    stream_id = redis_client.register_script(_XADD_ONCE)(
        keys=[stream, f"{stream}:ids"], args=[f"{document_id}:{version}", *fields])
    stream_id = stream_id.decode() if isinstance(stream_id, bytes) else str(stream_id)
    with sessions.begin() as session:
        session.execute(
            update(PublicationRow)
            .where(PublicationRow.document_id == document_id, PublicationRow.version == version)
            .values(stream_id=stream_id)
            .execution_options(synchronize_session=False)
        )
    return stream_id


def _ordered_union(*lists: list[str]) -> list[str]:
    return list(dict.fromkeys(pointer for pointers in lists for pointer in pointers))


def _without_stamp(payload: dict[str, Any]) -> dict[str, Any]:
    return {**payload, "review": {**payload["review"], "published_at": None}}
