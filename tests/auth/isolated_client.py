"""A test client whose every request runs in its own application context.

The shared ``app`` fixture keeps an application context pushed for the whole
test, and Flask reuses a pushed context for requests. Then ``g`` (where
Flask-Login caches the logged-in user) and the database session outlive a
request, so a session that should have ended (password reset, deactivation,
role change) keeps working in tests while it would end in production. Running
each request in an empty ``contextvars`` context makes Flask push a fresh
application context, as it does for a real request.
"""
from __future__ import annotations

import contextvars
from typing import Any

from flask.testing import FlaskClient


class IsolatedClient(FlaskClient):
    """Test client that gives each request a fresh app context, ``g`` and database session."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        """Send the request from an empty context, so nothing leaks in from the test."""
        return contextvars.Context().run(super().open, *args, **kwargs)
