"""Request dependencies: the app's state, a DB session, who is calling, and the CSRF check."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session, sessionmaker

from declscan.config.settings import Settings
from declscan.review.accounts import Principal, principal_for_token, principal_of
from declscan.review.actions import ReviewContext
from declscan.review.images import PageCache
from declscan.review.security import SESSION_COOKIE, SessionData, SessionSigner, same_token
from declscan.review.tables import UserRow
from declscan.workers.db import DocumentRow
from declscan.workers.store import InvalidKey, check_document_id

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
_UNSET = object()


@dataclass(frozen=True)
class AppState:
    settings: Settings
    sessions: sessionmaker
    signer: SessionSigner
    pages: PageCache
    review: ReviewContext
    publish: Callable[[str], int | None]
    templates: Jinja2Templates
    claim_ttl: dt.timedelta


class LoginRequired(Exception):
    """A page was asked for without a session: the browser goes to the login page."""


def app_state(request: Request) -> AppState:
    return request.app.state.review


def db_session(request: Request) -> Iterator[Session]:
    with app_state(request).sessions() as session:
        yield session


DB = Annotated[Session, Depends(db_session)]


def session_data(request: Request) -> SessionData | None:
    """The verified session cookie of this request (read once per request)."""
    cached = getattr(request.state, "session_data", _UNSET)
    if cached is _UNSET:
        cached = app_state(request).signer.loads(request.cookies.get(SESSION_COOKIE))
        request.state.session_data = cached
    return cached


def identify(request: Request, session: Session) -> Principal | None:
    """The caller from a Bearer token, else from the session cookie; None when neither is valid."""
    header = request.headers.get("authorization", "")
    if header.lower().startswith("bearer "):
        return principal_for_token(session, header[7:].strip())
    data = session_data(request)
    if data is None:
        return None
    user = session.get(UserRow, data.user_id)
    if user is None or not user.active or user.session_epoch != data.epoch:
        return None
    return principal_of(user)


def api_principal(request: Request, session: DB) -> Principal:
    principal = identify(request, session)
    if principal is None:
        raise HTTPException(401, "log in or send a valid Bearer token",
                            headers={"WWW-Authenticate": "Bearer"})
    return principal


def page_principal(request: Request, session: DB) -> Principal:
    principal = identify(request, session)
    if principal is None:
        raise LoginRequired
    return principal


def admin_principal(principal: Annotated[Principal, Depends(api_principal)]) -> Principal:
    if not principal.is_admin:
        raise HTTPException(403, "admins only")
    return principal


async def csrf_checked(request: Request) -> None:
    """Refuse a cookie-authenticated write without the session's CSRF token (form field or header).
    Bearer-token calls carry no ambient credential, so they need none."""
    if request.headers.get("authorization", "").lower().startswith("bearer "):
        return
    data = session_data(request)
    given = request.headers.get(CSRF_HEADER)
    if given is None and request.headers.get("content-type", "").startswith(
        ("application/x-www-form-urlencoded", "multipart/form-data")
    ):
        given = str((await request.form()).get(CSRF_FIELD) or "")
    if data is None or not same_token(data.csrf, given):
        raise HTTPException(403, "missing or wrong CSRF token")


def document_row(session: Session, document_id: str) -> DocumentRow:
    """The document with this id; 404 for a malformed or unknown id (no file is ever looked up)."""
    try:
        check_document_id(document_id)
    except InvalidKey:
        raise HTTPException(404, "no such document") from None
    row = session.get(DocumentRow, document_id)
    if row is None:
        raise HTTPException(404, "no such document")
    return row


ApiUser = Annotated[Principal, Depends(api_principal)]
PageUser = Annotated[Principal, Depends(page_principal)]
AdminUser = Annotated[Principal, Depends(admin_principal)]
State = Annotated[AppState, Depends(app_state)]
CsrfChecked = Depends(csrf_checked)
