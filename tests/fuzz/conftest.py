"""Fixtures for the fuzz tests: the demo data, and a logged-in browser client per role."""
from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from incidents.demo import service as demo_service
from incidents.extensions import db
from incidents.incident.models import Incident
from tests.fuzz.browser import Browser

ROLES = ("dcc", "secas", "opsg", "party", "admin")


@pytest.fixture()
def demo(app: Flask) -> list[str]:
    """Seed the demo data (reviews in every state, meetings, actions); return the incident references."""
    demo_service.seed()
    db.session.commit()
    return list(db.session.scalars(sa.select(Incident.reference).order_by(Incident.reference)))


def login(app: Flask, role: str) -> FlaskClient:
    """Return a new browser client logged in as the demo user of ``role``."""
    app.test_client_class = Browser
    client = app.test_client()
    response = client.post("/login", data={"email": f"{role}@demo.example", "password": demo_service.DEMO_PASSWORD})
    assert response.status_code == 302, response.get_data(as_text=True)
    return client


@pytest.fixture()
def browsers(app: Flask, demo: list[str]) -> dict[str, FlaskClient]:
    """One logged-in browser client per demo role."""
    return {role: login(app, role) for role in ROLES}


@pytest.fixture()
def demo_tokens(app: Flask, demo: list[str]) -> dict[str, str]:
    """One API token per demo role."""
    from incidents.user import service as user_service

    made: dict[str, Any] = {}
    for role in ROLES:
        user = user_service.find_by_email(f"{role}@demo.example")
        made[role] = user_service.issue_token(user=user)
    db.session.commit()
    return made
