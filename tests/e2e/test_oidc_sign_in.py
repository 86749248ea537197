"""Signing in through a real OpenID Connect provider in Chromium: the button, the provider's page, back again.

The provider is Node.js ``oidc-provider`` on loopback (tests/e2e/oidc_provider.mjs). The app is served on a port
chosen before it starts, because the provider must know the app's callback address and the app the provider's.
Tampered state, replayed codes and wrong audiences are driven over HTTP in tests/auth/test_oidc_provider.py.
"""
from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from werkzeug.serving import make_server

from incidents import create_app
from incidents.auth.models import IdentityLink
from incidents.extensions import db
from incidents.user.models import User
from tests.auth.oidc_support import PROVIDER_PASSWORD, running_provider
from tests.e2e.conftest import TIMEOUT_MS, shot

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@dataclass
class Site:
    """The app served on loopback, and the provider's issuer."""

    url: str
    app: Flask
    issuer: str


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[Site]:
    """Serve the app with the loopback provider configured; return its address."""
    from flask_migrate import upgrade

    directory: Path = tmp_path_factory.mktemp("e2e-oidc")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    with running_provider(directory, [f"{url}/login/sso/idp/callback"], [f"{url}/login"]) as provider, \
            pytest.MonkeyPatch.context() as env:
        env.setenv("INCIDENTS_INSTANCE_PATH", str(directory))
        app = create_app({
            "SECRET_KEY": "e2e-oidc-secret", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{directory / 'e2e.sqlite'}",
            "WTF_CSRF_ENABLED": True, "SQLITE_SYNCHRONOUS": "OFF",
            "OIDC_PROVIDERS": {"idp": provider.settings(label="Example Organisation")}})
        with app.app_context():
            upgrade()
            db.session.remove()
        request_log = logging.getLogger("werkzeug")
        level = request_log.level
        request_log.setLevel(logging.WARNING)
        server = make_server("127.0.0.1", port, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="e2e-oidc-server", daemon=True)
        thread.start()
        try:
            yield Site(url=url, app=app, issuer=provider.issuer)
        finally:
            server.shutdown()
            thread.join(timeout=10)
            server.server_close()
            request_log.setLevel(level)
            with app.app_context():
                db.engine.dispose()


@pytest.fixture()
def page(browser: Any, site: Site) -> Iterator[Any]:
    context = browser.new_context(base_url=site.url, locale="en-GB", timezone_id="Europe/London")
    context.set_default_timeout(TIMEOUT_MS)
    yield context.new_page()
    context.close()


def _sign_in(page: Any, login: str) -> None:
    page.goto("/login")
    with page.expect_navigation():
        page.get_by_role("link", name="Sign in with Example Organisation").click()
    page.fill("#login", login)
    page.fill("#password", PROVIDER_PASSWORD)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_a_mapped_person_signs_in_through_the_provider_and_gets_their_role(page: Any, site: Site) -> None:
    _sign_in(page, "dana")
    assert page.locator(".role-badge").get_attribute("data-role") == "dcc", page.content()
    assert "Dana Clarke" in page.locator("header").inner_text()
    shot(page, "oidc-signed-in")
    with page.expect_navigation():
        page.get_by_role("button", name="Log out").click()
    assert page.get_by_role("heading", name="You are logged out").is_visible()
    link = page.get_by_role("link", name="Also sign out of Example Organisation")
    assert link.get_attribute("href").startswith(f"{site.issuer}/session/end?client_id=incidents")
    # Back at the login page, the tool's session is gone whatever the provider's.
    page.goto("/")
    assert page.url.startswith(f"{site.url}/login")


def test_an_unmapped_person_is_refused_with_a_page_saying_why(page: Any, site: Site) -> None:
    _sign_in(page, "una")
    assert page.get_by_role("heading", name="Sign-in refused").is_visible()
    assert "gives you no role in this tool" in page.locator("main").inner_text()
    shot(page, "oidc-refused")
    page.goto("/")
    assert page.url.startswith(f"{site.url}/login")


def test_the_sign_in_links_issuer_and_subject_and_the_role_comes_from_the_claims(page: Any, site: Site) -> None:
    _sign_in(page, "sam")
    assert page.locator(".role-badge").get_attribute("data-role") == "secas"  # incidents-secas is mapped before incidents-opsg
    with site.app.app_context():
        link = db.session.scalar(sa.select(IdentityLink).where(IdentityLink.subject == "sam"))
        assert link is not None and link.issuer == site.issuer
        user = db.session.get(User, link.user_id)
        assert user is not None and user.email == "sam.ellis@secas.example"
        db.session.remove()


def test_the_sign_in_pages_have_no_serious_accessibility_problems(browser: Any, site: Site) -> None:
    """axe on the login page with its provider buttons, the refusal page and the page after logging out."""
    from tests.e2e.test_accessibility import BLOCKING, describe, run_axe

    blocking: list[str] = []
    # A context per person: the provider remembers who signed in there.
    for login in ("una", "dana"):
        context = browser.new_context(base_url=site.url, locale="en-GB", bypass_csp=True)
        context.set_default_timeout(TIMEOUT_MS)
        page = context.new_page()
        try:
            if login == "una":
                page.goto("/login")
                blocking += [describe("login with providers", v) for v in run_axe(page) if v["impact"] in BLOCKING]
                _sign_in(page, login)
                blocking += [describe("sign-in refused", v) for v in run_axe(page) if v["impact"] in BLOCKING]
            else:
                _sign_in(page, login)
                with page.expect_navigation():
                    page.get_by_role("button", name="Log out").click()
                blocking += [describe("logged out", v) for v in run_axe(page) if v["impact"] in BLOCKING]
        finally:
            context.close()
    assert not blocking, "\n".join(blocking)
