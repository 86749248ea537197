"""Every form with a date or date-time field takes the date as people in the UK write it, and shows it day first.

The forms: incident log and edit (started, detected, resolved, and each cohort's impact start and restoration),
timeline entries (add and edit), the Summary Report's time sent, the meeting register, actions (date raised,
target date, a revised target), and an Operations Group decision's minuted actions (target dates).
"""
from __future__ import annotations

import html
import re
from datetime import UTC, date, datetime
from typing import Any

import sqlalchemy as sa

from incidents.action.models import Action
from incidents.extensions import db
from incidents.incident.models import Incident
from incidents.meeting.models import Meeting
from incidents.review import service as review_service
from tests import factories
from tests.document.builders import submitted

COHORTS = ["CSP N", "CSP C&S", "DSP", "S1SP", "SMKI"]


def _text(response: Any) -> str:
    return response.get_data(as_text=True)


def _value(body: str, field_id: str) -> str:
    tag = re.search(rf'<input[^>]*\bid="{re.escape(field_id)}"[^>]*>', body)
    assert tag, f"no input {field_id}"
    assert 'type="date"' not in tag.group(0)
    value = re.search(r'\bvalue="([^"]*)"', tag.group(0))
    return html.unescape(value.group(1)) if value else ""


def _incident(reference: str) -> Incident:
    db.session.expire_all()
    found = db.session.scalar(sa.select(Incident).where(Incident.reference == reference))
    assert found is not None
    return found


def _incident_post(reference: str, version: str | None = None, **times: str) -> dict[str, str]:
    data = {"reference": reference, "title": "National telecoms carrier outage", "category": "1", "status": "",
            "cause_category": "third_party", "cause": "Carrier outage.", "impact": "Meters unreachable.",
            "devices_affected": "", "dcc_responsible": "y", **times}
    for index in range(len(COHORTS)):
        data.setdefault(f"cohorts-{index}-impact_started_at", "")
        data.setdefault(f"cohorts-{index}-restored_at", "")
    if version is not None:
        data["version"] = version
    return data


# UK time on 4 April 2023 is BST (UTC+1), on 10 January 2023 GMT.
UK_TIMES = {
    "started_at": "04/04/2023 06:15",
    "detected_at": "4 Apr 2023 6:25",
    "resolved_at": "4 April 2023 10:40",
    "cohorts-0-affected": "y", "cohorts-0-impact_started_at": "04-04-2023 06:15",
    "cohorts-0-restored_at": "4/4/2023 10:40",
    "cohorts-1-affected": "y", "cohorts-1-impact_started_at": "2023-04-04T06:15",
    "cohorts-1-restored_at": "2023-04-04 08:50",
}


def test_the_incident_log_form_takes_uk_dates_in_every_date_field_and_the_edit_form_shows_them_day_first(
        client, auth, users):
    auth.login(users["dcc"])
    form = _text(client.get("/incidents/new"))
    assert form.count('class="hint date-time-hint"') == 1 and "UK time (GMT/BST)" in form
    assert 'type="date"' not in form
    reference = factories.reference()
    response = client.post("/incidents/new", data=_incident_post(reference, **UK_TIMES))
    assert response.status_code == 302, _text(response)[:2000]
    incident = _incident(reference)
    assert incident.started_at == datetime(2023, 4, 4, 5, 15, tzinfo=UTC)
    assert incident.detected_at == datetime(2023, 4, 4, 5, 25, tzinfo=UTC)
    assert incident.resolved_at == datetime(2023, 4, 4, 9, 40, tzinfo=UTC)
    cohorts = {c.name: (c.impact_started_at, c.restored_at) for c in incident.cohorts}
    assert cohorts == {"CSP N": (datetime(2023, 4, 4, 5, 15, tzinfo=UTC), datetime(2023, 4, 4, 9, 40, tzinfo=UTC)),
                       "CSP C&S": (datetime(2023, 4, 4, 5, 15, tzinfo=UTC), datetime(2023, 4, 4, 7, 50, tzinfo=UTC))}

    edit = _text(client.get(f"/incidents/{reference}/edit"))
    assert _value(edit, "started_at") == "04/04/2023 06:15 BST"
    assert _value(edit, "cohorts-1-restored_at") == "04/04/2023 08:50 BST"
    changed = {**UK_TIMES, "resolved_at": "04/04/2023 10:45", "cohorts-0-restored_at": "4 Apr 2023 10:45"}
    response = client.post(f"/incidents/{reference}/edit",
                           data=_incident_post(reference, version=str(incident.version), **changed))
    assert response.status_code == 302, _text(response)[:2000]
    incident = _incident(reference)
    assert incident.resolved_at == datetime(2023, 4, 4, 9, 45, tzinfo=UTC)
    assert {c.name: c.restored_at for c in incident.cohorts}["CSP N"] == datetime(2023, 4, 4, 9, 45, tzinfo=UTC)


def test_the_incident_form_refuses_month_first_saying_what_to_type(client, auth, users):
    auth.login(users["dcc"])
    response = client.post("/incidents/new", data=_incident_post(
        factories.reference(), **{**UK_TIMES, "started_at": "04/30/2023 06:15"}))
    assert response.status_code == 422
    assert "Write the day first, then the month, e.g. 30/11/2026 09:12." in html.unescape(_text(response))


def test_timeline_entries_take_uk_dates_when_added_and_edited(client, auth, users):
    incident = factories.incident(actor=users["dcc"])
    db.session.commit()
    reference = incident.reference
    auth.login(users["dcc"])
    detail = _text(client.get(f"/incidents/{reference}"))
    assert "UK time (GMT/BST)" in detail and 'id="occurred_at-zone-hint"' in detail
    response = client.post(f"/incidents/{reference}/timeline", data={
        "occurred_at": "4 Apr 2023 9:30", "kind": "mitigation", "cohort": "", "text": "Reset requested."})
    assert response.status_code == 302, _text(response)[:2000]
    entry = _incident(reference).timeline[-1]
    assert entry.occurred_at == datetime(2023, 4, 4, 8, 30, tzinfo=UTC)

    url = f"/incidents/{reference}/timeline/{entry.id}/edit"
    form = _text(client.get(url))
    assert _value(form, "occurred_at") == "04/04/2023 09:30 BST"
    assert form.count("UK time (GMT/BST)") == 1
    response = client.post(url, data={"occurred_at": "04/04/2023 09:35", "kind": "mitigation", "cohort": "",
                                      "text": "Reset requested.", "version": str(entry.version)})
    assert response.status_code == 302, _text(response)[:2000]
    db.session.expire_all()
    assert _incident(reference).timeline[-1].occurred_at == datetime(2023, 4, 4, 8, 35, tzinfo=UTC)


def test_the_summary_report_time_sent_takes_a_uk_date(client, auth, users, now):
    incident = factories.incident(actor=users["dcc"], now=now)
    db.session.commit()
    auth.login(users["dcc"])
    url = f"/incidents/{incident.reference}/summary-report"
    assert 'type="date"' not in _text(client.get(url))
    response = client.post(url, data={"what_happened": "A national carrier outage.", "recipients": "SECAS",
                                      "sent_at": "5/4/2023 16:00", "intent": "sent"})
    assert response.status_code == 302, _text(response)[:2000]
    version = review_service.latest_summary(review_service.get_review(_incident(incident.reference)))
    assert version is not None and version.sent_at == datetime(2023, 4, 5, 15, 0, tzinfo=UTC)


def test_the_meeting_register_takes_a_uk_date_in_a_text_box(client, auth, users):
    auth.login(users["secas"])
    form = _text(client.get("/meetings/"))
    assert 'type="date"' not in form and "For example, 30/11/2026" in form
    response = client.post("/meetings/", data={"reference": "OPSG_98", "held_on": "25/07/2023", "kind": "main"})
    assert response.status_code == 302, _text(response)[:2000]
    response = client.post("/meetings/", data={"reference": "OPSG_99", "held_on": "22 Aug 2023", "kind": "main"})
    assert response.status_code == 302, _text(response)[:2000]
    held = dict(db.session.execute(sa.select(Meeting.reference, Meeting.held_on)).all())
    assert held == {"OPSG_98": date(2023, 7, 25), "OPSG_99": date(2023, 8, 22)}


def test_actions_take_uk_dates_when_raised_and_when_the_target_is_revised(client, auth, users):
    auth.login(users["opsg"])
    form = _text(client.get("/actions/new"))
    assert 'type="date"' not in form and "For example, 30/11/2026" in form
    response = client.post("/actions/new", data={
        "reference": "OPSG 97/04", "text": "DCC to confirm its principles.", "owner_org": "dcc",
        "raised_on": "26/06/2023", "target_on": "24 Jul 2099"})
    assert response.status_code == 302, _text(response)[:2000]
    action = db.session.scalar(sa.select(Action).where(Action.reference == "OPSG 97/04"))
    assert (action.raised_on, action.target_on) == (date(2023, 6, 26), date(2099, 7, 24))

    url = "/actions/OPSG%2097-04/edit"
    assert _value(_text(client.get(url)), "target_on") == "24/07/2099"
    response = client.post(url, data={
        "text": action.text, "owner_org": "dcc", "owner_user": "", "target_on": "25/09/2099",
        "revision_reason": "The DCC asked for more time.", "status": "open", "closing_note": "", "incidents": "",
        "version": str(action.version)})
    assert response.status_code == 302, _text(response)[:2000]
    db.session.expire_all()
    action = db.session.get(Action, action.id)
    assert action.target_on == date(2099, 9, 25) and action.original_target_on == date(2099, 7, 24)
    assert [r.target_on for r in action.revisions] == [date(2099, 9, 25)]


def test_a_decisions_minuted_actions_take_uk_target_dates(client, auth, users, now):
    incident = submitted(users, now)
    factories.meeting("OPSG_97", date(2023, 6, 26), actor=users["secas"])
    db.session.commit()
    auth.login(users["opsg"])
    review = _text(client.get(f"/incidents/{incident.reference}/review"))
    assert "24/07/2023" in review  # the example in the hint is day first
    response = client.post(f"/incidents/{incident.reference}/review/decision", data={
        "decision-meeting": "OPSG_97", "decision-report_version": "1", "decision-outcome": "agreed",
        "decision-classification": "GREEN", "decision-minute": "Agreed.",
        "decision-actions_text": "OPSG 97/04 | dcc | 24/07/2099 | DCC to confirm its principles.\n"
                                 "OPSG 97/05 | secas | 7 Aug 2099 | SECAS to circulate the minutes.", "confirm": "yes"})
    assert response.status_code == 302, _text(response)[:3000]
    targets = dict(db.session.execute(sa.select(Action.reference, Action.target_on)).all())
    assert targets == {"OPSG 97/04": date(2099, 7, 24), "OPSG 97/05": date(2099, 8, 7)}
