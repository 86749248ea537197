"""Planning rules: which reminders each record calls for, and re-planning in the same transaction as a change."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from incidents.action import service as action_service
from incidents.extensions import db
from incidents.incident import service as incident_service
from incidents.meeting import service as meeting_service
from incidents.principle import service as principle_service
from incidents.reminder import jobs
from incidents.reminder import service as reminder_service
from incidents.reminder.models import Reminder, ReminderKind, ReminderState
from incidents.report import service as report_service
from incidents.review import service as review_service
from incidents.timeutil import local_date
from tests import factories
from tests.reminder.helpers import uk

SECTIONS = {"summary": "Carrier outage.", "root_cause": "Carrier failure.", "impact": "All cohorts.",
            "lessons_learned": "", "actions": ""}


@pytest.fixture()
def app_config() -> dict[str, Any]:
    """No SMTP server here: anything sent is written as .eml files."""
    return {}


def pending(kind: ReminderKind | None = None) -> list[tuple[date, str]]:
    """Return (UK send date, subject) of the pending reminders, soonest first."""
    query = sa.select(Reminder).where(Reminder.state == ReminderState.PENDING).order_by(Reminder.send_at)
    if kind is not None:
        query = query.where(Reminder.kind == kind)
    return [(local_date(r.send_at), r.subject) for r in db.session.scalars(query)]


def pending_days(kind: ReminderKind | None = None) -> list[date]:
    """Return the UK send dates of the pending reminders."""
    return [day for day, _ in pending(kind)]


@pytest.fixture()
def case(app, users):
    principle_service.seed_defaults()
    created = uk(date(2023, 4, 4), 11, 0)
    incident = factories.incident(actor=users["dcc"], now=created, reference="INC000001001905")
    db.session.commit()
    return incident


def test_each_reminder_is_sent_at_nine_uk_time_in_gmt_and_in_bst(app, users):
    assert reminder_service.send_instant(date(2023, 3, 24)) == datetime.fromisoformat("2023-03-24T09:00:00+00:00")
    assert reminder_service.send_instant(date(2023, 3, 27)) == datetime.fromisoformat("2023-03-27T08:00:00+00:00")


def test_secas_is_reminded_after_five_working_days_pending_then_every_five(case, users):
    proposed = uk(date(2023, 4, 6), 15, 0)
    review_service.propose(incident=case, exclude=True, principle="third-party-infrastructure", actor=users["dcc"],
                           rationale="National carrier outage outside DCC control.", now=proposed)
    db.session.commit()
    assert pending(ReminderKind.SECAS_REVIEW)[:4] == [
        (date(2023, 4, 17), "[Exclusion review pending 5 working days] INC000001001905 National telecoms carrier outage"),
        (date(2023, 4, 24), "[Exclusion review pending 10 working days] INC000001001905 National telecoms carrier outage"),
        # Mon 1 May and Mon 8 May are bank holidays.
        (date(2023, 5, 2), "[Exclusion review pending 15 working days] INC000001001905 National telecoms carrier outage"),
        (date(2023, 5, 10), "[Exclusion review pending 20 working days] INC000001001905 National telecoms carrier outage"),
    ]
    row = db.session.scalar(sa.select(Reminder).where(Reminder.kind == ReminderKind.SECAS_REVIEW))
    assert row.recipients == ["secas-team@secas.example"]

    reviewed = uk(date(2023, 4, 14), 11, 0)
    review_service.review_exclusion(incident=case, outcome="information_requested", actor=users["secas"],
                                    comment="Which principles apply?", now=reviewed)
    db.session.commit()
    assert pending(ReminderKind.SECAS_REVIEW) == []

    # The DCC answers: a new round, a new series from its own date.
    again = uk(date(2023, 4, 20), 10, 0)
    review_service.propose(incident=case, exclude=True, principle="third-party-infrastructure", actor=users["dcc"],
                           rationale="National carrier outage outside DCC control.", response="See OPSG 97/04.",
                           now=again)
    db.session.commit()
    assert pending_days(ReminderKind.SECAS_REVIEW)[:2] == [date(2023, 4, 27), date(2023, 5, 5)]


def _ready_for_opsg(case: Any, users: dict, when: datetime) -> None:
    review_service.propose(incident=case, exclude=False, actor=users["dcc"], now=when,
                           rationale="Counted in the PMR.")
    report_service.save_draft(incident=case, sections=SECTIONS, classification="AMBER", actor=users["dcc"], now=when)
    report_service.submit(incident=case, actor=users["dcc"], now=when)


def test_opsg_is_reminded_five_working_days_before_its_next_meeting_once_the_review_is_ready(case, users):
    scheduled = uk(date(2023, 5, 2), 10, 0)
    meeting_service.schedule(reference="OPSG_97", held_on=date(2023, 6, 26), actor=users["secas"], now=scheduled)
    db.session.commit()
    assert pending(ReminderKind.OPSG_DECISION) == []

    ready = uk(date(2023, 5, 3), 9, 30)
    _ready_for_opsg(case, users, ready)
    db.session.commit()
    assert pending(ReminderKind.OPSG_DECISION) == [
        (date(2023, 6, 19), ("[OPSG decision due at OPSG_97 on 26 Jun 2023] INC000001001905 "
                            "National telecoms carrier outage"))]
    row = db.session.scalar(sa.select(Reminder).where(Reminder.kind == ReminderKind.OPSG_DECISION))
    assert row.recipients == ["opsg-secretariat@secas.example", "secas-team@secas.example"]

    # An earlier extra meeting is scheduled: the reminder moves to it at once.
    extra = uk(date(2023, 5, 10), 10, 0)
    meeting_service.schedule(reference="OPSG_96", held_on=date(2023, 6, 5), actor=users["opsg"], now=extra)
    db.session.commit()
    assert pending_days(ReminderKind.OPSG_DECISION) == [date(2023, 5, 26)]

    # The decision is recorded: no reminder is left.
    decided = uk(date(2023, 6, 5), 16, 0)
    factories.decision(case, meeting_ref="OPSG_96", held_on=date(2023, 6, 5), minute="Agreed publication.",
                       actor=users["secas"], now=decided)
    db.session.commit()
    assert pending(ReminderKind.OPSG_DECISION) == []


def test_a_review_ready_inside_the_notice_period_is_reminded_once_on_the_next_working_day(case, users):
    meeting_service.schedule(reference="OPSG_97", held_on=date(2023, 6, 26), actor=users["secas"],
                             now=uk(date(2023, 5, 2)))
    saturday = uk(date(2023, 6, 24), 10, 0)
    _ready_for_opsg(case, users, saturday)
    db.session.commit()
    assert pending_days(ReminderKind.OPSG_DECISION) == [date(2023, 6, 26)]

    sent = jobs.sweep(now=uk(date(2023, 6, 26)), worker="w")
    assert [s for s in sent.sent if s.startswith("[OPSG")] == [
        "[OPSG decision due at OPSG_97 on 26 Jun 2023] INC000001001905 National telecoms carrier outage"]
    # Re-planning later that day, or at the next change, adds no second reminder for the same meeting.
    reminder_service.plan_incident(case, now=uk(date(2023, 6, 26), 12, 0))
    db.session.commit()
    rows = db.session.scalars(sa.select(Reminder).where(Reminder.kind == ReminderKind.OPSG_DECISION)).all()
    assert [(r.state, r.key) for r in rows] == [
        (ReminderState.SENT, f"opsg_decision:incident:{case.id}:OPSG_97")]


def test_action_overdue_reminders_are_weekly_moving_off_bank_holidays(app, users):
    raised = uk(date(2023, 4, 3), 12, 0)
    action_service.create_action(actor=users["secas"], now=raised, draft=action_service.ActionDraft(
        reference="OPSG 96/02", text="SECAS to circulate\nthe revised template.", owner_org="secas",
        owner_user=users["secas"].email, raised_on=date(2023, 4, 3), target_on=date(2023, 4, 24)))
    db.session.commit()
    rows = pending(ReminderKind.ACTION)
    assert rows[:5] == [
        (date(2023, 4, 17), "[Action due in 5 working days] OPSG 96/02 SECAS to circulate the revised template."),
        (date(2023, 4, 24), "[Action due today] OPSG 96/02 SECAS to circulate the revised template."),
        (date(2023, 5, 2), "[Action overdue by 8 days] OPSG 96/02 SECAS to circulate the revised template."),
        (date(2023, 5, 9), "[Action overdue by 15 days] OPSG 96/02 SECAS to circulate the revised template."),
        (date(2023, 5, 15), "[Action overdue by 21 days] OPSG 96/02 SECAS to circulate the revised template."),
    ]
    row = db.session.scalar(sa.select(Reminder).where(Reminder.kind == ReminderKind.ACTION))
    assert row.recipients == ["secas-team@secas.example", users["secas"].email]
    assert row.link_path == "/actions/OPSG%2096-02"


def test_the_service_plans_in_its_own_transaction_as_of_its_own_now(case, users):
    assert pending_days(ReminderKind.SUMMARY_REPORT) == [date(2023, 4, 5), date(2023, 4, 6)]
    incident_service.update_incident(incident=case,
                                     changes=incident_service.IncidentChanges(resolved_at=uk(date(2023, 4, 5), 9, 30)),
                                     actor=users["dcc"], expected_version=case.version,
                                     now=uk(date(2023, 4, 5), 10, 0))
    # Planned before any commit, as of the service's now (by the real clock both days are long gone): the
    # Summary Report is now due Tue 11 Apr (Easter falls between), so 1 Working Day before is Thu 6 Apr.
    assert pending_days(ReminderKind.SUMMARY_REPORT) == [date(2023, 4, 6), date(2023, 4, 11)]
    db.session.rollback()
    assert pending_days(ReminderKind.SUMMARY_REPORT) == [date(2023, 4, 5), date(2023, 4, 6)]


def test_a_commit_does_no_planning_of_its_own(case, users):
    case.resolved_at = uk(date(2023, 4, 3), 16, 0)  # changed behind the services' back
    db.session.commit()
    assert pending_days(ReminderKind.SUMMARY_REPORT) == [date(2023, 4, 5), date(2023, 4, 6)]


def test_planning_twice_changes_nothing(case, users):
    before = db.session.execute(sa.select(Reminder.key, Reminder.state, Reminder.send_at)
                                .order_by(Reminder.key)).all()
    now = uk(date(2023, 4, 4), 12, 0)
    reminder_service.plan_incident(case, now=now)
    assert reminder_service.plan_all(now=now) == 1
    db.session.commit()
    after = db.session.execute(sa.select(Reminder.key, Reminder.state, Reminder.send_at).order_by(Reminder.key)).all()
    assert after == before


def test_a_series_longer_than_the_horizon_still_goes_on(app, users):
    app.config["REMINDER_HORIZON_DAYS"] = 1
    app.config["REMINDER_RULES"] = {**app.config["REMINDER_RULES"],
                                    "action": {"before_working_days": [0], "overdue_every_days": 14}}
    raised = uk(date(2023, 6, 1), 12, 0)
    action_service.create_action(actor=users["secas"], now=raised, draft=action_service.ActionDraft(
        reference="OPSG 97/09", text="Check the horizon.", owner_org="dcc",
        raised_on=date(2023, 6, 1), target_on=date(2023, 6, 2)))
    db.session.commit()
    assert pending_days() == [date(2023, 6, 2)]
    # Each send plans the next one, 14 days on, though that is beyond the one-day horizon.
    for day, following in ((date(2023, 6, 2), date(2023, 6, 16)), (date(2023, 6, 16), date(2023, 6, 30)),
                           (date(2023, 6, 30), date(2023, 7, 14))):
        assert len(jobs.sweep(now=uk(day), worker="w").sent) == 1
        assert pending_days() == [following]


def test_a_cancelled_day_that_has_passed_is_not_revived(app, users):
    raised = uk(date(2023, 6, 1), 12, 0)
    action = action_service.create_action(actor=users["secas"], now=raised, draft=action_service.ActionDraft(
        reference="OPSG 97/05", text="Reopened later.", owner_org="dcc",
        raised_on=date(2023, 6, 1), target_on=date(2023, 6, 9)))
    db.session.commit()
    closed = uk(date(2023, 6, 2), 12, 0)
    action_service.close_action(action=action, actor=users["secas"], expected_version=action.version, now=closed,
                                closing_note="Done.")
    db.session.commit()
    assert pending_days() == []
    reopened = uk(date(2023, 6, 20), 12, 0)
    action_service.reopen_action(action=action, actor=users["secas"], expected_version=action.version,
                                 now=reopened)
    db.session.commit()
    # The 9 and 16 June reminders stay cancelled; the series resumes from today.
    assert pending_days()[:1] == [date(2023, 6, 23)]
    assert jobs.sweep(now=uk(date(2023, 6, 20), 12, 0), worker="w").sent == []


def test_a_reminder_with_nobody_to_tell_fails_visibly(app, users):
    app.config["REMINDER_ADDRESSES"] = {}
    raised = uk(date(2023, 6, 1), 12, 0)
    action_service.create_action(actor=users["secas"], now=raised, draft=action_service.ActionDraft(
        reference="OPSG 97/06", text="Nobody owns this.", owner_org="opsg",
        raised_on=date(2023, 6, 1), target_on=date(2023, 6, 2)))
    db.session.commit()
    result = jobs.sweep(now=uk(date(2023, 6, 2)), worker="w")
    assert len(result.failed) == 1
    db.session.rollback()
    row = db.session.scalar(sa.select(Reminder).where(Reminder.attempts == 1))
    assert row.state == ReminderState.PENDING and "no recipients" in row.last_error
