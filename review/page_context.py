"""Everything the review page template shows for one document, computed in one place."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from declscan.models.record import PERIODS, Provenance
from declscan.pipeline.corrections import field_pointer
from declscan.review.accounts import Principal
from declscan.review.actions import REVIEWABLE_STATE, current_document, open_flags
from declscan.review.claims import live_claim
from declscan.review.fields import (
    INDICATOR_LEAVES,
    PERIOD_LABELS,
    SECTIONS,
    FieldView,
    evidence_of,
    field_views,
    label_of,
    read_pointer,
)
from declscan.review.queue import STATE_LABELS
from declscan.review.tables import AuditRow
from declscan.workers.db import DocumentRow

AUDIT_SHOWN = 200


@dataclass
class FlagView:
    """One flagged pointer: the field it lands on (None for a pointer that is no single field)."""

    pointer: str
    label: str
    status: str  # open | confirmed | corrected
    messages: list[str]
    field: FieldView | None
    evidence: Provenance | None
    value_text: str


def document_context(session: Session, row: DocumentRow, who: Principal, *, after: str | None,
                     focus: str | None) -> dict[str, Any]:
    claim = live_claim(session, row.id)
    reviewable = row.state == REVIEWABLE_STATE and bool(row.document)
    held_by_other = claim is not None and claim.user_name != who.name
    context: dict[str, Any] = {
        "row": row, "claim": claim, "held_by_other": held_by_other,
        "state_label": STATE_LABELS.get(row.state),
        "editable": reviewable and not held_by_other, "reviewable": reviewable,
        "flags": [], "sections": [], "indicators": [], "audit": _audit(session, row.id),
        "focus": None, "pages": [], "periods": PERIODS, "period_labels": PERIOD_LABELS,
        "open_count": len(open_flags(row)),
    }
    if not row.document:
        return context
    doc = current_document(row)
    fields = field_views(doc, flagged=list(row.flagged or ()), confirmed=list(row.confirmed or ()),
                         corrected=list(row.corrected or ()))
    by_pointer = {view.pointer: view for view in fields}
    flags = _flags(doc, row, by_pointer, fields)
    context.update(
        flags=flags,
        sections=[(title, [f for f in fields if f.pointer.startswith(f"/{key}/")])
                  for key, title in SECTIONS],
        indicators=_indicator_rows(fields),
        focus=_focus(flags, after=after, focus=focus),
        pages=[{"number": p.number, "width": p.width, "height": p.height} for p in doc.pages]
        or [{"number": n, "width": None, "height": None} for n in range(1, (row.pages or 1) + 1)],
    )
    return context


def _flags(doc: Any, row: DocumentRow, by_pointer: dict[str, FieldView],
           fields: list[FieldView]) -> list[FlagView]:
    """Flags in form order (the order an operator reads the page), each field once."""
    order = {view.pointer: i for i, view in enumerate(fields)}
    open_now = set(open_flags(row))
    confirmed = set(row.confirmed or ())
    messages: dict[str, list[str]] = {}
    for issue in doc.issues:
        messages.setdefault(field_pointer(issue.pointer), []).append(issue.message)
    seen: dict[str, FlagView] = {}
    data = doc.declaration.model_dump(mode="json") if doc.declaration else {}
    for pointer in row.flagged or ():
        target = field_pointer(pointer)
        view = by_pointer.get(target)
        key = target if view else pointer
        status = "open" if pointer in open_now else ("confirmed" if pointer in confirmed else "corrected")
        if key in seen:
            if status == "open":
                seen[key].status = "open"
            continue
        value = read_pointer(data, pointer)
        seen[key] = FlagView(pointer=key, label=label_of(pointer), status=status,
                             messages=messages.get(target, []), field=view,
                             evidence=evidence_of(doc.provenance, pointer),
                             value_text="" if value is None else str(value))
    return sorted(seen.values(), key=lambda flag: order.get(flag.pointer, len(order)))


def _focus(flags: list[FlagView], *, after: str | None, focus: str | None) -> str | None:
    """Which flag's input gets the cursor: the asked one, else the next open flag after ``after``
    (wrapping), else None (the approve button)."""
    if focus:
        return field_pointer(focus)
    pending = [flag.pointer for flag in flags if flag.status == "open"]
    if not pending:
        return None
    if after:
        pointers = [flag.pointer for flag in flags]
        target = field_pointer(after)
        if target in pointers:
            later = pointers[pointers.index(target) + 1:]
            return next((p for p in later if p in pending), pending[0])
    return pending[0]


def _indicator_rows(fields: list[FieldView]) -> list[dict[str, FieldView]]:
    rows: dict[int, dict[str, FieldView]] = {}
    for view in fields:
        parts = view.pointer.split("/")
        if parts[1] == "indicators" and parts[3] in INDICATOR_LEAVES:
            rows.setdefault(int(parts[2]), {})[parts[3]] = view
    return [rows[i] for i in sorted(rows)]


def _audit(session: Session, document_id: str) -> list[AuditRow]:
    query = (select(AuditRow).where(AuditRow.document_id == document_id)
             .order_by(AuditRow.id.desc()).limit(AUDIT_SHOWN))
    return list(session.scalars(query))
