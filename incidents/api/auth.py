"""Bearer-token authentication for the JSON API: no sessions, no cookies.

Every API endpoint needs a token unless its view is marked ``@public``, so a
new endpoint is protected by default.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Response, current_app, g, request

from incidents.errors import problem
from incidents.user import service as user_service
from incidents.user.models import User

REALM = "incidents"
View = TypeVar("View", bound=Callable[..., Any])


def public(view: View) -> View:
    """Mark an API view as answering without a token."""
    view.api_public = True  # type: ignore[attr-defined]
    return view


def _unauthorized(detail: str, error: str | None) -> Response:
    challenge = f'Bearer realm="{REALM}"'
    if error:
        # RFC 6750: no error code when the client sent no credentials at all.
        challenge += f', error="{error}"'
    response = problem(401, "Unauthorized", detail)
    response.headers["WWW-Authenticate"] = challenge
    return response


def authenticate() -> Response | None:
    """Resolve the bearer token to its user before an API request, or answer 401."""
    # Reset first: tests may reuse one app context (and so one ``g``) across requests.
    g.api_user = None
    view = current_app.view_functions.get(request.endpoint or "")
    if request.method == "OPTIONS" or view is None or getattr(view, "api_public", False):
        return None
    header = request.headers.get("Authorization", "").strip()
    if not header:
        return _unauthorized("Send an API token: 'Authorization: Bearer <token>'.", None)
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        return _unauthorized("Use the Bearer scheme: 'Authorization: Bearer <token>'.", "invalid_request")
    user = user_service.user_for_token(token)
    if user is None:
        return _unauthorized("The API token is not valid: it is unknown or revoked, or its user is deactivated.",
                             "invalid_token")
    g.api_user = user
    return None


def current_user() -> User:
    """Return the user the request's token belongs to."""
    user: User | None = g.get("api_user")
    if user is None:
        raise RuntimeError("current_user() called in a view marked @public")
    return user
