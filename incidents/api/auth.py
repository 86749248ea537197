"""Bearer-token authentication for the JSON API: no sessions, no cookies.

Flask-Login resolves the token (its ``request_loader``, ``load_token_user``);
every API endpoint needs one unless its view is marked ``@public``, so a new
endpoint is protected by default.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from flask import Request, Response, current_app, request
from flask_login import current_user as login_user

from incidents.errors import problem
from incidents.user import service as user_service
from incidents.user.models import User

REALM = "incidents"
PREFIX = "/api/v1/"
View = TypeVar("View", bound=Callable[..., Any])


def public(view: View) -> View:
    """Mark an API view as answering without a token."""
    view.api_public = True  # type: ignore[attr-defined]
    return view


def is_api_request() -> bool:
    """Tell whether the current request is for the JSON API."""
    return request.blueprint == "api" or request.path.startswith(PREFIX)


def _bearer(req: Request) -> str | None:
    """The token of an 'Authorization: Bearer <token>' header, or None."""
    scheme, _, token = req.headers.get("Authorization", "").strip().partition(" ")
    token = token.strip()
    return token if scheme.lower() == "bearer" and token else None


def load_token_user(req: Request) -> User | None:
    """Return the user an API request's bearer token belongs to (Flask-Login's request loader)."""
    if not is_api_request():
        return None  # pages authenticate by their session only
    token = _bearer(req)
    return user_service.authenticate_token(token) if token else None


def _unauthorized(detail: str, error: str | None) -> Response:
    challenge = f'Bearer realm="{REALM}"'
    if error:
        # RFC 6750: no error code when the client sent no credentials at all.
        challenge += f', error="{error}"'
    response = problem(401, "Unauthorized", detail)
    response.headers["WWW-Authenticate"] = challenge
    return response


def authenticate() -> Response | None:
    """Answer 401 before an API request that needs a token and has no valid one."""
    view = current_app.view_functions.get(request.endpoint or "")
    if request.method == "OPTIONS" or view is None or getattr(view, "api_public", False):
        return None
    if not request.headers.get("Authorization", "").strip():
        return _unauthorized("Send an API token: 'Authorization: Bearer <token>'.", None)
    if _bearer(request) is None:
        return _unauthorized("Use the Bearer scheme: 'Authorization: Bearer <token>'.", "invalid_request")
    if not login_user.is_authenticated:
        return _unauthorized("The API token is not valid: it is unknown or revoked, or its user is deactivated.",
                             "invalid_token")
    return None


def is_authenticated() -> bool:
    """Tell whether the request carried a valid token."""
    return bool(login_user.is_authenticated)


def current_user() -> User:
    """Return the user the request's token belongs to."""
    if not login_user.is_authenticated:
        raise RuntimeError("current_user() called in a view marked @public")
    user: User = login_user._get_current_object()
    return user
