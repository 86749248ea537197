"""Fixtures for the auth tests."""
from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.auth.isolated_client import IsolatedClient


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    """A test client whose requests each get their own app context, as in production."""
    app.test_client_class = IsolatedClient
    return app.test_client()
