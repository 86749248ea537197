"""Rows for the CSV exports, read from the database in batches so a large export stays small in memory.

Each public function checks access and builds its query at once (so a refusal
is an ordinary 404 before anything is sent), then returns a generator that
reads ``BATCH`` rows at a time with ``yield_per`` while the response streams.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app

from incidents import labels, permissions
from incidents.action import service as action_service
from incidents.action.models import Action
from incidents.audit import describe as audit_describe
from incidents.audit.models import AuditEntry
from incidents.errors import NotFound, ValidationError
from incidents.extensions import db
from incidents.incident import service as incident_service
from incidents.incident.models import Incident
from incidents.review.models import ExclusionState, ReportState, Review
from incidents.timeutil import local_date, to_local, utcnow
from incidents.user import service as user_service
from incidents.user.models import User

BATCH = 500
Row = list[Any]

INCIDENT_HEADER = [
    "reference", "title", "category", "status", "started_at_uk", "detected_at_uk", "resolved_at_uk",
    "duration_minutes", "trt_deadline_uk", "within_trt", "pmr_month", "cohorts", "cause_category",
    "devices_affected", "dcc_responsible", "pmr_treatment", "report_state",
]
ACTION_HEADER = [
    "reference", "text", "owner", "owner_user", "raised_on", "original_target_on", "target_on",
    "target_revisions", "status", "overdue", "incidents", "closing_note", "closed_at_uk",
]
# "actor" is the person (name and organisation), "description" the entry in words, "changes" each changed field
# with its old and new value in words (the API gives the recorded values).
AUDIT_HEADER = ["at_uk", "actor", "entity_type", "entity_id", "action", "description", "summary", "changes"]


def local_iso(value: datetime | None) -> str:
    """Return an instant as UK local ISO 8601 with its offset, e.g. '2023-04-04T10:40+01:00'."""
    return to_local(value).isoformat(timespec="minutes") if value is not None else ""


def _yes_no(value: bool | None) -> str:
    return "" if value is None else ("yes" if value else "no")


def _filters(parse: Callable[[Any], Any], args: Any) -> Any:
    """Parse filters; a refusal names every problem, since a download has no form to show them on."""
    try:
        return parse(args)
    except ValidationError as exc:
        messages = " ".join(m for ms in exc.errors.values() for m in ms)
        raise ValidationError(exc.errors, f"{exc.detail} {messages}".strip()) from None


# --- Incidents ---------------------------------------------------------------------------

def incident_query(filters: incident_service.Filters) -> sa.Select[Incident, ExclusionState, ReportState]:
    """Build the incident list's query for the same filters as the list page and the API."""
    query = incident_service.filtered(sa.select(Incident, Review.exclusion_state, Review.report_state)
                                      .outerjoin(Review, Review.incident_id == Incident.id), filters)
    return query.order_by(Incident.started_at.desc(), Incident.id.desc())


def incident_rows(args: Any, *, viewer: Any) -> Iterator[Row]:
    """Return the incident log as CSV rows (header first), filtered as the list page filters ``args``."""
    if not permissions.can_view_incidents(viewer):
        raise NotFound("No incidents.")
    filters = _filters(incident_service.parse_filters, args)
    return _incident_rows(incident_query(filters))


def _incident_rows(query: sa.Select[Incident, ExclusionState, ReportState]) -> Iterator[Row]:
    yield INCIDENT_HEADER
    causes = current_app.config["CAUSE_CATEGORIES"]
    # Cohorts load per batch (selectin), so each batch costs two queries whatever its size.
    result = db.session.execute(query.execution_options(yield_per=BATCH))
    for incident, exclusion_state, report_state in result:
        derived = incident_service.derive(incident)
        yield [
            incident.reference, incident.title, incident.category, labels.label(incident.status),
            local_iso(incident.started_at), local_iso(incident.detected_at), local_iso(incident.resolved_at),
            derived.duration_minutes if derived.duration_minutes is not None else "",
            local_iso(derived.target_deadline_at), _yes_no(derived.within_target_resolution_time),
            derived.pmr_month or "", "; ".join(c.name for c in incident.cohorts),
            causes.get(incident.cause_category, incident.cause_category),
            incident.devices_affected if incident.devices_affected is not None else "",
            _yes_no(incident.dcc_responsible),
            labels.label(exclusion_state or ExclusionState.NOT_PROPOSED),
            labels.label(report_state or ReportState.NOT_STARTED),
        ]


# --- Actions -----------------------------------------------------------------------------------

def action_query(filters: action_service.ActionFilters, *, today: date) -> sa.Select[Action, str]:
    """Build the actions register's query for the register's filters."""
    # Mirrors action_service.list_actions (which pages); the owner's email is joined to avoid a query per row.
    query = (sa.select(Action, User.email).outerjoin(User, User.id == Action.owner_user_id)
             .where(*action_service.filter_conditions(filters, today=today)))
    return query.order_by(Action.status, sa.case((Action.target_on.is_(None), 1), else_=0), Action.target_on,
                          Action.reference)


def action_rows(args: Any, *, viewer: Any, now: datetime | None = None) -> Iterator[Row]:
    """Return the actions register as CSV rows (header first), filtered as the register filters ``args``."""
    if not permissions.can_view_actions(viewer):
        raise NotFound("No actions.")
    filters = _filters(action_service.parse_filters, args)
    today = local_date(now or utcnow())
    return _action_rows(action_query(filters, today=today), today)


def _action_rows(query: sa.Select[Action, str], today: date) -> Iterator[Row]:
    yield ACTION_HEADER
    owners = action_service.organisations()
    for action, email in db.session.execute(query.execution_options(yield_per=BATCH)):
        yield [
            action.reference, action.text, owners.get(action.owner_org, action.owner_org),
            user_service.person(email) if email else "",
            action.raised_on.isoformat(), action_service.target_label(action.original_target_on),
            action_service.target_label(action.target_on),
            len(action.revisions), labels.label(action.status), _yes_no(action_service.is_overdue(action, today=today)),
            "; ".join(sorted(i.reference for i in action.incidents)), action.closing_note,
            local_iso(action.closed_at),
        ]


# --- An incident's audit trail --------------------------------------------------------------------

def audit_rows(reference: str, *, viewer: Any) -> Iterator[Row]:
    """Return an incident's audit trail as CSV rows, oldest first."""
    incident = incident_service.get_incident(reference, viewer=viewer)
    query = (sa.select(AuditEntry).where(AuditEntry.incident_id == incident.id)
             .order_by(AuditEntry.at, AuditEntry.id))
    return _audit_rows(query, incident.reference)


def _audit_rows(query: sa.Select[AuditEntry], reference: str) -> Iterator[Row]:
    yield AUDIT_HEADER
    for entry in db.session.scalars(query.execution_options(yield_per=BATCH)):
        described = audit_describe.describe(entry, reference=reference)
        yield [local_iso(entry.at), described.who, labels.entity_label(entry.entity_type),
               entry.entity_id if entry.entity_id is not None else "", labels.action_label(entry.action),
               described.description, entry.summary,
               "\n".join(f"{c.field}: {c.before} → {c.after}" for c in described.changes)]
