"""Meeting pages: the list for readers, scheduling for SECAS, the Operations Group and administrators."""
from __future__ import annotations

import html
import re
from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from incidents.extensions import db
from incidents.meeting import service as meeting_service
from incidents.meeting.models import Meeting


def page(response: Any) -> str:
    """Return the response body as text."""
    return response.get_data(as_text=True)


def error_for(body: str, field_id: str) -> str:
    """Return the text of the error list rendered next to a field ('' when none)."""
    match = re.search(rf'<ul class="errors" id="{re.escape(field_id)}-error">(.*?)</ul>', body, re.DOTALL)
    return html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))) if match else ""


@pytest.fixture()
def meetings(app, users):
    meeting_service.schedule(reference="OPSG_97", held_on=date(2023, 6, 26), actor=users["secas"])
    meeting_service.schedule(reference="OPSG_200", held_on=date(2099, 6, 30), actor=users["secas"])
    db.session.commit()


@pytest.mark.parametrize("role, can_schedule", [("dcc", False), ("secas", True), ("opsg", True), ("admin", True)])
def test_readers_see_the_meetings_and_only_some_may_schedule(client, auth, users, meetings, role, can_schedule):
    auth.login(users[role])
    response = client.get("/meetings/")
    assert response.status_code == 200
    body = page(response)
    assert body.index("OPSG_200") < body.index("OPSG_97")
    assert "Mon 26 Jun 2023" in body and '<span class="tag warn">Upcoming</span>' in body
    assert 'href="/actions/?meeting=OPSG_97"' in body
    assert ("Schedule a meeting" in body) is can_schedule


def test_the_dcc_may_not_schedule_and_parties_do_not_see_meetings(client, auth, users, meetings):
    auth.login(users["dcc"])
    assert client.post("/meetings/", data={"reference": "OPSG_98", "held_on": "2023-07-25"}).status_code == 403
    auth.logout()
    auth.login(users["party"])
    assert client.get("/meetings/").status_code == 404
    assert client.post("/meetings/", data={"reference": "OPSG_98", "held_on": "2023-07-25"}).status_code == 404
    assert db.session.scalar(sa.select(Meeting.id).where(Meeting.reference == "OPSG_98")) is None


def test_scheduling_a_meeting(client, auth, users, meetings):
    auth.login(users["opsg"])
    response = client.post("/meetings/", data={"reference": " OPSG_98 ", "held_on": "2023-07-25"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/meetings/#meeting-OPSG_98")
    body = page(client.get("/meetings/"))
    assert "Scheduled OPSG_98" in body and 'id="meeting-OPSG_98"' in body and "Tue 25 Jul 2023" in body


@pytest.mark.parametrize("data, field, message", [
    ({"reference": "OPSG 98", "held_on": "2023-07-25"}, "reference", "Meeting must look like OPSG_97"),
    ({"reference": "OPSG_97", "held_on": "2023-07-25"}, "reference", "OPSG_97 is already scheduled."),
    ({"reference": "OPSG_98", "held_on": ""}, "held_on", "Meeting date is required"),
    ({"reference": "OPSG_98", "held_on": "07/25/2023"}, "held_on", "Write the day first, then the month, e.g. 30/11/2026."),
    ({"reference": "<b>x</b>", "held_on": "2023-07-25"}, "reference", "Meeting must look like"),
])
def test_mistakes_are_shown_next_to_their_fields(client, auth, users, meetings, data, field, message):
    auth.login(users["secas"])
    response = client.post("/meetings/", data=data)
    assert response.status_code == 422
    body = page(response)
    assert message in error_for(body, field)
    assert "<b>x</b>" not in body
