"""Review-app fixtures and benchmark (``make bench-web``).

``review_document`` turns a dev-set ground truth into a FormDocument as the pipeline would leave it
awaiting review (page images rendered by ``declscan.devkit.draw``, provenance boxes from the same
geometry, chosen fields flagged); ``seed_document`` puts it into the database and the page store.
The benchmark measures the server time of the review page (30 flagged fields) and of the queue page
(10 000 documents in the database): p50/p95 over 50 requests each, target ≤ 300 ms p95.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import statistics
import tempfile
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from PIL import Image
from sqlalchemy import insert
from sqlalchemy.orm import Session

from declscan.devkit.draw import PageLayout, paginate, render_page
from declscan.devkit.fixtures import load_ground_truth
from declscan.devkit.layout import layout_form
from declscan.models.document import FormDocument, Issue, PageInfo
from declscan.models.record import Declaration, GroundTruth, Provenance, Source
from declscan.workers.db import DocumentRow
from declscan.workers.store import DocumentStore

SEED_CONFIDENCE = 0.97
FLAGGED_CONFIDENCE = 0.42
TARGET_P95_MS = 300.0
_PRINTED: dict[tuple[str, int], tuple[list[PageLayout], list[Image.Image]]] = {}


def document_id_for(name: str) -> str:
    """A stable 64-hex document id for a fixture name."""
    return hashlib.sha256(name.encode()).hexdigest()


def review_document(
    truth: GroundTruth, *, document_id: str, flags: Mapping[str, str],
    extracted: Mapping[str, Any] | None = None, dpi: int = 100,
) -> tuple[FormDocument, list[Image.Image]]:
    """The form as printed (page images) and as "extracted": ``extracted`` overrides leaf values of
    the declaration (``{"/project/name": "misread"}``) to stand for OCR errors; every pointer in
    ``flags`` gets low confidence and an issue with that message."""
    pages, images = _printed(truth, dpi)
    provenance: dict[str, Provenance] = {}
    for page in pages:
        placed = [(cell.cell.pointer, cell.bbox) for cell in page.cells]
        placed += [(text.pointer, text.bbox) for text in page.free_text]
        for pointer, bbox in placed:
            if pointer and pointer not in provenance:
                confidence = FLAGGED_CONFIDENCE if pointer in flags else SEED_CONFIDENCE
                provenance[pointer] = Provenance(page=page.page, bbox=bbox.as_list(), confidence=confidence)
    data = truth.model_dump(mode="json", exclude={"schema_version", "document_id"})
    for pointer, value in (extracted or {}).items():
        parts = pointer.strip("/").split("/")
        node: Any = data
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node[part]
        node[int(parts[-1]) if isinstance(node, list) else parts[-1]] = value
    issues = tuple(Issue(pointer=pointer, code="validation.seeded", message=message)
                   for pointer, message in flags.items())
    doc = FormDocument(
        document_id=document_id,
        source=Source(filename=f"{truth.document_id}.png", sha256=document_id, pages=len(pages),
                      received_at="2024-01-26T09:00:00Z"),
        pages=tuple(PageInfo(number=p.page, width=p.width, height=p.height, dpi=p.dpi) for p in pages),
        declaration=Declaration.model_validate(data),
        provenance=provenance,
        issues=issues,
    )
    return doc, images


def _printed(truth: GroundTruth, dpi: int) -> tuple[list[PageLayout], list[Image.Image]]:
    """Page geometry and clean images of a form; cached, as laying out a form measures every glyph."""
    key = (truth.model_dump_json(), dpi)
    if key not in _PRINTED:
        pages = paginate(layout_form(truth), dpi=dpi)
        _PRINTED[key] = (pages, [render_page(page) for page in pages])
    return _PRINTED[key]


def seed_document(session: Session, store: DocumentStore, doc: FormDocument, images: Sequence[Image.Image],
                  *, state: str = "awaiting_review", received_at: dt.datetime | None = None) -> DocumentRow:
    """Write the page PNGs where ``store.page_path`` points and the row as the pipeline leaves it."""
    for number, image in enumerate(images, start=1):
        path = store.page_path(doc.document_id, number)
        path.parent.mkdir(parents=True, exist_ok=True)
        image.save(path, format="PNG")
    declaration = doc.declaration or Declaration()
    row = DocumentRow(
        id=doc.document_id, filename=doc.source.filename, stored_path="", state=state, pages=len(images),
        document=doc.model_dump(mode="json"), flagged=doc.flagged, project_name=declaration.project.name,
        department=declaration.project.department,
        received_at=received_at or dt.datetime.now(dt.UTC),
    )
    session.add(row)
    session.flush()
    return row


def many_flags(doc: FormDocument, count: int) -> dict[str, str]:
    """``count`` pointers of ``doc`` that have page evidence, each with a reason."""
    pointers = sorted(doc.provenance)[:count]
    return {pointer: f"识别置信度低，请核对（{i + 1}）" for i, pointer in enumerate(pointers)}


def bulk_documents(session: Session, template: FormDocument, count: int) -> None:
    """``count`` light rows (same document JSON) for the queue benchmark, in one INSERT."""
    start = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
    payload = template.model_dump(mode="json")
    rows = [{
        "id": document_id_for(f"bulk-{n}"), "filename": f"scan-{n:05d}.pdf", "stored_path": "",
        "state": "awaiting_review" if n % 5 else "published", "pages": 1, "document": payload,
        "flagged": template.flagged, "corrected": [], "confirmed": [], "reviewed_by": [],
        "project_name": f"项目 {n:05d}", "department": f"部门 {n % 37}",
        "received_at": start + dt.timedelta(minutes=n), "updated_at": start,
        "attempts": 0, "published_version": 0,
    } for n in range(count)]
    session.execute(insert(DocumentRow), rows)


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(int(len(ordered) * 0.95) - 1, 0)]


SCREENSHOT_FLAGS = {
    "/project/name": "识别置信度 0.42 低于阈值 0.90，请核对",
    "/funding/annual/total": "年度资金总额与各来源之和不一致（11350万元 ≠ 11850万元）",
    "/funding/annual/fiscal": "识别置信度 0.42 低于阈值 0.90，请核对",
    "/indicators/0/value": "指标值无法解析为“比较符 + 数值 + 单位”",
}
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def take_screenshot(path: Path) -> None:
    """A screenshot of the review page (a dev-set form with four flags) as an operator sees it."""
    import threading

    import uvicorn
    from playwright.sync_api import sync_playwright

    from declscan.config.settings import Settings
    from declscan.review.accounts import add_user
    from declscan.review.app import create_app

    truth = load_ground_truth()["form-01"]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), secret_key="screenshot")
        app = create_app(settings)
        doc, images = review_document(
            truth, document_id=document_id_for("screenshot"), flags=SCREENSHOT_FLAGS, dpi=150,
            extracted={"/project/name": "产业扶特专项资金",
                       "/funding/annual/fiscal": {"raw": "11850万元", "yuan": 118500000}})
        with app.state.review.sessions.begin() as session:
            add_user(session, "张敏", "operator", "screenshot-password")
            seed_document(session, DocumentStore(settings), doc, images)
        server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.05)
        port = server.servers[0].sockets[0].getsockname()[1]
        base = f"http://127.0.0.1:{port}"
        try:
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                            args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1600, "height": 1000})
                page.goto(f"{base}/login?next=/documents/{doc.document_id}")
                page.fill("input[name=name]", "张敏")
                page.fill("input[name=password]", "screenshot-password")
                page.press("input[name=password]", "Enter")
                page.wait_for_selector("#hl", state="visible")
                page.wait_for_timeout(400)  # the highlight's transition
                page.screenshot(path=str(path))
                browser.close()
        finally:
            server.should_exit = True
            thread.join(timeout=10)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=50)
    parser.add_argument("--documents", type=int, default=10_000)
    parser.add_argument("--flags", type=int, default=30)
    parser.add_argument("--screenshot", type=Path, help="only save a screenshot of the review page here")
    args = parser.parse_args(argv)
    if args.screenshot:
        take_screenshot(args.screenshot)
        print(f"saved {args.screenshot}")
        return 0

    from fastapi.testclient import TestClient

    from declscan.config.settings import Settings
    from declscan.review.accounts import add_user
    from declscan.review.app import create_app

    truth = load_ground_truth()["form-01"]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(data_dir=Path(tmp), secret_key="bench")
        app = create_app(settings)
        sessions = app.state.review.sessions
        store = DocumentStore(settings)
        plain, _ = review_document(truth, document_id=document_id_for("plain"), flags={})
        flagged_id = document_id_for("bench-30-flags")
        doc, images = review_document(truth, document_id=flagged_id, flags=many_flags(plain, args.flags))
        with sessions.begin() as session:
            add_user(session, "bench", "operator", "bench-password")
            bulk_documents(session, doc, args.documents)
            seed_document(session, store, doc, images)
        client = TestClient(app)
        client.post("/login", data={"name": "bench", "password": "bench-password",
                                    "csrf_token": _login_csrf(client)})
        targets = {f"review page ({len(doc.flagged)} flagged fields)": f"/documents/{flagged_id}",
                   f"queue page ({args.documents} documents)": "/queue",
                   "queue page, search": "/queue?q=部门%2011&status=all"}
        failed = False
        for label, url in targets.items():
            samples = []
            for _ in range(args.requests):
                began = time.perf_counter()
                response = client.get(url)
                samples.append((time.perf_counter() - began) * 1000)
                assert response.status_code == 200, (url, response.status_code)
            p50, p95 = _percentiles(samples)
            verdict = "ok" if p95 <= TARGET_P95_MS else "SLOW"
            failed |= p95 > TARGET_P95_MS
            print(f"{label:<40} p50 {p50:7.1f} ms   p95 {p95:7.1f} ms   "
                  f"[{verdict}, target ≤ {TARGET_P95_MS:.0f}]")
    return 1 if failed else 0


def _login_csrf(client: Any) -> str:
    client.get("/login")
    return client.cookies.get("declscan_login_csrf")


if __name__ == "__main__":
    raise SystemExit(main())
