"""Demo data: the real case INC000001001905 as the OPSG_97 minutes state it, its April 2023, and a live part.

Two parts, each seeded once:

- **The 2023 history** (fixed dates): INC000001001905 with only what the minutes say, the rest of April 2023 so
  that CPM4 is what the DCC reported, and the meetings the minutes list. Whatever the minutes do not give is
  invented for the demo and says so where it is shown (``ILLUSTRATIVE``).
- **The live part** (dated relative to ``now``, all illustrative): incidents of last month and this month, one
  open, reviews in every state, meetings and actions around today, so every dashboard has current figures.

A part already present (its first incident exists) is left exactly as it is: running the seed again, on any
later day, changes nothing. The live part therefore stays dated from the day of the first seed; a fresh database
dates it again.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from incidents.action import service as action_service
from incidents.action.models import Action
from incidents.extensions import db
from incidents.incident import service as incident_service
from incidents.incident.models import Incident, IncidentStatus, TimelineKind
from incidents.incident.service import CohortDraft, IncidentDraft, TimelineEntryDraft
from incidents.meeting import service as meeting_service
from incidents.meeting.models import Meeting, MeetingKind
from incidents.notification.models import Event, Notification, WebhookDelivery
from incidents.principle import service as principle_service
from incidents.reminder import service as reminder_service
from incidents.reminder.models import Reminder
from incidents.report import service as report_service
from incidents.report.models import Classification
from incidents.review import service as review_service
from incidents.review.models import (
    DecisionOutcome,
    ReviewOutcome,
)
from incidents.timeutil import UTC, local_date, utcnow
from incidents.user import service as user_service
from incidents.user.models import User

LONDON = ZoneInfo("Europe/London")
DEMO_PASSWORD = "demo-password"

# The marker on every invented detail: record titles start with it, text fields and timeline entries name it.
ILLUSTRATIVE = "Illustrative"
TITLE_MARK = f"[{ILLUSTRATIVE}] "

REAL_CASE = "INC000001001905"
# Category 1-2 incidents of the demo that were not declared Major Incidents (CPM4 counts them all the same).
NON_MAJOR_REFERENCES = ("INC000001001932", "INC000001001966")
# OPSG 97/04 as minuted at OPSG_97 (26 June 2023).
OPSG_97_04 = ("principles for excluding Major Incidents caused by 3rd Party Service Providers that are out of the "
              "DCC's control, and therefore causing exclusion from the PMR")
OPSG_97_04_RAISED_ON = date(2023, 6, 26)
# The minutes give OPSG 97/04 no target date: it is on the register as TBC.
OPSG_97_04_TARGET_ON: date | None = None

# (reference, held on, kind) as the minutes list them; OPSG_98/99 are numbered in order, OPSG_100's day (the
# minutes say only "August") follows the live meetings' rule: main on the second Tuesday.
HISTORY_MEETINGS = [
    ("OPSG_97", date(2023, 6, 26), MeetingKind.MAIN),
    ("OPSG_98", date(2023, 7, 11), MeetingKind.MAIN),
    ("OPSG_99", date(2023, 7, 24), MeetingKind.REPORTING),
    ("OPSG_100", date(2023, 8, 8), MeetingKind.MAIN),
]

# A timeline entry of the demo: UK local time, kind, cohort (or None) and text.
DemoEntry = tuple[datetime, str, str | None, str]

DEMO_USERS = [
    ("dcc@demo.example", "dcc", "Dana Clarke"),
    ("secas@demo.example", "secas", "Sam Ellis"),
    ("opsg@demo.example", "opsg", "Olu Price"),
    ("party@demo.example", "party", "Pat Reid"),
    ("admin@demo.example", "admin", "Alex Admin"),
]


def uk(text: str) -> datetime:
    """Read 'YYYY-MM-DD HH:MM' as UK local time, return UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=LONDON).astimezone(UTC)


def _at(day: date, hh_mm: str) -> datetime:
    """Return UTC for a UK local day and 'HH:MM'."""
    return datetime.combine(day, time.fromisoformat(hh_mm), tzinfo=LONDON).astimezone(UTC)


def illustrative(text: str) -> str:
    """Mark an invented text as illustrative."""
    return f"{ILLUSTRATIVE}: {text}"


@dataclass
class SeedResult:
    """What a seed run created and skipped."""

    users_created: int = 0
    incidents_created: int = 0
    incidents_skipped: int = 0
    created: list[Incident] = field(default_factory=list)


@dataclass(frozen=True)
class Window:
    """The live part's dates: the first days of last month, this month and next month (UK), and now."""

    now: datetime
    last: date
    this: date
    next: date

    @classmethod
    def around(cls, now: datetime) -> Window:
        """Return the window of months around ``now``."""
        this = local_date(now).replace(day=1)
        last = (this - timedelta(days=1)).replace(day=1)
        return cls(now=now, last=last, this=this, next=(this + timedelta(days=32)).replace(day=1))

    def in_this_month(self, fraction: float) -> datetime:
        """Return the instant ``fraction`` of the way from the start of this month to now."""
        start = _at(self.this, "00:00")
        return (start + (self.now - start) * fraction).replace(second=0, microsecond=0)


# --- The 2023 history -----------------------------------------------------------------------------------------

CASE_CAUSE = ("A nationwide outage of a national telecoms carrier. Services were restored for all cohorts, but CSP N "
              "took longer: its network terminating equipment (NTE) got stuck and needed a reboot, and it was hard "
              "to reach the national carrier to request it during a national incident. The reset happened at "
              "10:40 BST. (From the OPSG_97 minutes.)")
CASE_IMPACT = ("Services of all cohorts interrupted; CSP N restored last, at 10:40 BST after the NTE reset (from the "
               "OPSG_97 minutes). " + illustrative(
                   "the start time (05:55 BST) and the other cohorts' impact and restoration times are invented for "
                   "the demo; the minutes give no start, detection or other restoration time, and no device count."))

CASE_REPORT = {
    "summary": ("On Tuesday 4 April 2023 a nationwide outage of a national telecoms carrier interrupted DCC services. "
                "Services were restored for all cohorts, but **CSP N took longer**: its network terminating equipment "
                "(NTE) got stuck and needed a reboot, and it was hard to reach the national carrier to request it "
                "during a national incident. The reset happened at 10:40 BST.\n\n"
                f"*{illustrative('the dates this report was drafted and submitted are not in the minutes.')}*"),
    "root_cause": ("Outage of a national telecoms carrier, outside the control of the DCC and its Service Providers; "
                   "CSP N's NTE needed a reboot by the carrier."),
    "impact": "All cohorts affected; CSP N restored last, at 10:40 BST.",
    "lessons_learned": "",
    "actions": "",
}


def _history() -> list[tuple[IncidentDraft, list[DemoEntry]]]:
    """Return the April 2023 incidents: the real case first, then the illustrative rest of the month."""
    day = "2023-04-04"
    return [
        (IncidentDraft(
            reference=REAL_CASE,
            title="Nationwide outage of a national telecoms carrier",
            category=1,
            started_at=uk(f"{day} 05:55"),
            resolved_at=uk(f"{day} 10:40"),
            cause_category="third_party",
            cause=CASE_CAUSE,
            impact=CASE_IMPACT,
            dcc_responsible=True,
            cohorts=[
                CohortDraft("CSP N", uk(f"{day} 05:55"), uk(f"{day} 10:40")),
                CohortDraft("CSP C&S", uk(f"{day} 05:55"), uk(f"{day} 08:10")),
                CohortDraft("DSP", uk(f"{day} 05:55"), uk(f"{day} 07:40")),
                CohortDraft("S1SP", uk(f"{day} 05:55"), uk(f"{day} 09:15")),
            ],
        ), [
            (uk(f"{day} 07:40"), "restored", "DSP", illustrative("DSP restored (time invented for the demo).")),
            (uk(f"{day} 08:10"), "restored", "CSP C&S",
             illustrative("CSP C&S restored (time invented for the demo).")),
            (uk(f"{day} 09:15"), "restored", "S1SP", illustrative("S1SP restored (time invented for the demo).")),
            (uk(f"{day} 10:40"), "restored", "CSP N",
             ("NTE reset; CSP N restored. It needed a reboot, and it was hard to reach the national carrier to "
             "request it during a national incident (OPSG_97 minutes).")),
        ]),
        (IncidentDraft(
            reference="INC000001001877",
            title=TITLE_MARK + "Service request backlog during the April energy price-change event",
            category=2,
            started_at=uk("2023-04-01 00:30"),
            detected_at=uk("2023-04-01 00:45"),
            resolved_at=uk("2023-04-01 10:05"),
            cause_category="dcc_service_provider",
            cause=illustrative("tariff update volumes at the price change exceeded DSP queue capacity. (The minutes "
                               "say only that CPM4 fell below target because of an incident raised during an "
                               "energy price-change event.)"),
            impact=illustrative("tariff and price updates to prepayment meters delayed by up to nine hours."),
            devices_affected=850_000,
            dcc_responsible=True,
            cohorts=[CohortDraft("DSP", uk("2023-04-01 00:30"), uk("2023-04-01 10:05"))],
        ), [
            (uk("2023-04-01 00:45"), "detected", "DSP", illustrative("queue depth alarms on tariff updates.")),
            (uk("2023-04-01 10:05"), "restored", "DSP", illustrative("backlog cleared; normal latency.")),
        ]),
        (IncidentDraft(
            reference="INC000001001932",
            title=TITLE_MARK + "DSP message processing latency (not declared a Major Incident)",
            category=2,
            started_at=uk("2023-04-12 14:10"),
            detected_at=uk("2023-04-12 14:18"),
            resolved_at=uk("2023-04-12 17:05"),
            cause_category="dcc_service_provider",
            cause=illustrative("a database failover in the DSP slowed message processing."),
            impact=illustrative("service responses delayed; no messages lost."),
            devices_affected=300_000,
            dcc_responsible=True,
            cohorts=[CohortDraft("DSP", uk("2023-04-12 14:10"), uk("2023-04-12 17:05"))],
        ), [(uk("2023-04-12 17:05"), "restored", "DSP", illustrative("failover completed; latency normal."))]),
        (IncidentDraft(
            reference="INC000001001958",
            title=TITLE_MARK + "CSP C&S cellular degradation in South Wales",
            category=1,
            started_at=uk("2023-04-19 08:20"),
            detected_at=uk("2023-04-19 08:26"),
            resolved_at=uk("2023-04-19 11:10"),
            cause_category="dcc_service_provider",
            cause=illustrative("a faulty configuration change at a cellular core site."),
            impact=illustrative("communications to meters in South Wales intermittent."),
            devices_affected=610_000,
            dcc_responsible=True,
            cohorts=[CohortDraft("CSP C&S", uk("2023-04-19 08:20"), uk("2023-04-19 11:10"))],
        ), [(uk("2023-04-19 09:00"), "mitigation", "CSP C&S", illustrative("configuration change rolled back."))]),
        (IncidentDraft(
            reference="INC000001001966",
            title=TITLE_MARK + "Supplier certificate misconfiguration blocking its own service requests",
            category=2,
            started_at=uk("2023-04-21 09:00"),
            detected_at=uk("2023-04-21 09:30"),
            resolved_at=uk("2023-04-21 19:45"),
            cause_category="sec_party",
            cause=illustrative("a SEC Party deployed an expired Organisation certificate."),
            impact=illustrative("that party's service requests rejected; other parties unaffected."),
            devices_affected=90_000,
            dcc_responsible=False,
            cohorts=[CohortDraft("SMKI", uk("2023-04-21 09:00"), uk("2023-04-21 19:45"))],
        ), []),
        (IncidentDraft(
            reference="INC000001001981",
            title=TITLE_MARK + "Intermittent firmware download failures (CSP N)",
            category=3,
            started_at=uk("2023-04-25 10:00"),
            detected_at=uk("2023-04-25 11:15"),
            resolved_at=uk("2023-04-26 08:30"),
            cause_category="dcc_service_provider",
            cause=illustrative("long-range radio scheduling bug under heavy firmware traffic."),
            impact=illustrative("firmware downloads retried; no loss of service."),
            devices_affected=12_000,
            dcc_responsible=True,
            cohorts=[CohortDraft("CSP N", uk("2023-04-25 10:00"), uk("2023-04-26 08:30"))],
        ), []),
        (IncidentDraft(
            reference="INC000001001990",
            title=TITLE_MARK + "Self-service interface slow to load reports",
            category=3,
            started_at=uk("2023-04-27 13:00"),
            detected_at=uk("2023-04-27 13:05"),
            resolved_at=uk("2023-04-28 16:00"),
            cause_category="dcc",
            cause=illustrative("reporting database index missing after an upgrade."),
            impact=illustrative("parties' reports slow; no effect on meters."),
            dcc_responsible=True,
        ), []),
    ]


# --- The live part --------------------------------------------------------------------------------------------

LIVE_FROM = date(2023, 9, 1)  # the first "last month" of a live part: after the history's meetings
LIVE_REFERENCES = ("INC000001002401", "INC000001002402", "INC000001002403", "INC000001002404",
                   "INC000001002405", "INC000001002406", "INC000001002407", "INC000001002417")


def _resolved(reference: str, title: str, category: int, resolved_at: datetime, hours: float, cohort: str,
              cause: str, impact: str) -> tuple[IncidentDraft, list[DemoEntry]]:
    started = resolved_at - timedelta(hours=hours)
    return (IncidentDraft(
        reference=reference, title=TITLE_MARK + title, category=category, started_at=started,
        detected_at=started + timedelta(minutes=5), resolved_at=resolved_at, cause_category="dcc_service_provider",
        cause=illustrative(cause), impact=illustrative(impact), dcc_responsible=True,
        cohorts=[CohortDraft(cohort, started, resolved_at)],
    ), [(started + timedelta(minutes=5), "detected", cohort, illustrative("alarms raised; incident logged.")),
        (resolved_at, "restored", cohort, illustrative(f"{cohort} restored."))])


def _live(window: Window) -> list[tuple[IncidentDraft, list[DemoEntry]]]:
    """Return the live incidents: four of last month, three of this month and one open."""
    last = window.last
    recent = window.now.replace(second=0, microsecond=0) - timedelta(hours=3)
    return [
        _resolved("INC000001002401", "Regional power cut takes CSP N radio hubs offline", 1,
                  _at(last + timedelta(days=1), "11:30"), 3.5, "CSP N",
                  "a regional power cut outlasted the hubs' battery backup.",
                  "meters in the affected region unreachable until power returned."),
        _resolved("INC000001002402", "DSP certificate renewal failure", 2, _at(last + timedelta(days=3), "16:00"),
                  9, "DSP", "an expired certificate in the DSP's message gateway.",
                  "service requests rejected until the certificate was renewed."),
        _resolved("INC000001002403", "CSP C&S core network congestion", 2, _at(last + timedelta(days=5), "13:00"),
                  5, "CSP C&S", "a capacity shortfall at a core network node.",
                  "delayed responses to service requests in the South."),
        _resolved("INC000001002404", "Third-party fibre cut on a CSP C&S backhaul route", 1,
                  _at(last + timedelta(days=8), "15:10"), 6, "CSP C&S",
                  "a contractor cut a fibre on a backhaul route leased from a third party.",
                  "meters served by two cell sites unreachable."),
        _resolved("INC000001002405", "S1SP adapter outage", 2, window.in_this_month(0.2), 3, "S1SP",
                  "an adapter in a SMETS1 Service Provider stopped after a planned upgrade.",
                  "SMETS1 service requests queued."),
        _resolved("INC000001002406", "DSP scheduling fault delaying firmware updates", 1, window.in_this_month(0.7),
                  2.5, "DSP", "a scheduling fault in the DSP.", "firmware and tariff updates delayed."),
        _resolved("INC000001002407", "Slow CSP N firmware downloads", 3, window.in_this_month(0.4), 30, "CSP N",
                  "long-range radio scheduling under heavy firmware traffic.", "firmware downloads retried."),
        (IncidentDraft(
            reference="INC000001002417",
            title=TITLE_MARK + "CSP N alarms on a regional radio hub",
            category=2,
            started_at=recent,
            detected_at=recent + timedelta(minutes=6),
            status=IncidentStatus.OPEN,
            cause_category="unknown",
            impact=illustrative("communications to some meters in the North East delayed."),
            devices_affected=40_000,
            dcc_responsible=True,
            cohorts=[CohortDraft("CSP N", recent, None)],
        ), []),
    ]


def _nth_weekday(first: date, weekday: int, n: int) -> date:
    """Return the ``n``-th given weekday (Monday 0) of the month starting on ``first``."""
    return first + timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))


def _live_meetings(window: Window) -> list[tuple[str, date, MeetingKind]]:
    """Last, this and next month's meetings: main on the second Tuesday, reporting on the fourth Monday.

    Numbered two a month on from OPSG_100 (main, August 2023), as OPSG_98 and OPSG_99 were in July 2023.
    """
    found = []
    for first in (window.last, window.this, window.next):
        number = 100 + 2 * ((first.year - 2023) * 12 + first.month - 8)
        found.append((f"OPSG_{number}", _nth_weekday(first, 1, 2), MeetingKind.MAIN))
        found.append((f"OPSG_{number + 1}", _nth_weekday(first, 0, 4), MeetingKind.REPORTING))
    return found


# --- Seeding --------------------------------------------------------------------------------------------------

def seed(*, now: datetime | None = None) -> SeedResult:
    """Load the demo users, the 2023 history and the live part around ``now``; parts already present stay as
    they are."""
    now = now or utcnow()
    result = SeedResult()
    for email, role, name in DEMO_USERS:
        if user_service.find_by_email(email) is None:
            user_service.create_user(email=email, role=role, password=DEMO_PASSWORD, name=name, now=now)
            result.users_created += 1
    principle_service.seed_defaults(now=now)
    db.session.flush()
    window = Window.around(now)
    created_actions: list[Action] = []
    events_before = db.session.scalar(sa.select(sa.func.max(Event.id))) or 0
    if _create(_history(), result, now=now):
        _schedule(HISTORY_MEETINGS, now=now)
        created_actions += _history_reviews(now=now)
    # Before September 2023 the live months would overlap the history's meetings: the history alone then.
    if window.last >= LIVE_FROM and _create(_live(window), result, now=now):
        meetings = _live_meetings(window)
        _schedule([m for m in meetings if not _meeting_exists(m[0])], now=now)
        created_actions += _live_reviews(window, meetings)
    _replan(result.created, created_actions, window=window)
    # The replayed steps recorded their review events (the record keeps them), but nobody is told of a replay:
    # the first start would otherwise mail 2023's steps as news.
    db.session.execute(sa.delete(Notification).where(Notification.event_id > events_before))
    db.session.execute(sa.delete(WebhookDelivery).where(WebhookDelivery.event_id > events_before))
    return result


def _create(incidents: list[tuple[IncidentDraft, list[DemoEntry]]], result: SeedResult, *, now: datetime) -> bool:
    """Create a part's incidents unless its first incident exists; return whether they were created."""
    references = [draft.reference for draft, _ in incidents]
    present = set(db.session.scalars(sa.select(Incident.reference).where(Incident.reference.in_(references))))
    if references[0] in present:
        result.incidents_skipped += len(present)
        return False
    author = _user("dcc@demo.example")
    for draft, timeline in incidents:
        if draft.reference in present:
            result.incidents_skipped += 1
            continue
        incident = incident_service.create_incident(draft=draft, actor=author, now=now).incident
        for at, kind, cohort, text in timeline:
            incident_service.add_timeline_entry(
                incident=incident, actor=author, now=now,
                draft=TimelineEntryDraft(occurred_at=at, kind=TimelineKind(kind), cohort=cohort, text=text))
        if draft.reference in NON_MAJOR_REFERENCES:
            incident_service.set_major(incident=incident, is_major=False, actor=author, now=now, reason=illustrative(
                "not declared a Major Incident; CPM4 counts it all the same, by its Category."))
        result.incidents_created += 1
        result.created.append(incident)
    return True


def _meeting_exists(reference: str) -> bool:
    return db.session.scalar(sa.select(Meeting.id).where(Meeting.reference == reference)) is not None


def _schedule(meetings: list[tuple[str, date, MeetingKind]], *, now: datetime) -> None:
    """Enter these meetings in the register (those not there yet)."""
    secas = _user("secas@demo.example")
    for reference, held_on, kind in meetings:
        if not _meeting_exists(reference):
            meeting_service.schedule(reference=reference, held_on=held_on, kind=kind, actor=secas, now=now)


def _replan(incidents: list[Incident], actions: list[Action], *, window: Window) -> None:
    """Plan the created records' reminders as of now, and none for a deadline from before the live window.

    Each replayed step planned reminders as of its own date (dropped here), and a record logged today after its deadlines gets
    an "overdue" notice for each: for the 2023 history that would mail deadlines long gone at the first start.
    """
    owners = sa.or_(Reminder.incident_id.in_([i.id for i in incidents]),
                    Reminder.action_id.in_([a.id for a in actions]))
    db.session.execute(sa.delete(Reminder).where(owners, Reminder.sent_at.is_(None)))
    if incidents:
        reminder_service.plan_incidents(incidents, now=window.now)
    if actions:
        reminder_service.plan_actions(actions, now=window.now)
    long_gone = sa.func.coalesce(Reminder.deadline_on, Reminder.since_on) < window.last
    db.session.execute(sa.delete(Reminder).where(owners, long_gone, Reminder.sent_at.is_(None)))


def _user(email: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.email == email))
    assert user is not None
    return user


def _incident(reference: str) -> Incident:
    found = db.session.scalar(sa.select(Incident).where(Incident.reference == reference))
    assert found is not None
    return found


def _history_reviews(*, now: datetime) -> list[Action]:
    """Replay the 2023 reviews: INC000001001905 as minuted, the other April Major Incidents settled."""
    dcc, secas = _user("dcc@demo.example"), _user("secas@demo.example")
    case = _incident(REAL_CASE)
    _summary_sent(incident=case, actor=dcc, now=uk("2023-04-05 12:00"))
    review_service.propose(
        incident=case, exclude=True, principle="third-party-infrastructure", actor=dcc, now=uk("2023-05-10 10:00"),
        rationale=("Restoration was outside the control of the DCC and its Service Providers: an outage of a "
                   "third-party national carrier, over which neither has commercial leverage. Excluded from the "
                   "April 2023 PMR. " + illustrative("the date of this proposal is not in the minutes.")))
    review_service.review_exclusion(
        incident=case, outcome=ReviewOutcome.INFORMATION_REQUESTED, actor=secas, now=uk("2023-06-05 11:00"),
        comment=("SECAS questions the exclusion and has not agreed it. " + illustrative(
            "this wording and date are invented; the minutes record only that SECAS questioned the exclusion "
            "and had not agreed it by 26 June 2023.")))
    report_service.save_draft(incident=case, sections=CASE_REPORT, classification=Classification.GREEN, actor=dcc,
                              now=uk("2023-05-30 12:00"))
    report_service.submit(incident=case, actor=dcc, now=uk("2023-06-12 09:30"))
    action = _minute_opsg_97(case, actor=secas)

    brief = {"summary": illustrative("see the incident record."), "root_cause": "Recorded in the incident's cause.",
             "impact": "Recorded in the incident's impact.", "lessons_learned": "", "actions": ""}
    for reference, proposed, decided in (("INC000001001877", "2023-04-06", "OPSG_98"),
                                         ("INC000001001958", "2023-04-21", "OPSG_98")):
        incident = _incident(reference)
        assert incident.resolved_at is not None
        _summary_sent(incident=incident, actor=dcc, now=incident.resolved_at + timedelta(days=1))
        review_service.propose(incident=incident, exclude=False, actor=dcc, now=uk(f"{proposed} 10:00"),
                               rationale=illustrative("caused within a DCC Service Provider; no exclusion applies."))
        report_service.save_draft(incident=incident, sections=brief, classification=Classification.GREEN, actor=dcc,
                                  now=uk("2023-05-02 10:00"))
        report_service.submit(incident=incident, actor=dcc, now=uk("2023-05-04 10:00"))
        review_service.record_decision(
            incident=incident, meeting=decided, report_version=1, outcome=DecisionOutcome.AGREED,
            classification=Classification.GREEN, actor=secas, now=uk("2023-07-11 16:00"),
            minute=illustrative("the group agreed the Review Report can be published to SEC Parties."))
        review_service.publish(incident=incident, actor=secas, now=uk("2023-07-12 10:00"))
    return [action]


OPSG_97_MINUTE = ("The group noted the review of INC000001001905 and agreed the Review Report can be published to "
                  "SEC Parties. SECAS questioned the DCC's exclusion of the incident from the April 2023 PMR; the "
                  "group asked the DCC for the principles it uses (OPSG 97/04).")


def _minute_opsg_97(case: Incident, *, actor: User) -> Action:
    """Record the OPSG_97 decision on INC000001001905 as minuted, and raise OPSG 97/04 with it.

    The group agreed publication while SECAS still questioned the DCC's exclusion, as the workflow allows.
    """
    review = review_service.get_review(case)
    assert review is not None
    version = review_service.awaiting_version(review)
    assert version is not None
    meeting = meeting_service.find("OPSG_97")
    assert meeting is not None
    decision = review_service.record_decision(
        incident=case, meeting=meeting.reference, report_version=version.number, outcome=DecisionOutcome.AGREED,
        classification=Classification.GREEN, minute=OPSG_97_MINUTE, actor=actor, now=_at(meeting.held_on, "16:00"),
        actions=[review_service.MinutedAction(reference="OPSG 97/04", owner="dcc", target_on=OPSG_97_04_TARGET_ON,
                                              text=OPSG_97_04)])
    action = db.session.scalar(sa.select(Action).where(Action.decision_id == decision.id))
    assert action is not None
    return action


SUMMARY_SECTIONS = {
    "what_happened": illustrative("the Summary Report of this demo is invented; the minutes do not quote it."),
    "impact": "As recorded on the incident.",
    "current_status": "Service restored for every cohort.",
    "next_steps": "The Major Incident Review Report follows within 20 Working Days.",
}


def _summary_sent(*, incident: Incident, actor: User, now: datetime) -> None:
    """Record the DCC's Summary Report as sent at ``now``, with illustrative contents."""
    review_service.record_summary_report(incident=incident, actor=actor, now=now, draft=review_service.SummaryDraft(
        sections=SUMMARY_SECTIONS, recipients=["SECAS", "Operations Group members"], is_sent=True, sent_at=now))


def _live_reviews(window: Window, meetings: list[tuple[str, date, MeetingKind]]) -> list[Action]:
    """Put the live reviews in every state and raise last month's actions; return the actions."""
    dcc, secas = _user("dcc@demo.example"), _user("secas@demo.example")
    last_main, last_reporting = meetings[0], meetings[1]
    decided_at = _at(last_reporting[1], "16:00")
    sections = {"summary": illustrative("an invented incident of the live demo."),
                "root_cause": "Recorded in the incident's cause.", "impact": "Recorded in the incident's impact.",
                "lessons_learned": "", "actions": ""}

    def step(reference: str) -> tuple[Incident, datetime]:
        incident = _incident(reference)
        assert incident.resolved_at is not None
        _summary_sent(incident=incident, actor=dcc,
                                              now=incident.resolved_at + timedelta(hours=2))
        return incident, incident.resolved_at

    def report(incident: Incident, at: datetime, *, submit: bool) -> None:
        report_service.save_draft(incident=incident, sections=sections, classification=Classification.GREEN,
                                  actor=dcc, now=at)
        if submit:
            report_service.submit(incident=incident, actor=dcc, now=at + timedelta(hours=1))

    # Published: exclusion agreed, report agreed at last month's reporting meeting and published.
    published, resolved = step("INC000001002401")
    review_service.propose(incident=published, exclude=True, principle="third-party-infrastructure", actor=dcc,
                           now=resolved + timedelta(days=1),
                           rationale=illustrative("the regional distribution network failed, outside the control "
                                                  "of the DCC and its Service Providers."))
    review_service.review_exclusion(incident=published, outcome=ReviewOutcome.AGREED, actor=secas,
                                    now=resolved + timedelta(days=4), comment=illustrative("agreed."))
    report(published, resolved + timedelta(days=6), submit=True)
    review_service.record_decision(incident=published, meeting=last_reporting[0], report_version=1,
                                   outcome=DecisionOutcome.AGREED, classification=Classification.GREEN, actor=secas,
                                   now=decided_at, minute=illustrative("the group agreed publication."))
    review_service.publish(incident=published, actor=secas, now=decided_at + timedelta(hours=1))

    # Decision recorded, waiting for SECAS to publish; SECAS disagreed with the exclusion.
    decided, resolved = step("INC000001002402")
    review_service.propose(incident=decided, exclude=True, principle="force-majeure", actor=dcc,
                           now=resolved + timedelta(days=1),
                           rationale=illustrative("the certificate authority's outage was beyond our control."))
    review_service.review_exclusion(incident=decided, outcome=ReviewOutcome.DISAGREED, actor=secas,
                                    now=resolved + timedelta(days=4),
                                    comment=illustrative("renewing certificates in time is within the DCC's "
                                                         "control; the incident counts."))
    report(decided, resolved + timedelta(days=6), submit=True)
    review_service.record_decision(incident=decided, meeting=last_reporting[0], report_version=1,
                                   outcome=DecisionOutcome.AGREED, classification=Classification.WHITE, actor=secas,
                                   now=decided_at + timedelta(minutes=10),
                                   minute=illustrative("the group agreed publication."))

    # Submitted, waiting for the Operations Group; counted in the PMR.
    submitted, resolved = step("INC000001002403")
    review_service.propose(incident=submitted, exclude=False, actor=dcc, now=resolved + timedelta(days=1),
                           rationale=illustrative("caused within a DCC Service Provider; no exclusion applies."))
    report(submitted, resolved + timedelta(days=8), submit=True)

    # SECAS asked for information; the report is in draft.
    asked, resolved = step("INC000001002404")
    review_service.propose(incident=asked, exclude=True, principle="third-party-infrastructure", actor=dcc,
                           now=resolved + timedelta(days=1),
                           rationale=illustrative("the fibre belongs to a third party outside our control."))
    review_service.review_exclusion(incident=asked, outcome=ReviewOutcome.INFORMATION_REQUESTED, actor=secas,
                                    now=resolved + timedelta(days=3),
                                    comment=illustrative("was the route resilient, as the contract requires?"))
    report(asked, resolved + timedelta(days=5), submit=False)

    # This month: an exclusion waiting for SECAS; a Summary Report still to send.
    pending = _incident("INC000001002405")
    assert pending.resolved_at is not None
    _summary_sent(incident=pending, actor=dcc, now=window.in_this_month(0.3))
    review_service.propose(incident=pending, exclude=True, principle="planned-maintenance", actor=dcc,
                           now=window.in_this_month(0.5),
                           rationale=illustrative("the upgrade was planned and notified to SEC Parties in advance."))

    actions = []
    number = last_main[0].removeprefix("OPSG_")
    raised = last_main[1]
    for item, text, owner, target, incident in [
        ("01", "The DCC to report how long regional radio hubs run on battery backup.", "dcc",
         last_reporting[1], "INC000001002401"),
        ("02", "SECAS to circulate the Major Incident reporting template to SEC Parties.", "secas",
         window.next + timedelta(days=9), None),
    ]:
        actions.append(action_service.create_action(actor=secas, now=window.now, draft=action_service.ActionDraft(
            reference=f"OPSG {number}/{item}", text=illustrative(text), owner_org=owner, raised_on=raised,
            target_on=target, incidents=[incident] if incident else [])))
    return actions
