"""The review app over HTTP (TestClient): auth, CSRF, claims, corrections, images, publishing."""

from __future__ import annotations

import json

import pytest
import redis
from fastapi.testclient import TestClient
from review_support import FLAGS, MISREAD_NAME, PASSWORD, TEST_REDIS, login
from sqlalchemy import select

from declscan.review.tables import LoginAttemptRow
from declscan.workers.db import DocumentRow

TRUE_NAME = "产业扶持专项资金"


def _token(app, user: str = "alice") -> str:
    admin = TestClient(app)
    csrf = login(admin, "root")
    response = admin.post("/api/v1/tokens", json={"user": user}, headers={"X-CSRF-Token": csrf})
    assert response.status_code == 201, response.text
    return response.json()["token"]


# --- access -------------------------------------------------------------------------------------

def test_healthz_is_open_and_everything_else_needs_a_login(app, seed) -> None:
    doc = seed()
    client = TestClient(app)
    assert client.get("/healthz").json() == {"status": "ok"}
    for url in ("/api/v1/documents", f"/api/v1/documents/{doc.document_id}", "/openapi.json",
                f"/api/v1/documents/{doc.document_id}/pages/1"):
        assert client.get(url).status_code == 401, url
    for url in ("/queue", f"/documents/{doc.document_id}", "/docs"):
        response = client.get(url, follow_redirects=False)
        assert response.status_code == 303 and response.headers["location"].startswith("/login?next="), url


def test_openapi_documents_the_api_for_a_logged_in_user(alice) -> None:
    client, _ = alice
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/api/v1/documents", "/api/v1/documents/{document_id}/corrections",
            "/api/v1/documents/{document_id}/approve"} <= paths.keys()
    docs = client.get("/docs").text
    assert "cdn." not in docs  # an archive's review machine may have no internet
    assert client.get("/swagger-ui/swagger-ui-bundle.js").status_code == 200


def test_bearer_tokens_wrong_and_revoked_are_refused(app, seed) -> None:
    seed()
    token = _token(app)
    client = TestClient(app)
    ok = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert ok.json() == {"name": "alice", "role": "operator", "via_token": True}
    assert client.get("/api/v1/me", headers={"Authorization": "Bearer dsk_wrong"}).status_code == 401
    admin = TestClient(app)
    csrf = login(admin, "root")
    token_id = admin.get("/api/v1/tokens").json()[-1]["id"]
    assert admin.delete(f"/api/v1/tokens/{token_id}", headers={"X-CSRF-Token": csrf}).status_code == 204
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"}).status_code == 401


def test_only_admins_manage_tokens(alice) -> None:
    client, csrf = alice
    assert client.get("/api/v1/tokens").status_code == 403
    made = client.post("/api/v1/tokens", json={"user": "alice"}, headers={"X-CSRF-Token": csrf})
    assert made.status_code == 403


def test_failed_logins_back_off_per_user_and_address(app, db) -> None:
    client = TestClient(app)
    client.get("/login")

    def attempt(password: str) -> int:
        # Like a browser: each answer's form carries a fresh token in its cookie.
        token = client.cookies.get("declscan_login_csrf")
        form = {"name": "alice", "password": password, "csrf_token": token}
        return client.post("/login", data=form, follow_redirects=False)

    statuses = [attempt("wrong").status_code for _ in range(4)]
    assert statuses == [401, 401, 429, 429]  # the third failure starts the wait
    stored = db.scalar(select(LoginAttemptRow))
    assert stored.failures == 3 and stored.locked_until is not None
    # While locked, even the right password is not checked.
    right = attempt(PASSWORD)
    assert right.status_code == 429 and "秒后再试" in right.text
    # Another user from the same address is not affected.
    assert login(TestClient(app), "bob")


def test_login_form_needs_its_csrf_token(app) -> None:
    client = TestClient(app)
    client.get("/login")
    assert client.post("/login", data={"name": "alice", "password": PASSWORD}).status_code == 403


def test_logout_ends_the_session(alice) -> None:
    client, csrf = alice
    cookie = client.cookies.get("declscan_session")
    assert client.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    client.cookies.set("declscan_session", cookie)  # a copied cookie is dead too
    assert client.get("/api/v1/me").status_code == 401


def test_session_cookie_is_httponly_and_lax(app) -> None:
    client = TestClient(app)
    client.get("/login")
    response = client.post("/login", data={"name": "alice", "password": PASSWORD,
                                           "csrf_token": client.cookies.get("declscan_login_csrf")},
                           follow_redirects=False)
    header = response.headers["set-cookie"].lower()
    assert "declscan_session=" in header and "httponly" in header and "samesite=lax" in header


# --- CSRF ---------------------------------------------------------------------------------------

def test_writes_with_a_session_need_the_csrf_token(alice, seed) -> None:
    client, csrf = alice
    doc = seed()
    url = f"/documents/{doc.document_id}/fields"
    form = {"pointer": "/project/name", "value": TRUE_NAME}
    assert client.post(url, data=form).status_code == 403
    assert client.post(url, data={**form, "csrf_token": "forged"}).status_code == 403
    api = f"/api/v1/documents/{doc.document_id}/corrections"
    body = [{"pointer": "/project/name", "value": TRUE_NAME}]
    assert client.post(api, json=body).status_code == 403
    assert client.post(api, json=body, headers={"X-CSRF-Token": csrf}).status_code == 200
    assert client.post(url, data={**form, "csrf_token": csrf}, follow_redirects=False).status_code == 303


# --- listing and records ------------------------------------------------------------------------

def test_queue_lists_oldest_first_with_flag_counts_filters_and_pages(alice, seed, db) -> None:
    client, _ = alice
    first, second = seed("first"), seed("second", flags={})
    failed = seed("failed", state="failed")
    db.get(DocumentRow, failed.document_id).error = "scan-7.pdf: not a PDF"
    db.commit()
    listed = client.get("/api/v1/documents").json()
    assert [item["id"] for item in listed["items"]] == [first.document_id, second.document_id]
    assert listed["items"][0]["open_flags"] == 2 and listed["items"][1]["flagged"] == 0
    page = client.get("/api/v1/documents", params={"limit": 1}).json()
    assert page["total"] == 2 and len(page["items"]) == 1
    rest = client.get("/api/v1/documents", params={"limit": 1, "after": page["next"]}).json()
    assert [item["id"] for item in rest["items"]] == [second.document_id] and rest["next"] is None
    failures = client.get("/api/v1/documents", params={"state": "failed"}).json()["items"]
    assert failures[0]["error"] == "scan-7.pdf: not a PDF"
    assert client.get("/api/v1/documents", params={"q": "经济运行", "state": "all"}).json()["total"] == 3
    assert client.get("/api/v1/documents", params={"q": "不存在"}).json()["total"] == 0
    assert client.get("/api/v1/documents", params={"after": "garbage"}).status_code == 422
    html = client.get("/queue", params={"status": "failed"}).text
    assert "scan-7.pdf: not a PDF" in html


def test_record_is_the_contract_shape_with_review_status(alice, seed) -> None:
    client, _ = alice
    doc = seed()
    body = client.get(f"/api/v1/documents/{doc.document_id}").json()
    record = body["record"]
    assert list(record) == ["schema_version", "document_id", "source", "form", "project", "funding", "goals",
                            "indicators", "signoff", "review", "provenance"]
    assert record["project"]["name"] == MISREAD_NAME
    assert record["review"]["flagged"] == list(FLAGS)
    assert body["open_flags"] == list(FLAGS)
    assert {issue["message"] for issue in body["issues"]} == set(FLAGS.values())


def test_page_images_and_crops_come_only_from_the_documents_own_pages(alice, seed) -> None:
    client, _ = alice
    doc = seed()
    page = client.get(f"/api/v1/documents/{doc.document_id}/pages/1")
    assert page.status_code == 200 and page.headers["content-type"] == "image/png"
    assert page.content.startswith(b"\x89PNG")
    crop = client.get(f"/api/v1/documents/{doc.document_id}/crop", params={"pointer": "/project/name"})
    assert crop.status_code == 200 and crop.content.startswith(b"\x89PNG")
    assert len(crop.content) < len(page.content)
    assert client.get(f"/api/v1/documents/{doc.document_id}/pages/{len(doc.pages)}").status_code == 200
    bad = [f"/api/v1/documents/{doc.document_id}/pages/{len(doc.pages) + 1}",
           f"/api/v1/documents/{doc.document_id}/pages/0",
           f"/api/v1/documents/{doc.document_id}/pages/-1",
           "/api/v1/documents/..%2F..%2F..%2Fetc%2Fpasswd/pages/1",
           "/api/v1/documents/%2e%2e/pages/1", f"/api/v1/documents/{doc.document_id[:-1]}X/pages/1",
           "/api/v1/documents/" + "a" * 64 + "/pages/1",
           f"/api/v1/documents/{doc.document_id}/crop?pointer=/project/overview/../../x",
           f"/api/v1/documents/{doc.document_id}/crop?pointer=/signoff/phone"]
    for url in bad:
        response = client.get(url)
        assert response.status_code in (404, 422), url
        assert not response.content.startswith(b"\x89PNG"), url


# --- review actions -----------------------------------------------------------------------------

def test_correcting_an_amount_renormalizes_it_and_is_audited(alice, seed) -> None:
    client, csrf = alice
    doc = seed()
    url = f"/api/v1/documents/{doc.document_id}"
    response = client.post(f"{url}/corrections", headers={"X-CSRF-Token": csrf},
                           json=[{"pointer": "/funding/annual/total", "value": "11350.5万元"}])
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["record"]["funding"]["annual"]["total"] == {"raw": "11350.5万元", "yuan": 113505000}
    assert body["record"]["review"]["corrected"] == ["/funding/annual/total"]
    assert body["record"]["provenance"]["/funding/annual/total"]["source"] == "operator"
    assert body["record"]["review"]["reviewed_by"] == ["alice"]
    audit = client.get(f"{url}/audit").json()
    assert audit[0]["actor"] == "alice" and audit[0]["action"] == "correct"
    assert audit[0]["old"] == {"raw": "11350万元", "yuan": 113500000}
    assert audit[0]["new"]["raw"] == "11350.5万元"
    bad = client.post(f"{url}/corrections", headers={"X-CSRF-Token": csrf},
                      json=[{"pointer": "/project/nope", "value": "x"}])
    assert bad.status_code == 422


def test_fixing_a_sum_clears_the_validation_flag(alice, seed, app) -> None:
    client, csrf = alice
    doc = seed(flags={}, extracted={"/funding/annual/fiscal": {"raw": "11850万元", "yuan": 118500000}})
    # Let the real validation raise its flags, as the pipeline would have.
    revalidated = app.state.review.review.revalidate(doc)
    assert revalidated.flagged, "the misread fiscal amount should break a funding rule"
    with app.state.review.sessions.begin() as session:
        row = session.get(DocumentRow, doc.document_id)
        row.document, row.flagged = revalidated.model_dump(mode="json"), revalidated.flagged
    url = f"/api/v1/documents/{doc.document_id}"
    body = client.post(f"{url}/corrections", headers={"X-CSRF-Token": csrf},
                       json=[{"pointer": "/funding/annual/fiscal", "value": "11350万元"}]).json()
    assert body["issues"] == [] and body["open_flags"] == []


def test_indicator_rows_can_be_added_and_removed(alice, seed) -> None:
    client, csrf = alice
    doc = seed()
    url = f"/api/v1/documents/{doc.document_id}"
    count = len(doc.declaration.indicators)
    added = client.post(f"{url}/indicators", headers={"X-CSRF-Token": csrf}, json={
        "period": "annual", "level1": "产出指标", "level2": "数量指标", "level3": "新增企业",
        "value": {"raw": "≥3户"}})
    assert added.status_code == 201, added.text
    row = added.json()["record"]["indicators"][-1]
    assert row["value"] == {"raw": "≥3户", "operator": ">=", "number": 3, "unit": "户"}
    removed = client.delete(f"{url}/indicators/0", headers={"X-CSRF-Token": csrf}).json()
    assert len(removed["record"]["indicators"]) == count
    assert removed["record"]["indicators"][0] == doc.declaration.model_dump(mode="json")["indicators"][1]
    assert client.delete(f"{url}/indicators/99", headers={"X-CSRF-Token": csrf}).status_code == 422


def test_another_operators_claim_blocks_writes_until_taken_over(alice, bob, seed) -> None:
    (a, a_csrf), (b, b_csrf) = alice, bob
    doc = seed()
    a.get(f"/documents/{doc.document_id}")  # opening the page claims it
    url = f"/api/v1/documents/{doc.document_id}"
    edit = [{"pointer": "/project/name", "value": TRUE_NAME}]
    refused = b.post(f"{url}/corrections", json=edit, headers={"X-CSRF-Token": b_csrf})
    assert refused.status_code == 409 and refused.json()["detail"]["claim"]["user"] == "alice"
    page = b.get(f"/documents/{doc.document_id}").text
    assert "alice" in page and "接管编辑" in page and "disabled" in page
    assert b.post(f"{url}/claim", json={}, headers={"X-CSRF-Token": b_csrf}).status_code == 409
    taken = b.post(f"{url}/claim", json={"take_over": True}, headers={"X-CSRF-Token": b_csrf})
    assert taken.status_code == 200 and taken.json()["user"] == "bob"
    assert b.post(f"{url}/corrections", json=edit, headers={"X-CSRF-Token": b_csrf}).status_code == 200
    assert a.post(f"{url}/corrections", json=edit, headers={"X-CSRF-Token": a_csrf}).status_code == 409
    assert [e["action"] for e in b.get(f"{url}/audit").json()][:2] == ["take_over", "correct"]


def test_documents_not_awaiting_review_are_read_only(alice, seed) -> None:
    client, csrf = alice
    doc = seed(state="published")
    response = client.post(f"/api/v1/documents/{doc.document_id}/corrections", headers={"X-CSRF-Token": csrf},
                           json=[{"pointer": "/project/name", "value": TRUE_NAME}])
    assert response.status_code == 409


def test_only_flagged_pointers_can_be_confirmed(alice, seed) -> None:
    client, csrf = alice
    doc = seed()
    url = f"/api/v1/documents/{doc.document_id}/confirmations"
    unflagged = client.post(url, json={"pointers": ["/project/period"]}, headers={"X-CSRF-Token": csrf})
    assert unflagged.status_code == 422
    ok = client.post(url, json={"pointers": ["/funding/annual/total"]}, headers={"X-CSRF-Token": csrf})
    assert ok.json()["open_flags"] == ["/project/name"]


def test_ocr_text_is_escaped_on_every_page(alice, seed) -> None:
    client, _ = alice
    payload = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    doc = seed(extracted={"/project/name": payload, "/project/department": payload})
    for url in ("/queue", f"/documents/{doc.document_id}"):
        html = client.get(url).text
        assert "<script>alert" not in html and "<img src=x" not in html, url
        assert "&lt;script&gt;alert(" in html, url


@pytest.mark.service
def test_approve_refuses_open_flags_then_publishes_to_outbox_and_stream(alice, seed, settings) -> None:
    stream = redis.Redis.from_url(TEST_REDIS)
    stream.flushdb()
    client, csrf = alice
    doc = seed()
    url = f"/api/v1/documents/{doc.document_id}"
    refused = client.post(f"{url}/approve", headers={"X-CSRF-Token": csrf})
    assert refused.status_code == 409 and refused.json()["detail"]["unconfirmed"] == list(FLAGS)
    client.post(f"{url}/corrections", headers={"X-CSRF-Token": csrf},
                json=[{"pointer": "/project/name", "value": TRUE_NAME}])
    client.post(f"{url}/confirmations", headers={"X-CSRF-Token": csrf},
                json={"pointers": ["/funding/annual/total"]})
    approved = client.post(f"{url}/approve", headers={"X-CSRF-Token": csrf})
    assert approved.status_code == 200, approved.text
    assert approved.json()["published_version"] == 1
    published = json.loads((settings.outbox / f"{doc.document_id}-v1.json").read_text(encoding="utf-8"))
    assert published["project"]["name"] == TRUE_NAME
    assert published["review"]["corrected"] == ["/project/name"]
    assert published["review"]["reviewed_by"] == ["alice"]
    entries = stream.xrange(settings.published_stream)
    assert len(entries) == 1
    assert client.get(url).json()["state"] == "published"
    stream.flushdb()
