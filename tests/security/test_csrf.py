"""CSRF protection on every form that changes something, with protection on as in production.

The form routes are read from the URL map (every rule outside /api/ that
takes POST), so a new form is covered without touching this file. The JSON
API is exempt from CSRF because no cookie ever authenticates it: a bearer
token is not sent by a browser on its own.
"""
from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from incidents.demo import service as demo_service
from tests.security.support import Demo, fingerprint, login

CSRF_MESSAGE = "The form expired or was sent from elsewhere"
CHANGES = {"POST", "PUT", "PATCH", "DELETE"}


@pytest.fixture()
def app_config() -> dict[str, Any]:
    """Protection on, as in production."""
    return {"WTF_CSRF_ENABLED": True}


def page_token(html: str) -> str:
    """Return the CSRF token of the first form in a page."""
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"|name="csrf_token" value="([^"]+)"', html)
    assert match, "no CSRF token in the page"
    return match.group(1) or match.group(2)


def _form_rules(app: Flask) -> list[Rule]:
    rules = [rule for rule in app.url_map.iter_rules()
             if "POST" in (rule.methods or set()) and not rule.rule.startswith("/api/")]
    # Logging out last, so the session lasts through the other requests.
    return sorted(rules, key=lambda rule: (rule.endpoint == "auth.logout", rule.endpoint))


@pytest.fixture()
def admin_client(app: Flask, demo: Demo, make_client: Callable[[str], FlaskClient]) -> tuple[FlaskClient, str]:
    """An administrator (who may make every change) logged in with the login page's token, and that token."""
    client = make_client("anon")
    token = page_token(client.get("/login").text)
    login(client, demo.emails["admin"], demo_service.DEMO_PASSWORD, csrf_token=token)
    return client, page_token(client.get("/rules").text)


def test_the_form_routes_are_found(app: Flask) -> None:
    endpoints = {rule.endpoint for rule in _form_rules(app)}
    assert {"auth.login", "auth.logout", "incident.create", "review.publish", "user.issue_token",
            "report.autosave", "meeting.schedule", "reminder.calendar_token"} <= endpoints


def test_every_form_post_without_a_token_is_refused_and_changes_nothing(
        app: Flask, demo: Demo, admin_client: tuple[FlaskClient, str]) -> None:
    client, _ = admin_client
    before = fingerprint()
    wrong = []
    for rule in _form_rules(app):
        url = demo.url(app, rule, "POST")
        for label, data in (("no token", {}), ("a forged token", {"csrf_token": "forged"})):
            response = client.post(url, data=data, buffered=True)
            if response.status_code != 400 or CSRF_MESSAGE not in response.text:
                wrong.append(f"POST {url} ({rule.endpoint}) with {label}: {response.status_code}")
            elif rule.endpoint != "report.autosave" and response.mimetype != "text/html":
                wrong.append(f"POST {url} ({rule.endpoint}): the refusal is {response.mimetype}, not a page")
    assert not wrong, "Forms accepted without a valid CSRF token:\n" + "\n".join(wrong)
    assert fingerprint() == before, "a refused form changed the database"
    # Still logged in: the refused logout did not log out.
    assert client.get("/admin/users/").status_code == 200


def test_every_form_post_with_the_token_gets_past_the_check(
        app: Flask, demo: Demo, admin_client: tuple[FlaskClient, str], no_pdf_drawing: list[str]) -> None:
    # The control for the test above: the same requests with the page's token are not refused as forged.
    client, token = admin_client
    wrong = []
    for rule in _form_rules(app):
        url = demo.url(app, rule, "POST")
        response = client.post(url, data={"csrf_token": token}, buffered=True)
        if response.status_code == 400 or CSRF_MESSAGE in response.text:
            wrong.append(f"POST {url} ({rule.endpoint}): {response.status_code}")
    assert not wrong, "\n".join(wrong)


def test_the_autosave_script_sends_the_token_in_a_header(app: Flask) -> None:
    with open(f"{app.static_folder}/report-autosave.js", encoding="utf-8") as handle:
        script = handle.read()
    assert "X-CSRFToken" in script


def test_the_api_is_not_csrf_blocked_with_a_bearer_token(
        app: Flask, demo: Demo, tokens: dict[str, str]) -> None:
    client = app.test_client()
    auth = {"Authorization": f"Bearer {tokens['admin']}"}
    wrong = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        for method in sorted((rule.methods or set()) & CHANGES):
            url = demo.url(app, rule, method)
            response = client.open(url, method=method, headers=auth)
            if response.status_code == 400 or "CSRF" in response.text:
                wrong.append(f"{method} {url}: {response.status_code}")
    assert not wrong, "API requests refused by the CSRF check:\n" + "\n".join(wrong)
    created = client.post("/api/v1/exclusion-principles", headers=auth,
                          json={"code": "csrf-check", "wording": "Added through the API with CSRF protection on."})
    assert created.status_code == 201, created.get_json()


def test_a_browser_session_alone_cannot_use_the_api(
        app: Flask, demo: Demo, admin_client: tuple[FlaskClient, str]) -> None:
    # Why the API may be exempt from CSRF: a cookie a forged request would carry authenticates nothing there.
    client, token = admin_client
    wrong = []
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/"):
            continue
        for method in sorted((rule.methods or set()) & CHANGES):
            url = demo.url(app, rule, method)
            response = client.open(url, method=method, json={}, headers={"X-CSRFToken": token})
            if response.status_code != 401:
                wrong.append(f"{method} {url}: {response.status_code}")
    assert not wrong, "API changes accepted on a session cookie:\n" + "\n".join(wrong)
