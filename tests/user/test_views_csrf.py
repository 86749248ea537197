"""With CSRF protection on, every admin form carries its token and needs it."""
from __future__ import annotations

import re

import pytest

from incidents.extensions import db
from incidents.user import service as user_service
from incidents.user.models import User
from tests import factories


@pytest.fixture()
def app_config():
    return {"WTF_CSRF_ENABLED": True}


def _token(html: str) -> str:
    match = re.search(r'name="[\w-]*csrf_token"[^>]*value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1)


@pytest.fixture()
def admin(client, users):
    """Log in as the administrator through the real, protected form."""
    token = _token(client.get("/login").text)
    client.post("/login", data={"email": users["admin"].email, "password": factories.PASSWORD,
                                "csrf_token": token})
    return users["admin"]


@pytest.mark.parametrize("path", ["/admin/users/new", "/admin/users/{id}"])
def test_every_form_on_admin_pages_has_a_csrf_token(client, admin, users, path):
    html = client.get(path.format(id=users["dcc"].id)).text
    forms = re.findall(r"<form\b.*?</form>", html, re.DOTALL)
    assert len(forms) >= 2
    for form in forms:
        assert re.search(r'name="[\w-]*csrf_token"', form), form


def test_admin_post_without_token_changes_nothing(client, admin, users):
    dcc = users["dcc"]
    for action, data in [("deactivate", {}), ("role", {"role-role": "admin"}), ("tokens", {}),
                         ("name", {"name-name": "Forged"})]:
        response = client.post(f"/admin/users/{dcc.id}/{action}", data=data)
        assert response.status_code == 400, action
        assert "The form expired or was sent from elsewhere" in response.text
    db.session.expire_all()
    dcc = db.session.get(User, dcc.id)
    assert (dcc.is_active, dcc.role.value, dcc.name, len(dcc.tokens)) == (True, "dcc", "DCC", 0)


def test_admin_post_with_the_page_token_works(client, admin, users):
    dcc = users["dcc"]
    page = client.get(f"/admin/users/{dcc.id}").text
    response = client.post(f"/admin/users/{dcc.id}/name", data={"name-name": "Dana", "name-csrf_token": _token(page)})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, dcc.id).name == "Dana"
    response = client.post("/admin/users/new", data={
        "email": "csrf@example.org", "role": "party", "password": "long-enough-password",
        "csrf_token": _token(client.get("/admin/users/new").text)})
    assert response.status_code == 302
    assert user_service.find_by_email("csrf@example.org") is not None
