"""Scheduling meetings."""
from __future__ import annotations

from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from incidents.errors import PermissionDenied, ValidationError
from incidents.extensions import db
from incidents.meeting import service as meeting_service
from incidents.meeting.models import Meeting


def test_next_meeting_of_a_group(app, users):
    for reference, day in (("OPSG_97", date(2023, 6, 26)), ("OPSG_98", date(2023, 7, 25)),
                           ("PANEL_12", date(2023, 7, 1))):
        meeting_service.schedule(reference=reference, held_on=day, actor=users["secas"])
    db.session.commit()
    assert meeting_service.next_meeting("OPSG", after=date(2023, 6, 27)).reference == "OPSG_98"
    assert meeting_service.next_meeting("OPSG", after=date(2023, 6, 26)).reference == "OPSG_97"
    assert meeting_service.next_meeting("OPSG", after=date(2023, 7, 26)) is None


def test_only_secas_opsg_and_admins_schedule(app, users):
    for role in ("dcc", "party"):
        with pytest.raises(PermissionDenied):
            meeting_service.schedule(reference="OPSG_97", held_on=date(2023, 6, 26), actor=users[role])


def test_the_same_meeting_scheduled_at_the_same_moment_elsewhere_is_a_field_error(app, users):
    """Another request inserts OPSG_97 between this one's check and its insert."""

    raced: list[bool] = []

    def other_request_first(session, flush_context, instances):
        if not raced and any(isinstance(obj, Meeting) for obj in session.new):
            raced.append(True)
            with db.engine.begin() as other:
                other.execute(sa.insert(Meeting).values(reference="OPSG_97", group="OPSG", number=97,
                                                        held_on=date(2023, 6, 26), created_at=users["secas"].created_at))

    event.listen(db.session, "before_flush", other_request_first)
    try:
        with pytest.raises(ValidationError) as info:
            meeting_service.schedule(reference="OPSG_97", held_on=date(2023, 6, 26), actor=users["secas"])
    finally:
        event.remove(db.session, "before_flush", other_request_first)
    assert info.value.errors == {"reference": ["OPSG_97 is already scheduled."]}
    db.session.rollback()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Meeting)) == 1
