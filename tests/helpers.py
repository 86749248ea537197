"""Plain helpers shared by test modules (fixtures live in the conftest.py files)."""
from __future__ import annotations

import os
from datetime import UTC, datetime
from typing import Any

from flask.testing import FlaskClient

from tests import factories

# A PostgreSQL URL runs the suite there (each run in its own schema); empty: SQLite.
PG_URL = os.environ.get("TEST_DATABASE_URL", "")
# The fixed 'now' of time-dependent tests: 1 June 2023, 10:00 BST.
NOW = datetime(2023, 6, 1, 9, 0, tzinfo=UTC)


class Auth:
    """Log a test client in and out as a given user."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, user: Any, password: str = factories.PASSWORD) -> Any:
        """Log in through the real login form."""
        return self.client.post("/login", data={"email": user.email, "password": password})

    def logout(self) -> Any:
        """Log out."""
        return self.client.post("/logout")
