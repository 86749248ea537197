"""The reminder schedule end to end: planned rows, a sweep every day at 09:00 UK time, a real SMTP server.

Each test walks the calendar day by day, sweeping at 09:00 Europe/London (and
at 08:59 and 16:00, which must add nothing), and records the day each message
reached the loopback SMTP server.
"""
from __future__ import annotations

from datetime import date, timedelta
from email.message import EmailMessage

import pytest
import sqlalchemy as sa

from incidents.action import service as action_service
from incidents.extensions import db
from incidents.incident import service as incident_service
from incidents.principle import service as principle_service
from incidents.reminder import service as reminder_service
from incidents.reminder.models import Reminder, ReminderKind, ReminderState
from incidents.report import service as report_service
from incidents.review import service as review_service
from incidents.rules import service as rules_service
from tests import factories
from tests.reminder.helpers import SmtpServer, sweep_on, uk

SECTIONS = {"summary": "Nationwide carrier outage.", "root_cause": "Carrier failure; CSP N NTE stuck.",
            "impact": "All cohorts.", "lessons_learned": "", "actions": "OPSG 97/04"}
TITLE = "National telecoms carrier outage"


def walk(smtp: SmtpServer, start: date, end: date) -> dict[date, list[str]]:
    """Sweep each day from ``start`` to ``end`` inclusive; return the subjects received per day."""
    received: dict[date, list[str]] = {}
    day = start
    while day <= end:
        before = smtp.count()
        assert not sweep_on(day, hour=8, minute=59).sent, f"sent before 09:00 on {day}"
        sweep_on(day)
        sweep_on(day, hour=16, worker="second-sweep")
        new = smtp.subjects(before)
        if new:
            received[day] = new
        day += timedelta(days=1)
    return received


def create_real_case(users: dict, *, now=None, **overrides):
    """Log INC000001001905 as the DCC did: resolved Tue 4 Apr 2023 10:40 BST."""
    now = now or uk(date(2023, 4, 4), 11, 0)
    fields = {"reference": "INC000001001905", "resolved_at": uk(date(2023, 4, 4), 10, 40)} | overrides
    incident = factories.incident(actor=users["dcc"], now=now, **fields)
    db.session.commit()
    return incident


def test_full_schedule_of_the_real_case_across_easter_and_the_may_bank_holidays(app, users, smtp):
    incident = create_real_case(users)
    derived = incident_service.derive(incident)
    assert derived.summary_report_due_on == date(2023, 4, 6)
    assert derived.review_report_due_on == date(2023, 5, 5)

    received = walk(smtp, date(2023, 4, 4), date(2023, 5, 17))
    ref = f"INC000001001905 {TITLE}"
    assert received == {
        date(2023, 4, 5): [f"[Summary Report due in 1 working day] {ref}"],
        date(2023, 4, 6): [f"[Summary Report due today] {ref}"],
        date(2023, 4, 27): [f"[Review Report due in 5 working days] {ref}"],
        date(2023, 5, 4): [f"[Review Report due in 1 working day] {ref}"],
        date(2023, 5, 5): [f"[Review Report due today] {ref}"],
        # Every 2 Working Days while overdue: Mon 8 May (the Coronation) is not one.
        date(2023, 5, 10): [f"[Review Report overdue by 2 working days] {ref}"],
        date(2023, 5, 12): [f"[Review Report overdue by 4 working days] {ref}"],
        date(2023, 5, 16): [f"[Review Report overdue by 6 working days] {ref}"],
    }
    ids = smtp.ids()
    assert len(ids) == 8 and set(ids.values()) == {1}

    # Each email: both parts, the team and the DCC user who logged it, a link, its row's Message-ID.
    message: EmailMessage = smtp.messages[3]
    assert message["To"] == f"dcc-major-incidents@dcc.example, {users['dcc'].email}"
    body = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "http://127.0.0.1:5000/incidents/INC000001001905/review" in body
    assert 'href="http://127.0.0.1:5000/incidents/INC000001001905/review"' in html
    assert "Thu 4 May 2023" in body and "Fri 5 May 2023" in body
    row = db.session.scalar(sa.select(Reminder).where(Reminder.subject == str(message["Subject"])))
    assert row.message_id == message["Message-ID"] and row.state == ReminderState.SENT
    assert row.sent_at == uk(date(2023, 5, 4)) and row.attempts == 1

    # The DCC submits the report on Wed 17 May: nothing more arrives.
    submitted = uk(date(2023, 5, 17), 11, 30)
    report_service.save_draft(incident=incident, sections=SECTIONS, classification="AMBER", actor=users["dcc"],
                              now=submitted)
    report_service.submit(incident=incident, actor=users["dcc"], now=submitted)
    db.session.commit()
    waiting = db.session.scalars(sa.select(Reminder).where(Reminder.state == ReminderState.PENDING)).all()
    assert waiting == []
    assert walk(smtp, date(2023, 5, 18), date(2023, 7, 31)) == {}
    assert smtp.count() == 8


def test_summary_reminders_stop_once_the_summary_report_is_submitted(app, users, smtp):
    incident = create_real_case(users)
    assert walk(smtp, date(2023, 4, 4), date(2023, 4, 5)) == {
        date(2023, 4, 5): [f"[Summary Report due in 1 working day] INC000001001905 {TITLE}"]}
    done = uk(date(2023, 4, 5), 16, 0)
    review_service.mark_summary_submitted(incident=incident, actor=users["dcc"], now=done)
    db.session.commit()
    received = walk(smtp, date(2023, 4, 6), date(2023, 4, 28))
    assert received == {date(2023, 4, 27): [f"[Review Report due in 5 working days] INC000001001905 {TITLE}"]}


def test_correcting_the_resolution_time_moves_the_reminders(app, users, smtp):
    incident = create_real_case(users)
    assert walk(smtp, date(2023, 4, 4), date(2023, 4, 5)) == {
        date(2023, 4, 5): [f"[Summary Report due in 1 working day] INC000001001905 {TITLE}"]}

    # After the first reminder the DCC corrects the resolution: CSP N was only restored on Wed 5 Apr 09:30.
    edited = uk(date(2023, 4, 5), 10, 0)
    incident_service.update_incident(incident=incident,
                                     changes=incident_service.IncidentChanges(resolved_at=uk(date(2023, 4, 5), 9, 30)),
                                     actor=users["dcc"], expected_version=incident.version, now=edited)
    db.session.commit()
    derived = incident_service.derive(incident)
    assert (derived.summary_report_due_on, derived.review_report_due_on) == (date(2023, 4, 11), date(2023, 5, 9))

    received = walk(smtp, date(2023, 4, 6), date(2023, 5, 17))
    ref = f"INC000001001905 {TITLE}"
    assert received == {
        date(2023, 4, 6): [f"[Summary Report due in 1 working day] {ref}"],
        date(2023, 4, 11): [f"[Summary Report due today] {ref}"],
        date(2023, 4, 28): [f"[Review Report due in 5 working days] {ref}"],
        date(2023, 5, 5): [f"[Review Report due in 1 working day] {ref}"],
        date(2023, 5, 9): [f"[Review Report due today] {ref}"],
        date(2023, 5, 11): [f"[Review Report overdue by 2 working days] {ref}"],
        date(2023, 5, 15): [f"[Review Report overdue by 4 working days] {ref}"],
        date(2023, 5, 17): [f"[Review Report overdue by 6 working days] {ref}"],
    }
    cancelled = db.session.scalars(sa.select(Reminder.send_at).where(Reminder.state == ReminderState.CANCELLED)
                                   .order_by(Reminder.send_at)).all()
    assert uk(date(2023, 4, 27)) in cancelled and uk(date(2023, 5, 10)) in cancelled


def test_revising_an_action_target_moves_its_reminders_and_closing_it_cancels_the_rest(app, users, smtp):
    raised = uk(date(2023, 6, 26), 17, 0)
    action = action_service.create_action(actor=users["secas"], now=raised, draft=action_service.ActionDraft(
        reference="OPSG 97/04", owner_org="dcc", owner_user=users["dcc"].email,
        text="The DCC to confirm the principles that guide Major Incidents caused by third parties.",
        raised_on=date(2023, 6, 26), target_on=date(2023, 7, 21), incidents=[]))
    db.session.commit()
    planned = db.session.scalars(sa.select(Reminder.send_at).where(Reminder.state == ReminderState.PENDING)
                                 .order_by(Reminder.send_at)).all()
    assert planned[:3] == [uk(date(2023, 7, 14)), uk(date(2023, 7, 21)), uk(date(2023, 7, 28))]

    # The target moves to Fri 4 Aug before any reminder went.
    revised = uk(date(2023, 7, 3), 10, 0)
    action_service.revise_target(action=action, actor=users["opsg"], expected_version=action.version, now=revised,
                                 target_on=date(2023, 8, 4), reason="Awaiting SECAS input.")
    db.session.commit()

    text = "The DCC to confirm the principles that guide Major Incidents caused by third parties."
    received = walk(smtp, date(2023, 6, 26), date(2023, 8, 14))
    assert received == {
        date(2023, 7, 28): [f"[Action due in 5 working days] OPSG 97/04 {text}"],
        date(2023, 8, 4): [f"[Action due today] OPSG 97/04 {text}"],
        date(2023, 8, 11): [f"[Action overdue by 7 days] OPSG 97/04 {text}"],
    }
    message = smtp.messages[0]
    assert message["To"] == f"dcc-major-incidents@dcc.example, {users['dcc'].email}"
    assert "http://127.0.0.1:5000/actions/OPSG%2097-04" in message.get_body(("plain",)).get_content()

    closed = uk(date(2023, 8, 14), 12, 0)
    action_service.close_action(action=action, actor=users["secas"], expected_version=action.version, now=closed,
                                closing_note="Principles presented at OPSG_100.")
    db.session.commit()
    assert walk(smtp, date(2023, 8, 15), date(2023, 10, 31)) == {}
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Reminder)
                             .where(Reminder.state == ReminderState.PENDING)) == 0
    assert smtp.count() == 3


def test_a_missed_sweep_catches_up_once_without_dropping_or_doubling(app, users, smtp):
    """The scheduler was down from Wed 5 to Tue 11 Apr: one catch-up goes, saying where the deadline stands that
    day (Thu 6 Apr, then Easter: 1 Working Day overdue), and the stale "due in 1" and "due today" never go."""
    create_real_case(users)
    result = sweep_on(date(2023, 4, 11), hour=9, minute=30)
    assert result.sent == [f"[Summary Report overdue by 1 working day] INC000001001905 {TITLE}"]
    assert walk(smtp, date(2023, 4, 11), date(2023, 4, 26)) == {}
    assert smtp.count() == 1 and set(smtp.ids().values()) == {1}
    # Dated when it went, not when it was planned.
    assert "11 Apr 2023" in str(smtp.messages[0]["Date"])
    rows = db.session.scalars(sa.select(Reminder).where(Reminder.kind == ReminderKind.SUMMARY_REPORT)
                              .order_by(Reminder.send_at)).all()
    assert [r.state for r in rows] == [ReminderState.CANCELLED, ReminderState.SENT]
    assert rows[1].subject == f"[Summary Report overdue by 1 working day] INC000001001905 {TITLE}"


@pytest.fixture()
def long_title_case(app, users):
    return create_real_case(users, title="Carrier outage\nBcc: someone@elsewhere.example")


def test_a_title_with_a_line_break_still_makes_a_one_line_subject(long_title_case, smtp):
    walk(smtp, date(2023, 4, 5), date(2023, 4, 5))
    (message,) = smtp.messages
    assert smtp.subjects() == [("[Summary Report due in 1 working day] INC000001001905 Carrier outage "
                                  "Bcc: someone@elsewhere.example")]
    assert message["Bcc"] is None
    kinds = set(db.session.scalars(sa.select(Reminder.kind)))
    assert kinds == {ReminderKind.SUMMARY_REPORT, ReminderKind.REVIEW_REPORT}


# --- Written when sent: late reminders and records logged after their deadlines ------------------------------

def test_a_summary_report_reminder_sent_a_month_late_says_how_late_it_is_and_when_it_went(app, users, smtp):
    """Nothing swept from Tue 4 Apr until Fri 5 May: one catch-up per deadline, worded as of 5 May."""
    create_real_case(users)
    sent_at = uk(date(2023, 5, 5), 9, 0)
    result = sweep_on(date(2023, 5, 5))
    ref = f"INC000001001905 {TITLE}"
    # Thu 6 Apr to Fri 5 May: 11-14 Apr (Good Friday and Easter Monday are not Working Days), 17-21, 24-28 Apr,
    # 2-5 May (Mon 1 May is a bank holiday): 18 Working Days.
    assert result.sent == [f"[Summary Report overdue by 18 working days] {ref}",
                           f"[Review Report due today] {ref}"]
    summary, review = smtp.messages
    assert str(summary["Subject"]).strip() == f"[Summary Report overdue by 18 working days] {ref}"
    assert "5 May 2023" in str(summary["Date"])
    text = summary.get_body(("plain",)).get_content()
    html = summary.get_body(("html",)).get_content()
    assert "Deadline: Thu 6 Apr 2023 (overdue by 18 working days)" in text
    assert "sent by SEC Major Incident Reviews on Fri 5 May 2023 09:00 BST" in text
    assert "Sent Fri 5 May 2023 09:00 BST" in html
    assert "due in" not in text and "Wed 5 Apr" not in text and "Apr 2023 09:00" not in text
    assert "Deadline: Fri 5 May 2023 (due today)" in review.get_body(("plain",)).get_content()
    # The outbox keeps what went; the stale ones never go.
    rows = db.session.execute(sa.select(Reminder.kind, Reminder.state, Reminder.subject, Reminder.sent_at)
                              .where(Reminder.state != ReminderState.PENDING).order_by(Reminder.send_at)).all()
    assert [(r.kind, r.state) for r in rows] == [
        (ReminderKind.SUMMARY_REPORT, ReminderState.CANCELLED), (ReminderKind.SUMMARY_REPORT, ReminderState.SENT),
        (ReminderKind.REVIEW_REPORT, ReminderState.CANCELLED), (ReminderKind.REVIEW_REPORT, ReminderState.CANCELLED),
        (ReminderKind.REVIEW_REPORT, ReminderState.SENT)]
    assert [(r.subject, r.sent_at) for r in rows if r.state == ReminderState.SENT] == [
        (f"[Summary Report overdue by 18 working days] {ref}", sent_at), (f"[Review Report due today] {ref}", sent_at)]
    # The overdue series of the Review Report goes on from there as usual.
    assert walk(smtp, date(2023, 5, 6), date(2023, 5, 12)) == {
        date(2023, 5, 10): [f"[Review Report overdue by 2 working days] {ref}"],
        date(2023, 5, 12): [f"[Review Report overdue by 4 working days] {ref}"]}


def test_a_backfilled_incident_queues_exactly_one_overdue_notice_per_deadline(app, users, smtp):
    """Resolved on Tue 4 Apr 2023, logged on Thu 3 Dec 2026: one notice for each report, then nothing more."""
    logged = uk(date(2026, 12, 3), 11, 0)
    create_real_case(users, now=logged)
    cal = rules_service.calendar()
    late_summary = cal.working_days_between(date(2023, 4, 6), date(2026, 12, 3))
    late_review = cal.working_days_between(date(2023, 5, 5), date(2026, 12, 3))
    assert late_summary - late_review == 18
    ref = f"INC000001001905 {TITLE}"
    queued = db.session.execute(sa.select(Reminder.kind, Reminder.send_at, Reminder.subject)
                                .where(Reminder.state == ReminderState.PENDING).order_by(Reminder.id)).all()
    assert [(r.kind, r.send_at) for r in queued] == [(ReminderKind.SUMMARY_REPORT, uk(date(2026, 12, 3))),
                                                     (ReminderKind.REVIEW_REPORT, uk(date(2026, 12, 3)))]
    received = walk(smtp, date(2026, 12, 3), date(2027, 1, 29))
    assert received == {date(2026, 12, 3): [f"[Summary Report overdue by {late_summary} working days] {ref}",
                                            f"[Review Report overdue by {late_review} working days] {ref}"]}
    # Re-planning later (another change to the record, or the CLI) queues nothing more.
    reminder_service.plan_all(now=uk(date(2027, 2, 1), 12, 0))
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Reminder)
                             .where(Reminder.state == ReminderState.PENDING)) == 0


def test_an_action_entered_after_its_target_gets_one_overdue_notice(app, users, smtp):
    entered = uk(date(2023, 9, 4), 14, 0)
    action_service.create_action(actor=users["secas"], now=entered, draft=action_service.ActionDraft(
        reference="OPSG 95/03", text="Backfilled from the OPSG_95 minutes.", owner_org="dcc",
        raised_on=date(2023, 3, 27), target_on=date(2023, 4, 28)))
    db.session.commit()
    received = walk(smtp, date(2023, 9, 4), date(2023, 10, 31))
    # Due since 09:00 on the day it was entered, so the afternoon's sweep sends it.
    assert received == {date(2023, 9, 4): ["[Action overdue by 129 days] OPSG 95/03 Backfilled from the OPSG_95 minutes."]}


def test_a_late_exclusion_review_reminder_counts_the_wait_to_the_day_it_goes(app, users, smtp):
    principle_service.seed_defaults()
    incident = create_real_case(users)
    review_service.propose(incident=incident, exclude=True, principle="third-party-infrastructure",
                           actor=users["dcc"], rationale="National carrier outage outside DCC control.",
                           now=uk(date(2023, 4, 6), 15, 0))
    db.session.commit()
    # Planned for 17 and 24 Apr and 2 May; first swept on Wed 3 May.
    sent = [s for s in sweep_on(date(2023, 5, 3)).sent if s.startswith("[Exclusion")]
    assert sent == [f"[Exclusion review pending 16 working days] INC000001001905 {TITLE}"]
