"""Enter and find governance meetings."""
from __future__ import annotations

import re
from datetime import date, datetime

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from incidents import labels, permissions
from incidents.audit import service as audit_service
from incidents.errors import PermissionDenied, ValidationError
from incidents.extensions import db
from incidents.meeting.models import Meeting, MeetingKind
from incidents.reminder import service as reminder_service
from incidents.timeutil import utcnow
from incidents.user.models import User

KIND_LABELS = {kind: labels.label(kind) for kind in MeetingKind}  # the words live in incidents.labels


def kind_label(kind: MeetingKind) -> str:
    """Name a meeting's kind for people: 'Main meeting' or 'Reporting meeting'."""
    return KIND_LABELS[MeetingKind(kind)]


def list_meetings(*, group: str | None = None) -> list[Meeting]:
    """Return meetings, newest first."""
    query = sa.select(Meeting).order_by(Meeting.held_on.desc(), Meeting.id.desc())
    if group:
        query = query.where(Meeting.group == group)
    return list(db.session.scalars(query))


def find(reference: str) -> Meeting | None:
    """Return the meeting with this reference (OPSG_97), if it is in the register."""
    if not reference or "\x00" in reference or len(reference) > 40:
        return None
    return db.session.scalar(sa.select(Meeting).where(Meeting.reference == reference))


def held_by(day: date) -> list[Meeting]:
    """Return the meetings held on or before ``day``, latest first: those at which a decision can be recorded."""
    return list(db.session.scalars(sa.select(Meeting).where(Meeting.held_on <= day)
                                   .order_by(Meeting.held_on.desc(), Meeting.id.desc())))


def next_meeting(group: str, *, after: date) -> Meeting | None:
    """Return the group's first scheduled meeting on or after ``after``."""
    return db.session.scalar(sa.select(Meeting).where(Meeting.group == group, Meeting.held_on >= after)
                             .order_by(Meeting.held_on, Meeting.id).limit(1))


def schedule(*, reference: str, held_on: date | None, actor: User, kind: MeetingKind | None = MeetingKind.MAIN,
             now: datetime | None = None) -> Meeting:
    """Enter a meeting such as OPSG_98 on a date, a main meeting or a reporting one (``kind`` None: not one of those)."""
    if not permissions.can_record_decision(actor):
        raise PermissionDenied("Only SECAS, OPSG members and administrators schedule meetings.")
    errors: dict[str, list[str]] = {}
    pattern = current_app.config["MEETING_PATTERN"]
    reference = reference.strip()
    if not re.fullmatch(pattern, reference, re.ASCII):
        errors["reference"] = [f"Meeting must look like {current_app.config['MEETING_HINT']}."]
    elif db.session.scalar(sa.select(Meeting.id).where(Meeting.reference == reference)):
        errors["reference"] = [f"{reference} is already scheduled."]
    if held_on is None:
        errors["held_on"] = ["Meeting date is required."]
    if kind is None or kind not in set(MeetingKind):
        errors["kind"] = ["Kind must be main or reporting."]
    if errors:
        raise ValidationError(errors)
    assert held_on is not None and kind is not None
    now = now or utcnow()
    group, number = reference.rsplit("_", 1)
    meeting = Meeting(reference=reference, group=group, number=int(number), held_on=held_on,
                      kind=MeetingKind(kind), created_at=now)
    try:
        # Someone may schedule the same meeting between the check above and this insert.
        with db.session.begin_nested():
            db.session.add(meeting)
    except IntegrityError:
        raise ValidationError({"reference": [f"{meeting.reference} is already scheduled."]}) from None
    audit_service.record(actor=actor, action="create", entity_type="meeting", entity_id=meeting.id,
                         changes={"reference": [None, meeting.reference], "held_on": [None, held_on.isoformat()],
                                  "kind": [None, meeting.kind.value]},
                         summary=f"Scheduled {meeting.reference}", now=now)
    # The OPSG decision reminders aim at the next meeting.
    reminder_service.plan_awaiting_decision(now=now)
    return meeting
