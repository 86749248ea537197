"""The API blueprint, its response hooks, and the incident loading every view shares.

Every view module (``views``, ``review_views``, ``principle_views``,
``action_views``, ``pmr_views``) registers its routes on this one ``bp``;
``views`` imports the others, so registering ``views.bp`` registers them all.
"""
from __future__ import annotations

from flask import Blueprint, Response, request
from werkzeug.exceptions import MethodNotAllowed

from incidents import validation
from incidents.api import auth
from incidents.errors import NotFound
from incidents.incident import service as incident_service
from incidents.incident.models import Incident
from incidents.user.models import User

PREFIX = "/api/v1"
MAX_REFERENCE = 40  # the column's length: anything longer cannot exist

bp = Blueprint("api", __name__, url_prefix=PREFIX)
bp.before_request(auth.authenticate)


@bp.after_request
def api_headers(response: Response) -> Response:
    """Keep answers out of shared caches; they depend on who asks."""
    response.headers.setdefault("Cache-Control", "private, no-cache")
    response.vary.add("Authorization")
    return response


@bp.after_app_request
def allow_header_on_405(response: Response) -> Response:
    """Keep the Allow header on an API 405 (the app's error handler builds a fresh response)."""
    exc = request.routing_exception
    if isinstance(exc, MethodNotAllowed) and request.path.startswith(PREFIX + "/") and exc.valid_methods:
        response.headers.setdefault("Allow", ", ".join(sorted(exc.valid_methods)))
    return response


def is_lookup_key(value: str, *, limit: int = MAX_REFERENCE) -> bool:
    """Tell whether a key from the path could name a stored row (no NUL byte, not longer than the column)."""
    return validation.is_lookup_key(value, limit)


def load_incident(reference: str, user: User) -> Incident:
    """Load an incident the user may see, or raise NotFound."""
    if not is_lookup_key(reference):
        raise NotFound("No such incident.")
    return incident_service.get_incident(reference, viewer=user)
