"""Test data builders that go through the real services."""
from __future__ import annotations

import itertools
from datetime import UTC, date, datetime, timedelta
from typing import Any

from incidents.incident import service as incident_service
from incidents.incident.models import Incident, IncidentStatus, TimelineKind
from incidents.meeting import service as meeting_service
from incidents.meeting.models import Meeting, MeetingKind
from incidents.review import service as review_service
from incidents.review.models import Decision
from incidents.user import service as user_service
from incidents.user.models import User

PASSWORD = "correct-horse-battery"
_seq = itertools.count(1)
FAR_FUTURE = datetime(2030, 1, 1, tzinfo=UTC)


def user(*, role: str = "dcc", email: str | None = None, name: str = "") -> User:
    """Create a user with the shared test password."""
    email = email or f"{role}{next(_seq)}@example.org"
    return user_service.create_user(email=email, role=role, password=PASSWORD, name=name or role.upper())


def reference() -> str:
    """Return a fresh, valid incident reference."""
    return f"INC{next(_seq):012d}"


def incident_data(**overrides: Any) -> dict[str, Any]:
    """Return valid incident fields: the real INC000001001905 shape by default."""
    start = datetime(2023, 4, 4, 5, 15, tzinfo=UTC)  # 06:15 BST
    data: dict[str, Any] = {
        "reference": reference(),
        "title": "National telecoms carrier outage",
        "category": 1,
        "started_at": start,
        "detected_at": start + timedelta(minutes=10),
        "resolved_at": start + timedelta(hours=4, minutes=25),
        "cause_category": "third_party",
        "cause": "Nationwide outage of a national telecoms carrier.",
        "impact": "Smart meter communications unavailable.",
        "devices_affected": 120000,
        "dcc_responsible": True,
        "cohorts": [
            {"name": "CSP C&S", "impact_started_at": start, "restored_at": start + timedelta(hours=2, minutes=35)},
            {"name": "CSP N", "impact_started_at": start, "restored_at": start + timedelta(hours=4, minutes=25)},
            {"name": "DSP", "impact_started_at": start, "restored_at": start + timedelta(hours=3)},
        ],
    }
    data.update(overrides)
    return data


def cohort_drafts(cohorts: list[dict[str, Any]]) -> list[incident_service.CohortDraft]:
    """Turn cohorts written as in ``incident_data`` into the service's input."""
    return [incident_service.CohortDraft(name=c["name"], impact_started_at=c.get("impact_started_at"),
                                         restored_at=c.get("restored_at")) for c in cohorts]


def incident_draft(**overrides: Any) -> incident_service.IncidentDraft:
    """Return ``incident_data`` as the service's input (a status may be given as text)."""
    data = incident_data(**overrides)
    status = data.pop("status", None)
    cohorts = cohort_drafts(data.pop("cohorts"))
    return incident_service.IncidentDraft(**data, cohorts=cohorts,
                                          status=IncidentStatus(status) if status is not None else None)


def incident(*, actor: User, now: datetime = FAR_FUTURE, **overrides: Any) -> Incident:
    """Log an incident through the service."""
    return incident_service.create_incident(draft=incident_draft(**overrides), actor=actor, now=now).incident


def entry_draft(*, occurred_at: datetime | None, kind: str = "update", text: str = "",
                cohort: str | None = None) -> incident_service.TimelineEntryDraft:
    """Return a timeline entry as the service takes it (its kind given as text)."""
    return incident_service.TimelineEntryDraft(occurred_at=occurred_at, kind=TimelineKind(kind), text=text,
                                               cohort=cohort)


def meeting(reference: str, held_on: date, *, actor: User, kind: str = "main") -> Meeting:
    """Return the meeting from the register, entering it first when it is not there."""
    found = meeting_service.find(reference)
    if found is None:
        found = meeting_service.schedule(reference=reference, held_on=held_on, kind=MeetingKind(kind), actor=actor,
                                         now=datetime.combine(held_on, datetime.min.time(), UTC))
    return found


def decision(incident: Incident, *, actor: User, now: datetime, meeting_ref: str = "OPSG_96",
             held_on: date = date(2023, 5, 30), outcome: str = "agreed", classification: str | None = "GREEN",
             minute: str = "The group noted the review.", actions: list[Any] | None = None) -> Decision:
    """Record a decision on the version waiting for the group, at a meeting entered in the register if needed."""
    meeting(meeting_ref, held_on, actor=actor)
    review = review_service.get_review(incident)
    waiting = review_service.awaiting_version(review)
    return review_service.record_decision(
        incident=incident, meeting=meeting_ref, report_version=waiting.number if waiting else None, outcome=outcome,
        classification=classification if outcome == "agreed" else None, minute=minute, actions=actions,
        actor=actor, now=now)
