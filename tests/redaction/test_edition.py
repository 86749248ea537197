"""A redacted edition: SECAS withholds passages of the version waiting for the group, the decision covers them,
and nothing of the withheld text reaches any surface a SEC Party reads."""
from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pypdf
import pytest
import sqlalchemy as sa

from incidents.extensions import db
from incidents.incident import service as incident_service
from incidents.redaction.models import Redaction
from incidents.report import service as report_service
from incidents.review import service as review_service
from incidents.user import service as user_service
from tests import factories
from tests.document import builders

SECRET = "Zephyrine Telecom Holdings"
REASON = "supplier name, commercially confidential"
WITHHELD = f"[withheld: {REASON}]"
START = datetime(2023, 4, 4, 5, 15, tzinfo=UTC)


def _client(app, user):
    client = app.test_client()
    assert client.post("/login", data={"email": user.email, "password": factories.PASSWORD}).status_code == 302
    return client


def _submitted(users, now):
    """An incident whose report (naming the supplier in two sections and the timeline) waits for the group."""
    incident = factories.incident(actor=users["dcc"], now=now)
    incident_service.add_timeline_entry(
        incident=incident, actor=users["dcc"], now=now,
        draft=factories.entry_draft(occurred_at=START + timedelta(hours=1), kind="update",
                                    text=f"{SECRET} confirmed a core network failure."))
    review_service.propose(incident=incident, exclude=False, rationale="Counted.", actor=users["dcc"], now=now)
    sections = {**builders.SECTIONS, "summary": f"A nationwide outage at **{SECRET}**, the national carrier.",
                "root_cause": f"{SECRET} core network failure; CSP N NTE stuck and needed a reset."}
    report_service.save_draft(incident=incident, sections=sections, classification="AMBER", actor=users["dcc"],
                              now=now)
    report_service.submit(incident=incident, actor=users["dcc"], now=now)
    db.session.commit()
    return incident


def _mark(client, reference, passage=SECRET, reason=REASON):
    return client.post(f"/incidents/{reference}/report/withheld", data={"passage": passage, "reason": reason})


def _pdf_text(data):
    assert data.startswith(b"%PDF-")
    return " ".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def _squash(text):
    return re.sub(r"\s+", "", text)


def test_withheld_text_reaches_no_party_surface(app, users, now):
    incident = _submitted(users, now)
    reference = incident.reference
    secas = _client(app, users["secas"])
    assert _client(app, users["dcc"]).post(f"/incidents/{reference}/report/withheld",
                                           data={"passage": SECRET, "reason": REASON}).status_code == 403
    assert _mark(secas, reference, passage="not in the report at all").status_code == 422
    assert _mark(secas, reference).status_code == 302
    builders.decided(incident, users, now)
    db.session.commit()
    # The decision records which passages it covered.
    redaction = db.session.scalar(sa.select(Redaction))
    assert redaction.decision_id is not None
    assert "Covered by the decision at OPSG_96" in secas.get(f"/incidents/{reference}/report/withheld").text
    # Once the group has decided, the withheld passages are fixed.
    late = _mark(secas, reference, passage="CSP N NTE stuck", reason="security detail")
    assert late.status_code == 302 and db.session.scalar(sa.select(sa.func.count()).select_from(Redaction)) == 1
    review_service.publish(incident=incident, actor=users["secas"], now=now)
    token = user_service.issue_token(user=users["party"])
    db.session.commit()

    party = _client(app, users["party"])
    bearer = {"Authorization": f"Bearer {token}"}
    surfaces = {
        "published list": party.get("/published").text,
        "dashboard": party.get("/").text,
        "published page": party.get(f"/published/{reference}").text,
        "chart": party.get(f"/incidents/{reference}/restoration.svg").text,
        "PDF": _pdf_text(party.get(f"/published/{reference}.pdf").data),
        "API list": party.get("/api/v1/published", headers=bearer).text,
        "API report": party.get(f"/api/v1/published/{reference}", headers=bearer).text,
    }
    for path in ("/incidents/export.csv", "/actions/export.csv", f"/incidents/{reference}/audit.csv",
                 "/pmr/2023-04.csv", f"/incidents/{reference}/report.pdf", f"/incidents/{reference}/report",
                 f"/incidents/{reference}/report/withheld", f"/api/v1/incidents/{reference}/report",
                 f"/incidents/{reference}/attachments"):
        answer = party.get(path, headers=bearer if path.startswith("/api/") else {})
        assert answer.status_code == 404, path
        surfaces[path] = answer.get_data(as_text=True)
    for name, text in surfaces.items():
        for form in (SECRET, "Zephyrine"):
            assert form not in text and _squash(form) not in _squash(text), name
    for name in ("published page", "PDF", "API report"):
        assert _squash(WITHHELD) in _squash(surfaces[name]), name
    assert "core network failure" in surfaces["published page"]  # the rest of the text is there

    # The teams still read the report as written.
    assert SECRET in secas.get(f"/incidents/{reference}/report").text


def test_passages_are_marked_only_on_a_version_waiting_for_the_group(app, users, now):
    incident = factories.incident(actor=users["dcc"], now=now)
    review_service.propose(incident=incident, exclude=False, rationale="Counted.", actor=users["dcc"], now=now)
    report_service.save_draft(incident=incident, sections=builders.SECTIONS, classification="AMBER",
                              actor=users["dcc"], now=now)
    db.session.commit()
    secas = _client(app, users["secas"])
    answer = _mark(secas, incident.reference, passage="Carrier core network failure")
    assert answer.status_code == 302
    assert "no version is waiting now" in secas.get(answer.location).text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Redaction)) == 0


@pytest.mark.parametrize(("passage", "reason", "field"), [
    ("ab", REASON, "passage"),
    (SECRET, "", "reason"),
    (SECRET, "bad ] reason", "reason"),
    (SECRET, f"because {SECRET}", "reason"),
])
def test_a_passage_or_reason_that_breaks_a_rule_is_refused_naming_the_field(app, users, now, passage, reason,
                                                                             field):
    incident = _submitted(users, now)
    answer = _mark(_client(app, users["secas"]), incident.reference, passage=passage, reason=reason)
    assert answer.status_code == 422 and f'id="field-{field}"' in answer.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Redaction)) == 0
