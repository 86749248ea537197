"""The emails: both parts, escaped text, a stable Message-ID, and the .eml files written without a mail server."""
from __future__ import annotations

import email
import email.policy
from datetime import date, timedelta
from pathlib import Path

import sqlalchemy as sa

from incidents.extensions import db
from incidents.reminder import jobs
from incidents.reminder import service as reminder_service
from incidents.reminder.models import Reminder, ReminderState
from tests import factories
from tests.reminder.helpers import uk


def _case(users: dict, **overrides):
    created = uk(date(2023, 4, 4), 11, 0)
    incident = factories.incident(actor=users["dcc"], now=created, reference="INC000001001905", **overrides)
    db.session.commit()
    return incident


def test_without_a_mail_server_each_email_is_an_eml_file_with_both_parts(app, users, smtp):
    app.config["MAIL_SERVER"] = None
    _case(users, title='Carrier <b>outage</b> & "reset"')
    result = jobs.sweep(now=uk(date(2023, 4, 5)), worker="w")
    assert len(result.sent) == 1 and smtp.count() == 0
    (path,) = sorted((Path(app.instance_path) / "outbox").glob("*.eml"))
    assert not list((Path(app.instance_path) / "outbox").glob("*.tmp"))
    with path.open("rb") as handle:
        message = email.message_from_binary_file(handle, policy=email.policy.default)
    row = db.session.scalar(sa.select(Reminder).where(Reminder.state == ReminderState.SENT))
    assert message["Message-ID"] == row.message_id
    assert path.name == row.message_id.strip("<>").replace("@", "_") + ".eml"
    assert str(message["Subject"]).strip() == ('[Summary Report due in 1 working day] INC000001001905 '
                                               'Carrier <b>outage</b> & "reset"')
    assert message["X-Incidents-Reminder"] == row.key
    assert message.get_content_type() == "multipart/alternative"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert 'Carrier <b>outage</b> & "reset"' in text
    assert "Carrier &lt;b&gt;outage&lt;/b&gt; &amp; &#34;reset&#34;" in html and "<b>outage" not in html
    assert "Deadline: Thu 6 Apr 2023 (due in 1 working day)" in text
    assert "http://127.0.0.1:5000/incidents/INC000001001905/review" in text


def test_the_message_id_is_the_same_for_the_same_occurrence(app, users, smtp):
    incident = _case(users)
    ids = dict(db.session.execute(sa.select(Reminder.key, Reminder.message_id)).all())
    db.session.execute(sa.delete(Reminder))
    reminder_service.plan_incident(incident, now=uk(date(2023, 4, 4), 12, 0))
    db.session.commit()
    assert dict(db.session.execute(sa.select(Reminder.key, Reminder.message_id)).all()) == ids
    assert len(set(ids.values())) == len(ids)
    assert all(value.startswith("<reminder.") and value.endswith("@incidents.example>") for value in ids.values())


def test_a_server_that_fails_after_accepting_the_message_does_not_get_it_twice(app, users, smtp):
    smtp.recorder.bad_quit = True
    _case(users)
    first = jobs.sweep(now=uk(date(2023, 4, 5)), worker="w")
    assert (len(first.sent), first.failed) == (1, [])
    assert jobs.sweep(now=uk(date(2023, 4, 5)) + timedelta(hours=1), worker="w").sent == []
    assert smtp.count() == 1


def test_a_long_or_non_ascii_subject_is_folded_and_encoded_and_the_message_has_no_defects(app, users, smtp):
    created = uk(date(2023, 4, 4), 11, 0)
    factories.incident(actor=users["dcc"], now=created, reference="INC000001001905",
                       title="Zähler café outage — " + "data service provider connectivity lost " * 4)
    factories.incident(actor=users["dcc"], now=created, reference="INC000001001906", title="Plain " + "word " * 30)
    db.session.commit()
    assert len(jobs.sweep(now=uk(date(2023, 4, 5)), worker="w").sent) == 2
    with smtp.recorder.lock:
        raws = list(smtp.recorder.raw)
    subjects = []
    for raw in raws:
        lines = raw.split(b"\r\n")
        assert b"\n" not in raw.replace(b"\r\n", b""), "every line ends CRLF"
        assert max(len(line) for line in lines) <= 78, "headers are folded, bodies quoted-printable"
        assert all(line.strip() for line in lines if line[:1] in (b" ", b"\t")), "no folded line is blank"
        message = email.message_from_bytes(raw, policy=email.policy.default)
        parts = list(message.iter_parts())
        assert not message.defects and not any(part.defects for part in parts)
        assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]
        subjects.append(str(message["Subject"]))
    expected = ["[Summary Report due in 1 working day] INC000001001905 Zähler café outage — data service provider",
                "[Summary Report due in 1 working day] INC000001001906 Plain word word word word word word word"]
    assert all(subject.startswith(start) for subject, start in zip(sorted(subjects), expected, strict=True))
