"""Shared by the review tests: accounts' password, the seeded flags, logging a TestClient in."""

from __future__ import annotations

from fastapi.testclient import TestClient

PASSWORD = "correct horse battery"
TEST_REDIS = "redis://127.0.0.1:6379/7"
# The two flags every review test starts from: a misread name, and a total that is right but unsure.
MISREAD_NAME = "产业扶特专项资金"
FLAGS = {"/project/name": "项目名称识别置信度低，请核对",
         "/funding/annual/total": "资金总额识别置信度低，请核对"}


def login(client: TestClient, name: str, password: str = PASSWORD) -> str:
    """Log ``client`` in; returns the session's CSRF token."""
    client.get("/login")
    response = client.post("/login", data={"name": name, "password": password,
                                           "csrf_token": client.cookies.get("declscan_login_csrf")},
                           follow_redirects=False)
    assert response.status_code == 303, response.text
    page = client.get("/queue")
    marker = 'name="csrf_token" value="'
    start = page.text.index(marker) + len(marker)
    return page.text[start:page.text.index('"', start)]
