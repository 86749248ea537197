"""Meetings have a kind, main or reporting: scheduled, checked and shown on every page that lists meetings."""
from __future__ import annotations

import html
import re
from datetime import date
from typing import Any

import pytest

from incidents.action import service as action_service
from incidents.errors import ValidationError
from incidents.extensions import db
from incidents.meeting import service as meeting_service
from incidents.meeting.models import MeetingKind
from tests.reminder.test_views import events, feed_url


def text_of(response: Any) -> str:
    """Return the page as plain text, tags removed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def test_the_form_schedules_each_kind_and_the_list_shows_it(client, auth, users):
    auth.login(users["secas"])
    form = text_of(client.get("/meetings/"))
    assert "Main meeting" in form and "Reporting meeting" in form
    for reference, held_on, kind in (("OPSG_98", "2023-07-11", "main"), ("OPSG_99", "2023-07-24", "reporting")):
        response = client.post("/meetings/", data={"reference": reference, "held_on": held_on, "kind": kind})
        assert response.status_code == 302
    rows = text_of(client.get("/meetings/"))
    assert "OPSG_99 Mon 24 Jul 2023 Reporting meeting" in rows and "OPSG_98 Tue 11 Jul 2023 Main meeting" in rows


def test_a_kind_that_is_neither_is_refused_saying_which_are(client, auth, users, app):
    auth.login(users["opsg"])
    response = client.post("/meetings/", data={"reference": "OPSG_98", "held_on": "2023-07-11", "kind": "weekly"})
    assert response.status_code == 422
    assert "Kind must be main or reporting." in text_of(response)
    with pytest.raises(ValidationError) as caught:
        meeting_service.schedule(reference="OPSG_98", held_on=date(2023, 7, 11), kind=None, actor=users["secas"])
    assert caught.value.errors == {"kind": ["Kind must be main or reporting."]}


def test_the_calendar_and_the_pack_show_the_kind_and_leave_out_tbc_targets(client, auth, users, app):
    meeting_service.schedule(reference="OPSG_300", held_on=date(2099, 6, 30), kind=MeetingKind.REPORTING,
                             actor=users["secas"])
    action_service.create_action(actor=users["secas"], draft=action_service.ActionDraft(
        reference="OPSG 97/04", text="The DCC to confirm its principles.", owner_org="secas",
        raised_on=date(2023, 6, 26), target_on=None))
    db.session.commit()
    auth.login(users["secas"])
    url = feed_url(client)
    assert "Reporting meeting 30 Jun 2099" in text_of(client.get("/meetings/OPSG_300/pack")).replace("Tue ", "")
    auth.logout()
    assert [summary for _, summary in events(client, url)] == ["OPSG_300 (Reporting meeting)"]
