"""JSON API v1: the pages' service functions behind bearer tokens, ETags and problem details.

The routes of this module and of the other API view modules are listed in ``blueprint``.

Each view runs in a fixed order: authenticate (401, in ``auth``) -> load (404,
also for a role that may not see incidents, so existence never leaks) ->
permission (403) -> If-Match (428/412) -> body shape (422) -> duplicate
reference (409) -> one service call (domain rules, 422) -> the answer is built
-> one commit. The answer is built before the commit so that a failure there
rolls the change back rather than answering 500 for a change that was saved.

A duplicate reference is 409 however it is found: the service reports a
clash it finds by looking as a ValidationError (422, as the pages want it),
so the API looks first itself, and again when the service refuses the input.
"""
from __future__ import annotations

import json

from flask import Response, current_app, url_for

from incidents import permissions, validation
from incidents.api import auth, openapi, protocol, schemas
from incidents.api.blueprint import PREFIX, is_lookup_key, load_incident
from incidents.audit import service as audit_service
from incidents.errors import DuplicateError, NotFound, PermissionDenied, ValidationError
from incidents.extensions import db
from incidents.incident import service as incident_service
from incidents.incident.models import Incident, TimelineEntry
from incidents.incident.service import Filters
from incidents.user.models import User
from incidents.validation import Keep

__all__ = ["PREFIX"]


# --- Helpers ------------------------------------------------------------------

def _load_entry(reference: str, entry_id: int, user: User) -> TimelineEntry:
    """Load a timeline entry of an incident the user may see, or raise NotFound."""
    return incident_service.get_timeline_entry(load_incident(reference, user), entry_id)


def _require_editor(user: User) -> None:
    if not permissions.can_edit_incidents(user):
        raise PermissionDenied("Only the DCC and administrators can change incidents.")


def _refuse_duplicate(reference: str | Keep, user: User, current: Incident | None = None) -> None:
    """Raise DuplicateError (409) when the reference sent already belongs to another incident.

    The service reports a clash it finds by looking first as a ValidationError
    (422, as forms want it) and one it loses in a race as a DuplicateError;
    the API answers 409 for both, so it looks itself, before the service call
    and again when the service refuses the input.
    """
    if isinstance(reference, Keep):
        return
    candidate = reference.strip().upper()  # the form the service stores
    if not candidate or not is_lookup_key(candidate):
        return
    if current is not None and candidate == current.reference:
        return
    try:
        incident_service.get_incident(candidate, viewer=user)
    except NotFound:
        return
    raise DuplicateError(f"An incident with reference {candidate} already exists.",
                         {"reference": [f"{candidate} is already used by another incident."]})


def _list_query() -> tuple[Filters, int, int]:
    """Read filters and paging, reporting every bad parameter at once."""
    args = protocol.query_args(openapi.LIST_QUERY, numeric=openapi.LIST_NUMERIC, months=("pmr_month",))
    filters, (page, per_page) = validation.read_args(args, incident_service.parse_filters,
                                                     incident_service.parse_paging)
    return filters, page, per_page


def _incident_url(incident: Incident) -> str:
    return url_for("api.get_incident", reference=incident.reference)


# --- Incidents ----------------------------------------------------------------

def list_incidents() -> Response:
    """List the incidents the caller may see, with the list page's filters and paging."""
    user = auth.current_user()
    if not permissions.can_view_incidents(user):
        raise NotFound("No incidents.")
    filters, page, per_page = _list_query()

    result = incident_service.list_incidents(filters=filters, page=page, per_page=per_page, viewer=user)
    return protocol.respond(schemas.IncidentPage(
        items=[schemas.present_incident(incident) for incident in result.items],
        page=result.page, per_page=result.per_page, total=result.total,
        total_exact=result.total_exact))


def create_incident() -> Response:
    """Log an incident."""
    user = auth.current_user()
    _require_editor(user)
    draft = protocol.parse_body(schemas.IncidentCreate).to_draft()
    _refuse_duplicate(draft.reference, user)
    with protocol.write_guard():
        try:
            outcome = incident_service.create_incident(draft=draft, actor=user)
        except ValidationError:
            _refuse_duplicate(draft.reference, user)  # another request took it meanwhile
            raise
        body = schemas.present_saved_incident(outcome.incident, outcome.warnings)
        etag, location = incident_service.etag(outcome.incident), _incident_url(outcome.incident)
        db.session.commit()
    return protocol.respond(body, 201, etag=etag, location=location)


def get_incident(reference: str) -> Response:
    """Read an incident with its derived values."""
    user = auth.current_user()
    incident = load_incident(reference, user)
    return protocol.respond(schemas.present_incident(incident), etag=incident_service.etag(incident))


def update_incident(reference: str) -> Response:
    """Change the fields sent; cohorts, when sent, replace the whole list."""
    user = auth.current_user()
    incident = load_incident(reference, user)
    _require_editor(user)
    expected = protocol.expected_version(incident_service.etag(incident), what="incident")
    changes = protocol.parse_body(schemas.IncidentPatch).to_changes()
    _refuse_duplicate(changes.reference, user, current=incident)
    with protocol.write_guard():
        try:
            outcome = incident_service.update_incident(incident=incident, changes=changes, actor=user,
                                                       expected_version=expected)
        except ValidationError:
            _refuse_duplicate(changes.reference, user, current=incident)
            raise
        body = schemas.present_saved_incident(outcome.incident, outcome.warnings)
        etag = incident_service.etag(outcome.incident)
        db.session.commit()
    return protocol.respond(body, etag=etag)


def set_major(reference: str) -> Response:
    """Declare the incident a Major Incident, or undeclare it, with the DCC's reason."""
    user = auth.current_user()
    incident = load_incident(reference, user)
    if not permissions.can_declare_major(user):
        raise PermissionDenied("Only the DCC declares or undeclares a Major Incident.")
    expected = protocol.expected_version(incident_service.etag(incident), what="incident")
    body = protocol.parse_body(schemas.MajorInput)
    with protocol.write_guard():
        incident_service.set_major(incident=incident, is_major=body.is_major, reason=body.reason, actor=user,
                                   expected_version=expected)
        answer, etag = schemas.present_incident(incident), incident_service.etag(incident)
        db.session.commit()
    return protocol.respond(answer, etag=etag)


# --- Timeline -------------------------------------------------------------------

def list_timeline(reference: str) -> Response:
    """Read an incident's timeline in time order."""
    incident = load_incident(reference, auth.current_user())
    return protocol.respond(schemas.TimelineEntryList(items=[schemas.present_entry(e) for e in incident.timeline]))


@protocol.idempotent
def add_timeline_entry(reference: str) -> Response:
    """Add a timeline entry (an Idempotency-Key makes a retry replay the first answer)."""
    user = auth.current_user()
    incident = load_incident(reference, user)
    _require_editor(user)
    draft = protocol.parse_body(schemas.TimelineEntryCreate).to_draft()
    with protocol.write_guard():
        entry = incident_service.add_timeline_entry(incident=incident, draft=draft, actor=user)
        location = url_for("api.get_timeline_entry", reference=incident.reference, entry_id=entry.id)
        return protocol.commit(protocol.respond(schemas.present_entry(entry), 201,
                                                etag=incident_service.timeline_etag(entry), location=location))


def get_timeline_entry(reference: str, entry_id: int) -> Response:
    """Read one timeline entry (and its ETag)."""
    entry = _load_entry(reference, entry_id, auth.current_user())
    return protocol.respond(schemas.present_entry(entry), etag=incident_service.timeline_etag(entry))


def update_timeline_entry(reference: str, entry_id: int) -> Response:
    """Change the fields of a timeline entry that are sent."""
    user = auth.current_user()
    entry = _load_entry(reference, entry_id, user)
    _require_editor(user)
    expected = protocol.expected_version(incident_service.timeline_etag(entry), what="timeline entry")
    changes = protocol.parse_body(schemas.TimelineEntryPatch).to_changes()
    with protocol.write_guard():
        entry = incident_service.update_timeline_entry(entry=entry, changes=changes, actor=user,
                                                       expected_version=expected)
        body, etag = schemas.present_entry(entry), incident_service.timeline_etag(entry)
        db.session.commit()
    return protocol.respond(body, etag=etag)


def delete_timeline_entry(reference: str, entry_id: int) -> Response:
    """Delete a timeline entry; the audit trail keeps what it said."""
    user = auth.current_user()
    entry = _load_entry(reference, entry_id, user)
    _require_editor(user)
    expected = protocol.expected_version(incident_service.timeline_etag(entry), what="timeline entry")
    with protocol.write_guard():
        incident_service.delete_timeline_entry(entry=entry, actor=user, expected_version=expected)
        db.session.commit()
    return protocol.respond(None, 204)


# --- Audit and the document -----------------------------------------------------

def list_audit(reference: str) -> Response:
    """Read an incident's audit trail, oldest first, with field-level changes."""
    incident = load_incident(reference, auth.current_user())
    entries = audit_service.entries_for_incident(incident.id)
    return protocol.respond(schemas.AuditEntryList(items=[schemas.present_audit(e) for e in entries]))


@auth.public
def openapi_document() -> Response:
    """Serve the OpenAPI document, generated from the request and response models."""
    return current_app.response_class(json.dumps(openapi.document(), indent=1), mimetype="application/json")
