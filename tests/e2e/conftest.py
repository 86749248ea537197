"""End to end in a real browser: the app served over HTTP, driven by Chromium through Playwright.

These tests run in the SQLite pass of ``make test`` only. On a machine where
Chromium, Playwright or axe-core is missing they fail with how to install it:
a skip would let a machine that cannot run them pass unnoticed.

Each server is the real application on a fresh SQLite file built by the
migrations (so they are exercised too), with CSRF protection on, served by
Werkzeug on a free loopback port in a background thread.
"""
from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from incidents import create_app
from incidents.extensions import db
from tests.helpers import PG_URL

E2E_DIR = Path(__file__).resolve().parent
ROOT = E2E_DIR.parent.parent
AXE_SCRIPT = E2E_DIR / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = ROOT / "test-artifacts" / "e2e"
CHROMIUM = "/usr/bin/chromium"
# No outside network here: keep Chromium from reaching for updates, sync or first-run pages.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
PASSWORD = "e2e-password-123"
# One person per role; the display names appear in the review history.
PEOPLE = {
    "dcc": ("dcc@e2e.example", "Dana Clarke"),
    "secas": ("secas@e2e.example", "Sam Ellis"),
    "opsg": ("opsg@e2e.example", "Olu Price"),
    "party": ("party@e2e.example", "Pat Reid"),
    "admin": ("admin@e2e.example", "Alex Admin"),
}
TIMEOUT_MS = 15_000


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip browser tests (marked ``e2e``) on the PostgreSQL pass: they test pages, not the database."""
    if not PG_URL:
        return
    skip = pytest.mark.skip(reason="browser tests run once, in the SQLite pass of `make test` "
                                   "(TEST_DATABASE_URL is set, so this is the PostgreSQL pass)")
    for item in items:
        if item.get_closest_marker("e2e"):
            item.add_marker(skip)


def _require_tools() -> Any:
    """Return Playwright's sync API, or fail saying how to install whatever is missing."""
    problems = []
    try:
        from playwright import sync_api
    except ImportError:
        sync_api = None
        problems.append("Playwright for Python is missing: `make test` installs it with the test extras "
                        "(or run `.venv/bin/pip install -e '.[test]'`). Never `playwright install`: "
                        "the tests use Debian's Chromium.")
    if not os.access(CHROMIUM, os.X_OK):
        problems.append(f"Chromium is missing at {CHROMIUM}: `make test` installs it when run as root, "
                        "or run `sudo apt-get install -y chromium`.")
    if not AXE_SCRIPT.is_file():
        problems.append(f"axe-core is missing at {AXE_SCRIPT.relative_to(ROOT)}: `make test` installs it, "
                        "or run `npm ci --prefix tests/e2e`.")
    if problems:
        pytest.fail("The end-to-end browser tests cannot run:\n- " + "\n- ".join(problems), pytrace=False)
    return sync_api


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Debian Chromium shared by the whole run."""
    if PG_URL:
        pytest.skip("browser tests run in the SQLite pass only")
    sync_api = _require_tools()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@dataclass
class LiveServer:
    """The application served over HTTP on a loopback port."""

    app: Flask
    url: str
    emails: dict[str, str] = field(default_factory=dict)
    password: str = PASSWORD


def _migrated_app(directory: Path) -> Flask:
    """Build the app on an empty SQLite file and migrate it with Flask-Migrate."""
    from flask_migrate import upgrade

    with pytest.MonkeyPatch.context() as env:
        env.setenv("INCIDENTS_INSTANCE_PATH", str(directory))
        app = create_app({
            "SECRET_KEY": "e2e-secret",
            "SQLALCHEMY_DATABASE_URI": f"sqlite:///{directory / 'e2e.sqlite'}",
            # Real forms: the CSRF token must travel with every post, as in production.
            "WTF_CSRF_ENABLED": True,
            # A cheap hash keeps logins fast; production uses scrypt.
            "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
            "SQLITE_SYNCHRONOUS": "OFF",
        })
    with app.app_context():
        upgrade()
        db.session.remove()
    return app


@pytest.fixture(scope="module")
def serve(tmp_path_factory: pytest.TempPathFactory, browser: Any) -> Iterator[Callable[..., LiveServer]]:
    """Start servers on fresh migrated databases: ``serve(seed)`` fills one first and returns {role: email}."""
    running: list[tuple[BaseWSGIServer, threading.Thread]] = []
    # One log line per request would drown a failure's output; warnings still show.
    request_log = logging.getLogger("werkzeug")
    level = request_log.level
    request_log.setLevel(logging.WARNING)

    def start(seed: Callable[[], dict[str, str]], password: str = PASSWORD) -> LiveServer:
        app = _migrated_app(tmp_path_factory.mktemp("e2e-server"))
        with app.app_context():
            emails = seed()
            db.session.commit()
            db.session.remove()
        server = make_server("127.0.0.1", 0, app, threaded=True)
        thread = threading.Thread(target=server.serve_forever, name="e2e-server", daemon=True)
        thread.start()
        running.append((server, thread))
        return LiveServer(app=app, url=f"http://127.0.0.1:{server.server_port}", emails=emails, password=password)

    yield start
    for server, thread in running:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        with server.app.app_context():
            db.engine.dispose()
    request_log.setLevel(level)


def seed_people() -> dict[str, str]:
    """Create one user per role through the user service; return {role: email}."""
    from incidents.user import service as user_service

    for role, (email, name) in PEOPLE.items():
        user_service.create_user(email=email, role=role, password=PASSWORD, name=name)
    return {role: email for role, (email, _) in PEOPLE.items()}


class Person:
    """One person in their own browser context (own cookies), with helpers that act like them."""

    def __init__(self, browser: Any, server: LiveServer, role: str | None, *, bypass_csp: bool = False) -> None:
        self.role = role  # None: a visitor who has not logged in
        self.server = server
        self.email = server.emails[role] if role else ""
        self.context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900},
                                           locale="en-GB", timezone_id="Europe/London", bypass_csp=bypass_csp)
        self.context.set_default_timeout(TIMEOUT_MS)
        self.csp_errors: list[str] = []
        self.page = self.new_page()

    def new_page(self) -> Any:
        """Open another tab in this person's context, watching for Content Security Policy refusals."""
        page = self.context.new_page()
        page.on("console", self._console)
        return page

    def _console(self, message: Any) -> None:
        if "Content Security Policy" in message.text:
            self.csp_errors.append(message.text)

    def login(self, password: str | None = None) -> None:
        """Log in through the login form (with a wrong ``password`` to see it refused)."""
        page = self.page
        page.goto("/login")
        page.fill("#email", self.email)
        page.fill("#password", password or self.server.password)
        with page.expect_navigation():
            page.click("main form button[type=submit]")
        if password is None:
            assert page.locator(".role-badge").get_attribute("data-role") == self.role, page.content()

    def close(self) -> None:
        """Close the browser context."""
        self.context.close()


def shot(page: Any, name: str) -> None:
    """Save a full-page screenshot to test-artifacts/e2e/NAME.png."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^a-z0-9-]+", "-", name.lower()).strip("-")
    page.screenshot(path=str(ARTIFACTS / f"{slug}.png"), full_page=True)
