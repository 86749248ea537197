"""Fixtures for the security tests: the demo data, and a logged-in client per role."""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from incidents.demo import service as demo_service
from incidents.document import service as document_service
from incidents.extensions import db
from incidents.user import service as user_service
from incidents.user.models import User
from tests.security.support import ROLES, Demo, login
from tests.seeded import load_demo

# The demo seeded on a fixed day: the 2023 history and a live part around March 2031 (INC000001002401 published).
SEED_NOW = datetime(2031, 3, 14, 10, 0, tzinfo=UTC)


@pytest.fixture()
def demo(app: Flask, tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """Seed the demo data and return the keys its URLs are built from."""
    load_demo(app, tmp_path_factory.getbasetemp(), now=SEED_NOW)
    return Demo.load()


@pytest.fixture()
def make_client(app: Flask, demo: Demo) -> Callable[[str], FlaskClient]:
    """Return a factory of clients: anonymous, or logged in through /login as a demo role."""

    def make(role: str) -> FlaskClient:
        assert role in ROLES, role
        client = app.test_client()
        if role != "anon":
            login(client, demo.emails[role], demo_service.DEMO_PASSWORD)
        return client

    return make


@pytest.fixture()
def tokens(demo: Demo) -> dict[str, str]:
    """One committed API token per demo role."""
    made = {}
    for role, email in demo.emails.items():
        user = db.session.scalar(sa.select(User).where(User.email == email))
        made[role] = user_service.issue_token(user=user)
    db.session.commit()
    return made


@pytest.fixture()
def no_pdf_drawing(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Skip WeasyPrint's drawing (seconds per PDF); return the HTML each PDF would have been drawn from."""
    drawn: list[str] = []

    def draw(html: str, **_: object) -> bytes:
        drawn.append(html)
        return b"%PDF-1.7 not drawn in this test"

    monkeypatch.setattr(document_service, "render_pdf", draw)
    return drawn
