"""REST API under ``/api/v1`` for machine clients (Bearer token) and the review page's scripts (session
cookie + CSRF header). Every document write checks the state and the claim: held by another → 409."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter, HTTPException, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from declscan.models.record import Indicator, Review
from declscan.pipeline.corrections import CorrectionError
from declscan.pipeline.publish import build_record
from declscan.review import actions
from declscan.review.accounts import AccountError, create_token, revoke_token
from declscan.review.claims import ClaimHeld, claim, live_claim, release
from declscan.review.deps import DB, AdminUser, ApiUser, CsrfChecked, State, document_row
from declscan.review.fields import evidence_of
from declscan.review.images import PageMissing
from declscan.review.queue import STATES, BadCursor, list_documents
from declscan.review.tables import ApiTokenRow, AuditRow, UserRow, as_utc
from declscan.workers.db import DocumentRow

router = APIRouter(prefix="/api/v1", tags=["review"])
PNG = {"content": {"image/png": {}}, "description": "PNG image"}


class Correction(BaseModel):
    pointer: str = Field(examples=["/funding/annual/total"])
    value: Any = Field(description="the text as printed (null for a blank cell)", examples=["11350万元"])


class Confirmation(BaseModel):
    pointers: list[str] = Field(description="flagged pointers accepted as they are")


class ClaimRequest(BaseModel):
    take_over: bool = Field(default=False, description="take the document from whoever holds it")


class TokenRequest(BaseModel):
    user: str = Field(description="the user the token acts for")


@contextmanager
def review_errors() -> Iterator[None]:
    """The review actions' refusals as HTTP answers a client can act on."""
    try:
        yield
    except ClaimHeld as exc:
        raise HTTPException(409, {"message": str(exc), "claim": exc.claim.as_json()}) from None
    except actions.Unconfirmed as exc:
        detail = {"message": "flags are not confirmed", "unconfirmed": exc.pointers}
        raise HTTPException(409, detail) from None
    except actions.PublishRefused as exc:
        raise HTTPException(409, {"message": "the publisher refused", "unconfirmed": exc.args[0]}) from None
    except actions.NotReviewable as exc:
        raise HTTPException(409, str(exc)) from None
    except IntegrityError:
        raise HTTPException(409, "someone else changed the document at the same moment; retry") from None
    except (CorrectionError, AccountError) as exc:
        raise HTTPException(422, str(exc)) from None


def record_json(row: DocumentRow) -> dict[str, Any]:
    """The document as it would be published now, plus its review status."""
    doc = actions.current_document(row)
    review = Review(flagged=list(row.flagged or ()), corrected=list(row.corrected or ()),
                    reviewed_by=list(row.reviewed_by or ()))
    return build_record(doc, review=review).to_json_dict()


def document_json(session: DB, row: DocumentRow) -> dict[str, Any]:
    claim_info = live_claim(session, row.id)
    body: dict[str, Any] = {
        "id": row.id, "filename": row.filename, "state": row.state, "error": row.error,
        "pages": row.pages, "published_version": row.published_version,
        "claim": claim_info.as_json() if claim_info else None,
        "open_flags": actions.open_flags(row), "confirmed": list(row.confirmed or ()),
        "record": None, "issues": [],
    }
    if row.document:
        with review_errors():
            body["record"] = record_json(row)
        body["issues"] = [issue.model_dump() for issue in actions.current_document(row).issues]
    return body


@router.get("/me")
def me(who: ApiUser) -> dict[str, Any]:
    return {"name": who.name, "role": who.role, "via_token": who.via_token}


@router.get("/documents")
def documents(session: DB, who: ApiUser,
              state: str = Query("awaiting_review", description="a state or 'all'"), q: str = "",
              after: str | None = None, limit: int = Query(50, ge=1, le=200)) -> dict[str, Any]:
    """Documents in a state, oldest first; pass ``next`` back as ``after`` for the next page."""
    if state not in (*STATES, "all"):
        raise HTTPException(422, f"state is one of {', '.join((*STATES, 'all'))}")
    try:
        page = list_documents(session, state=state, query=q, cursor=after, limit=limit)
    except BadCursor:
        raise HTTPException(422, "bad 'after' cursor") from None
    return {"total": page.total, "items": [item.as_json() for item in page.items], "next": page.next_cursor}


@router.get("/documents/{document_id}")
def document(document_id: str, session: DB, who: ApiUser) -> dict[str, Any]:
    """The current record (contract shape), its flags, issues and claim."""
    return document_json(session, document_row(session, document_id))


@router.get("/documents/{document_id}/pages/{number}", response_class=Response, responses={200: PNG})
def page_image(document_id: str, number: int, session: DB, who: ApiUser, state: State) -> Response:
    row = document_row(session, document_id)
    if not 1 <= number <= max(row.pages or 0, 1):
        raise HTTPException(404, "no such page")
    try:
        data = state.pages.path(row.id, number).read_bytes()
    except PageMissing:
        raise HTTPException(404, "no such page") from None
    return Response(data, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})


@router.get("/documents/{document_id}/crop", response_class=Response, responses={200: PNG})
def crop(document_id: str, session: DB, who: ApiUser, state: State,
         pointer: str = Query(description="the field, e.g. /project/name")) -> Response:
    """The padded region of the page that a field was read from."""
    row = document_row(session, document_id)
    doc = actions.current_document(row) if row.document else None
    evidence = evidence_of(doc.provenance, pointer) if doc else None
    if evidence is None:
        raise HTTPException(404, "no page region for that field")
    try:
        data = state.pages.crop_png(row.id, evidence)
    except PageMissing:
        raise HTTPException(404, "no page region for that field") from None
    return Response(data, media_type="image/png", headers={"Cache-Control": "private, max-age=60"})


@router.get("/documents/{document_id}/audit")
def audit_trail(document_id: str, session: DB, who: ApiUser) -> list[dict[str, Any]]:
    row = document_row(session, document_id)
    entries = session.scalars(select(AuditRow).where(AuditRow.document_id == row.id).order_by(AuditRow.id))
    return [{"at": as_utc(e.at).isoformat(), "actor": e.actor, "action": e.action, "pointer": e.pointer,
             "old": e.old, "new": e.new, "note": e.note} for e in entries]


@router.post("/documents/{document_id}/claim", dependencies=[CsrfChecked])
def claim_document(document_id: str, body: ClaimRequest, session: DB, who: ApiUser,
                   state: State) -> dict[str, Any]:
    """Claim (or renew) a document for editing; 409 while someone else holds it, unless take_over."""
    row = document_row(session, document_id)
    with review_errors():
        holder = live_claim(session, row.id)
        info = claim(session, row.id, who.name, state.claim_ttl, take_over=body.take_over)
        if holder and holder.user_name != who.name:
            actions.audit(session, row, who, "take_over", f"from {holder.user_name}")
        session.commit()
    return info.as_json()


@router.delete("/documents/{document_id}/claim", dependencies=[CsrfChecked], status_code=204)
def release_document(document_id: str, session: DB, who: ApiUser) -> Response:
    release(session, document_row(session, document_id).id, who.name)
    session.commit()
    return Response(status_code=204)


@router.post("/documents/{document_id}/corrections", dependencies=[CsrfChecked])
def corrections(document_id: str, body: list[Correction], session: DB, who: ApiUser,
                state: State) -> dict[str, Any]:
    """Apply all corrections or none; each re-normalizes its field and re-runs validation."""
    row = document_row(session, document_id)
    with review_errors():
        actions.correct(session, row, who, [(c.pointer, c.value) for c in body], state.review)
        session.commit()
    return document_json(session, row)


@router.post("/documents/{document_id}/confirmations", dependencies=[CsrfChecked])
def confirmations(document_id: str, body: Confirmation, session: DB, who: ApiUser,
                  state: State) -> dict[str, Any]:
    """Accept flagged values as they are."""
    row = document_row(session, document_id)
    with review_errors():
        actions.confirm(session, row, who, body.pointers, state.review)
        session.commit()
    return document_json(session, row)


@router.post("/documents/{document_id}/indicators", dependencies=[CsrfChecked], status_code=201)
def add_indicator(document_id: str, body: Indicator, session: DB, who: ApiUser,
                  state: State) -> dict[str, Any]:
    row = document_row(session, document_id)
    with review_errors():
        actions.add_indicator_row(session, row, who, body, state.review)
        session.commit()
    return document_json(session, row)


@router.delete("/documents/{document_id}/indicators/{index}", dependencies=[CsrfChecked])
def remove_indicator(document_id: str, index: int, session: DB, who: ApiUser, state: State) -> dict[str, Any]:
    row = document_row(session, document_id)
    with review_errors():
        actions.remove_indicator_row(session, row, who, index, state.review)
        session.commit()
    return document_json(session, row)


@router.post("/documents/{document_id}/approve", dependencies=[CsrfChecked])
def approve(document_id: str, session: DB, who: ApiUser, state: State) -> dict[str, Any]:
    """Publish the document; 409 lists the flags still unconfirmed."""
    row = document_row(session, document_id)
    with review_errors():
        version = actions.approve(session, row, who, state.review, state.publish)
    return {"published_version": version, "record": record_json(row)}


@router.get("/tokens")
def tokens(session: DB, admin: AdminUser) -> list[dict[str, Any]]:
    rows = session.execute(select(ApiTokenRow, UserRow.name).join(UserRow).order_by(ApiTokenRow.id)).all()
    return [{"id": t.id, "user": name, "prefix": t.prefix, "created_at": as_utc(t.created_at).isoformat(),
             "revoked": t.revoked_at is not None} for t, name in rows]


@router.post("/tokens", dependencies=[CsrfChecked], status_code=201)
def new_token(body: TokenRequest, session: DB, admin: AdminUser) -> dict[str, Any]:
    """A new token for ``user``; the token text is in this answer only."""
    with review_errors():
        row, token = create_token(session, body.user)
        session.commit()
    return {"id": row.id, "user": body.user, "token": token}


@router.delete("/tokens/{token_id}", dependencies=[CsrfChecked], status_code=204)
def delete_token(token_id: int, session: DB, admin: AdminUser) -> Response:
    try:
        revoke_token(session, token_id)
    except AccountError:
        raise HTTPException(404, "no such token") from None
    session.commit()
    return Response(status_code=204)

