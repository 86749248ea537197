"""A file's type is found from its bytes: random and hostile uploads never end in a 500, and whatever is kept
is a file of an accepted kind whose name says so."""
from __future__ import annotations

import io

import sqlalchemy as sa
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from incidents.attachment import content
from incidents.attachment.models import Attachment
from incidents.extensions import db
from incidents.incident.models import Incident
from tests import factories
from tests.attachment import files

ALL = list(content.KINDS)
# Real files, their first bytes on their own, and random bytes, under names of every accepted ending and others.
data = st.one_of(st.sampled_from([files.pdf(), files.png(), files.docx(), files.csv(), b"plain text\n"]),
                 st.sampled_from([files.pdf(), files.png(), files.docx()]).flatmap(
                     lambda whole: st.integers(0, len(whole)).map(lambda cut: whole[:cut])),
                 st.binary(max_size=300))
names = st.one_of(
    st.sampled_from([f"evidence{end}" for kind in content.KINDS.values() for end in kind.endings]),
    st.sampled_from(["x.html", "x.svg", "x.js", "x.exe", "noending", ".pdf", "../../etc/passwd.txt", "a\x00b.pdf",
                     "CON.txt", "ä" * 300 + ".pdf", "\u202eftp.exe.txt"]),
    st.text(max_size=40))
targets = st.sampled_from(["incident", "report_version:1", "timeline_entry:999", "exclusion_proposal:x", "",
                           "incident:1", "report_version:99999999999"])


@given(data=data, name=names)
def test_detection_accepts_only_a_kind_whose_name_and_content_agree(data, name):
    try:
        kind = content.detect(data, name, ALL)
    except ValueError as exc:
        assert str(exc)
        return
    assert content.ending(name) in kind.endings
    assert content.CHECKS[kind.name](data)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=data, name=names, target=targets)
def test_hostile_uploads_are_answered_and_only_accepted_files_are_kept(app, users, now, body, name, target):
    incident = db.session.scalar(sa.select(Incident))
    if incident is None:
        incident = factories.incident(actor=users["dcc"], now=now)
        db.session.commit()
    client = app.test_client()
    client.post("/login", data={"email": users["dcc"].email, "password": factories.PASSWORD})
    before = db.session.scalar(sa.select(sa.func.count()).select_from(Attachment))
    answer = client.post(f"/incidents/{incident.reference}/attachments", content_type="multipart/form-data",
                         data={"target": target, "file": (io.BytesIO(body), name)})
    assert answer.status_code in (302, 404), answer.status_code
    db.session.expire_all()
    after = db.session.scalar(sa.select(sa.func.count()).select_from(Attachment))
    page = client.get(f"/incidents/{incident.reference}/attachments").get_data(as_text=True)
    if after > before:
        kept = db.session.scalar(sa.select(Attachment).order_by(Attachment.id.desc()))
        assert content.ending(kept.filename) in content.KINDS[kept.kind].endings
        assert kept.sha256 in page
    else:
        assert 'class="flash flash-error"' in page or answer.status_code == 404


def test_a_kept_name_has_no_folders_control_or_direction_characters():
    from incidents.attachment.service import clean_filename

    assert clean_filename("..\\..\\windows\\notice.pdf") == "notice.pdf"
    assert clean_filename("a\x00b\x1f.pdf") == "a b .pdf"
    assert clean_filename("\u202efdp.exe.txt") == "fdp.exe.txt"
    assert len(clean_filename("ä" * 300 + ".pdf")) == 200 and clean_filename("ä" * 300 + ".pdf").endswith(".pdf")
