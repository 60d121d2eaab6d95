"""The review web app: ``create_app(settings)`` → FastAPI (server-rendered pages + ``/api/v1``)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Callable
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import redis
import swagger_ui_bundle
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import text
from sqlalchemy.orm import sessionmaker

from declscan.config.formdata import load_form_rules
from declscan.config.settings import Settings
from declscan.models.document import FormDocument
from declscan.pipeline.confidence import flag_low_confidence
from declscan.pipeline.validate import validate
from declscan.review import routes_api, routes_pages
from declscan.review.actions import ReviewContext
from declscan.review.claims import DEFAULT_CLAIM_TTL
from declscan.review.deps import AppState, LoginRequired
from declscan.review.images import PageCache
from declscan.review.security import SessionSigner, load_secret_key
from declscan.review.tables import create_review_tables
from declscan.workers.db import make_engine, make_sessionmaker
from declscan.workers.publisher import publish_document
from declscan.workers.store import DocumentStore

log = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent


def create_app(settings: Settings, *, sessions: sessionmaker | None = None,
               redis_client: redis.Redis | None = None, metrics_app: Any = None,
               claim_ttl: dt.timedelta = DEFAULT_CLAIM_TTL) -> FastAPI:
    """The review app over ``settings``' database, page store and Redis.

    ``sessions`` and ``redis_client`` default to ones made from ``settings``; ``metrics_app`` (an
    ASGI app such as prometheus_client's) is mounted at ``/metrics`` when given.
    """
    if sessions is None:
        sessions = make_sessionmaker(make_engine(settings.db_url))
    create_review_tables(sessions.kw["bind"])
    redis_client = redis_client or redis.Redis.from_url(settings.redis_url)
    # The API docs need a login like every other page: served by routes_pages, not FastAPI's defaults.
    app = FastAPI(title="declscan review", version="1", docs_url=None, redoc_url=None, openapi_url=None,
                  description="Review flagged declaration fields and publish records. Authenticate with "
                              "`Authorization: Bearer <token>` or a session cookie + `X-CSRF-Token` header.")
    app.state.review = AppState(
        settings=settings,
        sessions=sessions,
        signer=SessionSigner(load_secret_key(settings.secret_key, settings.data_dir)),
        pages=PageCache(DocumentStore(settings)),
        review=ReviewContext(revalidate=_revalidator(settings), claim_ttl=claim_ttl),
        publish=_publisher(settings, sessions, redis_client),
        templates=_templates(),
        claim_ttl=claim_ttl,
    )
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    # The API docs page must work offline: Swagger UI's assets come from a package, not a CDN.
    app.mount("/swagger-ui", StaticFiles(directory=swagger_ui_bundle.swagger_ui_path), name="swagger_ui")
    app.include_router(routes_api.router)
    app.include_router(routes_pages.router)
    if metrics_app is not None:
        app.mount("/metrics", metrics_app)

    @app.exception_handler(LoginRequired)
    async def to_login(request: Request, exc: LoginRequired) -> RedirectResponse:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse("/login?" + urlencode({"next": target}), 303)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> JSONResponse:
        try:
            with sessions() as session:
                session.execute(text("SELECT 1"))
        except Exception as exc:  # any failure means "not healthy", and says why
            return JSONResponse({"status": "error", "database": str(exc)[:200]}, status_code=503)
        return JSONResponse({"status": "ok"})

    return app


def _revalidator(settings: Settings) -> Callable[[FormDocument], FormDocument]:
    rules = load_form_rules()

    def revalidate(doc: FormDocument) -> FormDocument:
        return flag_low_confidence(validate(doc, rules=rules), threshold=settings.flag_threshold)

    return revalidate


def _publisher(settings: Settings, sessions: sessionmaker,
               redis_client: redis.Redis) -> Callable[[str], int | None]:
    publish = partial(publish_document, sessions=sessions, settings=settings, redis_client=redis_client)
    return lambda document_id: publish(document_id=document_id)


def _templates() -> Jinja2Templates:
    templates = Jinja2Templates(directory=HERE / "templates")
    # Autoescape is on for .html (Jinja2Templates' default); document text is never marked safe.
    templates.env.filters["percent"] = lambda value: f"{value * 100:.0f}%"
    # Plain text (escaped on output like any other text), unlike ``tojson`` which is for <script>.
    templates.env.filters["jsontext"] = lambda value: json.dumps(value, ensure_ascii=False)
    return templates
