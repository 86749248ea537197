"""Helpers for API tests: a client that sends a token, the real case as JSON, problem answers."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from tests import factories

PROBLEM = "application/problem+json"


def as_json(value: Any) -> Any:
    """Turn factory data (datetimes and all) into what a client would send."""
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: as_json(item) for key, item in value.items()}
    if isinstance(value, list):
        return [as_json(item) for item in value]
    return value


def incident_json(**overrides: Any) -> dict[str, Any]:
    """Return the real INC000001001905-shaped incident as JSON, with a fresh reference."""
    return as_json(factories.incident_data(**overrides))


class Api:
    """A test client that talks to /api/v1 with a bearer token."""

    def __init__(self, client: FlaskClient, token: str | None) -> None:
        self.client = client
        self.token = token

    def as_(self, token: str | None) -> Api:
        """Return the same client with another token (None: no Authorization header)."""
        return Api(self.client, token)

    def request(self, method: str, path: str, *, etag: str | None = None,
                headers: dict[str, str] | None = None, **kwargs: Any) -> TestResponse:
        """Send a request under /api/v1."""
        sent = dict(headers or {})
        if self.token is not None:
            sent.setdefault("Authorization", f"Bearer {self.token}")
        if etag is not None:
            sent["If-Match"] = etag
        return self.client.open("/api/v1" + path, method=method, headers=sent, **kwargs)

    def get(self, path: str, **kwargs: Any) -> TestResponse:
        """GET."""
        return self.request("GET", path, **kwargs)

    def post(self, path: str, **kwargs: Any) -> TestResponse:
        """POST."""
        return self.request("POST", path, **kwargs)

    def patch(self, path: str, **kwargs: Any) -> TestResponse:
        """PATCH."""
        return self.request("PATCH", path, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> TestResponse:
        """DELETE."""
        return self.request("DELETE", path, **kwargs)

    def create(self, **overrides: Any) -> TestResponse:
        """Log an incident (the real case by default) and check it was created."""
        response = self.post("/incidents", json=incident_json(**overrides))
        assert response.status_code == 201, response.get_json()
        return response


def assert_problem(response: TestResponse, status: int, *fields: str) -> dict[str, Any]:
    """Check a problem details answer, and that its errors name each field given."""
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status
    assert body["title"]
    for name in fields:
        assert name in body.get("errors", {}), body
        assert all(isinstance(m, str) and m for m in body["errors"][name])
    return body
