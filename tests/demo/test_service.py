"""The demo data: the real case as the OPSG_97 minutes state it, April 2023 as the DCC reported it, and a live part."""
from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
import sqlalchemy as sa

from incidents.action.models import Action, ActionStatus
from incidents.audit.models import AuditEntry
from incidents.dashboard import service as dashboard_service
from incidents.demo import service as demo_service
from incidents.extensions import db
from incidents.incident.models import Incident, TimelineEntry
from incidents.meeting.models import Meeting, MeetingKind
from incidents.notification.models import Event, Notification, WebhookDelivery
from incidents.pmr import service as pmr_service
from incidents.reminder.models import Reminder
from incidents.review import service as review_service
from incidents.review.models import (
    Decision,
    DecisionOutcome,
    ExclusionProposal,
    ExclusionReview,
    ExclusionState,
    ReportState,
    ReportVersion,
)
from incidents.timeutil import local_date, to_local
from incidents.user.models import User

LATER = datetime(2031, 3, 14, 10, 0, tzinfo=UTC)
OPSG_97_ON = date(2023, 6, 26)


@pytest.fixture()
def seeded(app):
    """The demo seeded on an arbitrary later day."""
    demo_service.seed(now=LATER)
    db.session.commit()


def _incident(reference: str) -> Incident:
    found = db.session.scalar(sa.select(Incident).where(Incident.reference == reference))
    assert found is not None, reference
    return found


def test_the_real_case_matches_the_opsg_97_minutes_point_by_point(seeded):
    case = _incident("INC000001001905")
    review = review_service.get_review(case)
    assert review is not None
    # 4 April 2023, a nationwide outage of a national telecoms carrier.
    assert case.resolved_at is not None and local_date(case.resolved_at) == date(2023, 4, 4)
    assert "national telecoms carrier" in case.title
    # CSP N took longer: its NTE was stuck and needed a reboot, hard to request of the carrier in a national incident.
    assert "needed a reboot" in case.cause and "hard to reach the national carrier" in case.cause
    cohorts = {c.name: c for c in case.cohorts}
    assert max(cohorts.values(), key=lambda c: c.restored_at or case.started_at).name == "CSP N"
    # The reset at 10:40 BST.
    csp_n = cohorts["CSP N"].restored_at
    assert csp_n is not None and to_local(csp_n).strftime("%H:%M %Z") == "10:40 BST"
    assert to_local(case.resolved_at).strftime("%H:%M %Z") == "10:40 BST"
    # The DCC excluded it from the April 2023 PMR, citing third-party infrastructure.
    proposal = review_service.current_proposal(review)
    assert proposal is not None and proposal.exclude and proposal.principle_code == "third-party-infrastructure"
    assert "INC000001001905" in {row["reference"] for row in pmr_service.measures("2023-04")[0].incidents}
    # SECAS questioned it: information requested, never agreed, and no DCC answer invented before 26 June.
    assert review.exclusion_state == ExclusionState.INFORMATION_REQUESTED
    outcomes = [r.outcome.value for r in db.session.scalars(sa.select(ExclusionReview).join(
        ExclusionProposal).where(ExclusionProposal.review_id == review.id))]
    assert outcomes == ["information_requested"]
    proposals = list(db.session.scalars(sa.select(ExclusionProposal).where(ExclusionProposal.review_id == review.id)))
    assert len(proposals) == 1 and not proposals[0].response
    # OPSG_97 on Monday 26 June 2023 agreed the Review Report can be published to SEC Parties.
    decisions = list(db.session.scalars(sa.select(Decision).where(Decision.review_id == review.id)))
    assert [(d.meeting, d.meeting_on, d.outcome) for d in decisions] == [("OPSG_97", OPSG_97_ON,
                                                                          DecisionOutcome.AGREED)]
    assert OPSG_97_ON.weekday() == 0
    assert review.report_state == ReportState.AGREED
    # OPSG 97/04 raised there, owned by the DCC, worded exactly as minuted, not closed.
    action = db.session.scalar(sa.select(Action).where(Action.reference == "OPSG 97/04"))
    assert action is not None
    assert action.text == ("principles for excluding Major Incidents caused by 3rd Party Service Providers that are "
                           "out of the DCC's control, and therefore causing exclusion from the PMR")
    assert (action.owner_org, action.raised_on, action.status) == ("dcc", OPSG_97_ON, ActionStatus.OPEN)
    assert action.decision_id == decisions[0].id and [i.reference for i in action.incidents] == ["INC000001001905"]
    assert action.target_on == demo_service.OPSG_97_04_TARGET_ON  # the one stand-in for "TBC"
    assert not action.revisions
    # Nothing cites OPSG 97/04 before 26 June 2023: no report version, proposal, review or audit entry.
    cut = datetime(2023, 6, 26, tzinfo=UTC)
    texts = [str(v.sections) for v in db.session.scalars(sa.select(ReportVersion).where(
        ReportVersion.review_id == review.id))]
    texts += [p.rationale + p.response for p in proposals if p.proposed_at < cut]
    texts += [str(e.changes) + e.summary for e in db.session.scalars(sa.select(AuditEntry).where(
        AuditEntry.at < cut))]
    assert texts and not [t for t in texts if "97/04" in t]
    # The meetings as the minutes list them.
    meetings = {m.reference: (m.held_on, m.kind) for m in db.session.scalars(sa.select(Meeting))}
    assert meetings["OPSG_97"] == (OPSG_97_ON, MeetingKind.MAIN)
    assert meetings["OPSG_98"] == (date(2023, 7, 11), MeetingKind.MAIN)
    assert meetings["OPSG_99"] == (date(2023, 7, 24), MeetingKind.REPORTING)
    assert meetings["OPSG_100"][0].strftime("%Y-%m") == "2023-08"


def test_april_2023_as_the_dcc_reported_it(seeded):
    cpm4 = {m.code: m for m in pmr_service.measures("2023-04")}["CPM4"]
    rows = {row["reference"]: row for row in cpm4.incidents}
    counted = list(rows)
    # Four Category 1-2 incidents the DCC resolves; three of them Major Incidents, one (1905) excluded by the DCC.
    assert sorted(counted) == ["INC000001001877", "INC000001001905", "INC000001001932", "INC000001001958"]
    majors = [ref for ref in counted if ref not in demo_service.NON_MAJOR_REFERENCES]
    assert len(majors) == 3
    within = [ref for ref in counted if rows[ref]["within_target"]]
    assert sorted(within) == ["INC000001001932", "INC000001001958"]
    # By hand: without exclusions 2/4; with the DCC's exclusion 2/3 (what it reported); agreed only: 2/4.
    dcc_excluded = [ref for ref in counted if ref == "INC000001001905"]
    assert round(100 * len(within) / len(counted), 2) == 50.0
    assert round(100 * len([r for r in within if r not in dcc_excluded]) / (len(counted) - len(dcc_excluded)),
                 2) == 66.67
    # What today's code shows: nothing agreed, one exclusion pending (the DCC's), and no other proposal in April.
    assert cpm4.percent_without_exclusions == 50.0
    assert cpm4.percent_with_exclusions == 50.0
    assert (cpm4.total, cpm4.total_within_target, cpm4.excluded, cpm4.pending_exclusion) == (4, 2, 0, 1)
    for reference in counted:
        proposal = review_service.current_proposal(review_service.get_review(_incident(reference)))
        assert (proposal is not None and proposal.exclude) == (reference == "INC000001001905"), reference


def test_every_invented_detail_is_marked_illustrative(seeded):
    mark = demo_service.ILLUSTRATIVE
    for incident in db.session.scalars(sa.select(Incident)):
        if incident.reference == "INC000001001905":
            continue
        assert incident.title.startswith(f"[{mark}] "), incident.reference
        assert mark in incident.impact, incident.reference
        for entry in incident.timeline:
            assert entry.text.startswith(mark), (incident.reference, entry.text)
    case = _incident("INC000001001905")
    # The start and the other cohorts' restoration times are invented: the record says so where they show.
    assert f"{mark}: the start time (05:55 BST) and the other cohorts' impact and restoration times" in case.impact
    assert case.detected_at is None and case.devices_affected is None
    for entry in db.session.scalars(sa.select(TimelineEntry).where(TimelineEntry.incident_id == case.id)):
        invented = entry.cohort != "CSP N"
        assert entry.text.startswith(mark) == invented, entry.text
    review = review_service.get_review(case)
    assert review is not None
    proposal = review_service.current_proposal(review)
    assert proposal is not None and f"{mark}: the date of this proposal" in proposal.rationale
    assert mark in proposal.reviews[-1].comment
    assert mark in review.report_versions[-1].sections["summary"]
    # Every other action of the register is invented, and says so.
    for action in db.session.scalars(sa.select(Action).where(Action.reference != "OPSG 97/04")):
        assert action.text.startswith(mark), action.reference


def test_the_demo_seeded_on_a_later_day_lives_in_that_day(seeded):
    month = pmr_service.current_month(LATER)
    assert month == "2031-03"
    for role in ("dcc", "secas", "opsg", "admin"):
        user = db.session.scalar(sa.select(User).where(User.email == f"{role}@demo.example"))
        board = dashboard_service.build(user=user, now=LATER)
        assert board.month == month
        assert all(m.percent_without_exclusions is not None for m in board.measures), role
        assert board.next_meeting is not None and board.next_meeting.held_on >= LATER.date(), role
    dcc = db.session.scalar(sa.select(User).where(User.email == "dcc@demo.example"))
    board = dashboard_service.build(user=dcc, now=LATER)
    due = [t.due_on for t in board.tasks if t.due_on is not None]
    assert due and max(due) >= LATER.date()
    party = db.session.scalar(sa.select(User).where(User.email == "party@demo.example"))
    assert dashboard_service.build(user=party, now=LATER).published
    # Reviews in every state around today; one incident still open.
    states = {(r.exclusion_state, r.report_state) for r in map(review_service.get_review, [
        _incident(ref) for ref in demo_service.LIVE_REFERENCES[:5]])}
    assert {e for e, _ in states} >= {ExclusionState.PENDING, ExclusionState.INFORMATION_REQUESTED,
                                      ExclusionState.AGREED, ExclusionState.DISAGREED, ExclusionState.INCLUDED}
    assert {r for _, r in states} >= {ReportState.DRAFT, ReportState.SUBMITTED, ReportState.AGREED,
                                      ReportState.PUBLISHED}
    assert _incident("INC000001002417").resolved_at is None


def test_no_reminder_is_planned_for_a_2023_deadline(seeded):
    reminders = list(db.session.scalars(sa.select(Reminder).where(Reminder.sent_at.is_(None))))
    assert reminders, "the live part has deadlines ahead"
    for reminder in reminders:
        assert reminder.send_at >= LATER.replace(hour=0), reminder.subject
        assert (reminder.deadline_on or reminder.since_on or LATER.date()).year == 2031, reminder.subject
        assert "2023" not in reminder.subject and "INC000001001" not in reminder.subject


def test_the_replayed_steps_are_on_record_and_notify_nobody(seeded):
    # Each replayed step recorded its review event, and no one is told of it (nor is any webhook owed).
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) > 10
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(WebhookDelivery)) == 0


def _snapshot() -> dict[str, int]:
    tables = ("incident", "review", "report_version", "decision", "action", "meeting", "reminder", "audit_entry",
              "user", "publication", "timeline_entry")
    return {name: db.session.scalar(sa.select(sa.func.count()).select_from(sa.table(name))) for name in tables}


def test_seeding_twice_or_on_a_later_day_changes_nothing(seeded):
    before = _snapshot()
    again = demo_service.seed(now=LATER)
    later = demo_service.seed(now=datetime(2032, 7, 1, 9, 0, tzinfo=UTC))
    db.session.commit()
    assert (again.users_created, again.incidents_created) == (0, 0)
    assert (later.users_created, later.incidents_created) == (0, 0)
    assert _snapshot() == before
