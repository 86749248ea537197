"""Logging in and out, the login requirement, redirects after login, and ending sessions."""
from __future__ import annotations

import hashlib
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa

from incidents.auth import service as auth_service
from incidents.auth.models import LoginSession
from incidents.extensions import db
from incidents.user import service as user_service
from tests import factories

FAILED = "Email or password is not right, or the account is deactivated."


def _logged_in_as(client):
    """Return the login session key Flask-Login keeps in the client's cookie, or None."""
    with client.session_transaction() as sess:
        return sess.get("_user_id")


def _session_user_id(client):
    """Return the id of the user whose live login session the client's cookie names, or None."""
    found = auth_service.load_session(_logged_in_as(client))
    return found.user_id if found else None


def test_login_with_right_password_logs_in(client, auth, users):
    dcc = users["dcc"]
    response = auth.login(dcc)
    assert response.status_code == 302
    assert response.location == "/"
    assert _session_user_id(client) == dcc.id
    page = client.get("/rules")
    assert page.status_code == 200
    assert dcc.display_name in page.text


def test_login_email_is_case_insensitive(client, users):
    dcc = users["dcc"]
    response = client.post("/login", data={"email": dcc.email.upper(), "password": factories.PASSWORD})
    assert response.status_code == 302
    assert _logged_in_as(client) is not None


@pytest.mark.parametrize("which", ["wrong password", "unknown email"])
def test_failed_login_says_so_without_saying_which_part_was_wrong(client, users, which):
    email = users["dcc"].email if which == "wrong password" else "nobody@example.org"
    password = "not-the-password" if which == "wrong password" else factories.PASSWORD
    response = client.post("/login", data={"email": email, "password": password})
    assert response.status_code == 200
    assert FAILED in response.text
    assert "unknown" not in response.text.lower()
    assert "no user" not in response.text.lower()
    assert _logged_in_as(client) is None


def test_empty_login_form_asks_for_both_fields(client):
    response = client.post("/login", data={"email": "", "password": ""})
    assert response.status_code == 200
    assert "Enter your email address." in response.text
    assert "Enter your password." in response.text
    assert _logged_in_as(client) is None


def test_deactivated_user_cannot_log_in(client, auth, users):
    user_service.set_active(user=users["opsg"], active=False, actor=users["admin"])
    db.session.commit()
    response = auth.login(users["opsg"])
    assert response.status_code == 200
    assert FAILED in response.text
    assert _logged_in_as(client) is None


@pytest.mark.parametrize("path", ["/", "/rules", "/incidents/", "/admin/users/", "/admin/users/1"])
def test_pages_require_login(client, path):
    response = client.get(path + "?page=2")
    assert response.status_code == 302
    parts = urlsplit(response.location)
    assert parts.path == "/login"
    assert parse_qs(parts.query)["next"] == [path + "?page=2"]


def test_login_follows_next_to_a_local_path(client, users):
    response = client.post("/login?next=/rules%3Fx%3D1",
                           data={"email": users["secas"].email, "password": factories.PASSWORD})
    assert response.status_code == 302
    assert response.location == "/rules?x=1"


def test_login_page_form_keeps_next(client):
    # The form posts back to the same URL, so the next parameter survives the POST.
    page = client.get("/login?next=/rules")
    assert "<form method=\"post\" novalidate>" in page.text


@pytest.mark.parametrize("target", [
    "//evil.example",
    "//evil.example/rules",
    "///evil.example",
    "https://evil.example",
    "https://evil.example/rules",
    "http:evil.example",
    "/\\evil.example",
    "\\\\evil.example",
    "/\t/evil.example",
    "/\r\n/evil.example",
    "javascript:alert(1)",
    "evil.example",
])
def test_login_ignores_next_that_leaves_the_site(client, users, target):
    response = client.post("/login", query_string={"next": target},
                           data={"email": users["dcc"].email, "password": factories.PASSWORD})
    assert response.status_code == 302
    assert response.location == "/"


def test_logged_in_user_visiting_login_goes_home(client, auth, users):
    auth.login(users["dcc"])
    response = client.get("/login")
    assert response.status_code == 302
    assert response.location == "/"


def test_logout_is_post_only(client, auth, users):
    auth.login(users["dcc"])
    assert client.get("/logout").status_code == 405
    assert _logged_in_as(client) is not None
    response = auth.logout()
    assert response.status_code == 302
    assert response.location == "/login"
    assert _logged_in_as(client) is None
    assert client.get("/rules").status_code == 302
    assert "You are logged out." in client.get("/login").text


def test_the_cookie_names_a_random_session_kept_hashed_on_the_server(client, auth, users):
    party = users["party"]
    auth.login(party)
    first = _logged_in_as(client)
    assert len(first) >= 40 and str(party.id) != first
    stored = db.session.scalar(sa.select(LoginSession.key_hash))
    assert stored == hashlib.sha256(first.encode()).hexdigest()
    assert first not in stored
    # Each login gets a key of its own.
    auth.logout()
    auth.login(party)
    assert _logged_in_as(client) not in (None, first)


def test_password_reset_ends_existing_sessions(client, auth, users):
    party = users["party"]
    auth.login(party)
    assert client.get("/rules").status_code == 200

    user_service.reset_password(user=party, password="a-brand-new-password", actor=users["admin"])
    db.session.commit()

    response = client.get("/rules")
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/login"
    # The new password works; the old one does not.
    assert FAILED in client.post("/login", data={"email": party.email, "password": factories.PASSWORD}).text
    assert client.post("/login", data={"email": party.email, "password": "a-brand-new-password"}).status_code == 302
    assert client.get("/rules").status_code == 200


def test_deactivation_ends_existing_sessions(client, auth, users):
    secas = users["secas"]
    auth.login(secas)
    assert client.get("/rules").status_code == 200

    user_service.set_active(user=secas, active=False, actor=users["admin"])
    db.session.commit()

    assert client.get("/rules").status_code == 302
    # Reactivating does not bring the old session back: it is gone from the server.
    user_service.set_active(user=secas, active=True, actor=users["admin"])
    db.session.commit()
    assert client.get("/rules").status_code == 302


@pytest.mark.parametrize("forged", ["{id}:1", "{id}", "x" * 43, "", "\x00", "k" * 5000])
def test_a_cookie_naming_no_live_session_is_refused(client, users, forged):
    # Even signed with the right key (a leaked key, or the old id-and-version cookies), a cookie opens nothing
    # unless it names a live session on the server.
    with client.session_transaction() as sess:
        sess["_user_id"] = forged.format(id=users["admin"].id)
        sess["_fresh"] = True
    response = client.get("/admin/users/")
    assert response.status_code == 302
    assert urlsplit(response.location).path == "/login"


def test_home_sends_parties_to_their_page(client, auth, users):
    auth.login(users["party"])
    response = client.get("/")
    assert response.status_code == 200
    assert "Welcome" in response.text
