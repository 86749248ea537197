"""With CSRF protection on, as in production, forms need their token."""
from __future__ import annotations

import re

import pytest

from incidents.auth import service as auth_service
from tests import factories


@pytest.fixture()
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def _token(html: str) -> str:
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                      r'name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1) or match.group(2)


def test_login_without_token_is_refused_with_a_400_page(client, users):
    response = client.post("/login", data={"email": users["dcc"].email, "password": factories.PASSWORD})
    assert response.status_code == 400
    assert "text/html" in response.content_type
    assert "The form expired or was sent from elsewhere" in response.text
    with client.session_transaction() as sess:
        assert "_user_id" not in sess


def test_login_with_a_wrong_token_is_refused(client, users):
    client.get("/login")
    response = client.post("/login", data={"email": users["dcc"].email, "password": factories.PASSWORD,
                                           "csrf_token": "forged"})
    assert response.status_code == 400


def test_login_with_the_page_token_works(client, users):
    token = _token(client.get("/login").text)
    response = client.post("/login", data={"email": users["dcc"].email, "password": factories.PASSWORD,
                                           "csrf_token": token})
    assert response.status_code == 302
    with client.session_transaction() as sess:
        key = sess["_user_id"]
    found = auth_service.load_session(key)
    assert found is not None and found.user_id == users["dcc"].id


def test_logout_needs_the_token(client, users):
    login_page = client.get("/login").text
    client.post("/login", data={"email": users["dcc"].email, "password": factories.PASSWORD,
                                "csrf_token": _token(login_page)})
    page = client.get("/rules")
    assert client.post("/logout").status_code == 400
    with client.session_transaction() as sess:
        assert "_user_id" in sess
    assert client.post("/logout", data={"csrf_token": _token(page.text)}).status_code == 302
    with client.session_transaction() as sess:
        assert "_user_id" not in sess
