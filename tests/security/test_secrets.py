"""No password or API token is ever stored as typed or issued, whichever way it came in.

Covered elsewhere, not repeated here:
- scrypt is the default password hash, and production uses it:
  tests/auth/test_passwords.py::test_scrypt_is_the_default_method (and hashes are salted per user,
  ::test_same_password_hashes_differently_per_user);
- revoked tokens and tokens of deactivated users are refused with 401:
  tests/api/test_auth.py::test_revoked_token_and_deactivated_user_are_401,
  tests/user/test_views.py::test_token_issued_in_the_ui_is_shown_once_works_and_stops_after_revoke,
  tests/user/test_cli.py::test_revoke_tokens;
- there is no built-in secret key: tests/test_config.py::test_without_a_secret_key_a_random_one_is_written_owner_only_and_reused,
  ::test_a_session_forged_with_the_old_constant_key_is_refused.
"""
from __future__ import annotations

import re
from collections.abc import Callable

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from incidents.extensions import db
from incidents.user import service as user_service
from incidents.user.models import User
from tests.security.support import Demo

CLI_PASSWORD = "typed-at-the-cli-1"
FORM_PASSWORD = "typed-in-the-form-2"
RESET_PASSWORD = "typed-at-reset-3"


def database_text() -> str:
    """Return every value of every row of every table, as one text to search."""
    parts = []
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            for row in conn.execute(sa.select(table)):
                parts.extend(repr(value) for value in row)
    return "\n".join(parts)


def _user(email: str) -> User:
    db.session.expire_all()
    user = db.session.scalar(sa.select(User).where(User.email == email))
    assert user is not None
    return user


def test_no_password_or_api_token_is_stored_in_clear(
        app: Flask, demo: Demo, make_client: Callable[[str], FlaskClient]) -> None:
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create", "cli@example.org", "--role", "opsg"], input=CLI_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    cli_token = runner.invoke(args=["users", "token", "cli@example.org"]).output.strip().splitlines()[-1]

    admin = make_client("admin")
    created = admin.post("/admin/users/new", data={"email": "form@example.org", "name": "Form", "role": "secas",
                                                  "password": FORM_PASSWORD})
    assert created.status_code == 302, created.status_code
    target = _user("form@example.org")
    assert admin.post(f"/admin/users/{target.id}/password", data={"password-password": RESET_PASSWORD}
                      ).status_code == 302
    admin.post(f"/admin/users/{target.id}/tokens")
    page = admin.get(f"/admin/users/{target.id}").text
    ui_token = re.search(r"inc_[A-Za-z0-9_-]{20,}", page)
    assert ui_token, "the issued token is shown once on the user page"

    service_token = user_service.issue_token(user=_user(demo.emails["dcc"]))
    db.session.commit()

    tokens = {"CLI": cli_token, "UI": ui_token.group(0), "service": service_token}
    for how, token in tokens.items():
        assert token.startswith("inc_") and len(token) >= 40, how
        assert user_service.user_for_token(token) is not None, how
    text = database_text()
    for how, token in tokens.items():
        # The first characters are kept, on purpose, to tell tokens apart; the rest never.
        assert token[10:] not in text, f"the {how} token is stored in clear"
    for password in (CLI_PASSWORD, FORM_PASSWORD, RESET_PASSWORD, "demo-password"):
        assert password not in text, f"password {password!r} is stored in clear"
    assert user_service.authenticate("form@example.org", RESET_PASSWORD) is not None


def test_a_leaked_hash_is_not_a_token(app: Flask, demo: Demo) -> None:
    user = _user(demo.emails["secas"])
    token = user_service.issue_token(user=user)
    db.session.commit()
    stored = db.session.scalar(sa.text("SELECT token_hash FROM api_token"))
    assert stored and stored != token
    assert user_service.user_for_token(stored) is None
    assert user_service.user_for_token(token) == user


def _cookie(client: FlaskClient) -> str:
    """Return the session cookie as sent and as read (what it carries), as one text to search."""
    cookie = client.get_cookie("session")
    with client.session_transaction() as sess:
        return f"{cookie.value if cookie else ''}\n{dict(sess)!r}"


def test_a_new_api_token_is_shown_once_from_the_server_never_from_the_cookie(
        app: Flask, demo: Demo, make_client: Callable[[str], FlaskClient]) -> None:
    admin = make_client("admin")
    second_admin_browser = make_client("admin")
    response = admin.post(f"/admin/users/{demo.target_user_id}/tokens")
    assert response.status_code == 302
    cookie, stored = _cookie(admin), database_text()

    # Another session of the same administrator does not get it; the one that asked does, once.
    assert not re.search(r"inc_[A-Za-z0-9_-]{20,}", second_admin_browser.get(response.location).text)
    shown = re.search(r"inc_[A-Za-z0-9_-]{20,}", admin.get(response.location).text)
    assert shown, "the issued token is shown on the next user page"
    token = shown.group(0)
    assert not re.search(r"inc_[A-Za-z0-9_-]{20,}", admin.get(response.location).text)
    assert user_service.user_for_token(token) is not None
    for where, text in {"cookie": cookie, "database while waiting": stored, "cookie after": _cookie(admin),
                        "database after": database_text()}.items():
        assert token[10:] not in text, f"the token is in the {where}"


def test_a_new_calendar_link_is_shown_once_from_the_server_never_from_the_cookie(
        app: Flask, demo: Demo, make_client: Callable[[str], FlaskClient]) -> None:
    party = make_client("party")
    response = party.post("/calendar/token")
    assert response.status_code == 302
    cookie, stored = _cookie(party), database_text()
    shown = re.search(r"/calendar/([A-Za-z0-9_-]{40,})\.ics", party.get("/calendar").text)
    assert shown, "the new link is shown on the calendar page"
    token = shown.group(1)
    assert token not in party.get("/calendar").text  # shown once
    assert party.get(f"/calendar/{token}.ics").status_code == 200
    for where, text in {"cookie": cookie, "database while waiting": stored, "cookie after": _cookie(party),
                        "database after": database_text()}.items():
        assert token not in text, f"the link is in the {where}"
