"""The review app in real headless Chromium (Playwright) against uvicorn on a free loopback port."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator

import pytest
import redis
import uvicorn
from review_support import FLAGS, PASSWORD, TEST_REDIS

pytestmark = pytest.mark.browser

TRUE_NAME = "产业扶持专项资金"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture
def server(app) -> Iterator[str]:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", log_config=None)
    uv = uvicorn.Server(config)
    thread = threading.Thread(target=uv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not uv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    uv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[object]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def stream() -> Iterator[redis.Redis]:
    client = redis.Redis.from_url(TEST_REDIS)
    client.flushdb()
    yield client
    client.flushdb()


def open_logged_in(browser, server: str, name: str, path: str = "/queue"):
    page = browser.new_page(viewport={"width": 1500, "height": 950})
    page.goto(server + path)
    assert "/login" in page.url  # a logged-out browser is sent to the login page
    page.wait_for_function("document.activeElement.name === 'name'")  # autofocus on the name field
    page.keyboard.type(name)
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(server + path)
    return page


def test_review_with_keyboard_only_then_publish(browser, server, seed, settings, stream) -> None:
    doc = seed()
    page = open_logged_in(browser, server, "alice", f"/documents/{doc.document_id}")
    # Focus starts on the first open flag (项目名称); the page shows the shortcuts.
    assert page.evaluate("document.activeElement.dataset.pointer") == "/project/name"
    assert "Ctrl" in page.inner_text(".shortcuts")
    page.wait_for_selector("#hl", state="visible")  # the field's box is highlighted on the page image
    page.keyboard.press("Control+a")
    page.keyboard.type(TRUE_NAME)
    page.keyboard.press("Enter")  # save → next flag
    page.wait_for_function("document.activeElement.dataset.pointer === '/funding/annual/total'")
    page.keyboard.press("Enter")  # unchanged → confirmed → nothing open: focus on approve
    page.wait_for_function("document.activeElement.id === 'approve'")
    assert page.inner_text("#open-count") == "0"
    page.keyboard.press("Control+Enter")
    page.wait_for_url(f"{server}/queue?published={doc.document_id}")
    assert "已发布" in page.inner_text(".alert.ok")

    published = json.loads((settings.outbox / f"{doc.document_id}-v1.json").read_text(encoding="utf-8"))
    assert published["project"]["name"] == TRUE_NAME
    assert published["review"]["reviewed_by"] == ["alice"]
    assert published["review"]["corrected"] == ["/project/name"]
    assert set(published["review"]["flagged"]) >= set(FLAGS)
    entries = stream.xrange(settings.published_stream)
    assert len(entries) == 1
    entry = {k.decode(): v.decode() for k, v in entries[0][1].items()}
    assert doc.document_id in json.dumps(entry)


def test_approve_is_refused_while_a_flag_is_open_and_says_which(browser, server, seed) -> None:
    doc = seed()
    page = open_logged_in(browser, server, "alice", f"/documents/{doc.document_id}")
    page.keyboard.press("Control+Enter")
    page.wait_for_selector("#unconfirmed")
    text = page.inner_text("#unconfirmed")
    assert "/project/name" in text and "/funding/annual/total" in text


def test_ocr_text_with_markup_stays_inert(browser, server, seed) -> None:
    payload = '<script>alert("xss")</script><img src=x onerror="alert(1)">'
    doc = seed(extracted={"/project/name": payload, "/project/department": payload})
    page = open_logged_in(browser, server, "alice", f"/documents/{doc.document_id}")
    dialogs: list[str] = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.reload()
    page.goto(f"{server}/queue")
    page.wait_for_load_state("networkidle")
    assert dialogs == []
    assert payload in page.inner_text("table.grid")
    page.goto(f"{server}/documents/{doc.document_id}")
    assert payload in page.inner_text("h1")
    assert page.input_value("#flag-input-1") == payload
    assert dialogs == []


def test_a_form_post_without_the_csrf_token_is_refused(browser, server, seed) -> None:
    doc = seed()
    page = open_logged_in(browser, server, "alice", f"/documents/{doc.document_id}")
    page.wait_for_function("document.activeElement.id === 'flag-input-1'")
    page.evaluate("document.querySelectorAll('input[name=csrf_token]').forEach(e => e.remove())")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert "CSRF" in page.content()
    record = page.request.get(f"{server}/api/v1/documents/{doc.document_id}").json()
    assert record["record"]["review"]["corrected"] == []


def test_a_second_operator_sees_the_claim_and_can_take_over(browser, server, seed) -> None:
    doc = seed()
    open_logged_in(browser, server, "alice", f"/documents/{doc.document_id}")
    other = browser.new_context()
    bob = other.new_page()
    bob.goto(f"{server}/login")
    bob.fill("input[name=name]", "bob")
    bob.fill("input[name=password]", PASSWORD)
    bob.press("input[name=password]", "Enter")
    bob.wait_for_url(f"{server}/queue")
    bob.goto(f"{server}/documents/{doc.document_id}")
    banner = bob.inner_text(".claim-banner")
    assert "alice" in banner and "只读" in banner
    assert bob.is_disabled("#flag-input-1") and bob.is_disabled("#approve")
    bob.click("#take-over")
    bob.wait_for_load_state()
    assert bob.locator(".claim-banner").count() == 0
    assert bob.is_enabled("#flag-input-1")
    other.close()
