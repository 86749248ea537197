"""Documents: the Review Report as a page and a PDF, the published PDF, the OPSG pack.

WeasyPrint is slow, so only a handful of tests draw a PDF; the rest check the
HTML the PDF is drawn from, and the refusals, which never reach WeasyPrint.
"""
from __future__ import annotations

import io
import socket
from datetime import date

import pypdf
import pytest
import sqlalchemy as sa

from incidents.action import service as action_service
from incidents.document import service as document_service
from incidents.document.models import ReportPdf
from incidents.extensions import db
from incidents.incident import service as incident_service
from incidents.meeting import service as meeting_service
from incidents.principle import service as principle_service
from incidents.report import service as report_service
from incidents.review import service as review_service
from tests import factories
from tests.document import builders

LONG = {**builders.SECTIONS, "lessons_learned": "\n\n".join(
    f"- Lesson {n}: agree a remote reset route for network terminating equipment with each provider." for n in
    range(40))}


@pytest.fixture()
def principles(app):
    principle_service.seed_defaults()
    db.session.commit()


def pdf_pages(data: bytes) -> list[str]:
    """Return the text of each page of a PDF (fails if it is not a PDF)."""
    assert data.startswith(b"%PDF-")
    return [page.extract_text() for page in pypdf.PdfReader(io.BytesIO(data)).pages]


def login(auth, user) -> None:
    auth.logout()
    assert auth.login(user).status_code == 302


# --- PDFs (each test here draws one) -------------------------------------------------------------

def test_review_report_pdf_has_banner_on_every_page_version_and_chart(client, auth, users, now, principles):
    incident = builders.submitted(users, now, sections=LONG, classification="RED")
    db.session.commit()
    login(auth, users["opsg"])
    response = client.get(f"/incidents/{incident.reference}/report.pdf?version=1")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == (
        f'inline; filename="{incident.reference}-review-report-v1.pdf"')
    pages = pdf_pages(response.data)
    assert len(pages) >= 2
    for number, text in enumerate(pages, start=1):
        assert "RED" in text and "Named recipients only" in text, f"no banner on page {number}"
        assert f"Page {number} of {len(pages)}" in text
        assert incident.reference in text and "Version 1 (submitted), RED" in text
    whole = "\n".join(pages)
    assert "TRT deadline" in whole and "CSP N restored 1 h 25 min after the last other cohort" in whole


def test_party_downloads_the_published_version_stamped(client, auth, users, now, principles):
    incident = builders.published(users, now, classification="WHITE")
    db.session.commit()
    login(auth, users["party"])
    response = client.get(f"/published/{incident.reference}.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    pages = pdf_pages(response.data)
    for text in pages:
        assert "WHITE" in text
    assert "Published version 1, 1 Jun 2023, WHITE" in pages[0]
    assert incident.reference in pages[0]
    # What SEC Parties must not see: who submitted it inside the DCC.
    assert users["dcc"].email not in "\n".join(pages)


def test_pack_pdf_lists_the_waiting_reviews(client, auth, users, now, principles):
    waiting = builders.submitted(users, now, title="Waiting for the group")
    meeting_service.schedule(reference="OPSG_150", held_on=date(2099, 1, 27), actor=users["secas"], now=now)
    db.session.commit()
    login(auth, users["secas"])
    response = client.get("/meetings/OPSG_150/pack.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == 'inline; filename="OPSG_150-pack.pdf"'
    pages = pdf_pages(response.data)
    assert all("AMBER" in text for text in pages)
    whole = "\n".join(pages)
    assert waiting.reference in whole and "Waiting for the group" in whole and "Summary" in whole


def test_the_pack_names_the_version_waiting_and_a_withdrawn_version_leaves_it(client, auth, users, now, principles):
    waiting = builders.submitted(users, now, title="Waiting for the group")
    meeting_service.schedule(reference="OPSG_150", held_on=date(2099, 1, 27), actor=users["secas"], now=now)
    db.session.commit()
    login(auth, users["opsg"])
    page = client.get("/meetings/OPSG_150/pack").text
    assert f'id="pack-{waiting.reference}"' in page and "Version 1, AMBER" in page
    report_service.withdraw(incident=waiting, actor=users["dcc"], now=now)
    db.session.commit()
    assert f'id="pack-{waiting.reference}"' not in client.get("/meetings/OPSG_150/pack").text
    # The meetings list links each meeting's pack.
    assert 'href="/meetings/OPSG_150/pack"' in client.get("/meetings/").text


def test_weasyprint_fetches_only_our_static_files(app, monkeypatch):
    attempts: list[object] = []

    def refuse(self, address):
        attempts.append(address)
        raise OSError("no network in tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    html = ('<link rel="stylesheet" href="/static/style.css"><link rel="stylesheet" href="/static/../../x.css">'
            '<p class="classification classification-red">Hello</p>'
            '<img src="https://example.org/tracker.png" alt="tracker"><img src="file:///etc/passwd" alt="file">')
    pdf = document_service.render_pdf(html, base_url="http://localhost/", static_folder=app.static_folder,
                                      static_url_path=app.static_url_path)
    assert pdf.startswith(b"%PDF-") and attempts == []
    assert "Hello" in pdf_pages(pdf)[0]


# --- Pages and refusals (no PDF drawn) -----------------------------------------------------------

def test_print_page_is_the_document_html(client, auth, users, now, principles):
    incident = builders.submitted(users, now)
    review_service.add_comment(incident=incident, body="A comment.", actor=users["opsg"], now=now)
    db.session.commit()
    login(auth, users["dcc"])
    page = client.get(f"/incidents/{incident.reference}/report/print").text
    assert 'class="document-body"' in page and "running-banner" in page and "closing-banner" in page
    assert "Version 1 (submitted), AMBER" in page
    assert f'href="/incidents/{incident.reference}/report.pdf?version=1"' in page
    assert 'class="chart restoration-chart"' in page
    assert client.get(f"/incidents/{incident.reference}/report/print?version=7").status_code == 404
    assert client.get(f"/incidents/{incident.reference}/report/print?version=x").status_code == 404


def test_party_gets_404_on_anything_unpublished(client, auth, users, now, principles):
    unpublished = builders.submitted(users, now)
    meeting_service.schedule(reference="OPSG_150", held_on=date(2099, 1, 27), actor=users["secas"], now=now)
    db.session.commit()
    login(auth, users["party"])
    for path in (f"/incidents/{unpublished.reference}/report.pdf", f"/incidents/{unpublished.reference}/report/print",
                 f"/published/{unpublished.reference}.pdf", "/meetings/OPSG_150/pack", "/meetings/OPSG_150/pack.pdf",
                 "/published/INC%00.pdf"):
        assert client.get(path).status_code == 404, path


def test_reader_gets_404_when_no_report_exists(client, auth, users, now):
    incident = factories.incident(actor=users["dcc"], now=now)
    db.session.commit()
    login(auth, users["secas"])
    response = client.get(f"/incidents/{incident.reference}/report.pdf")
    assert response.status_code == 404 and "has not saved a Review Report" in response.text
    assert client.get("/incidents/INC999999999999/report.pdf").status_code == 404
    assert client.get("/meetings/OPSG_999/pack").status_code == 404


def test_pack_lists_waiting_reviews_and_the_group_s_open_actions(client, auth, users, now, principles):
    submitted = builders.submitted(users, now, title="Submitted <script>x</script>")
    deferred = builders.submitted(users, now)
    builders.decided(deferred, users, now, meeting="OPSG_96", outcome="deferred")
    unsettled = builders.submitted(users, now, exclude=True)
    builders.published(users, now)
    draft = factories.incident(actor=users["dcc"], now=now)
    meeting_service.schedule(reference="OPSG_150", held_on=date(2099, 1, 27), actor=users["secas"], now=now)
    for ref, group, status in [("OPSG 96/01", "OPSG", "open"), ("OPSG 96/02", "OPSG", "closed"),
                               ("TABASC 5/01", "TABASC", "open")]:
        action = action_service.create_action(actor=users["secas"], now=now, draft=action_service.ActionDraft(
            reference=ref, text=f"Action {ref}", owner_org="dcc", raised_on=date(2023, 5, 1),
            target_on=date(2023, 5, 20)))
        if status == "closed":
            action_service.close_action(action=action, actor=users["secas"], expected_version=action.version,
                                        now=now, closing_note="Done.")
    db.session.commit()
    login(auth, users["opsg"])
    page = client.get("/meetings/OPSG_150/pack").text
    items = page[page.index('id="pack-contents-heading"'):page.index('id="pack-actions-heading"')]
    for incident in (submitted, deferred, unsettled):
        assert f'id="pack-{incident.reference}"' in items
    assert draft.reference not in page
    assert items.count('class="pack-item"') == 3
    assert "Submitted &lt;script&gt;x&lt;/script&gt;" in page and "<script>x" not in page
    assert "The decision must wait:" in items and "Exclusion proposed, waiting for SECAS" in items
    assert "A nationwide outage of a national telecoms carrier." in items  # each report's summary
    assert items.count('class="chart restoration-chart"') == 3
    actions = page[page.index('id="pack-actions-heading"'):]
    assert "OPSG 96/01" in actions and "OPSG 96/02" not in actions and "TABASC 5/01" not in actions
    assert "Overdue" in actions
    assert 'href="/meetings/OPSG_150/pack.pdf"' in page


def test_past_meeting_pack_lists_what_was_decided_at_it(client, auth, users, now, principles):
    agreed = builders.submitted(users, now)
    builders.decided(agreed, users, now, meeting="OPSG_96")
    still_waiting = builders.submitted(users, now)
    db.session.commit()
    login(auth, users["dcc"])
    page = client.get("/meetings/OPSG_96/pack").text
    assert "This meeting has taken place" in page
    assert f'id="pack-{agreed.reference}"' in page and "Decided at this meeting: agreed." in page
    assert f'id="pack-{still_waiting.reference}"' not in page


# --- Conditional requests (If-None-Match) ---------------------------------------------------------

def test_a_pdf_the_client_has_is_answered_304_without_drawing_it_again(client, auth, users, now, principles,
                                                                      monkeypatch):
    drawn: list[str] = []

    def draw(html: str, **kwargs: object) -> bytes:
        drawn.append(html)
        return b"%PDF-1.7 stand-in"

    monkeypatch.setattr(document_service, "render_pdf", draw)
    incident = builders.submitted(users, now)
    db.session.commit()
    login(auth, users["opsg"])
    url = f"/incidents/{incident.reference}/report.pdf"
    first = client.get(url)
    tag = first.headers["ETag"]
    assert first.status_code == 200 and tag.startswith('W/"') and len(drawn) == 1
    assert first.headers["Cache-Control"] == "no-store"  # kept in no cache, yet answered 304 when asked

    again = client.get(url, headers={"If-None-Match": tag})
    assert again.status_code == 304 and again.data == b"" and again.headers["ETag"] == tag
    assert len(drawn) == 1  # not drawn again
    # Weak comparison: the strong form of the tag matches too, and so does a list naming it, and "*".
    for header in (tag.removeprefix("W/"), f'"something-else", {tag}', "*"):
        assert client.get(url, headers={"If-None-Match": header}).status_code == 304, header
    assert client.get(url, headers={"If-None-Match": '"something-else"'}).status_code == 200
    assert len(drawn) == 1  # the submitted version is frozen: its PDF was kept

    # A new version changes the document: 200, a new ETag.
    report_service.withdraw(incident=incident, actor=users["dcc"], now=now)
    report_service.save_draft(incident=incident, sections={**builders.SECTIONS, "impact": "Revised impact."},
                              classification="AMBER", actor=users["dcc"], now=now)
    db.session.commit()
    changed = client.get(url, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["ETag"] != tag
    assert "Revised impact." in drawn[-1]


def test_a_print_page_carries_a_strong_etag_and_answers_304(client, auth, users, now, principles):
    incident = builders.submitted(users, now)
    db.session.commit()
    login(auth, users["dcc"])
    url = f"/incidents/{incident.reference}/report/print"
    first = client.get(url)
    tag = first.headers["ETag"]
    assert first.status_code == 200 and tag.startswith('"')
    assert client.get(url, headers={"If-None-Match": tag}).status_code == 304
    assert client.get(url, headers={"If-None-Match": f"W/{tag}"}).status_code == 304  # weak comparison

    review_service.add_comment(incident=incident, body="Not in the document.", actor=users["opsg"], now=now)
    db.session.commit()
    assert client.get(url, headers={"If-None-Match": tag}).status_code == 304  # the document did not change
    # The submitted version is frozen: editing the incident leaves it as it was.
    incident_service.update_incident(incident=incident,
                                     changes=incident_service.IncidentChanges(title="Carrier outage, title corrected"),
                                     actor=users["dcc"], expected_version=incident.version, now=now)
    db.session.commit()
    assert client.get(url, headers={"If-None-Match": tag}).status_code == 304
    # A new draft is the latest version now: 200, a new ETag.
    report_service.withdraw(incident=incident, actor=users["dcc"], now=now)
    report_service.save_draft(incident=incident, sections={**builders.SECTIONS, "impact": "Revised impact."},
                              classification="AMBER", actor=users["dcc"], now=now)
    db.session.commit()
    changed = client.get(url, headers={"If-None-Match": tag})
    assert changed.status_code == 200 and changed.headers["ETag"] != tag and "Revised impact." in changed.text


# --- Kept PDFs of frozen versions -----------------------------------------------------------------

@pytest.fixture()
def drawn(monkeypatch) -> list[str]:
    """Stand in for WeasyPrint: record each HTML drawn and return a PDF naming the draw."""
    made: list[str] = []

    def draw(html: str, **kwargs: object) -> bytes:
        made.append(html)
        return f"%PDF-1.7 draw {len(made)}".encode()

    monkeypatch.setattr(document_service, "render_pdf", draw)
    return made


def kept() -> list[tuple[str, bytes]]:
    db.session.rollback()
    return [(row.kind, row.pdf) for row in db.session.scalars(sa.select(ReportPdf).order_by(ReportPdf.id))]


def test_a_frozen_version_s_pdf_is_drawn_once_and_kept(client, auth, users, now, principles, drawn):
    incident = builders.submitted(users, now)
    db.session.commit()
    login(auth, users["opsg"])
    url = f"/incidents/{incident.reference}/report.pdf"
    first, second = client.get(url), client.get(url)
    assert first.status_code == second.status_code == 200
    assert first.data == second.data == b"%PDF-1.7 draw 1" and len(drawn) == 1
    assert kept() == [("report", b"%PDF-1.7 draw 1")]


def test_the_published_pdf_is_kept_apart_from_the_report_s(client, auth, users, now, principles, drawn):
    incident = builders.published(users, now)
    db.session.commit()
    login(auth, users["party"])
    for _ in range(2):
        response = client.get(f"/published/{incident.reference}.pdf")
        assert response.status_code == 200 and response.data == b"%PDF-1.7 draw 1"
    login(auth, users["opsg"])
    assert client.get(f"/incidents/{incident.reference}/report.pdf").data == b"%PDF-1.7 draw 2"
    assert "Published version 1" in drawn[0] and "Published version 1" not in drawn[1]
    assert [kind for kind, _ in kept()] == ["published", "report"]


def test_a_draft_s_pdf_is_never_kept(client, auth, users, now, principles, drawn):
    incident = factories.incident(actor=users["dcc"], now=now)
    report_service.save_draft(incident=incident, sections=builders.SECTIONS, classification="AMBER",
                              actor=users["dcc"], now=now)
    db.session.commit()
    login(auth, users["dcc"])
    url = f"/incidents/{incident.reference}/report.pdf"
    assert client.get(url).data == b"%PDF-1.7 draw 1"
    assert client.get(url).data == b"%PDF-1.7 draw 2"  # drawn each time
    report_service.save_draft(incident=incident, sections={**builders.SECTIONS, "impact": "Revised impact."},
                              classification="AMBER", actor=users["dcc"], now=now)
    db.session.commit()
    assert client.get(url).data == b"%PDF-1.7 draw 3" and "Revised impact." in drawn[-1]
    assert kept() == []


def test_a_kept_pdf_drawn_from_other_html_is_drawn_again(client, auth, users, now, principles, drawn):
    incident = builders.submitted(users, now)
    db.session.commit()
    login(auth, users["opsg"])
    url = f"/incidents/{incident.reference}/report.pdf"
    client.get(url)
    db.session.execute(sa.update(ReportPdf).values(digest="drawn-from-an-older-template"))
    db.session.commit()
    assert client.get(url).data == b"%PDF-1.7 draw 2"
    assert client.get(url).data == b"%PDF-1.7 draw 2"
    assert kept() == [("report", b"%PDF-1.7 draw 2")]
