"""The restoration chart as a file and inside the report pages."""
from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import timedelta

import pytest

from incidents.extensions import db
from incidents.incident import service as incident_service
from incidents.principle import service as principle_service
from tests import factories
from tests.document import builders

NS = "{http://www.w3.org/2000/svg}"


@pytest.fixture()
def principles(app):
    principle_service.seed_defaults()
    db.session.commit()


def bar_names(body: bytes | str) -> list[str]:
    root = ET.fromstring(body)
    return [g.get("data-cohort") for g in root.iter(f"{NS}g") if g.get("class") == "cohort"
            and any("bar" in (r.get("class") or "") for r in g.iter(f"{NS}rect"))]


def test_readers_get_the_live_chart_as_svg(client, auth, users, now):
    incident = factories.incident(actor=users["dcc"], now=now)
    db.session.commit()
    for role in ("dcc", "secas", "opsg", "admin"):
        auth.logout()
        auth.login(users[role])
        response = client.get(f"/incidents/{incident.reference}/restoration.svg")
        assert response.status_code == 200, role
        assert response.mimetype == "image/svg+xml"
        assert bar_names(response.data) == ["CSP C&S", "CSP N", "DSP"]
    assert client.get("/incidents/INC999999999999/restoration.svg").status_code == 404
    assert client.get("/incidents/INC%00/restoration.svg").status_code == 404


def test_party_sees_a_chart_only_once_published_and_as_published(client, auth, users, now, principles):
    hidden = factories.incident(actor=users["dcc"], now=now)
    shown = builders.published(users, now)
    db.session.commit()
    # A change to the record after publication does not reach SEC Parties: they see the published version.
    start = shown.started_at
    incident_service.update_incident(
        incident=shown, actor=users["dcc"], expected_version=shown.version, now=now,
        changes=incident_service.IncidentChanges(
            cohorts=[incident_service.CohortDraft("DSP", start, start + timedelta(hours=1))]))
    db.session.commit()
    auth.login(users["party"])
    assert client.get(f"/incidents/{hidden.reference}/restoration.svg").status_code == 404
    response = client.get(f"/incidents/{shown.reference}/restoration.svg")
    assert response.status_code == 200
    assert bar_names(response.data) == ["CSP C&S", "CSP N", "DSP"]
    auth.logout()
    auth.login(users["dcc"])
    assert bar_names(client.get(f"/incidents/{shown.reference}/restoration.svg").data) == ["DSP"]


def test_report_pages_embed_the_chart_inline(client, auth, users, now, principles):
    incident = builders.published(users, now)
    db.session.commit()
    auth.login(users["secas"])
    page = client.get(f"/incidents/{incident.reference}/report").text
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart restoration-chart"' in page
    assert "CSP N restored 1 h 25 min after the last other cohort (4 h 25 min in all)." in page
    auth.logout()
    auth.login(users["party"])
    page = client.get(f"/published/{incident.reference}").text
    assert 'role="img"' in page and "restoration-chart" in page
    svg_part = page[page.index("<svg"):page.index("</svg>") + 6]
    assert "style=" not in svg_part and "<script" not in svg_part.lower()
    # The page runs only the site's own script files (the PDF download's progress), never inline script.
    assert not re.search(r"<script(?![^>]*\bsrc=\"/static/)", page, re.IGNORECASE)
    ET.fromstring(svg_part)
