"""The review queue: documents by state, oldest first, a keyset page at a time (fast at any depth)."""

from __future__ import annotations

import base64
import binascii
import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select
from sqlalchemy.orm import Session, load_only

from declscan.review.actions import open_flags
from declscan.review.claims import ClaimInfo
from declscan.review.tables import ClaimRow, as_utc
from declscan.workers.db import DocumentRow, utcnow

STATES = ("awaiting_review", "received", "preprocessed", "ocr_done", "structured", "mapped", "published",
          "failed")
STATE_LABELS = {"awaiting_review": "待审核", "received": "已接收", "preprocessed": "已预处理",
                "ocr_done": "已识别", "structured": "已结构化", "mapped": "已映射", "published": "已发布",
                "failed": "失败", "all": "全部"}
PAGE_SIZE = 50
_LISTED_COLUMNS = (DocumentRow.id, DocumentRow.filename, DocumentRow.state, DocumentRow.received_at,
                   DocumentRow.error, DocumentRow.project_name, DocumentRow.department, DocumentRow.pages,
                   DocumentRow.flagged, DocumentRow.confirmed, DocumentRow.corrected,
                   DocumentRow.published_version)


class BadCursor(ValueError):
    pass


@dataclass(frozen=True)
class QueueItem:
    id: str
    filename: str
    state: str
    received_at: dt.datetime
    project_name: str | None
    department: str | None
    error: str | None
    flagged: int
    open_flags: int
    claim: ClaimInfo | None
    published_version: int

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id, "filename": self.filename, "state": self.state,
            "received_at": as_utc(self.received_at).isoformat(), "project_name": self.project_name,
            "department": self.department, "error": self.error, "flagged": self.flagged,
            "open_flags": self.open_flags, "claim": self.claim.as_json() if self.claim else None,
            "published_version": self.published_version,
        }


@dataclass(frozen=True)
class QueuePage:
    items: list[QueueItem]
    total: int
    next_cursor: str | None


def list_documents(session: Session, *, state: str = "awaiting_review", query: str = "",
                   cursor: str | None = None, limit: int = PAGE_SIZE) -> QueuePage:
    """One page of documents in ``state`` (or ``"all"``) whose project name or department contains
    ``query``, oldest first, starting after ``cursor``; raises BadCursor for a forged cursor."""
    filters = []
    if state != "all":
        filters.append(DocumentRow.state == state)
    if query.strip():
        pattern = "%" + query.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        filters.append(or_(DocumentRow.project_name.ilike(pattern, escape="\\"),
                           DocumentRow.department.ilike(pattern, escape="\\"),
                           DocumentRow.filename.ilike(pattern, escape="\\")))
    total = session.scalar(select(func.count()).select_from(DocumentRow).where(*filters)) or 0
    page_filters = list(filters)
    if cursor:
        after_time, after_id = _decode(cursor)
        page_filters.append(or_(DocumentRow.received_at > after_time,
                                and_(DocumentRow.received_at == after_time, DocumentRow.id > after_id)))
    rows = session.scalars(
        select(DocumentRow).options(load_only(*_LISTED_COLUMNS)).where(*page_filters)
        .order_by(DocumentRow.received_at, DocumentRow.id).limit(limit + 1)
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    claims = _live_claims(session, [row.id for row in rows])
    items = [
        QueueItem(id=row.id, filename=row.filename, state=row.state, received_at=row.received_at,
                  project_name=row.project_name, department=row.department, error=row.error,
                  flagged=len(row.flagged or ()), open_flags=len(open_flags(row)), claim=claims.get(row.id),
                  published_version=row.published_version or 0)
        for row in rows
    ]
    next_cursor = _encode(rows[-1].received_at, rows[-1].id) if more and rows else None
    return QueuePage(items=items, total=total, next_cursor=next_cursor)


def _live_claims(session: Session, ids: list[str]) -> dict[str, ClaimInfo]:
    if not ids:
        return {}
    now = utcnow()
    rows = session.scalars(select(ClaimRow).where(ClaimRow.document_id.in_(ids))).all()
    return {row.document_id: ClaimInfo(row.user_name, as_utc(row.expires_at))
            for row in rows if as_utc(row.expires_at) > now}


def _encode(received_at: dt.datetime, document_id: str) -> str:
    return base64.urlsafe_b64encode(f"{received_at.isoformat()}|{document_id}".encode()).decode()


def _decode(cursor: str) -> tuple[dt.datetime, str]:
    try:
        moment, document_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return dt.datetime.fromisoformat(moment), document_id
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise BadCursor("not a queue cursor") from exc
