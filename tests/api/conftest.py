"""Fixtures for the API tests: tokens per role, an API client, the default principles."""
from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from incidents.extensions import db
from incidents.user import service as user_service
from tests.api.helpers import Api


@pytest.fixture()
def tokens(users: dict[str, Any]) -> dict[str, str]:
    """One committed API token per role."""
    made = {role: user_service.issue_token(user=user) for role, user in users.items()}
    db.session.commit()
    return made


@pytest.fixture()
def api(client: FlaskClient, tokens: dict[str, str]) -> Api:
    """An API client acting as the DCC."""
    return Api(client, tokens["dcc"])


@pytest.fixture()
def principles(app: Any) -> None:
    """The default exclusion principles (tests build the schema with create_all, which seeds none)."""
    from incidents.principle import service as principle_service

    principle_service.seed_defaults()
    db.session.commit()
