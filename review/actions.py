"""What an operator does to a document — correct, confirm, add/remove indicator rows, approve —
with the claim check, re-validation, the review bookkeeping on the row and the audit trail.

Shared by the HTML pages and the REST API, so both enforce exactly the same rules. The caller owns
the transaction: these functions flush, the route commits.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from declscan.models.document import FormDocument
from declscan.models.record import Indicator
from declscan.pipeline.corrections import (
    CorrectionError,
    add_indicator,
    apply_correction,
    field_kind,
    field_pointer,
    pointer_after_removal,
    remove_indicator,
)
from declscan.review.accounts import Principal
from declscan.review.claims import claim, release
from declscan.review.fields import display_value, read_pointer
from declscan.review.tables import AuditRow
from declscan.workers.db import DocumentRow

REVIEWABLE_STATE = "awaiting_review"


class NotReviewable(Exception):
    """The document is not waiting for review (still in the pipeline, failed or published)."""


class Unconfirmed(Exception):
    """Approval refused: these flagged pointers are neither confirmed nor corrected."""

    def __init__(self, pointers: list[str]) -> None:
        self.pointers = pointers
        super().__init__("unconfirmed flags: " + ", ".join(pointers))


@dataclass(frozen=True)
class ReviewContext:
    """What the actions need besides the database: re-validation and the claim's lifetime."""

    revalidate: Callable[[FormDocument], FormDocument]
    claim_ttl: dt.timedelta


def current_document(row: DocumentRow) -> FormDocument:
    if not row.document:
        raise NotReviewable(f"document {row.id} has no extracted data yet")
    return FormDocument.model_validate(row.document)


def open_flags(row: DocumentRow) -> list[str]:
    """Flagged pointers nobody has confirmed or corrected yet, in flagging order."""
    settled = set(row.confirmed or ()) | set(row.corrected or ())
    return [pointer for pointer in row.flagged or () if pointer not in settled]


def begin_write(session: Session, row: DocumentRow, who: Principal, ctx: ReviewContext) -> FormDocument:
    """Check the document can be reviewed and (re)claim it for ``who``; raises ClaimHeld."""
    if row.state != REVIEWABLE_STATE:
        raise NotReviewable(f"document is {row.state}, not awaiting review")
    claim(session, row.id, who.name, ctx.claim_ttl)
    return current_document(row)


def save_field(session: Session, row: DocumentRow, who: Principal, pointer: str, text: str | None,
               ctx: ReviewContext) -> str:
    """The review page's Enter: ``text`` unchanged confirms the field's flags, changed corrects it.
    Returns ``"confirmed"``, ``"corrected"`` or ``"unchanged"``."""
    doc = begin_write(session, row, who, ctx)
    target = field_pointer(pointer)
    kind = field_kind(target)
    if kind is None:
        raise CorrectionError(f"{pointer}: not an editable field")
    shown, _ = display_value(kind, read_pointer(_data(doc), target))
    if (text or "").strip() == shown.strip():
        flags = [p for p in open_flags(row) if field_pointer(p) == target]
        if not flags:
            return "unchanged"
        confirm(session, row, who, flags, ctx)
        return "confirmed"
    return "corrected" if correct(session, row, who, [(target, text)], ctx) else "unchanged"


def correct(session: Session, row: DocumentRow, who: Principal, edits: Iterable[tuple[str, Any]],
            ctx: ReviewContext) -> list[str]:
    """Apply every edit or none (raises CorrectionError); returns the fields that really changed."""
    doc = begin_write(session, row, who, ctx)
    changed: list[str] = []
    for pointer, value in edits:
        target = field_pointer(pointer)
        before = read_pointer(_data(doc), target)
        doc = apply_correction(doc, pointer, value)
        after = read_pointer(_data(doc), target)
        if after != before:
            changed.append(target)
            _audit(session, row, who, "correct", target, before, after)
    if changed:
        covered = [p for p in row.flagged or () if field_pointer(p) in changed]
        row.corrected = _union(row.corrected, [*changed, *covered])
        _store(session, row, who, doc, ctx)
    return changed


def confirm(session: Session, row: DocumentRow, who: Principal, pointers: Iterable[str],
            ctx: ReviewContext) -> list[str]:
    """Accept flagged values as they are; returns the pointers newly confirmed."""
    doc = begin_write(session, row, who, ctx)
    flagged = set(row.flagged or ())
    wanted = list(dict.fromkeys(pointers))
    unknown = [p for p in wanted if p not in flagged]
    if unknown:
        raise CorrectionError(f"not flagged: {', '.join(unknown)}")
    new = [p for p in wanted if p not in set(row.confirmed or ())]
    for pointer in new:
        _audit(session, row, who, "confirm", pointer, read_pointer(_data(doc), pointer), None)
    row.confirmed = _union(row.confirmed, new)
    row.reviewed_by = _union(row.reviewed_by, [who.name])
    return new


def add_indicator_row(session: Session, row: DocumentRow, who: Principal, indicator: Indicator,
                      ctx: ReviewContext) -> int:
    """Append an indicator row; returns its index."""
    doc = add_indicator(begin_write(session, row, who, ctx), indicator)
    assert doc.declaration is not None  # add_indicator refuses a document without one
    index = len(doc.declaration.indicators) - 1
    pointer = f"/indicators/{index}"
    _audit(session, row, who, "add_row", pointer, None, read_pointer(_data(doc), pointer))
    row.corrected = _union(row.corrected, [pointer])
    _store(session, row, who, doc, ctx)
    return index


def remove_indicator_row(session: Session, row: DocumentRow, who: Principal, index: int,
                         ctx: ReviewContext) -> None:
    """Delete indicator row ``index``; the row lists' pointers to later rows move up by one."""
    doc = begin_write(session, row, who, ctx)
    pointer = f"/indicators/{index}"
    old = read_pointer(_data(doc), pointer)
    doc = remove_indicator(doc, index)
    _audit(session, row, who, "remove_row", pointer, old, None)
    row.flagged = _renumbered(row.flagged, index)
    row.confirmed = _renumbered(row.confirmed, index)
    row.corrected = _union(_renumbered(row.corrected, index), ["/indicators"])
    _store(session, row, who, doc, ctx)


def check_approvable(session: Session, row: DocumentRow, who: Principal, ctx: ReviewContext) -> None:
    """Raise unless ``who`` may publish ``row`` now; records ``who`` as a reviewer and the approval."""
    begin_write(session, row, who, ctx)
    unsettled = open_flags(row)
    if unsettled:
        raise Unconfirmed(unsettled)
    row.reviewed_by = _union(row.reviewed_by, [who.name])
    _audit(session, row, who, "approve", None, None, None)


def audit(session: Session, row: DocumentRow, who: Principal, action: str, note: str) -> None:
    """Record an event without a value change (take-over, publication, refusal)."""
    session.add(AuditRow(document_id=row.id, actor=who.name, action=action, note=note))


def _store(session: Session, row: DocumentRow, who: Principal, doc: FormDocument, ctx: ReviewContext) -> None:
    """Re-validate, save the document, and settle flags the edit made disappear (a fixed sum)."""
    before = set(doc.flagged)  # ``doc`` still carries the issues from before the edit
    doc = ctx.revalidate(doc)
    now = doc.flagged
    cleared = [p for p in before - set(now) if p in set(open_flags(row))]
    for pointer in sorted(cleared):
        _audit(session, row, who, "resolved", pointer, None, None)
    row.document = doc.model_dump(mode="json")
    row.flagged = _union(row.flagged, now)
    row.confirmed = _union(row.confirmed, sorted(cleared))
    row.reviewed_by = _union(row.reviewed_by, [who.name])
    if doc.declaration is not None:
        row.project_name = doc.declaration.project.name
        row.department = doc.declaration.project.department


def _audit(session: Session, row: DocumentRow, who: Principal, action: str, pointer: str | None,
           old: Any, new: Any) -> None:
    session.add(AuditRow(document_id=row.id, actor=who.name, action=action, pointer=pointer,
                         old=old, new=new))


def _data(doc: FormDocument) -> dict[str, Any]:
    return doc.declaration.model_dump(mode="json") if doc.declaration else {}


def _union(existing: list[str] | None, more: Iterable[str]) -> list[str]:
    # A new list object: SQLAlchemy sees a JSON column change only on assignment.
    return list(dict.fromkeys([*(existing or ()), *more]))


def _renumbered(pointers: list[str] | None, removed: int) -> list[str]:
    moved = (pointer_after_removal(p, removed) for p in pointers or ())
    return list(dict.fromkeys(p for p in moved if p is not None))


class PublishRefused(Exception):
    """The publisher would not publish (it re-checks the flags itself)."""


def approve(session: Session, row: DocumentRow, who: Principal, ctx: ReviewContext,
            publish: Callable[[str], int | None]) -> int:
    """Approve and publish; returns the published version. Raises Unconfirmed, ClaimHeld,
    NotReviewable or PublishRefused. Commits: the publisher reads the row in its own session."""
    check_approvable(session, row, who, ctx)
    session.commit()
    version = publish(row.id)
    session.refresh(row)
    if version is None:
        audit(session, row, who, "publish_refused", "the publisher refused: " + ", ".join(open_flags(row)))
        session.commit()
        raise PublishRefused(open_flags(row))
    audit(session, row, who, "published", f"version {version}")
    release(session, row.id, who.name)
    session.commit()
    return version
