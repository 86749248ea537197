"""The API blueprint: every route, per domain, its response hooks, and the incident loading every view shares.

The routes are listed here, one table per domain, and added to a blueprint
built for each app by ``create_blueprint``. A view's module (``views``,
``review_views``, ``principle_views``, ``action_views``, ``pmr_views``, ``notification_views``) is
imported on the first request to one of its routes: the request and response
models (pydantic) would otherwise slow every command's start.
"""
from __future__ import annotations

from functools import cached_property
from typing import Any

from flask import Blueprint, Response, request
from werkzeug.exceptions import MethodNotAllowed
from werkzeug.utils import import_string

from incidents import validation
from incidents.api import auth
from incidents.errors import NotFound
from incidents.incident import service as incident_service
from incidents.incident.models import Incident
from incidents.user.models import User

PREFIX = "/api/v1"
MAX_REFERENCE = 40  # the column's length: anything longer cannot exist

# Path arguments are plain ints: with a bounded converter Werkzeug answers 405 (not 404) for an id past the bound on
# some methods, because it checks methods before the converter refuses; the services treat an id past 32 bits, or a
# number no version has, as unknown (404).
ENTRY_URL = "/incidents/<reference>/timeline/<int:entry_id>"
VERSION_URL = "/incidents/<reference>/report/versions/<int:number>"
ACTION_URL = "/actions/<path:reference>"  # a reference holds a slash (OPSG 97/04)

# Per domain: the module of its views, then (method, rule, view function) for each route.
Route = tuple[str, str, str]
INCIDENTS: tuple[str, list[Route]] = ("incidents.api.views", [
    ("GET", "/incidents", "list_incidents"),
    ("POST", "/incidents", "create_incident"),
    ("GET", "/incidents/<reference>", "get_incident"),
    ("PATCH", "/incidents/<reference>", "update_incident"),
    ("POST", "/incidents/<reference>/major", "set_major"),
    ("GET", "/incidents/<reference>/timeline", "list_timeline"),
    ("POST", "/incidents/<reference>/timeline", "add_timeline_entry"),
    ("GET", ENTRY_URL, "get_timeline_entry"),
    ("PATCH", ENTRY_URL, "update_timeline_entry"),
    ("DELETE", ENTRY_URL, "delete_timeline_entry"),
    ("GET", "/incidents/<reference>/audit", "list_audit"),
    ("GET", "/openapi.json", "openapi_document"),
])
REVIEWS: tuple[str, list[Route]] = ("incidents.api.review_views", [
    ("GET", "/incidents/<reference>/exclusion", "get_exclusion"),
    ("PUT", "/incidents/<reference>/exclusion", "propose_exclusion"),
    ("POST", "/incidents/<reference>/exclusion/reviews", "review_exclusion"),
    ("GET", "/incidents/<reference>/summary-report", "get_summary_report"),
    ("POST", "/incidents/<reference>/summary-report", "record_summary_report"),
    ("GET", "/incidents/<reference>/report", "get_report"),
    ("PUT", "/incidents/<reference>/report", "save_report"),
    ("POST", "/incidents/<reference>/report/submit", "submit_report"),
    ("POST", "/incidents/<reference>/report/withdraw", "withdraw_report"),
    ("GET", "/incidents/<reference>/report/versions", "list_report_versions"),
    ("GET", VERSION_URL, "get_report_version"),
    ("GET", "/incidents/<reference>/decisions", "list_decisions"),
    ("POST", "/incidents/<reference>/decisions", "record_decision"),
    ("POST", "/incidents/<reference>/publish", "publish_report"),
    ("GET", "/published", "list_published"),
    ("GET", "/published/<reference>", "get_published"),
])
PRINCIPLES: tuple[str, list[Route]] = ("incidents.api.principle_views", [
    ("GET", "/exclusion-principles", "list_principles"),
    ("POST", "/exclusion-principles", "add_principle"),
    ("GET", "/exclusion-principles/<code>", "get_principle"),
    ("PATCH", "/exclusion-principles/<code>", "update_principle"),
])
ACTIONS: tuple[str, list[Route]] = ("incidents.api.action_views", [
    ("GET", "/actions", "list_actions"),
    ("POST", "/actions", "create_action"),
    ("GET", ACTION_URL, "get_action"),
    ("PATCH", ACTION_URL, "update_action"),
])
MEETINGS: tuple[str, list[Route]] = ("incidents.api.meeting_views", [
    ("GET", "/meetings", "list_meetings"),
    ("POST", "/meetings", "schedule_meeting"),
])
ATTACHMENTS: tuple[str, list[Route]] = ("incidents.api.attachment_views", [
    ("GET", "/incidents/<reference>/attachments", "list_attachments"),
    ("POST", "/incidents/<reference>/attachments", "upload_attachment"),
    ("GET", "/incidents/<reference>/attachments/<int:attachment_id>", "download_attachment"),
])
PMR: tuple[str, list[Route]] = ("incidents.api.pmr_views", [
    ("GET", "/pmr/<month>", "get_pmr"),
    ("GET", "/pmr/<month>/recordings", "list_pmr_recordings"),
])
WEBHOOK_URL = "/webhooks/<int:webhook_id>"
NOTIFICATIONS: tuple[str, list[Route]] = ("incidents.api.notification_views", [
    ("GET", "/me/notifications", "get_notification_settings"),
    ("PUT", "/me/notifications", "update_notification_settings"),
    ("PUT", "/incidents/<reference>/follow", "follow"),
    ("DELETE", "/incidents/<reference>/follow", "unfollow"),
    ("GET", "/webhooks", "list_webhooks"),
    ("POST", "/webhooks", "create_webhook"),
    ("GET", WEBHOOK_URL, "get_webhook"),
    ("DELETE", WEBHOOK_URL, "delete_webhook"),
    ("GET", WEBHOOK_URL + "/deliveries", "list_webhook_deliveries"),
    ("POST", WEBHOOK_URL + "/deliveries/<int:delivery_id>/resend", "resend_webhook_delivery"),
])
SEARCH: tuple[str, list[Route]] = ("incidents.api.search_views", [
    ("GET", "/search", "search"),
])
DOMAINS = (INCIDENTS, REVIEWS, PRINCIPLES, ACTIONS, MEETINGS, PMR, NOTIFICATIONS, ATTACHMENTS, SEARCH)


class LazyView:
    """A view function imported on its first call (Flask's "lazily loading views" pattern)."""

    def __init__(self, import_name: str) -> None:
        self.import_name = import_name
        self.__name__ = import_name.rpartition(".")[2]

    @cached_property
    def view(self) -> Any:
        """Import the view function."""
        return import_string(self.import_name)

    @property
    def api_public(self) -> bool:
        """Tell whether the view answers without a token (``auth.public``); ``auth.authenticate`` asks."""
        return bool(getattr(self.view, "api_public", False))

    def __call__(self, **kwargs: Any) -> Any:
        """Answer the request with the view."""
        return self.view(**kwargs)


def register(bp: Blueprint, domain: tuple[str, list[Route]]) -> None:
    """Add one domain's routes to ``bp``, each under its view's name (``api.list_incidents``)."""
    module, routes = domain
    for method, rule, name in routes:
        bp.add_url_rule(rule, endpoint=name, view_func=LazyView(f"{module}.{name}"), methods=[method])


def create_blueprint() -> Blueprint:
    """Build the API blueprint for one app: every domain's routes and the response hooks."""
    bp = Blueprint("api", __name__, url_prefix=PREFIX)
    bp.before_request(auth.authenticate)
    bp.after_request(api_headers)
    bp.after_app_request(allow_header_on_405)
    for domain in DOMAINS:
        register(bp, domain)
    return bp


def api_headers(response: Response) -> Response:
    """Keep answers out of caches: an authenticated answer is personal (no-store), the rest depend on who asks."""
    response.headers.setdefault("Cache-Control", "no-store" if auth.is_authenticated() else "private, no-cache")
    response.vary.add("Authorization")
    return response


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
