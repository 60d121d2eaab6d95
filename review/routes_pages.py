"""Server-rendered pages: login, the queue, the review page and its form posts (all CSRF-checked).

Every form post answers with a redirect (303) to the page to show next, so Enter in a field saves it
and lands on the next flag with nothing but the keyboard; a refused action re-renders with the reason.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import urlsplit

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from starlette.datastructures import URL

from declscan.models.record import Indicator, IndicatorValue
from declscan.pipeline.corrections import CorrectionError
from declscan.review import actions
from declscan.review.accounts import login
from declscan.review.claims import ClaimHeld, claim, live_claim
from declscan.review.deps import DB, ApiUser, CsrfChecked, PageUser, State, document_row, session_data
from declscan.review.page_context import document_context
from declscan.review.queue import STATE_LABELS, STATES, BadCursor, list_documents
from declscan.review.security import (
    SESSION_COOKIE,
    SESSION_MAX_AGE,
    SessionData,
    new_csrf_token,
    same_token,
)
from declscan.review.tables import UserRow

router = APIRouter(include_in_schema=False)
LOGIN_CSRF_COOKIE = "declscan_login_csrf"


@router.get("/", name="home")
def home(request: Request) -> RedirectResponse:
    return RedirectResponse(_relative(request.url_for("queue_page")), 303)


@router.get("/openapi.json", name="openapi")
def openapi(request: Request, who: ApiUser) -> JSONResponse:
    return JSONResponse(request.app.openapi())


@router.get("/docs", name="api_docs")
def api_docs(request: Request, who: PageUser) -> HTMLResponse:
    return get_swagger_ui_html(
        openapi_url=str(request.url_for("openapi")), title="declscan review API",
        swagger_js_url=str(request.url_for("swagger_ui", path="swagger-ui-bundle.js")),
        swagger_css_url=str(request.url_for("swagger_ui", path="swagger-ui.css")),
        swagger_favicon_url=str(request.url_for("swagger_ui", path="favicon-32x32.png")))


@router.get("/login", name="login_page", response_class=HTMLResponse)
def login_page(request: Request, state: State, next: str = "/queue") -> Response:
    return _login_form(request, state, next_url=next)


@router.post("/login")
def login_submit(request: Request, session: DB, state: State, name: Annotated[str, Form()],
                 password: Annotated[str, Form()], csrf_token: Annotated[str, Form()] = "",
                 next: Annotated[str, Form()] = "/queue") -> Response:
    if not same_token(request.cookies.get(LOGIN_CSRF_COOKIE, ""), csrf_token):
        raise HTTPException(403, "missing or wrong CSRF token")
    address = request.client.host if request.client else "unknown"
    result = login(session, name.strip(), password, address)
    session.commit()
    if result.principal is None:
        message = (f"登录尝试过多，请 {result.retry_after} 秒后再试" if result.retry_after
                   else "用户名或密码错误")
        status = 429 if result.retry_after else 401
        return _login_form(request, state, next_url=next, error=message, status=status, name=name)
    cookie = state.signer.dumps(SessionData(result.principal.user_id, result.epoch, new_csrf_token()))
    response = RedirectResponse(_local(next), 303)
    response.set_cookie(SESSION_COOKIE, cookie, max_age=SESSION_MAX_AGE, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https")
    response.delete_cookie(LOGIN_CSRF_COOKIE)
    return response


@router.post("/logout", dependencies=[CsrfChecked])
def logout(request: Request, session: DB, who: PageUser) -> RedirectResponse:
    user = session.get(UserRow, who.user_id)
    if user is not None:
        user.session_epoch += 1  # every session cookie of this user stops working, not just this one
        session.commit()
    response = RedirectResponse(_relative(request.url_for("login_page")), 303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/queue", name="queue_page", response_class=HTMLResponse)
def queue_page(request: Request, session: DB, who: PageUser, state: State, status: str = "awaiting_review",
               q: str = "", after: str | None = None, published: str | None = None) -> Response:
    if status not in (*STATES, "all"):
        status = "awaiting_review"
    try:
        page = list_documents(session, state=status, query=q, cursor=after)
    except BadCursor:
        page = list_documents(session, state=status, query=q)
    published_row = session.get(actions.DocumentRow, published) if published else None
    return state.templates.TemplateResponse(request, "queue.html", {
        "who": who, "csrf": _csrf(request), "page": page, "status": status, "q": q, "after": after,
        "states": (*STATES, "all"), "state_labels": STATE_LABELS, "published": published_row,
    })


@router.get("/documents/{document_id}", name="document_page", response_class=HTMLResponse)
def document_page(request: Request, document_id: str, session: DB, who: PageUser, state: State,
                  after: str | None = None, focus: str | None = None) -> Response:
    row = document_row(session, document_id)
    if row.state == actions.REVIEWABLE_STATE and row.document:
        try:  # opening a document claims it, or renews the caller's own claim
            claim(session, row.id, who.name, state.claim_ttl)
            session.commit()
        except (ClaimHeld, IntegrityError):
            session.rollback()
    return _render(request, session, row, who, state, after=after, focus=focus)


@router.post("/documents/{document_id}/fields", dependencies=[CsrfChecked])
def save_field(request: Request, document_id: str, session: DB, who: PageUser, state: State,
               pointer: Annotated[str, Form()], value: Annotated[str, Form()] = "") -> Response:
    row = document_row(session, document_id)
    return _act(request, session, row, who, state, pointer,
                lambda: actions.save_field(session, row, who, pointer, value, state.review))


@router.post("/documents/{document_id}/confirm", dependencies=[CsrfChecked])
def confirm_flag(request: Request, document_id: str, session: DB, who: PageUser, state: State,
                 pointer: Annotated[str, Form()]) -> Response:
    row = document_row(session, document_id)
    return _act(request, session, row, who, state, pointer,
                lambda: actions.confirm(session, row, who, [pointer], state.review))


@router.post("/documents/{document_id}/indicators", dependencies=[CsrfChecked])
def add_row(request: Request, document_id: str, session: DB, who: PageUser, state: State,
            period: Annotated[str, Form()], level1: Annotated[str, Form()] = "",
            level2: Annotated[str, Form()] = "", level3: Annotated[str, Form()] = "",
            value: Annotated[str, Form()] = "") -> Response:
    row = document_row(session, document_id)

    def add() -> None:
        try:
            raw = value.strip()
            indicator = Indicator(period=period, level1=level1.strip(), level2=level2.strip(),
                                  level3=level3.strip(), value=IndicatorValue(raw=raw) if raw else None)
        except ValidationError as exc:
            raise CorrectionError(f"期间无效: {exc.errors()[0]['msg']}") from None
        actions.add_indicator_row(session, row, who, indicator, state.review)

    return _act(request, session, row, who, state, "/indicators", add)


@router.post("/documents/{document_id}/indicators/{index}/remove", dependencies=[CsrfChecked])
def remove_row(request: Request, document_id: str, index: int, session: DB, who: PageUser,
               state: State) -> Response:
    row = document_row(session, document_id)
    return _act(request, session, row, who, state, "/indicators",
                lambda: actions.remove_indicator_row(session, row, who, index, state.review))


@router.post("/documents/{document_id}/take-over", dependencies=[CsrfChecked])
def take_over(request: Request, document_id: str, session: DB, who: PageUser, state: State) -> Response:
    row = document_row(session, document_id)
    holder = live_claim(session, row.id)
    claim(session, row.id, who.name, state.claim_ttl, take_over=True)
    if holder and holder.user_name != who.name:
        actions.audit(session, row, who, "take_over", f"from {holder.user_name}")
    session.commit()
    return RedirectResponse(_relative(request.url_for("document_page", document_id=row.id)), 303)


@router.post("/documents/{document_id}/approve", dependencies=[CsrfChecked])
def approve_document(request: Request, document_id: str, session: DB, who: PageUser,
                     state: State) -> Response:
    row = document_row(session, document_id)
    try:
        actions.approve(session, row, who, state.review, state.publish)
    except (actions.Unconfirmed, actions.PublishRefused) as exc:
        session.rollback()
        pointers = exc.pointers if isinstance(exc, actions.Unconfirmed) else exc.args[0]
        return _render(request, session, row, who, state, status=409, unconfirmed=pointers)
    except (ClaimHeld, actions.NotReviewable) as exc:
        session.rollback()
        return _render(request, session, row, who, state, status=409, error=_message(exc))
    target = request.url_for("queue_page").include_query_params(published=row.id)
    return RedirectResponse(_relative(target), 303)


def _act(request: Request, session: DB, row: actions.DocumentRow, who: PageUser, state: State,
         pointer: str, action: object) -> Response:
    """Run a write; on success go to the next flag after ``pointer``, else show why on the page."""
    try:
        action()  # type: ignore[operator]
        session.commit()
    except (CorrectionError, ClaimHeld, actions.NotReviewable, IntegrityError) as exc:
        session.rollback()
        status = 422 if isinstance(exc, CorrectionError) else 409
        return _render(request, session, row, who, state, status=status, error=_message(exc), focus=pointer)
    target = request.url_for("document_page", document_id=row.id).include_query_params(after=pointer)
    return RedirectResponse(_relative(target), 303)


def _render(request: Request, session: DB, row: actions.DocumentRow, who: PageUser, state: State, *,
            status: int = 200, after: str | None = None, focus: str | None = None, error: str | None = None,
            unconfirmed: list[str] | None = None) -> Response:
    context = document_context(session, row, who, after=after, focus=focus)
    context.update(who=who, csrf=_csrf(request), error=error, unconfirmed=unconfirmed or [])
    return state.templates.TemplateResponse(request, "document.html", context, status_code=status)


def _message(exc: Exception) -> str:
    if isinstance(exc, ClaimHeld):
        until = f"{exc.claim.expires_at:%H:%M} UTC"
        return f"文档已被 {exc.claim.user_name} 认领（至 {until}），可点击“接管”后编辑"
    if isinstance(exc, IntegrityError):
        return "另一位审核员同时修改了此文档，请重试"
    return str(exc)


def _login_form(request: Request, state: State, *, next_url: str, error: str | None = None,
                status: int = 200, name: str = "") -> Response:
    token = new_csrf_token()
    response = state.templates.TemplateResponse(
        request, "login.html", {"csrf": token, "next": _local(next_url), "error": error, "name": name},
        status_code=status)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https")
    return response


def _csrf(request: Request) -> str:
    data = session_data(request)
    return data.csrf if data else ""


def _relative(url: URL) -> str:
    """Path and query only: redirects stay right behind a proxy that rewrites the host."""
    return url.path + (f"?{url.query}" if url.query else "")


def _local(url: str) -> str:
    """Only a path on this site: a login link must not bounce the operator to another host."""
    parts = urlsplit(url)
    if parts.scheme or parts.netloc or not url.startswith("/") or url.startswith("//"):
        return "/queue"
    return url
