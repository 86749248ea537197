"""Major Incident designation: declared by default at the configured Categories, declared or undeclared by the DCC."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from incidents.audit.models import AuditEntry
from incidents.dashboard import service as dashboard_service
from incidents.errors import ConflictError, PermissionDenied, ValidationError
from incidents.extensions import db
from incidents.incident import service as incident_service
from incidents.incident.models import Incident
from incidents.reminder import service as reminder_service
from incidents.reminder.models import Reminder, ReminderState
from incidents.review import service as review_service
from incidents.review import workflow
from incidents.review.workflow import Step
from incidents.user import service as user_service
from incidents.user.models import Role
from tests import factories
from tests.api.helpers import Api

RESOLVED = datetime(2023, 4, 4, 9, 40, tzinfo=UTC)
SOON_AFTER = RESOLVED + timedelta(hours=1)  # logged an hour after resolution: the reminders are still ahead


def _pending(incident: Incident) -> list[Reminder]:
    return list(db.session.scalars(sa.select(Reminder).where(Reminder.incident_id == incident.id,
                                                             Reminder.state == ReminderState.PENDING)))


def test_an_incident_logged_at_category_1_or_2_is_declared_and_at_3_is_not(app, users, now):
    for category, declared in ((1, True), (2, True), (3, False), (5, False)):
        incident = factories.incident(actor=users["dcc"], now=now, category=category)
        assert incident.is_major is declared, category
        assert incident.major_declared_at == (now if declared else None)
        assert incident.major_reason == ""
        assert workflow.needs_review(incident) is declared


def test_a_category_2_incident_undeclared_gets_no_review_and_no_reminders(app, users):
    incident = factories.incident(actor=users["dcc"], now=SOON_AFTER, category=2)
    db.session.commit()
    assert _pending(incident), "a declared Major Incident has its report reminders planned"
    assert any(s.who == "DCC" for s in workflow.next_steps(incident, None))

    later = SOON_AFTER + timedelta(minutes=5)
    incident_service.set_major(incident=incident, is_major=False, reason="Contained quickly; not major.",
                               actor=users["dcc"], now=later)
    db.session.commit()

    assert incident.is_major is False and incident.major_declared_at is None
    assert incident.category == 2  # the Category, which the PMR measures count by, stays
    assert _pending(incident) == []
    assert workflow.next_steps(incident, None) == []
    for step in (Step.PROPOSE, Step.SUMMARY_REPORT, Step.WRITE_REPORT):
        refused = workflow.refusal(step, user=users["dcc"], incident=incident, review=None)
        assert refused is not None and "not declared a Major Incident" in refused.message
    with pytest.raises(ConflictError):
        review_service.ensure_review(incident, now=later)
    assert reminder_service.wanted_for_incident(incident, None, now=later) == []
    reminder_service.plan_all(now=later)
    assert _pending(incident) == []
    tasks = dashboard_service.tasks_for(Role.DCC, today=later.date())
    assert incident.reference not in {t.reference for t in tasks}
    # A later change of Category leaves the DCC's decision standing.
    incident_service.update_incident(incident=incident, changes=incident_service.IncidentChanges(category=1),
                                     actor=users["dcc"], expected_version=incident.version, now=later)
    assert incident.is_major is False


def test_declaring_a_category_3_incident_asks_for_its_review_and_reminders(app, users):
    incident = factories.incident(actor=users["dcc"], now=SOON_AFTER, category=3)
    assert _pending(incident) == [] and not workflow.needs_review(incident)
    at = SOON_AFTER + timedelta(minutes=1)
    incident_service.set_major(incident=incident, is_major=True, reason="Wide impact on prepayment customers.",
                               actor=users["dcc"], now=at)
    db.session.commit()
    assert (incident.is_major, incident.major_declared_at) == (True, at)
    assert _pending(incident)
    assert [s.who for s in workflow.next_steps(incident, None)][:2] == ["DCC", "SECAS"]


def test_while_the_default_stands_the_declaration_follows_the_category(app, users, now):
    incident = factories.incident(actor=users["dcc"], now=now, category=3)
    later = now + timedelta(hours=1)
    incident_service.update_incident(incident=incident, changes=incident_service.IncidentChanges(category=2),
                                     actor=users["dcc"], expected_version=incident.version, now=later)
    assert (incident.is_major, incident.major_declared_at) == (True, later)


def test_declare_and_undeclare_are_audited_with_the_reason(app, users, now):
    incident = factories.incident(actor=users["dcc"], now=now)
    incident_service.set_major(incident=incident, is_major=False, reason="Not major after all.",
                               actor=users["dcc"], now=now)
    incident_service.set_major(incident=incident, is_major=True, reason="Impact larger than first thought.",
                               actor=users["admin"], now=now + timedelta(minutes=1))
    db.session.commit()
    entries = list(db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.incident_id == incident.id, AuditEntry.summary.in_(
            ["Undeclared as a Major Incident", "Declared a Major Incident"])).order_by(AuditEntry.id)))
    assert [(e.summary, e.actor_name) for e in entries] == [
        ("Undeclared as a Major Incident", users["dcc"].email), ("Declared a Major Incident", users["admin"].email)]
    assert entries[0].changes["is_major"] == [True, False]
    assert entries[0].changes["major_reason"] == ["", "Not major after all."]
    assert entries[1].changes["major_reason"] == ["Not major after all.", "Impact larger than first thought."]


def test_only_the_dcc_declares_with_a_reason_and_a_change(app, users, now):
    incident = factories.incident(actor=users["dcc"], now=now)
    for role in ("secas", "opsg", "party"):
        with pytest.raises(PermissionDenied):
            incident_service.set_major(incident=incident, is_major=False, reason="x", actor=users[role], now=now)
    with pytest.raises(ValidationError) as missing:
        incident_service.set_major(incident=incident, is_major=False, reason="  ", actor=users["dcc"], now=now)
    assert missing.value.errors == {"reason": ["Reason is required."]}
    with pytest.raises(ConflictError, match="already declared a Major Incident"):
        incident_service.set_major(incident=incident, is_major=True, reason="Why not.", actor=users["dcc"], now=now)
    assert incident.is_major is True


def _page(client: Any, auth: Any, user: Any, reference: str, **data: str) -> Any:
    auth.logout()
    auth.login(user)
    page = client.get(f"/incidents/{reference}").text
    return page, client.post(f"/incidents/{reference}/major", data=data)


def test_the_incident_page_shows_the_designation_and_lets_only_the_dcc_change_it(app, client, auth, users, now):
    incident = factories.incident(actor=users["dcc"], now=now, category=2)
    db.session.commit()
    reference, version = incident.reference, str(incident.version)
    for role in ("secas", "opsg"):
        page, response = _page(client, auth, users[role], reference, reason="x", version=version)
        assert "Declared a Major Incident" in page and f"/incidents/{reference}/major" not in page
        assert response.status_code == 403
    page, response = _page(client, auth, users["party"], reference, reason="x", version=version)
    assert response.status_code == 404

    page, response = _page(client, auth, users["dcc"], reference, reason="", version=version)
    assert "Undeclare as a Major Incident" in page
    assert response.status_code == 422 and "Reason is required." in response.text
    response = client.post(f"/incidents/{reference}/major", data={"reason": "Contained.", "version": "0"})
    assert response.status_code == 409 and "changed by someone else" in response.text
    response = client.post(f"/incidents/{reference}/major", data={"reason": "Contained.", "version": version})
    assert response.status_code == 302
    page = client.get(response.headers["Location"]).text
    assert "is no longer a Major Incident" in page and "Not declared a Major Incident" in page
    assert "Reason given: Contained." in page and "Declare a Major Incident" in page
    # The list marks Major Incidents and can show them alone.
    other = factories.incident(actor=users["dcc"], now=now, category=1)
    db.session.commit()
    listing = client.get("/incidents/?major=true").text
    assert other.reference in listing and reference not in listing and "Major Incident</span>" in listing
    assert reference in client.get("/incidents/").text
    assert client.get("/incidents/?major=maybe").status_code == 400


def test_the_api_declares_and_undeclares_for_the_dcc_only(app, client, users, now):
    incident = factories.incident(actor=users["dcc"], now=now, category=1)
    tokens = {role: user_service.issue_token(user=users[role]) for role in ("dcc", "secas", "party")}
    db.session.commit()
    path = f"/incidents/{incident.reference}"
    dcc = Api(client, tokens["dcc"])
    etag = dcc.get(path).headers["ETag"]
    body = {"is_major": False, "reason": "Not a Major Incident."}
    assert Api(client, tokens["secas"]).post(f"{path}/major", json=body, etag=etag).status_code == 403
    assert Api(client, tokens["party"]).post(f"{path}/major", json=body, etag=etag).status_code == 404
    assert dcc.post(f"{path}/major", json=body).status_code == 428
    missing = dcc.post(f"{path}/major", json={"is_major": False, "reason": ""}, etag=etag)
    assert missing.status_code == 422 and missing.get_json()["errors"] == {"reason": ["Reason is required."]}
    done = dcc.post(f"{path}/major", json=body, etag=etag)
    assert done.status_code == 200, done.get_json()
    answer = done.get_json()
    assert (answer["is_major"], answer["major_declared_at"], answer["major_reason"]) == (
        False, None, "Not a Major Incident.")
    assert dcc.post(f"{path}/major", json=body, etag=etag).status_code == 412
    again = dcc.post(f"{path}/major", json=body, etag=done.headers["ETag"])
    assert again.status_code == 409 and "not declared a Major Incident" in again.get_json()["detail"]
    listed = dcc.get("/incidents?major=true").get_json()["items"]
    assert incident.reference not in [item["reference"] for item in listed]
