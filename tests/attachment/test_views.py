"""Attachments through the pages and the API: kept with a SHA-256, refused whole when too large, lying about
their type or damaged, frozen with a submitted version, visible to who sees the incident, deletion audited."""
from __future__ import annotations

import hashlib
import io
import re

import pypdf
import pytest
import sqlalchemy as sa

from incidents.attachment import service as attachment_service
from incidents.attachment.models import Attachment, AttachmentContent
from incidents.audit.models import AuditEntry
from incidents.extensions import db
from incidents.incident import service as incident_service
from incidents.principle import service as principle_service
from incidents.report import service as report_service
from incidents.review import service as review_service
from incidents.review.models import ReviewOutcome
from incidents.user import service as user_service
from tests import factories
from tests.attachment import files
from tests.document import builders


def _client(app, user):
    client = app.test_client()
    assert client.post("/login", data={"email": user.email, "password": factories.PASSWORD}).status_code == 302
    return client


def _upload(client, reference, data, name, target="incident", content_type=None):
    return client.post(f"/incidents/{reference}/attachments", content_type="multipart/form-data",
                       data={"target": target, "file": (io.BytesIO(data), name, content_type)})


def _flashes(client, reference):
    return client.get(f"/incidents/{reference}/attachments").get_data(as_text=True)


def _count():
    db.session.expire_all()
    return (db.session.scalar(sa.select(sa.func.count()).select_from(Attachment)),
            db.session.scalar(sa.select(sa.func.count()).select_from(AttachmentContent)))


@pytest.fixture()
def incident(users, now):
    made = factories.incident(actor=users["dcc"], now=now)
    db.session.commit()
    return made


def _form_fields(html, target):
    """Return the hidden fields of the page's upload form for ``target``, as a browser would send them."""
    for form in re.findall(r'<form method="post" enctype="multipart/form-data".*?</form>', html, re.DOTALL):
        fields = []
        for tag in re.findall(r"<input[^>]*>", form):
            attrs = dict(re.findall(r'(\w+)="([^"]*)"', tag))
            if attrs.get("type") == "hidden":
                fields.append((attrs["name"], attrs.get("value", "")))
        if ("target", target) in fields:
            return fields
    raise AssertionError(f"no upload form for {target}")


def test_the_pages_upload_form_names_its_target_once(app, users, incident):
    dcc = _client(app, users["dcc"])
    fields = _form_fields(_flashes(dcc, incident.reference), "incident")
    assert [name for name, _ in fields].count("target") == 1
    answer = dcc.post(f"/incidents/{incident.reference}/attachments", content_type="multipart/form-data",
                      data={**dict(fields), "file": (io.BytesIO(files.csv()), "cohorts.csv")})
    assert answer.status_code == 302 and _count() == (1, 1)


def test_an_upload_is_kept_with_its_sha256_shown_and_downloads_safely(app, users, incident):
    dcc = _client(app, users["dcc"])
    data = files.pdf()
    answer = _upload(dcc, incident.reference, data, "../../Carrier notice <script>.pdf", content_type="text/html")
    assert answer.status_code == 302
    digest = hashlib.sha256(data).hexdigest()
    page = _flashes(dcc, incident.reference)
    assert digest in page and "Carrier notice &lt;script&gt;.pdf" in page
    assert _count() == (1, 1)
    attachment = db.session.scalar(sa.select(Attachment))
    assert attachment.media_type == "application/pdf" and attachment.sha256 == digest and attachment.size == len(data)

    got = dcc.get(f"/incidents/{incident.reference}/attachments/{attachment.id}")
    assert got.status_code == 200 and got.data == data
    disposition = got.headers["Content-Disposition"]
    assert disposition.startswith("attachment;") and "/" not in disposition and "<" not in disposition
    assert re.search(r'filename="?[A-Za-z0-9_.-]+\.pdf"?', disposition)
    assert got.headers["X-Content-Type-Options"] == "nosniff"
    assert got.mimetype == "application/pdf" and "sandbox" in got.headers["Content-Security-Policy"]


@pytest.mark.parametrize("app_config", [{"ATTACHMENT_MAX_BYTES": 2000}])
def test_a_file_over_the_limit_is_refused_with_a_message_and_nothing_stored(app, users, incident):
    dcc = _client(app, users["dcc"])
    answer = _upload(dcc, incident.reference, b"x" * 2001, "log.txt")
    assert answer.status_code == 302
    assert "the limit is 2 kB" in _flashes(dcc, incident.reference)
    assert _count() == (0, 0)
    # A request larger than any upload may be is cut off before it is read: a 413 page that says the limit.
    huge = _upload(dcc, incident.reference, b"x" * (2000 + 70 * 1024), "log.txt")
    assert huge.status_code == 413
    assert "The file is larger than the limit of 2 kB; nothing was stored" in huge.get_data(as_text=True)
    assert _count() == (0, 0)
    # Elsewhere the app's own limit stays as it was, and a request past it is a 413 that says so.
    assert app.config["MAX_CONTENT_LENGTH"] == 2 * 1024 * 1024
    other = dcc.post(f"/incidents/{incident.reference}/report/withheld", data={"passage": "x" * (3 * 1024 * 1024)})
    assert other.status_code == 413 and "larger than the limit of 2.1 MB" in other.get_data(as_text=True)
    token = user_service.issue_token(user=users["dcc"])
    db.session.commit()
    api = app.test_client().post(f"/api/v1/incidents/{incident.reference}/attachments",
                                 headers={"Authorization": f"Bearer {token}"}, content_type="multipart/form-data",
                                 data={"target": "incident", "file": (io.BytesIO(b"x" * 80_000), "log.txt")})
    assert api.status_code == 413 and api.mimetype == "application/problem+json"
    assert "limit of 2 kB" in api.get_json()["detail"]


@pytest.mark.parametrize(("data", "name", "message"), [
    (files.png(), "notice.pdf", "named as a PDF but its content is a PNG image"),
    (files.pdf(), "screenshot.png", "named as a PNG image but its content is a PDF"),
    (files.docx(), "figures.xlsx", "named as a Excel workbook but its content is a Word document"),
    (b"MZ\x90\x00\x03\x00\x00\x00binary", "notes.txt", "named as a text file but its content is not one"),
    (b"<html><script>alert(1)</script></html>", "page.html", "are not accepted"),
])
def test_a_file_whose_content_lies_about_its_type_is_refused(app, users, incident, data, name, message):
    dcc = _client(app, users["dcc"])
    # The client's Content-Type agrees with the name: it is not believed either.
    _upload(dcc, incident.reference, data, name, content_type="application/pdf")
    assert message in _flashes(dcc, incident.reference)
    assert _count() == (0, 0)


@pytest.mark.parametrize(("data", "name", "message"), [
    (files.pdf()[:-8], "cut.pdf", "no end-of-file marker"),
    (b"PK\x03\x04 not really a zip", "broken.docx", "ZIP structure cannot be read"),
    (files.png()[:20], "cut.png", "header chunk is missing"),
    (b"", "empty.txt", "The file is empty"),
])
def test_a_malformed_upload_is_refused_with_a_message_and_nothing_stored(app, users, incident, data, name, message):
    dcc = _client(app, users["dcc"])
    _upload(dcc, incident.reference, data, name)
    assert message in _flashes(dcc, incident.reference)
    assert _count() == (0, 0)


def test_evidence_on_a_proposal_round_is_fixed_once_secas_has_answered_it(app, users, now, incident):
    principle_service.seed_defaults()
    review_service.propose(incident=incident, exclude=True, principle="force-majeure", rationale="Storm.",
                           actor=users["dcc"], now=now)
    db.session.commit()
    dcc = _client(app, users["dcc"])
    assert _upload(dcc, incident.reference, files.pdf(), "carrier.pdf", "exclusion_proposal:1").status_code == 302
    assert _count() == (1, 1)
    review_service.review_exclusion(incident=incident, outcome=ReviewOutcome.INFORMATION_REQUESTED,
                                    comment="Send the carrier's notice.", actor=users["secas"], now=now)
    db.session.commit()
    _upload(dcc, incident.reference, files.pdf(), "later.pdf", "exclusion_proposal:1")
    assert "SECAS has answered proposal round 1" in _flashes(dcc, incident.reference)
    assert _count() == (1, 1)


def test_each_accepted_kind_is_kept(app, users, incident):
    dcc = _client(app, users["dcc"])
    for data, name in ((files.png(), "a.png"), (files.docx(), "b.docx"), (files.csv(), "c.csv"),
                       (b"NTE reset requested 10:32\n", "d.log")):
        assert _upload(dcc, incident.reference, data, name).status_code == 302
    kinds = sorted(db.session.scalars(sa.select(Attachment.kind)))
    assert kinds == ["csv", "docx", "png", "text"]


def test_an_attachment_of_a_submitted_version_is_frozen_with_it_and_listed_in_the_pdf(app, users, now):
    incident = factories.incident(actor=users["dcc"], now=now)
    review_service.propose(incident=incident, exclude=False, rationale="Counted.", actor=users["dcc"], now=now)
    report_service.save_draft(incident=incident, sections=builders.SECTIONS, classification="AMBER",
                              actor=users["dcc"], now=now)
    db.session.commit()
    dcc = _client(app, users["dcc"])
    assert _upload(dcc, incident.reference, files.pdf("SP report"), "sp-report.pdf", "report_version:1"
                   ).status_code == 302
    # A later draft carries the attachment with it: it follows the report until submitted.
    report_service.save_draft(incident=incident, sections={**builders.SECTIONS, "impact": "Revised."},
                              classification="AMBER", actor=users["dcc"], now=now)
    report_service.submit(incident=incident, actor=users["dcc"], now=now)
    db.session.commit()
    attachment = db.session.scalar(sa.select(Attachment))
    assert attachment_service.target_name(attachment) == "report_version:2"

    _upload(dcc, incident.reference, files.pdf(), "late.pdf", "report_version:2")
    page = _flashes(dcc, incident.reference)
    assert "Version 2 of the report was submitted and is frozen with its attachments" in page
    dcc.post(f"/incidents/{incident.reference}/attachments/{attachment.id}/delete")
    assert "frozen with its attachments" in _flashes(dcc, incident.reference)
    assert _count() == (1, 1)

    pdf = dcc.get(f"/incidents/{incident.reference}/report.pdf?version=2")
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(pdf.data)).pages)
    assert "sp-report.pdf" in text and attachment.sha256 in re.sub(r"\s+", "", text)


def test_attachments_are_seen_by_who_sees_the_incident_and_added_by_who_changes_it(app, users, incident):
    dcc = _client(app, users["dcc"])
    _upload(dcc, incident.reference, files.csv(), "restoration.csv")
    attachment = db.session.scalar(sa.select(Attachment))
    page = f"/incidents/{incident.reference}/attachments"
    download = f"{page}/{attachment.id}"
    for role in ("secas", "opsg", "admin"):
        reader = _client(app, users[role])
        assert reader.get(page).status_code == 200 and reader.get(download).data == files.csv()
    for role in ("secas", "opsg"):
        reader = _client(app, users[role])
        assert "Attach a file" not in reader.get(page).get_data(as_text=True)
        assert _upload(reader, incident.reference, files.csv(), "x.csv").status_code == 403
        assert reader.post(f"{download}/delete").status_code == 403
    party = _client(app, users["party"])
    assert party.get(page).status_code == 404 and party.get(download).status_code == 404
    assert _upload(party, incident.reference, files.csv(), "x.csv").status_code == 404
    assert _count() == (1, 1)


def test_deletion_is_audited_and_the_hash_stays_in_the_trail(app, users, incident):
    dcc = _client(app, users["dcc"])
    _upload(dcc, incident.reference, files.png(), "screen.png")
    attachment = db.session.scalar(sa.select(Attachment))
    digest, ident = attachment.sha256, attachment.id
    assert dcc.post(f"/incidents/{incident.reference}/attachments/{ident}/delete").status_code == 302
    assert _count() == (0, 0)
    entries = list(db.session.scalars(sa.select(AuditEntry).where(AuditEntry.entity_type == "attachment")
                                      .order_by(AuditEntry.id)))
    assert [e.action for e in entries] == ["create", "delete"]
    assert entries[1].changes["sha256"] == [digest, None] and entries[1].actor_name == users["dcc"].email
    assert digest in dcc.get(f"/incidents/{incident.reference}/audit").get_data(as_text=True)


def test_a_deleted_timeline_entry_leaves_its_attachment_with_the_incident(app, users, now, incident):
    entry = incident_service.add_timeline_entry(
        incident=incident, actor=users["dcc"], now=now,
        draft=factories.entry_draft(occurred_at=incident.started_at, kind="update", text="Carrier notified."))
    db.session.commit()
    dcc = _client(app, users["dcc"])
    assert _upload(dcc, incident.reference, files.pdf(), "notice.pdf", f"timeline_entry:{entry.id}"
                   ).status_code == 302
    db.session.refresh(entry)
    incident_service.delete_timeline_entry(entry=entry, actor=users["dcc"], expected_version=entry.version, now=now)
    db.session.commit()
    assert _count() == (1, 1)
    assert "notice.pdf" in _flashes(dcc, incident.reference)


def test_the_api_uploads_lists_and_downloads(app, users, incident):
    tokens = {role: user_service.issue_token(user=users[role]) for role in ("dcc", "opsg", "party")}
    db.session.commit()
    client = app.test_client()
    base = f"/api/v1/incidents/{incident.reference}/attachments"

    def send(role, data, name, target="incident"):
        return client.post(base, headers={"Authorization": f"Bearer {tokens[role]}"},
                           data={"target": target, "file": (io.BytesIO(data), name)},
                           content_type="multipart/form-data")

    made = send("dcc", files.pdf(), "notice.pdf")
    assert made.status_code == 201, made.get_json()
    body = made.get_json()
    assert body["sha256"] == hashlib.sha256(files.pdf()).hexdigest() and body["target"] == "incident"
    lying = send("dcc", files.png(), "notice.pdf")
    assert lying.status_code == 422 and "PNG" in lying.get_json()["errors"]["file"][0]
    assert send("dcc", files.pdf(), "x.pdf", "report_version:x").status_code == 422
    assert send("opsg", files.pdf(), "notice.pdf").status_code == 403
    assert send("party", files.pdf(), "notice.pdf").status_code == 404
    listed = client.get(base, headers={"Authorization": f"Bearer {tokens['opsg']}"})
    assert [item["filename"] for item in listed.get_json()["items"]] == ["notice.pdf"]
    got = client.get(body["download_url"], headers={"Authorization": f"Bearer {tokens['opsg']}"})
    assert got.data == files.pdf() and got.headers["Content-Disposition"].startswith("attachment;")
    assert client.get(body["download_url"], headers={"Authorization": f"Bearer {tokens['party']}"}
                      ).status_code == 404
    assert _count() == (1, 1)
