"""Stored XSS: a script stored in any free-text field never runs where the text is shown.

Each field gets its own payload, ``"'><script>alert(<field>_xss)</script><img
src=x onerror=alert(<field>_xss)>``, stored through the services as a real user
would. Every page that shows the field is then read as a role that sees it:
the field's text must be there (so the page really shows it) and must be
inert: no ``<script>`` element, no ``on...=`` handler on any tag, no
``javascript:`` link. Downloads are checked for what makes them safe in their
own type: the SVG is well-formed XML without script or handlers, the HTML
drawn into PDFs is inert and the PDF shows the payload as text, CSV and iCalendar
are served as attachments/feeds that a browser will not sniff as HTML.
"""
from __future__ import annotations

import email
import email.policy
import io
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from incidents.action import service as action_service
from incidents.errors import ValidationError
from incidents.extensions import db
from incidents.incident import service as incident_service
from incidents.incident.models import Incident, TimelineKind
from incidents.incident.service import CohortDraft, IncidentDraft, TimelineEntryDraft
from incidents.meeting import service as meeting_service
from incidents.principle import service as principle_service
from incidents.reminder import mail as reminder_mail
from incidents.reminder import service as reminder_service
from incidents.reminder.models import Reminder
from incidents.report import service as report_service
from incidents.review import service as review_service
from incidents.timeutil import utcnow
from incidents.user import service as user_service
from incidents.user.models import User
from tests import factories
from tests.security.support import Demo, inline_code, login

REFERENCE = "INC000009990001"
RECENT = "INC000009990003"
ACTION = "OPSG 98/07"
PRINCIPLE = "xss-principle"
PASSWORD = "xss-user-password"
SECTIONS = ("summary", "root_cause", "impact", "lessons_learned", "actions")


def payload(field: str) -> str:
    """Return the script-bearing text stored in one field."""
    return f"\"'><script>alert({field}_xss)</script><img src=x onerror=alert({field}_xss)>"


def markdown_payload(field: str) -> str:
    """Return Markdown that tries raw HTML, a javascript: link and an autolink as well."""
    return (f"{payload(field)}\n\n[click](javascript:alert({field}_xss)) <a href=\"#\" onclick=\"alert(1)\">a</a>\n\n"
            f"<javascript:alert({field}_xss)>")


def marker(field: str) -> str:
    """Return the text that shows a field's payload was rendered (escaped) in a page."""
    return f"alert({field}_xss)"


def assert_inert(html: str, where: str) -> None:
    """Check an HTML document carries no script, handler or script URL from stored text."""
    lowered = html.lower()
    assert "<script>alert" not in lowered and "<img src=x" not in lowered, where
    findings = [str(finding) for finding in inline_code(html)]
    assert not findings, f"{where}: {findings}"


@dataclass(frozen=True)
class Stored:
    """What the fixture stored: the incident's timeline entry, the XSS users and the action's slug."""

    entry_id: int
    dcc_email: str
    secas_email: str
    dcc_id: int
    slug: str


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.fixture()
def stored(app: Flask, demo: Demo) -> Stored:
    """Store a payload in every free-text field, through the services, as a review would go."""
    admin = db.session.scalar(sa.select(User).where(User.email == demo.emails["admin"]))
    dcc = user_service.create_user(email="<script>alert(email_xss)</script>@x.example", role="dcc",
                                   password=PASSWORD, name=payload("user_name"), actor=admin)
    secas = user_service.create_user(email="<script>alert(secas_email_xss)</script>@x.example", role="secas",
                                     password=PASSWORD,
                                     name=payload("secas_name"), actor=admin)
    principle_service.add_principle(code=PRINCIPLE, wording=payload("principle_wording"), actor=admin)
    start = _at("2023-04-10T08:00")
    incident = incident_service.create_incident(actor=dcc, now=_at("2023-04-10T13:00"), draft=IncidentDraft(
        reference=REFERENCE, title=payload("title"), category=1, started_at=start,
        detected_at=start + timedelta(minutes=5), resolved_at=start + timedelta(hours=3),
        cause_category="third_party", cause=payload("cause"), impact=payload("impact"),
        devices_affected=1000, dcc_responsible=True,
        cohorts=[CohortDraft(name="CSP N", impact_started_at=start, restored_at=start + timedelta(hours=3))],
    )).incident
    entry = incident_service.add_timeline_entry(
        incident=incident, actor=dcc, now=_at("2023-04-10T13:00"),
        draft=TimelineEntryDraft(occurred_at=start + timedelta(hours=1), kind=TimelineKind.UPDATE, cohort="CSP N",
                                 text=payload("timeline")))
    review_service.mark_summary_submitted(incident=incident, actor=dcc, now=_at("2023-04-11T09:00"))
    review_service.propose(incident=incident, exclude=True, principle=PRINCIPLE, rationale=payload("rationale"),
                           evidence_links=["https://example.org/evidence?a=1&b=2"], actor=dcc,
                           now=_at("2023-04-12T09:00"))
    review_service.review_exclusion(incident=incident, outcome="information_requested",
                                    comment=payload("secas_comment"), actor=secas, now=_at("2023-04-13T09:00"))
    review_service.propose(incident=incident, exclude=True, principle=PRINCIPLE, rationale=payload("rationale"),
                           response=payload("response"), actor=dcc, now=_at("2023-04-14T09:00"))
    review_service.review_exclusion(incident=incident, outcome="agreed", comment=payload("secas_agreement"),
                                    actor=secas, now=_at("2023-04-17T09:00"))
    report_service.save_draft(incident=incident, classification="AMBER", actor=dcc, now=_at("2023-04-18T09:00"),
                              sections={key: markdown_payload(f"section_{key}") for key in SECTIONS})
    report_service.save_draft(incident=incident, classification="AMBER", actor=dcc, now=_at("2023-04-19T09:00"),
                              sections={key: markdown_payload(f"section_{key}") + "\n\nMore." for key in SECTIONS})
    report_service.submit(incident=incident, actor=dcc, now=_at("2023-04-20T09:00"))
    review_service.add_comment(incident=incident, body=payload("review_comment"), actor=secas,
                               now=_at("2023-04-21T09:00"))
    factories.meeting("OPSG_98", date(2023, 7, 25), actor=secas)
    review_service.record_decision(
        incident=incident, meeting="OPSG_98", report_version=2, outcome="agreed", classification="GREEN",
        minute=payload("decision_minute"), actor=secas, now=_at("2023-07-25T15:00"),
        actions=[review_service.MinutedAction(reference="OPSG 98/01", owner="dcc", target_on=date(2023, 8, 22),
                                              text=payload("decision_actions"))])
    review_service.publish(incident=incident, actor=secas, now=_at("2023-07-26T09:00"))
    action = action_service.create_action(actor=secas, now=_at("2023-07-25T16:00"), draft=action_service.ActionDraft(
        reference=ACTION, text=payload("action_text"), owner_org="dcc", owner_user=dcc.email,
        raised_on=date(2023, 7, 25), target_on=date(2023, 8, 22), incidents=[REFERENCE]))
    action_service.revise_target(action=action, actor=secas, expected_version=action.version,
                                 now=_at("2023-08-01T09:00"),
                                 target_on=date(2023, 9, 26), reason=payload("revision"))
    action_service.close_action(action=action, actor=secas, expected_version=action.version,
                                now=_at("2023-09-26T09:00"),
                                closing_note=payload("closing_note"))
    # A recent incident, so that reminders, the dashboard and the calendar have something to say about it.
    resolved = utcnow().replace(microsecond=0) - timedelta(days=1)
    incident_service.create_incident(actor=dcc, draft=IncidentDraft(
        reference=RECENT, title=payload("recent_title"), category=2,
        started_at=resolved - timedelta(hours=2), detected_at=resolved - timedelta(hours=2),
        resolved_at=resolved, cause_category="unknown", cause="", impact="", cohorts=[]))
    db.session.commit()
    return Stored(entry_id=entry.id, dcc_email=dcc.email, secas_email=secas.email, dcc_id=dcc.id,
                  slug=action_service.slug(ACTION))


INCIDENT_FIELDS = {"title", "cause", "impact", "timeline"}
REVIEW_FIELDS = {"rationale", "response", "secas_comment", "secas_agreement", "principle_wording", "review_comment",
                 "decision_minute", "decision_actions", "user_name", "secas_name"}  # people by name
REPORT_FIELDS = {f"section_{key}" for key in SECTIONS}
ACTION_FIELDS = {"action_text", "revision", "closing_note"}


def pages(stored: Stored) -> list[tuple[str, str, set[str]]]:
    """Return each page to read, the role that reads it and the fields it must show."""
    ref = REFERENCE
    return [
        (f"/incidents/{ref}", "dcc", INCIDENT_FIELDS),
        (f"/incidents/{ref}/edit", "dcc", {"title", "cause", "impact"}),
        (f"/incidents/{ref}/timeline/{stored.entry_id}/edit", "dcc", {"timeline"}),
        (f"/incidents/{ref}/audit", "secas", {"title", "cause", "impact", "timeline", "user_name"}),
        ("/incidents/", "opsg", {"title"}),
        (f"/incidents/?q={quote(REFERENCE)}", "opsg", {"title"}),
        ("/", "secas", set()),
        (f"/incidents/{ref}/review", "opsg", REVIEW_FIELDS),
        (f"/incidents/{ref}/report", "secas", REPORT_FIELDS | {"title"}),
        (f"/incidents/{ref}/report?version=1", "secas", REPORT_FIELDS),
        (f"/incidents/{ref}/report/versions", "secas", {"user_name"}),
        (f"/incidents/{ref}/report/diff?from=1&to=2", "secas", REPORT_FIELDS),
        (f"/incidents/{ref}/report/print", "opsg", REPORT_FIELDS | {"title"}),
        (f"/incidents/{ref}/reminders", "admin", set()),
        ("/published", "party", {"title"}),
        (f"/published/{ref}", "party", REPORT_FIELDS | {"title"}),
        ("/meetings/OPSG_98/pack", "opsg", {"title", "section_summary", "decision_minute"}),
        ("/pmr/2023-04", "dcc", {"title"}),
        ("/principles", "opsg", {"principle_wording"}),
        (f"/principles/{PRINCIPLE}/reword", "admin", {"principle_wording"}),
        ("/actions/?status=closed", "dcc", {"action_text"}),
        (f"/actions/{quote(stored.slug)}", "secas", ACTION_FIELDS | {"user_name"}),
        (f"/actions/{quote(stored.slug)}/edit", "secas", {"action_text", "closing_note"}),
        ("/admin/users/", "admin", {"user_name", "email"}),
        (f"/admin/users/{stored.dcc_id}", "admin", {"user_name", "email"}),
        (f"/incidents/{RECENT}/reminders", "admin", {"recent_title"}),
        # Waiting reminders soonest first: the recent incident's come before the demo's live part (seeded in 2031).
        ("/admin/outbox?state=pending", "admin", {"recent_title"}),
        ("/calendar", "dcc", set()),
        ("/", "dcc", {"recent_title"}),
        ("/rules", "party", set()),
    ]


@pytest.fixture()
def clients(app: Flask, stored: Stored, make_client: Callable[[str], FlaskClient]) -> dict[str, FlaskClient]:
    """One logged-in client per role that reads the pages."""
    return {role: make_client(role) for role in ("dcc", "secas", "opsg", "party", "admin")}


def test_every_stored_field_is_shown_escaped(app: Flask, stored: Stored, clients: dict[str, FlaskClient]) -> None:
    wrong = []
    for url, role, fields in pages(stored):
        response = clients[role].get(url)
        if response.status_code != 200:
            wrong.append(f"{url} as {role}: {response.status_code}")
            continue
        html = response.get_data(as_text=True)
        try:
            assert_inert(html, f"{url} as {role}")
        except AssertionError as exc:
            wrong.append(str(exc))
        missing = sorted(field for field in fields if marker(field) not in html)
        if missing:
            wrong.append(f"{url} as {role} does not show {missing}")
    assert not wrong, "\n".join(wrong)
    # The writer sees their own name in the page header.
    own = clients["admin"].application.test_client()
    login(own, stored.dcc_email, PASSWORD)
    home = own.get("/").text
    assert marker("user_name") in home
    assert_inert(home, "/ as the XSS user")


def test_the_documents_drawn_as_pdf_carry_the_text_not_the_markup(
        app: Flask, stored: Stored, clients: dict[str, FlaskClient], no_pdf_drawing: list[str]) -> None:
    drawn = no_pdf_drawing
    for role, url in (("secas", f"/incidents/{REFERENCE}/report.pdf"), ("party", f"/published/{REFERENCE}.pdf"),
                      ("opsg", "/meetings/OPSG_98/pack.pdf")):
        response = clients[role].get(url)
        assert response.status_code == 200 and response.mimetype == "application/pdf", url
    assert len(drawn) == 3
    for html, url in zip(drawn, ("report.pdf", "published.pdf", "pack.pdf")):
        assert_inert(html, f"the HTML drawn into {url}")
        assert marker("title") in html and marker("section_summary") in html, url


def test_a_real_pdf_shows_the_payload_as_text(app: Flask, stored: Stored, clients: dict[str, FlaskClient]) -> None:
    from pypdf import PdfReader

    response = clients["party"].get(f"/published/{REFERENCE}.pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF-")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.data)).pages)
    flat = "".join(text.split())
    # Had the markup been obeyed, the tags would not be printed.
    assert "<script>alert(section_summary_xss)</script>" in flat
    assert "<script>alert(title_xss)</script>" in flat


def test_the_restoration_svg_is_inert_xml(app: Flask, stored: Stored, clients: dict[str, FlaskClient]) -> None:
    for role in ("dcc", "party"):
        response = clients[role].get(f"/incidents/{REFERENCE}/restoration.svg")
        assert response.status_code == 200 and response.mimetype == "image/svg+xml", role
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        body = response.get_data(as_text=True)
        root = ET.fromstring(body)  # well-formed: no text broke out of its element
        for element in root.iter():
            assert not element.tag.lower().endswith("script"), role
            assert not [name for name in element.attrib if name.lower().startswith("on")], role
        assert marker("timeline") in body or marker("title") in body, role
        assert "<script>alert" not in body


def test_downloads_are_not_read_as_html(app: Flask, demo: Demo, stored: Stored,
                                       clients: dict[str, FlaskClient]) -> None:
    downloads = {
        "/incidents/export.csv": ("text/csv", "title"),
        f"/incidents/{REFERENCE}/audit.csv": ("text/csv", "cause"),
        "/actions/export.csv?status=closed": ("text/csv", "action_text"),
        "/pmr/2023-04.csv": ("text/csv", "title"),
    }
    for url, (mimetype, field) in downloads.items():
        response = clients["admin"].get(url, buffered=True)
        assert response.status_code == 200, url
        assert response.mimetype == mimetype, url
        assert response.headers["X-Content-Type-Options"] == "nosniff", url
        assert response.headers["Content-Disposition"].startswith("attachment;"), url
        assert marker(field) in response.get_data(as_text=True), url
    feed = clients["admin"].get(f"/calendar/{demo.calendar_token}.ics")
    assert feed.mimetype == "text/calendar" and feed.headers["X-Content-Type-Options"] == "nosniff"
    api = clients["admin"].get(f"/api/v1/published/{REFERENCE}")
    assert api.status_code == 401  # a session does not open the API
    token = user_service.issue_token(user=db.session.get(User, stored.dcc_id))
    db.session.commit()
    answer = clients["admin"].get(f"/api/v1/incidents/{REFERENCE}", headers={"Authorization": f"Bearer {token}"})
    assert answer.mimetype == "application/json" and answer.headers["X-Content-Type-Options"] == "nosniff"
    assert answer.get_json()["title"] == payload("title")  # stored and returned as the data it is


def test_reminder_emails_escape_the_title(app: Flask, stored: Stored) -> None:
    incident = db.session.scalar(sa.select(Incident).where(Incident.reference == REFERENCE))
    fresh = incident_service.create_incident(actor=db.session.get(User, stored.dcc_id), draft=IncidentDraft(
        reference="INC000009990002", title=payload("mail_title"), category=1,
        started_at=incident.started_at, detected_at=incident.detected_at, resolved_at=incident.resolved_at,
        cause_category="unknown", cause="", impact="", cohorts=[])).incident
    reminder_service.plan_incident(fresh, now=incident.resolved_at + timedelta(hours=1))
    db.session.flush()
    reminders = db.session.scalars(sa.select(Reminder).where(Reminder.incident_id == fresh.id)).all()
    assert reminders
    for reminder in reminders:
        sent = email.message_from_bytes(bytes(reminder_mail.build(reminder)), policy=email.policy.default)
        html = sent.get_body(("html",)).get_content()
        assert marker("mail_title") in html
        assert "<script>alert" not in html.lower() and "<img src=x" not in html.lower()
    db.session.rollback()


def test_a_meeting_reference_is_validated_and_shown_escaped(
        app: Flask, stored: Stored, clients: dict[str, FlaskClient]) -> None:
    secas = db.session.get(User, db.session.scalar(sa.select(User.id).where(User.email == stored.secas_email)))
    with pytest.raises(ValidationError) as refused:
        meeting_service.schedule(reference=payload("meeting"), held_on=date(2030, 1, 29), actor=secas)
    assert "reference" in refused.value.errors
    db.session.rollback()
    response = clients["secas"].post("/meetings/", data={"reference": payload("meeting"), "held_on": "2030-01-29"})
    assert response.status_code == 422
    assert marker("meeting") in response.text
    assert_inert(response.text, "the meeting form sent back")


@pytest.mark.parametrize("url", [
    "/incidents/?q=" + quote(payload("search")),
    "/actions/?owner=" + quote(payload("search")) + "&meeting=" + quote(payload("search")),
    "/admin/outbox?state=" + quote(payload("search")),
    "/pmr/?month=" + quote(payload("search")),
    "/incidents/" + quote("\"'><img src=x onerror=alert(search_xss)>", safe=""),
    "/pmr/" + quote("\"'><img src=x onerror=alert(search_xss)>", safe=""),
    "/actions/" + quote("\"'><img src=x onerror=alert(search_xss)>", safe=""),
    "/principles/" + quote("\"'><img src=x onerror=alert(search_xss)>", safe="") + "/reword",
    "/published/" + quote("\"'><img src=x onerror=alert(search_xss)>", safe=""),
])
def test_text_from_the_address_is_shown_escaped(app: Flask, demo: Demo, make_client: Callable[[str], FlaskClient],
                                                url: str) -> None:
    response = make_client("admin").get(url)
    assert response.status_code in (200, 302, 400, 404, 422), (url, response.status_code)
    assert_inert(response.get_data(as_text=True), url)
