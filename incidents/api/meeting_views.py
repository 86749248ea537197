"""JSON API v1, the meetings register: read by everyone who reads the actions register, entered by SECAS and OPSG.

Operations Group decisions name a meeting of this register (its date comes from here).
"""
from __future__ import annotations

from flask import Response, url_for

from incidents import permissions
from incidents.api import auth, protocol
from incidents.api import meeting_schemas as schemas
from incidents.errors import DuplicateError, NotFound, PermissionDenied
from incidents.extensions import db
from incidents.meeting import service as meeting_service
from incidents.meeting.models import Meeting
from incidents.user.models import User


def _require_reader(user: User) -> None:
    if not permissions.can_view_meetings(user):
        raise NotFound("No meetings.")


def _present(meeting: Meeting) -> schemas.Meeting:
    return schemas.present_meeting(meeting, url_for("document.pack", reference=meeting.reference))


def list_meetings() -> Response:
    """List the meetings in the register, latest first, each with its pack."""
    _require_reader(auth.current_user())
    return protocol.respond(schemas.MeetingList(items=[_present(m) for m in meeting_service.list_meetings()]))


def schedule_meeting() -> Response:
    """Enter a meeting in the register (SECAS, OPSG members, administrators); a reference already used is 409."""
    user = auth.current_user()
    _require_reader(user)
    if not permissions.can_record_decision(user):
        raise PermissionDenied("Only SECAS, OPSG members and administrators schedule meetings.")
    body = protocol.parse_body(schemas.MeetingInput)
    if meeting_service.find(body.reference.strip()) is not None:
        raise DuplicateError(f"{body.reference.strip()} is already in the register.",
                             {"reference": [f"{body.reference.strip()} is already scheduled."]})
    with protocol.write_guard():
        meeting = meeting_service.schedule(reference=body.reference, held_on=body.held_on, kind=body.kind, actor=user)
        answer = _present(meeting)
        db.session.commit()
    return protocol.respond(answer, 201, location=url_for("api.list_meetings"))
