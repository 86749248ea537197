"""Read every page and API view back after fuzzing: whatever was saved must still display."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient

from incidents.action import service as action_service
from incidents.action.models import Action
from incidents.extensions import db
from incidents.incident.models import Incident
from incidents.meeting.models import Meeting
from incidents.user.models import User
from tests.fuzz.strategies import assert_api_answer, assert_html_answer

PAGES = ("/", "/incidents/", "/incidents/?per_page=100", "/incidents/export.csv", "/actions/", "/actions/export.csv",
         "/meetings/", "/principles", "/published", "/pmr/", "/calendar", "/rules", "/admin/users/",
         "/admin/outbox")
INCIDENT_PAGES = ("", "/audit", "/audit.csv", "/review", "/report", "/report/versions", "/report/diff",
                  "/report/print", "/reminders", "/restoration.svg")


def read_back(browser: FlaskClient, token: str | None = None) -> None:
    """GET every list and every record's pages (and the API's views of them): none may fail."""
    db.session.rollback()
    references = list(db.session.scalars(sa.select(Incident.reference)))
    slugs = [action_service.slug(r) for r in db.session.scalars(sa.select(Action.reference))]
    meetings = list(db.session.scalars(sa.select(Meeting.reference)))
    users = list(db.session.scalars(sa.select(User.id)))
    paths = list(PAGES)
    paths += [f"/incidents/{ref}{suffix}" for ref in references for suffix in INCIDENT_PAGES]
    paths += [f"/published/{ref}" for ref in references]
    paths += [f"/actions/{slug}" for slug in slugs] + [f"/actions/{slug}/edit" for slug in slugs]
    paths += [f"/meetings/{ref}/pack" for ref in meetings] + [f"/admin/users/{uid}" for uid in users]
    for path in paths:
        assert_html_answer(browser.get(path), what=f"GET {path}")
    if token is None:
        return
    headers: dict[str, Any] = {"Authorization": f"Bearer {token}"}
    api = ["/incidents?per_page=100", "/actions?per_page=100", "/exclusion-principles", "/published"]
    for ref in references:
        api += [f"/incidents/{ref}", f"/incidents/{ref}/timeline", f"/incidents/{ref}/audit",
                f"/incidents/{ref}/exclusion", f"/incidents/{ref}/report", f"/incidents/{ref}/report/versions",
                f"/incidents/{ref}/decisions", f"/published/{ref}"]
    api += [f"/actions/{slug}" for slug in slugs]
    for path in api:
        assert_api_answer(browser.get("/api/v1" + path, headers=headers), what=f"GET /api/v1{path}")
