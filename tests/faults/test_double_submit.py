"""The same form sent twice (a double click, a resubmitted page, a client retrying) changes things once.

Each case posts exactly the same body twice over the demo data and counts
the rows the step writes: never more than one new. The second answer is
harmless: the same success, a redirect with a message, or a 4xx saying
the thing already exists or has moved on. Never a 500.
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from incidents.extensions import db
from incidents.incident.models import Incident
from incidents.review import service as review_service
from tests.fuzz.strategies import assert_api_answer, assert_html_answer

# The demo's reviews: the real case (SECAS asked for information), and live ones in the other states.
CASE, INCLUDED, PENDING, DRAFT = ("INC000001001905", "INC000001002403", "INC000001002405", "INC000001002404")
INFO_REQUESTED = CASE


def _count(table: str) -> int:
    db.session.rollback()
    return db.session.scalar(sa.text(f'SELECT COUNT(*) FROM "{table}"'))


def _review_etag(reference: str) -> str:
    db.session.rollback()
    incident = db.session.scalar(sa.select(Incident).where(Incident.reference == reference))
    return review_service.review_etag(review_service.get_review(incident))


INCIDENT_FORM = {
    "reference": "INC000000009999", "title": "Carrier outage", "category": "1", "started_at": "2023-04-04 06:15",
    "resolved_at": "2023-04-04 10:40", "cause_category": "third_party", "cohorts-0-affected": "y",
    "cohorts-0-impact_started_at": "2023-04-04 06:15", "cohorts-0-restored_at": "2023-04-04 10:40"}
PAGES: dict[str, tuple[str, str, Any, str]] = {
    # name: (role, path, form (or a function of nothing returning it), table whose rows it adds)
    "log an incident": ("dcc", "/incidents/new", INCIDENT_FORM, "incident"),
    "add a timeline entry": ("dcc", f"/incidents/{CASE}/timeline", {
        "occurred_at": "2023-04-04 10:40", "kind": "restored", "cohort": "CSP N", "text": "NTE reset."},
        "timeline_entry"),
    "propose an exclusion again": ("dcc", f"/incidents/{INFO_REQUESTED}/review/proposal", lambda: {
        "propose-treatment": "exclude", "propose-principle": "force-majeure", "propose-rationale": "Storm damage.",
        "propose-response": "The configuration change followed the storm.",
        "propose-etag": _review_etag(INFO_REQUESTED)}, "exclusion_proposal"),
    "review an exclusion": ("secas", f"/incidents/{PENDING}/review/exclusion-review", {
        "secas-outcome": "agreed", "secas-comment": "Notified maintenance."}, "exclusion_review"),
    "defer a decision": ("secas", f"/incidents/{INCLUDED}/review/decision", {
        "decision-meeting": "OPSG_97", "decision-report_version": "1", "decision-outcome": "deferred",
        "decision-minute": "Deferred to the next meeting.", "confirm": "yes"}, "decision"),
    "agree a decision": ("secas", f"/incidents/{INCLUDED}/review/decision", {
        "decision-meeting": "OPSG_97", "decision-report_version": "1", "decision-outcome": "agreed",
        "decision-classification": "GREEN",
        "decision-minute": "Agreed for publication.", "confirm": "yes"}, "decision"),
    "comment": ("opsg", f"/incidents/{CASE}/review/comments", {"comment-body": "How long did CSP N take?"},
                "review_comment"),
    "save the report": ("dcc", f"/incidents/{DRAFT}/report/edit", lambda: {
        "summary": "Supplier-side fault.", "root_cause": "Supplier system.", "impact": "Meters.",
        "lessons_learned": "", "actions": "", "classification": "AMBER",
        "etag": _report_etag(DRAFT)}, "report_version"),
    "submit the report": ("dcc", f"/incidents/{DRAFT}/report/submit", lambda: {"etag": _report_etag(DRAFT), "confirm": "yes"},
                          "audit_entry"),
    "record the summary report sent": ("dcc", f"/incidents/{CASE}/summary-report", lambda: {
        "what_happened": "A national carrier outage.", "recipients": "SECAS", "sent_at": "2023-04-05 16:00",
        "intent": "sent", "etag": _summary_etag(CASE)}, "summary_report_version"),
    "raise an action": ("secas", "/actions/new", {
        "reference": "OPSG 97/09", "text": "Check the NTE reset route.", "owner_org": "dcc",
        "raised_on": "2023-06-26", "target_on": "2030-01-31"}, "action"),
    "schedule a meeting": ("secas", "/meetings/", {"reference": "OPSG_500", "held_on": "2030-01-29"}, "meeting"),
    "add a principle": ("admin", "/principles", {"add-code": "carrier-strike", "add-wording": "Industrial action."},
                        "exclusion_principle"),
    "create a user": ("admin", "/admin/users/new", {
        "email": "new@example.org", "name": "New", "role": "dcc", "password": "correct-horse-battery"}, "user"),
}


def _summary_etag(reference: str) -> str:
    db.session.rollback()
    incident = db.session.scalar(sa.select(Incident).where(Incident.reference == reference))
    return review_service.summary_etag(review_service.get_review(incident))


def _report_etag(reference: str) -> str:
    from incidents.report import service as report_service

    db.session.rollback()
    incident = db.session.scalar(sa.select(Incident).where(Incident.reference == reference))
    return report_service.report_etag(review_service.get_review(incident))


def _post_twice(clients: dict[str, Any], name: str) -> str | None:
    """Post one form twice; return what went wrong, or None."""
    role, path, form, table = PAGES[name]
    data = form() if callable(form) else form
    before = _count(table)
    first = clients[role].post(path, data=data)
    if first.status_code != 302:
        return f"{name}: the first submission failed ({first.status_code})"
    after_first = _count(table)
    if not (after_first - before <= 1 if table == "audit_entry" else after_first - before == 1):
        return f"{name}: the first submission wrote {after_first - before} rows"
    second = clients[role].post(path, data=data)
    assert_html_answer(second, what=f"{name}: second POST {path}")
    if second.status_code == 302:
        assert_html_answer(clients[role].get(second.headers["Location"]), what=f"{name}: after the second POST")
    if _count(table) != after_first:
        return f"{name}: the second submission wrote again"
    return None


def test_a_form_sent_twice_changes_things_once(browsers, demo):
    # One demo database for every form (they touch different records, or follow on: defer then agree).
    problems = [problem for name in PAGES if (problem := _post_twice(browsers, name))]
    assert problems == []


API: dict[str, tuple[str, str, str, dict[str, Any], str]] = {
    "log an incident": ("dcc", "POST", "/incidents", {
        "reference": "INC000000009998", "title": "Carrier outage", "category": 1,
        "started_at": "2023-04-04T05:15:00Z", "resolved_at": "2023-04-04T09:40:00Z"}, "incident"),
    "add a timeline entry": ("dcc", "POST", f"/incidents/{CASE}/timeline", {
        "occurred_at": "2023-04-04T10:40:00+01:00", "kind": "restored", "cohort": "CSP N", "text": "NTE reset."},
        "timeline_entry"),
    "defer a decision": ("secas", "POST", f"/incidents/{INCLUDED}/decisions", {
        "meeting": "OPSG_97", "report_version": 1, "outcome": "deferred", "minute": "Deferred."},
        "decision"),
    "raise an action": ("secas", "POST", "/actions", {
        "reference": "OPSG 97/08", "text": "Check.", "owner_org": "dcc", "target_on": "2030-01-31"}, "action"),
    "add a principle": ("admin", "POST", "/exclusion-principles", {"code": "carrier-strike", "wording": "Strike."},
                        "exclusion_principle"),
}


def test_an_api_request_sent_twice_changes_things_once(browsers, demo_tokens):
    problems = []
    for name, (role, method, path, body, table) in API.items():
        headers = {"Authorization": f"Bearer {demo_tokens[role]}"}
        before = _count(table)
        first = browsers[role].open("/api/v1" + path, method=method, json=body, headers=headers)
        assert first.status_code == 201, (name, first.get_data(as_text=True))
        second = browsers[role].open("/api/v1" + path, method=method, json=body, headers=headers)
        assert_api_answer(second, what=f"{name}: second {method} {path}")
        if _count(table) != before + 1:
            problems.append(f"{name}: the second request wrote again")
    assert problems == []


def test_the_same_entry_again_later_is_a_new_entry(app, browsers, demo):
    """Only a repeat within seconds is taken for a double submission: the same words later are a new entry."""
    from datetime import timedelta

    from incidents.incident.models import TimelineEntry

    path, data = PAGES["add a timeline entry"][1], PAGES["add a timeline entry"][2]
    assert browsers["dcc"].post(path, data=data).status_code == 302
    window = app.config["DUPLICATE_SUBMISSION_SECONDS"]
    db.session.rollback()
    entry = db.session.scalar(sa.select(TimelineEntry).order_by(TimelineEntry.id.desc()))
    entry.created_at -= timedelta(seconds=window + 1)
    db.session.commit()
    before = _count("timeline_entry")
    assert browsers["dcc"].post(path, data=data).status_code == 302
    assert _count("timeline_entry") == before + 1
