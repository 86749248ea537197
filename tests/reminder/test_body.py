"""What a reminder email says, as received over SMTP: the deadline, what is due, who must act, the record and a
link built from BASE_URL (never from the request that happened to be running)."""
from __future__ import annotations

from datetime import date
from email.message import EmailMessage

from incidents.action import service as action_service
from incidents.extensions import db
from incidents.incident.models import Incident
from incidents.principle import service as principle_service
from incidents.review import service as review_service
from tests import factories
from tests.reminder.helpers import SmtpServer, sweep_on, uk

TITLE = "National telecoms carrier outage"
BASE = "https://reviews.secas.example/mir/"


def _parts(message: EmailMessage) -> tuple[str, str]:
    # Lines end in CRLF on the wire.
    text = message.get_body(("plain",)).get_content().replace("\r\n", "\n")  # type: ignore[union-attr]
    html = message.get_body(("html",)).get_content()  # type: ignore[union-attr]
    return text, html


def _real_case(users: dict) -> Incident:
    """INC000001001905 as logged: resolved Tue 4 Apr 2023 10:40 BST, Summary Report due Thu 6 Apr."""
    incident = factories.incident(actor=users["dcc"], now=uk(date(2023, 4, 4), 11, 0), reference="INC000001001905",
                       title=TITLE, resolved_at=uk(date(2023, 4, 4), 10, 40))
    db.session.commit()
    return incident


def test_the_summary_report_reminder_says_what_is_due_who_acts_by_when_and_links_to_base_url(app, users, smtp):
    app.config["BASE_URL"] = BASE
    _real_case(users)
    # Swept while a request to another address is being served: the link still comes from BASE_URL.
    with app.test_request_context("/", base_url="http://10.1.2.3:8080"):
        sent = sweep_on(date(2023, 4, 5)).sent
    assert sent == [f"[Summary Report due in 1 working day] INC000001001905 {TITLE}"]
    (message,) = smtp.messages
    text, html = _parts(message)
    link = "https://reviews.secas.example/mir/incidents/INC000001001905/review"
    assert (f"What is due: The Summary Report of INC000001001905 {TITLE}, sent to SECAS and recorded as sent\n"
            "Who must act: DCC\n"
            "Deadline: Thu 6 Apr 2023 (due in 1 working day)\n"
            f"Open it: {link}\n") in text
    assert f'href="{link}"' in html
    assert "<strong>Who must act:</strong> DCC" in html
    assert "<strong>Deadline:</strong> Thu 6 Apr 2023 (due in 1 working day)" in html
    for part in (text, html):
        assert "127.0.0.1" not in part and "10.1.2.3" not in part


def test_the_default_base_url_is_the_address_make_run_serves(app, users, smtp):
    assert app.config["BASE_URL"] == "http://127.0.0.1:5000"
    _real_case(users)
    sweep_on(date(2023, 4, 5))
    text, _ = _parts(smtp.messages[0])
    assert "Open it: http://127.0.0.1:5000/incidents/INC000001001905/review" in text


def test_an_action_reminder_names_its_owner_and_organisation(app, users, smtp: SmtpServer):
    app.config["BASE_URL"] = BASE
    users["dcc"].name = "Dana Carter"
    action_service.create_action(actor=users["secas"], now=uk(date(2023, 6, 26), 17, 0),
                                 draft=action_service.ActionDraft(
                                     reference="OPSG 97/04", owner_org="dcc", owner_user=users["dcc"].email,
                                     text="The DCC to confirm its principles.", raised_on=date(2023, 6, 26),
                                     target_on=date(2023, 7, 21)))
    db.session.commit()
    subject = "[Action due in 5 working days] OPSG 97/04 The DCC to confirm its principles."
    assert sweep_on(date(2023, 7, 14)).sent == [subject]
    text, _ = _parts(smtp.messages[0])
    assert ("What is due: Action OPSG 97/04 The DCC to confirm its principles.\n"
            "Who must act: Dana Carter (DCC)\n"
            "Deadline: Fri 21 Jul 2023 (due in 5 working days)\n"
            "Open it: https://reviews.secas.example/mir/actions/OPSG%2097-04\n") in text


def test_an_exclusion_review_reminder_says_since_when_secas_has_been_asked(app, users, smtp):
    principle_service.seed_defaults()
    incident = _real_case(users)
    review_service.propose(incident=incident, exclude=True, principle="third-party-infrastructure",
                           actor=users["dcc"], rationale="National carrier outage outside DCC control.",
                           now=uk(date(2023, 4, 6), 15, 0))
    db.session.commit()
    assert f"[Exclusion review pending 5 working days] INC000001001905 {TITLE}" in sweep_on(date(2023, 4, 17)).sent
    exclusion = next(m for m in smtp.messages if str(m["Subject"]).strip().startswith("[Exclusion"))
    text, _ = _parts(exclusion)
    assert (f"What is due: SECAS's review of the PMR exclusion the DCC proposed for INC000001001905 {TITLE}\n"
            "Who must act: SECAS\n"
            "Waiting since: Thu 6 Apr 2023 (pending 5 working days)\n") in text
