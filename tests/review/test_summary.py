"""The Major Incident Summary Report: versions with sections, recipients and the time sent; due until sent."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from incidents.dashboard import service as dashboard_service
from incidents.errors import PermissionDenied, StaleError, ValidationError
from incidents.extensions import db
from incidents.incident.models import Incident
from incidents.reminder.models import Reminder, ReminderKind, ReminderState
from incidents.review import service as review_service
from incidents.review import workflow
from incidents.review.service import SummaryDraft
from incidents.user import service as user_service
from incidents.user.models import Role
from tests import factories
from tests.api.helpers import Api

RESOLVED = datetime(2023, 4, 4, 9, 40, tzinfo=UTC)
NOW = RESOLVED + timedelta(hours=2)  # 12:40 BST on the day of resolution: the Summary Report is due on 6 April
LATE = date(2023, 4, 7)  # the day after it was due
SECTIONS = {"what_happened": "A nationwide outage of a national telecoms carrier.",
            "impact": "Meters unreachable in every cohort.", "current_status": "Restored; **CSP N** last.",
            "next_steps": "Review Report within 20 Working Days."}


@pytest.fixture()
def case(app: Any, users: dict[str, Any]) -> Incident:
    """The real case, logged two hours after it was resolved."""
    incident = factories.incident(actor=users["dcc"], now=NOW)
    db.session.commit()
    return incident


def _summary_reminders(incident: Incident, state: ReminderState) -> list[Reminder]:
    return list(db.session.scalars(sa.select(Reminder).where(
        Reminder.incident_id == incident.id, Reminder.kind == ReminderKind.SUMMARY_REPORT, Reminder.state == state)))


def _tasks(role: Role, incident: Incident, today: date | None = None) -> list[str]:
    tasks = dashboard_service.tasks_for(role, today=today or NOW.date())
    return [t.what for t in tasks if t.reference == incident.reference]


def test_versions_are_kept_and_the_report_is_sent_once_recorded(app, users, case):
    dcc = users["dcc"]
    draft = review_service.record_summary_report(
        incident=case, actor=dcc, now=NOW,
        draft=SummaryDraft(sections={"what_happened": SECTIONS["what_happened"]}, recipients=[]))
    assert (draft.number, draft.sent_at, draft.has_contents) == (1, None, True)
    review = review_service.get_review(case)
    assert review.summary_submitted_at is None
    etag = review_service.summary_etag(review)
    # The same text again adds no version.
    same = review_service.record_summary_report(
        incident=case, actor=dcc, now=NOW, expected=etag,
        draft=SummaryDraft(sections={"what_happened": SECTIONS["what_happened"]}, recipients=[]))
    assert same.number == 1
    sent_at = NOW - timedelta(minutes=30)
    sent = review_service.record_summary_report(
        incident=case, actor=dcc, now=NOW, expected=etag,
        draft=SummaryDraft(sections=SECTIONS, recipients=["SECAS", " OPSG members ", "SECAS"], is_sent=True,
                           sent_at=sent_at))
    assert (sent.number, sent.sent_at, sent.recipients) == (2, sent_at, ["SECAS", "OPSG members"])
    assert review.summary_submitted_at == sent_at
    # Someone working from version 1 is refused: version 2 is not silently replaced.
    with pytest.raises(StaleError):
        review_service.record_summary_report(incident=case, actor=dcc, now=NOW, expected=etag,
                                             draft=SummaryDraft(sections={"impact": "Mine."}, recipients=[]))
    # A revision keeps the first time sent; every version stays readable.
    review_service.record_summary_report(
        incident=case, actor=dcc, now=NOW + timedelta(hours=1), expected=review_service.summary_etag(review),
        draft=SummaryDraft(sections={**SECTIONS, "current_status": "Closed."}, recipients=["SECAS"], is_sent=True))
    assert [v.number for v in review.summary_versions] == [1, 2, 3]
    assert review.summary_versions[2].sent_at == NOW + timedelta(hours=1)
    assert review.summary_submitted_at == sent_at
    assert review_service.get_summary_version(review, 1).sections["what_happened"] == SECTIONS["what_happened"]


@pytest.mark.parametrize(("draft", "field", "says"), [
    (SummaryDraft(sections=SECTIONS, recipients=["SECAS"], is_sent=True, sent_at=NOW + timedelta(minutes=1)),
     "sent_at", "The time sent is in the future"),
    (SummaryDraft(sections=SECTIONS, recipients=["SECAS"], is_sent=True,
                  sent_at=datetime(2023, 4, 1, 9, 0, tzinfo=UTC)), "sent_at", "before the incident started"),
    (SummaryDraft(sections=SECTIONS, recipients=[], is_sent=True), "recipients", "Say who the Summary Report went to"),
    (SummaryDraft(sections={"impact": "x"}, recipients=["SECAS"], is_sent=True), "sections.what_happened",
     "What happened is required"),
    (SummaryDraft(sections=SECTIONS, recipients=["SECAS"], sent_at=NOW), "sent_at", "A draft has no time sent"),
    (SummaryDraft(sections={}, recipients=[]), "sections.what_happened", "Write at least one section"),
    (SummaryDraft(sections=SECTIONS, recipients=["x" * 201]), "recipients", "at most 200 characters"),
    (SummaryDraft(sections={"impact": "a\x00b"}, recipients=[]), "sections.impact", "null character"),
])
def test_what_is_refused_says_what_to_fix(app, users, case, draft, field, says):
    with pytest.raises(ValidationError) as refused:
        review_service.record_summary_report(incident=case, draft=draft, actor=users["dcc"], now=NOW)
    assert any(says in message for message in refused.value.errors[field]), refused.value.errors
    db.session.rollback()
    assert review_service.latest_summary(review_service.get_review(case)) is None


def test_only_the_dcc_writes_it(app, users, case):
    for role in ("secas", "opsg"):
        with pytest.raises(PermissionDenied, match="Only the DCC records the Summary Report"):
            review_service.record_summary_report(incident=case, actor=users[role], now=NOW,
                                                 draft=SummaryDraft(sections=SECTIONS, recipients=["SECAS"]))


def test_it_waits_on_the_dcc_and_secas_until_sent_and_its_reminders_stop(app, users, case):
    assert "Send the Major Incident Summary Report and record it as sent" in _tasks(Role.DCC, case)
    # SECAS has nothing to do until it is late (due Thu 6 Apr); then its part is to chase it.
    assert _tasks(Role.SECAS, case) == []
    assert _tasks(Role.SECAS, case, LATE) == [workflow.CHASE_SUMMARY]
    assert not any("Summary Report" in what for what in _tasks(Role.OPSG, case))
    planned = _summary_reminders(case, ReminderState.PENDING)
    assert [r.deadline_on.isoformat() for r in planned] == ["2023-04-06", "2023-04-06"]
    # A draft is not a sending: everything still waits.
    review_service.record_summary_report(incident=case, actor=users["dcc"], now=NOW,
                                         draft=SummaryDraft(sections=SECTIONS, recipients=["SECAS"]))
    db.session.commit()
    assert any("Summary Report" in what for what in _tasks(Role.SECAS, case, LATE))
    assert len(_summary_reminders(case, ReminderState.PENDING)) == 2

    review_service.record_summary_report(
        incident=case, actor=users["dcc"], now=NOW, expected=review_service.summary_etag(review_service.get_review(case)),
        draft=SummaryDraft(sections=SECTIONS, recipients=["SECAS"], is_sent=True))
    db.session.commit()
    assert not any("Summary Report" in what for what in _tasks(Role.DCC, case) + _tasks(Role.SECAS, case, LATE))
    assert "Propose the PMR treatment (include, or exclude citing a principle)" in _tasks(Role.DCC, case)
    assert _summary_reminders(case, ReminderState.PENDING) == []
    assert len(_summary_reminders(case, ReminderState.CANCELLED)) == 2


def test_an_unresolved_incident_asks_for_no_summary_report_yet(app, users):
    incident = factories.incident(actor=users["dcc"], now=NOW, resolved_at=None, status="open", cohorts=[])
    db.session.commit()
    assert not any("Summary Report" in what for what in _tasks(Role.DCC, incident) + _tasks(Role.SECAS, incident))


def _login(client: Any, auth: Any, user: Any) -> None:
    auth.logout()
    assert auth.login(user).status_code == 302


def test_the_page_writes_versions_in_uk_time_and_shows_them_to_the_teams_only(app, client, auth, users, case):
    url = f"/incidents/{case.reference}/summary-report"
    _login(client, auth, users["dcc"])
    page = client.get(url).text
    assert "Record as sent" in page and "No version saved yet." in page and "due by Thu 6 Apr 2023" in page
    sections = {**SECTIONS, "impact": "<script>alert(1)</script> **wide**"}
    future = client.post(url, data={**sections, "recipients": "SECAS", "sent_at": "2099-01-01 10:00",
                                    "intent": "sent"})
    assert future.status_code == 422 and "The time sent is in the future" in future.text
    response = client.post(url, data={**sections, "recipients": "SECAS\nOPSG members",
                                      "sent_at": "2023-04-04 11:55", "intent": "sent"})
    assert response.status_code == 302
    page = client.get(url).text
    assert "Recorded Summary Report version 1 as sent." in page
    version = review_service.latest_summary(review_service.get_review(case))
    assert version.sent_at == datetime(2023, 4, 4, 10, 55, tzinfo=UTC)  # 11:55 BST
    assert "<script>alert(1)</script>" not in page and "<strong>wide</strong>" in page
    assert "SECAS; OPSG members" in page and "11:55 BST" in page
    stale = client.post(url, data={**SECTIONS, "intent": "draft", "etag": '"summary-none"'})
    assert stale.status_code == 409 and "saved by someone else" in stale.text

    for role in ("secas", "opsg", "admin"):
        _login(client, auth, users[role])
        page = client.get(url).text
        assert "Version 1: sent" in page and ("Record as sent" in page) == (role == "admin")
    _login(client, auth, users["party"])
    assert client.get(url).status_code == 404
    _login(client, auth, users["secas"])
    assert client.post(url, data={**SECTIONS, "intent": "draft"}).status_code == 403


def test_the_api_reads_and_records_it(app, client, users, case):
    tokens = {role: user_service.issue_token(user=users[role]) for role in ("dcc", "secas", "party")}
    db.session.commit()
    path = f"/incidents/{case.reference}/summary-report"
    dcc, secas = Api(client, tokens["dcc"]), Api(client, tokens["secas"])
    empty = dcc.get(path)
    assert empty.status_code == 200 and empty.headers["ETag"] == '"summary-none"'
    assert (empty.get_json()["due_on"], empty.get_json()["sent_at"], empty.get_json()["versions"]) == (
        "2023-04-06", None, [])
    body = {"sections": SECTIONS, "recipients": ["SECAS"], "sent": True}
    assert secas.post(path, json=body).status_code == 403
    assert Api(client, tokens["party"]).get(path).status_code == 404
    future = dcc.post(path, json={**body, "sent_at": "2099-01-01T10:00:00Z"})
    assert future.status_code == 422 and "sent_at" in future.get_json()["errors"]
    draft = dcc.post(path, json={"sections": {"what_happened": "Outage."}})
    assert draft.status_code == 201 and draft.get_json()["versions"][0]["sent_at"] is None
    assert dcc.post(path, json=body).status_code == 428  # a version exists: If-Match is due
    sent = dcc.post(path, json={**body, "sent_at": "2023-04-04T11:55:00+01:00"}, etag=draft.headers["ETag"])
    assert sent.status_code == 201, sent.get_json()
    answer = secas.get(path).get_json()
    assert answer["sent_at"] == "2023-04-04T10:55:00Z"
    assert [(v["number"], v["sent_at"], v["recipients"]) for v in answer["versions"]] == [
        (1, None, []), (2, "2023-04-04T10:55:00Z", ["SECAS"])]
    assert not any("Summary Report" in step["what"] for step in answer["next_steps"])
