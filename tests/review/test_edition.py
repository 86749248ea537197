"""A published edition is wholly frozen: what SEC Parties read never follows later edits of the record.

The DCC changes the incident's title, a timeline entry and a cohort's restoration after publication; every
surface a party reads (the published page, its PDF, the chart, the ``/published`` list, their dashboard and
both published API answers) still shows what was published. A correction is published as a new edition,
"version 2, superseding version 1", with both publication dates; the API gives each section as sanitised HTML.
"""
from __future__ import annotations

import io
import re
from datetime import UTC, date, datetime, timedelta

import pypdf
import pytest

from incidents.document import service as document_service
from incidents.extensions import db
from incidents.incident import service as incident_service
from incidents.principle import service as principle_service
from incidents.report import service as report_service
from incidents.review import service as review_service
from incidents.user import service as user_service
from tests import factories
from tests.api.helpers import Api
from tests.document import builders

TITLE = "National telecoms carrier outage"
RENAMED = "Renamed after publication"
ENTRY = "Carrier confirmed a core network failure."
EDITED = "Entry edited after publication."
START = datetime(2023, 4, 4, 5, 15, tzinfo=UTC)  # 06:15 BST
# CSP N was restored at 09:40 UTC (10:40 BST); after publication the record says 11:40 UTC (12:40 BST).
RESTORED_LATER = START + timedelta(hours=6, minutes=25)


@pytest.fixture()
def principles(app):
    principle_service.seed_defaults()
    db.session.commit()


@pytest.fixture()
def tokens(users):
    made = {role: user_service.issue_token(user=user) for role, user in users.items()}
    db.session.commit()
    return made


def _published(users, now, sections=None):
    """Take an incident with a timeline entry to publication (GREEN) on 1 June 2023."""
    incident = factories.incident(actor=users["dcc"], now=now)
    incident_service.add_timeline_entry(
        incident=incident, actor=users["dcc"], now=now,
        draft=factories.entry_draft(occurred_at=START + timedelta(hours=1), kind="update", text=ENTRY))
    review_service.propose(incident=incident, exclude=False, rationale="Counted.", actor=users["dcc"], now=now)
    report_service.save_draft(incident=incident, sections=sections or builders.SECTIONS, classification="AMBER",
                              actor=users["dcc"], now=now)
    report_service.submit(incident=incident, actor=users["dcc"], now=now)
    builders.decided(incident, users, now)
    review_service.publish(incident=incident, classification="GREEN", actor=users["secas"], now=now)
    db.session.commit()
    return incident.reference


def _change_the_record_after_publication(client, tokens, reference):
    """As the DCC, through the API: a new title, an edited timeline entry, CSP N restored two hours later."""
    dcc = Api(client, tokens["dcc"])
    current = dcc.get(f"/incidents/{reference}")
    cohorts = [{**c, "restored_at": RESTORED_LATER.isoformat()} if c["name"] == "CSP N" else c
               for c in ({"name": c["name"], "impact_started_at": c["impact_started_at"],
                          "restored_at": c["restored_at"]} for c in current.get_json()["cohorts"])]
    changed = dcc.patch(f"/incidents/{reference}", etag=current.headers["ETag"],
                        json={"title": RENAMED, "cohorts": cohorts})
    assert changed.status_code == 200, changed.get_json()
    entry = dcc.get(f"/incidents/{reference}/timeline").get_json()["items"][0]
    path = f"/incidents/{reference}/timeline/{entry['id']}"
    edited = dcc.patch(path, etag=dcc.get(path).headers["ETag"], json={"text": EDITED})
    assert edited.status_code == 200, edited.get_json()
    # The record itself did change: the internal pages show the new values.
    after = dcc.get(f"/incidents/{reference}").get_json()
    assert after["title"] == RENAMED


def _login(client, user):
    client.post("/logout")
    assert client.post("/login", data={"email": user.email, "password": factories.PASSWORD}).status_code == 302


def _pdf_text(data: bytes) -> str:
    assert data.startswith(b"%PDF-")
    return "\n".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages)


def test_a_title_timeline_entry_and_cohort_changed_after_publication_reach_no_party_surface(
        client, users, now, principles, tokens):
    reference = _published(users, now)
    _change_the_record_after_publication(client, tokens, reference)

    _login(client, users["party"])
    listed = client.get("/published").get_data(as_text=True)
    dashboard = client.get("/").get_data(as_text=True)
    page = client.get(f"/published/{reference}").get_data(as_text=True)
    chart = client.get(f"/incidents/{reference}/restoration.svg").get_data(as_text=True)
    pdf = _pdf_text(client.get(f"/published/{reference}.pdf").data)
    party = Api(client, tokens["party"])
    api_list = party.get("/published").get_json()["items"]
    api_one = party.get(f"/published/{reference}").get_json()

    for surface, text in (("list", listed), ("dashboard", dashboard), ("page", page), ("PDF", pdf)):
        assert TITLE in text and RENAMED not in text, surface
    for surface, text in (("page", page), ("chart", chart), ("PDF", pdf)):
        assert ENTRY in text and EDITED not in text, surface
        # CSP N as published: restored at 10:40 BST, 1 h 25 min after the last other cohort.
        assert "1 h 25 min" in text and "12:40" not in text, surface
    assert "10:40" in page and "10:40" in pdf
    for answer in (api_list[0], api_one):
        assert answer["title"] == TITLE and answer["generated"]["facts"]["title"] == TITLE
        assert [e["text"] for e in answer["generated"]["timeline"]] == [ENTRY]
        csp_n = next(c for c in answer["generated"]["cohorts"] if c["name"] == "CSP N")
        assert csp_n["restored_at"] == "2023-04-04T09:40:00Z" and csp_n["minutes"] == 265


def test_a_correction_is_published_as_a_new_edition_superseding_the_first_with_both_dates(
        client, users, now, principles, tokens):
    reference = _published(users, now)
    incident = incident_service.get_incident(reference, viewer=users["dcc"])
    later = datetime(2023, 6, 21, 9, 0, tzinfo=UTC)  # 10:00 BST
    report_service.save_draft(incident=incident, sections={**builders.SECTIONS, "summary": "Corrected summary."},
                              classification="AMBER", actor=users["dcc"], now=later)
    report_service.submit(incident=incident, actor=users["dcc"], now=later)
    builders.decided(incident, users, later, meeting="OPSG_98", meeting_on=date(2023, 6, 20), classification="WHITE")
    review_service.publish(incident=incident, actor=users["secas"], now=later)
    db.session.commit()

    _login(client, users["party"])
    wording = "Version 2, superseding version 1"
    for path in ("/published", "/", f"/published/{reference}"):
        text = client.get(path).get_data(as_text=True)
        assert wording.lower() in text.lower(), path
        assert "1 Jun 2023" in text and "21 Jun 2023" in text, path
    page = client.get(f"/published/{reference}").get_data(as_text=True)
    assert "Corrected summary." in page
    # One row per report: the latest edition.
    assert client.get("/published").get_data(as_text=True).count(f">{reference}</a>") == 1

    party = Api(client, tokens["party"])
    one = party.get(f"/published/{reference}").get_json()
    assert (one["version"], one["edition"], one["classification"]) == (
        2, "version 2, superseding version 1", "WHITE")
    assert one["published_at"] == "2023-06-21T09:00:00Z"
    assert one["supersedes"] == {"version": 1, "published_at": "2023-06-01T09:00:00Z"}
    assert party.get("/published").get_json()["items"] == [one]
    # The PDF's stamp names both editions and both dates (checked on the document it is drawn from).
    doc = document_service.published_document(reference, viewer=users["party"])
    assert doc.stamp == "Published version 2, 21 Jun 2023, superseding version 1 (published 1 Jun 2023), WHITE"


def test_the_published_api_gives_each_section_as_sanitised_html_beside_its_markdown(
        client, users, now, principles, tokens):
    hostile = ("**CSP N** took longest.\n\n<script>alert(1)</script>\n\n"
               "[carrier](javascript:alert(2)) <img src=x onerror=alert(3)>")
    reference = _published(users, now, sections={**builders.SECTIONS, "summary": hostile})
    one = Api(client, tokens["party"]).get(f"/published/{reference}").get_json()
    assert one["sections"]["summary"] == hostile  # the Markdown source, as written
    html = one["sections_html"]["summary"]
    assert "<strong>CSP N</strong>" in html
    # Raw HTML comes through as text only; no tag, handler or script link survives.
    assert "&lt;script&gt;" in html
    assert not re.search(r"<script|<img|href=\"javascript", html, re.IGNORECASE)
    assert one["sections_html"]["impact"] == "<p>Smart meter communications unavailable.</p>\n"
    assert set(one["sections_html"]) == set(one["sections"])
    # The OpenAPI document describes the new fields.
    schemas = client.get("/api/v1/openapi.json").get_json()["components"]["schemas"]
    assert {"sections_html", "edition", "supersedes"} <= set(schemas["PublishedReport"]["required"])
    assert set(schemas["ReportSectionsHtml"]["properties"]) == set(one["sections"])


def test_the_reference_as_published_stays_the_edition_s_address_after_the_record_is_renumbered(
        client, users, now, principles, tokens):
    reference = _published(users, now)
    dcc = Api(client, tokens["dcc"])
    current = dcc.get(f"/incidents/{reference}")
    renumbered = factories.reference()
    changed = dcc.patch(f"/incidents/{reference}", etag=current.headers["ETag"], json={"reference": renumbered})
    assert changed.status_code == 200, changed.get_json()

    party = Api(client, tokens["party"])
    assert [item["reference"] for item in party.get("/published").get_json()["items"]] == [reference]
    assert party.get(f"/published/{reference}").get_json()["generated"]["facts"]["reference"] == reference
    _login(client, users["party"])
    page = client.get(f"/published/{reference}")
    assert page.status_code == 200 and renumbered not in page.get_data(as_text=True)
    assert renumbered not in client.get("/published").get_data(as_text=True)
