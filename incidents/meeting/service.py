"""Enter and find governance meetings."""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from incidents import permissions
from incidents.audit import service as audit_service
from incidents.errors import PermissionDenied, ValidationError
from incidents.extensions import db
from incidents.meeting.models import Meeting
from incidents.reminder import service as reminder_service
from incidents.timeutil import utcnow


def list_meetings(*, group: str | None = None) -> list[Meeting]:
    """Return meetings, newest first."""
    query = sa.select(Meeting).order_by(Meeting.held_on.desc(), Meeting.id.desc())
    if group:
        query = query.where(Meeting.group == group)
    return list(db.session.scalars(query))


def next_meeting(group: str, *, after: date) -> Meeting | None:
    """Return the group's first scheduled meeting on or after ``after``."""
    return db.session.scalar(sa.select(Meeting).where(Meeting.group == group, Meeting.held_on >= after)
                             .order_by(Meeting.held_on, Meeting.id).limit(1))


def schedule(*, reference: Any, held_on: Any, actor: Any, now: datetime | None = None) -> Meeting:
    """Enter a meeting such as OPSG_98 on a date."""
    if not permissions.can_record_decision(actor):
        raise PermissionDenied("Only SECAS, OPSG members and administrators schedule meetings.")
    errors: dict[str, list[str]] = {}
    pattern = current_app.config["MEETING_PATTERN"]
    if not isinstance(reference, str) or not re.fullmatch(pattern, reference.strip(), re.ASCII):
        errors["reference"] = [f"Meeting must look like {current_app.config['MEETING_HINT']}."]
    elif db.session.scalar(sa.select(Meeting.id).where(Meeting.reference == reference.strip())):
        errors["reference"] = [f"{reference.strip()} is already scheduled."]
    if not isinstance(held_on, date) or isinstance(held_on, datetime):
        errors["held_on"] = ["Meeting date is required (YYYY-MM-DD)."]
    if errors:
        raise ValidationError(errors)
    now = now or utcnow()
    group, number = reference.strip().rsplit("_", 1)
    meeting = Meeting(reference=reference.strip(), group=group, number=int(number), held_on=held_on,
                      created_at=now)
    try:
        # Someone may schedule the same meeting between the check above and this insert.
        with db.session.begin_nested():
            db.session.add(meeting)
    except IntegrityError:
        raise ValidationError({"reference": [f"{meeting.reference} is already scheduled."]}) from None
    audit_service.record(actor=actor, action="create", entity_type="meeting", entity_id=meeting.id,
                         changes={"reference": [None, meeting.reference], "held_on": [None, held_on.isoformat()]},
                         summary=f"Scheduled {meeting.reference}", now=now)
    # The OPSG decision reminders aim at the next meeting.
    reminder_service.plan_awaiting_decision(now=now)
    return meeting
