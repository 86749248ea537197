"""The confirmation steps and the editor's JSON routes answer odd input with a 4xx or a page, never a 500.

On the demo data (a report waiting for the group, one agreed, one published), each role posts forms with fields
missing, garbled or of the wrong kind to submit, withdraw, decide, publish, preview and autosave; the confirm
value is anything but "yes"/"back", version numbers are not numbers. A request that is not a confirmation with
valid fields changes nothing.
"""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from incidents.extensions import db
from incidents.report.models import ReportVersion
from incidents.review.models import Decision, Publication

SUBMITTED, AGREED, PUBLISHED = "INC000001002403", "INC000001002402", "INC000001002401"
PATHS = ("report/submit", "report/withdraw", "review/publication", "review/decision", "report/preview",
         "report/autosave")
ODD = (
    {},
    {"confirm": "maybe"},
    {"confirm": "back"},
    {"confirm": "yes", "version": "abc"},
    {"confirm": "yes", "version": "99999999999999999999999"},
    {"confirm": "yes", "etag": "\x00zz"},
    {"confirm": "yes", "publish-version": "x", "publish-classification": "RED"},
    {"confirm": "yes", "publish-version": "", "publish-classification": ""},
    {"confirm": "yes", "decision-meeting": "nope", "decision-report_version": "abc", "decision-outcome": "weird"},
    {"confirm": "back", "decision-report_version": "1.5", "decision-outcome": ""},
    {"decision-meeting": "OPSG_97", "decision-report_version": "99999999999999999999", "decision-outcome": "agreed",
     "decision-minute": "x", "decision-actions_text": "a | b | 31/02/2023 | c\nnot an action"},
    {"summary": "x", "action": "preview", "draft": "abc", "etag": "x", "classification": "PURPLE"},
    {"summary": "<script>alert(1)</script>", "draft": "999999999999999999999999", "etag": "", "classification": ""},
)


def _counts() -> tuple[int, int, int]:
    return (db.session.scalar(sa.select(sa.func.count()).select_from(ReportVersion)) or 0,
            db.session.scalar(sa.select(sa.func.count()).select_from(Decision)) or 0,
            db.session.scalar(sa.select(sa.func.count()).select_from(Publication)) or 0)


@pytest.mark.parametrize("role", ["dcc", "secas", "opsg", "party"])
def test_odd_posts_to_the_confirmation_steps_never_end_in_a_500_nor_change_anything(browsers, role):
    before = _counts()
    for reference in (SUBMITTED, AGREED, PUBLISHED):
        for path in PATHS:
            address = f"/incidents/{reference}/{path}"
            answer = browsers[role].get(address)
            assert answer.status_code < 500, (role, "GET", address)
            for data in ODD:
                answer = browsers[role].post(address, data=data)
                assert answer.status_code < 500, (role, address, data, answer.get_data(as_text=True)[:500])
                assert "<script>alert(1)</script>" not in answer.get_data(as_text=True)
    db.session.expire_all()
    assert _counts() == before


def test_every_demo_incidents_confirmation_and_review_pages_answer_each_role_without_a_500(browsers, demo):
    failed = []
    for reference in demo:
        for role in ("dcc", "secas", "opsg", "party", "admin"):
            for path in ("report/submit", "report/withdraw", "review/publication", "report/edit", "review",
                         "report/versions", "reminders", "audit", "summary-report"):
                address = f"/incidents/{reference}/{path}"
                for answer in (browsers[role].get(address), browsers[role].post(address, data={})):
                    if answer.status_code >= 500:
                        failed.append((reference, role, path, answer.status_code))
    assert failed == []
