"""Errors raised by services, and one helper that answers them as JSON or HTML."""
from __future__ import annotations

from typing import Any

from flask import Flask, Response, g, jsonify, make_response, render_template, request
from werkzeug.exceptions import HTTPException

# Seconds a client is asked to wait (Retry-After) when the database is not answering.
DATABASE_RETRY_AFTER = 30


class ServiceError(Exception):
    """Base of the errors a service raises for the caller to map."""

    status = 400
    title = "Bad request"

    def __init__(self, detail: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.errors = errors or {}


class ValidationError(ServiceError):
    """Input breaks a rule; ``errors`` maps each field to messages."""

    status = 422
    title = "Invalid input"

    def __init__(self, errors: dict[str, list[str]], detail: str = "Some fields need fixing.") -> None:
        super().__init__(detail, errors)


class DuplicateError(ValidationError):
    """A unique value (such as a reference) is already used; forms show it next to the field."""

    status = 409
    title = "Already exists"

    def __init__(self, detail: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(errors or {}, detail)


class ConflictError(ServiceError):
    """A step out of order: something else must happen first."""

    status = 409
    title = "Conflict"


class StaleError(ServiceError):
    """The record changed since the caller read it."""

    status = 412
    title = "Precondition failed"

    def __init__(self, detail: str, current: Any = None) -> None:
        super().__init__(detail)
        self.current = current


class PermissionDenied(ServiceError):
    """The user's role may not do this."""

    status = 403
    title = "Forbidden"


class NotFound(ServiceError):
    """The thing does not exist, or the user may not know that it does."""

    status = 404
    title = "Not found"


def wants_json() -> bool:
    """Tell whether the client is an API client rather than a browser."""
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["application/json", "text/html"])
    return best == "application/json" and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]


def problem(status: int, title: str, detail: str = "", errors: dict[str, list[str]] | None = None,
            **extra: Any) -> Response:
    """Build an RFC 9457 problem details response."""
    body: dict[str, Any] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    if errors:
        body["errors"] = errors
    body.update(extra)
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def error_response(status: int, title: str, detail: str = "",
                   errors: dict[str, list[str]] | None = None) -> Response | tuple[str, int]:
    """Answer an error as problem details to API clients and as a page to browsers."""
    if wants_json():
        return problem(status, title, detail, errors)
    return render_template("error.html", status=status, title=title, detail=detail), status


def register(app: Flask) -> None:
    """Install the handlers so that no request ends in a bare 500."""

    @app.errorhandler(ServiceError)
    def handle_service_error(exc: ServiceError) -> Any:
        return error_response(exc.status, exc.title, exc.detail, exc.errors)

    @app.errorhandler(HTTPException)
    def handle_http(exc: HTTPException) -> Any:
        if exc.code in (301, 302, 303, 307, 308):
            return exc
        detail = exc.description or ""
        if exc.code == 400 and "CSRF" in detail:
            detail = "The form expired or was sent from elsewhere. Reload the page and try again."
        response = error_response(exc.code or 500, exc.name, detail)
        allow = dict(exc.get_headers()).get("Allow")
        if allow:
            if isinstance(response, tuple):
                body, status = response
                return body, status, {"Allow": allow}
            response.headers["Allow"] = allow
        return response

    @app.errorhandler(Exception)
    def handle_unexpected(exc: Exception) -> Any:
        from sqlalchemy.exc import OperationalError
        from sqlalchemy.exc import TimeoutError as PoolTimeout

        from incidents.extensions import db, login_manager

        db.session.rollback()
        # Unreachable, dropped mid-request, locked, or no connection free in the pool.
        if isinstance(exc, (OperationalError, PoolTimeout)):
            app.logger.error("Database unavailable: %s", exc)
            # The page is shown as to a visitor: loading the logged-in user needs the database too.
            g._login_user = login_manager.anonymous_user()  # Flask-Login's per-request cache of the user
            response = make_response(error_response(
                503, "Service unavailable", "The database is not answering. Nothing was saved; try again shortly."))
            response.headers["Retry-After"] = str(DATABASE_RETRY_AFTER)
            return response
        app.logger.exception("Unhandled error")
        return error_response(500, "Internal server error", "Something went wrong; nothing was saved.")
