"""Demo data: the real INC000001001905 case and the rest of April 2023."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from incidents.action import service as action_service
from incidents.action.models import Action, ActionStatus
from incidents.extensions import db
from incidents.incident import service as incident_service
from incidents.incident.models import Incident, IncidentStatus, TimelineKind
from incidents.incident.service import CohortDraft, IncidentDraft, TimelineEntryDraft
from incidents.meeting import service as meeting_service
from incidents.meeting.models import Meeting
from incidents.principle import service as principle_service
from incidents.reminder import service as reminder_service
from incidents.reminder.models import Reminder
from incidents.report import service as report_service
from incidents.report.models import Classification
from incidents.review import service as review_service
from incidents.review.models import DecisionOutcome, ReviewOutcome
from incidents.timeutil import UTC, utcnow
from incidents.user import service as user_service
from incidents.user.models import User

LONDON = ZoneInfo("Europe/London")
DEMO_PASSWORD = "demo-password"

# A timeline entry of the demo: UK local time ("YYYY-MM-DD HH:MM"), kind, cohort (or None) and text.
DemoEntry = tuple[str, str, str | None, str]

DEMO_USERS = [
    ("dcc@demo.example", "dcc", "Dana Clarke (DCC incident manager)"),
    ("secas@demo.example", "secas", "Sam Ellis (SECAS)"),
    ("opsg@demo.example", "opsg", "Olu Price (OPSG member)"),
    ("party@demo.example", "party", "Pat Reid (Energy supplier)"),
    ("admin@demo.example", "admin", "Alex Admin (administrator)"),
]


def uk(text: str) -> datetime:
    """Read 'YYYY-MM-DD HH:MM' as UK local time, return UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=LONDON).astimezone(UTC)


@dataclass
class SeedResult:
    """What a seed run created and skipped."""

    users_created: int = 0
    incidents_created: int = 0
    incidents_skipped: int = 0


def _incidents(now: datetime) -> list[tuple[IncidentDraft, list[DemoEntry]]]:
    """Return the demo incidents, each with its timeline."""
    recent = now.replace(second=0, microsecond=0) - timedelta(hours=3)
    return [
        (IncidentDraft(
            reference="INC000001001905",
            title="Nationwide outage of a national telecoms carrier",
            category=1,
            started_at=uk("2023-04-04 05:55"),
            detected_at=uk("2023-04-04 06:02"),
            resolved_at=uk("2023-04-04 10:40"),
            cause_category="third_party",
            cause=("A nationwide outage of a national telecoms carrier interrupted the links between the DCC "
                   "Service Providers. Services recovered for all cohorts once the carrier restored its "
                   "network, but CSP N's network terminating equipment (NTE) stuck and needed a reset, which "
                   "was hard to arrange during a national incident."),
            impact=("Smart meter communications unavailable across Great Britain; service requests queued. "
                    "CSP N (North) took longest to restore."),
            devices_affected=4_200_000,
            dcc_responsible=True,
            cohorts=[
                CohortDraft("CSP C&S", uk("2023-04-04 05:55"), uk("2023-04-04 08:10")),
                CohortDraft("CSP N", uk("2023-04-04 05:55"), uk("2023-04-04 10:40")),
                CohortDraft("DSP", uk("2023-04-04 05:58"), uk("2023-04-04 07:40")),
                CohortDraft("S1SP", uk("2023-04-04 06:00"), uk("2023-04-04 09:15")),
            ],
        ), [
            ("2023-04-04 06:02", "detected", None, "Monitoring alarms from all Service Providers: loss of connectivity over the national carrier."),
            ("2023-04-04 06:20", "escalated", None, "Major Incident declared, Category 1; carrier confirms a nationwide outage."),
            ("2023-04-04 06:45", "communication", None, "Initial Major Incident notification sent to SEC Parties."),
            ("2023-04-04 07:40", "restored", "DSP", "DSP connectivity restored as the carrier's core recovered."),
            ("2023-04-04 08:10", "restored", "CSP C&S", "CSP C&S cellular backhaul restored."),
            ("2023-04-04 09:15", "restored", "S1SP", "SMETS1 service providers restored."),
            ("2023-04-04 09:30", "mitigation", "CSP N", "CSP N NTE stuck after the carrier recovered; reset requested, engineer access hard to arrange during the national incident."),
            ("2023-04-04 10:40", "restored", "CSP N", "NTE reset completed; CSP N service restored."),
            ("2023-04-04 11:05", "communication", None, "Resolution notification sent to SEC Parties."),
        ]),
        (IncidentDraft(
            reference="INC000001001877",
            title="Service request backlog during the April energy price-change event",
            category=2,
            started_at=uk("2023-04-01 00:30"),
            detected_at=uk("2023-04-01 00:45"),
            resolved_at=uk("2023-04-01 10:05"),
            cause_category="dcc_service_provider",
            cause="Tariff update volumes at the price change exceeded DSP queue capacity.",
            impact="Tariff and price updates to prepayment meters delayed by up to nine hours.",
            devices_affected=850_000,
            dcc_responsible=True,
            cohorts=[CohortDraft("DSP", uk("2023-04-01 00:30"), uk("2023-04-01 10:05"))],
        ), [
            ("2023-04-01 00:45", "detected", "DSP", "Queue depth alarms on tariff update service requests."),
            ("2023-04-01 02:00", "escalated", None, "Raised to Category 2; Service Provider capacity team engaged."),
            ("2023-04-01 10:05", "restored", "DSP", "Backlog cleared; normal latency."),
        ]),
        (IncidentDraft(
            reference="INC000001001932",
            title="DSP message processing latency",
            category=2,
            started_at=uk("2023-04-12 14:10"),
            detected_at=uk("2023-04-12 14:18"),
            resolved_at=uk("2023-04-12 17:05"),
            cause_category="dcc_service_provider",
            cause="A database failover in the DSP slowed message processing.",
            impact="Service responses delayed; no messages lost.",
            devices_affected=300_000,
            dcc_responsible=True,
            cohorts=[CohortDraft("DSP", uk("2023-04-12 14:10"), uk("2023-04-12 17:05"))],
        ), [
            ("2023-04-12 14:18", "detected", "DSP", "Latency above threshold."),
            ("2023-04-12 17:05", "restored", "DSP", "Failover completed; latency normal."),
        ]),
        (IncidentDraft(
            reference="INC000001001958",
            title="CSP C&S cellular degradation in South Wales",
            category=1,
            started_at=uk("2023-04-19 08:20"),
            detected_at=uk("2023-04-19 08:26"),
            resolved_at=uk("2023-04-19 11:10"),
            cause_category="dcc_service_provider",
            cause="A faulty configuration change at a cellular core site.",
            impact="Communications to meters in South Wales intermittent.",
            devices_affected=610_000,
            dcc_responsible=True,
            cohorts=[CohortDraft("CSP C&S", uk("2023-04-19 08:20"), uk("2023-04-19 11:10"))],
        ), [
            ("2023-04-19 08:26", "detected", "CSP C&S", "Cell site alarms across South Wales."),
            ("2023-04-19 09:00", "mitigation", "CSP C&S", "Configuration change rolled back."),
            ("2023-04-19 11:10", "restored", "CSP C&S", "Traffic normal."),
        ]),
        (IncidentDraft(
            reference="INC000001001966",
            title="Supplier certificate misconfiguration blocking its own service requests",
            category=2,
            started_at=uk("2023-04-21 09:00"),
            detected_at=uk("2023-04-21 09:30"),
            resolved_at=uk("2023-04-21 19:45"),
            cause_category="sec_party",
            cause="A SEC Party deployed an expired Organisation certificate.",
            impact="That party's service requests rejected; other parties unaffected.",
            devices_affected=90_000,
            dcc_responsible=False,
            cohorts=[CohortDraft("SMKI", uk("2023-04-21 09:00"), uk("2023-04-21 19:45"))],
        ), [("2023-04-21 09:30", "detected", "SMKI", "Rejections from one party's gateway.")]),
        (IncidentDraft(
            reference="INC000001001981",
            title="Intermittent firmware download failures (CSP N)",
            category=3,
            started_at=uk("2023-04-25 10:00"),
            detected_at=uk("2023-04-25 11:15"),
            resolved_at=uk("2023-04-26 08:30"),
            cause_category="dcc_service_provider",
            cause="Long-range radio scheduling bug under heavy firmware traffic.",
            impact="Firmware downloads retried; no loss of service.",
            devices_affected=12_000,
            dcc_responsible=True,
            cohorts=[CohortDraft("CSP N", uk("2023-04-25 10:00"), uk("2023-04-26 08:30"))],
        ), []),
        (IncidentDraft(
            reference="INC000001001990",
            title="Self-service interface slow to load reports",
            category=3,
            started_at=uk("2023-04-27 13:00"),
            detected_at=uk("2023-04-27 13:05"),
            resolved_at=uk("2023-04-28 16:00"),
            cause_category="dcc",
            cause="Reporting database index missing after an upgrade.",
            impact="Parties' reports slow; no effect on meters.",
            devices_affected=None,
            dcc_responsible=True,
            cohorts=[],
        ), []),
        (IncidentDraft(
            reference="INC000001002417",
            title="CSP N alarms on a regional radio hub",
            category=2,
            started_at=recent,
            detected_at=recent + timedelta(minutes=6),
            resolved_at=None,
            status=IncidentStatus.OPEN,
            cause_category="unknown",
            cause="",
            impact="Communications to some meters in the North East delayed.",
            devices_affected=40_000,
            dcc_responsible=True,
            cohorts=[CohortDraft("CSP N", recent, None)],
        ), []),
    ]


def seed(*, now: datetime | None = None) -> SeedResult:
    """Load demo users and incidents; existing ones are left as they are."""
    now = now or utcnow()
    result = SeedResult()
    for email, role, name in DEMO_USERS:
        if user_service.find_by_email(email) is None:
            user_service.create_user(email=email, role=role, password=DEMO_PASSWORD, name=name, now=now)
            result.users_created += 1
    principle_service.seed_defaults(now=now)
    db.session.flush()
    author = _user(DEMO_USERS[0][0])
    existing = set(db.session.scalars(sa.select(Incident.reference)))
    for draft, timeline in _incidents(now):
        if draft.reference in existing:
            result.incidents_skipped += 1
            continue
        incident = incident_service.create_incident(draft=draft, actor=author, now=now).incident
        for at, kind, cohort, text in timeline:
            incident_service.add_timeline_entry(
                incident=incident, actor=author, now=now,
                draft=TimelineEntryDraft(occurred_at=uk(at), kind=TimelineKind(kind), cohort=cohort, text=text))
        result.incidents_created += 1
    # The register first: the demo's decisions are taken at its meetings.
    _seed_meetings(now)
    replayed = _seed_reviews()
    _seed_actions(now)
    _replan(replayed, now=now)
    return result


def _replan(incidents: list[Incident], *, now: datetime) -> None:
    """Plan the replayed incidents' reminders as of ``now``, dropping what the replay planned on its past dates.

    Each step of the replayed history planned reminders as of its own (2023) date; left in place, the next sweep
    would send them as if they had fallen due unsent.
    """
    if not incidents:
        return
    db.session.execute(sa.delete(Reminder).where(Reminder.incident_id.in_([i.id for i in incidents]),
                                                 Reminder.sent_at.is_(None)))
    reminder_service.plan_incidents(incidents, now=now)


def _last_tuesday(year: int, month: int) -> date:
    day = date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)
    while day.weekday() != 1:
        day -= timedelta(days=1)
    return day


def _opsg_number(day: date) -> int:
    """Number OPSG meetings monthly from OPSG_97 in June 2023."""
    return 97 + (day.year - 2023) * 12 + (day.month - 6)


def _meeting_days(now: datetime) -> list[date]:
    """OPSG_97 (26 June 2023) and the next three monthly meetings from ``now``."""
    today = now.date()
    meetings = [date(2023, 6, 26)]
    year, month = today.year, today.month
    for _ in range(3):
        meetings.append(_last_tuesday(year, month))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return sorted(set(meetings))


def _seed_meetings(now: datetime) -> None:
    """Enter the meetings in the register: OPSG_97 and the next three, monthly."""
    secas = _user("secas@demo.example")
    for day in _meeting_days(now):
        reference = f"OPSG_{_opsg_number(day)}"
        if db.session.scalar(sa.select(Meeting.id).where(Meeting.reference == reference)) is None:
            meeting_service.schedule(reference=reference, held_on=day, actor=secas, now=now)


def _seed_actions(now: datetime) -> None:
    """Actions: OPSG 97/04 (raised with the OPSG_97 decision) revised and closed, and three recent ones."""
    secas = _user("secas@demo.example")
    meetings = _meeting_days(now)
    action = db.session.scalar(sa.select(Action).where(Action.reference == "OPSG 97/04"))
    if action is not None and (action.status == ActionStatus.CLOSED or action.revisions):
        return
    if action is None:  # the OPSG_97 decision was recorded before decisions raised their actions
        action = action_service.create_action(actor=secas, now=now, draft=action_service.ActionDraft(
            reference="OPSG 97/04", text=OPSG_97_04, owner_org="dcc", owner_user="dcc@demo.example",
            raised_on=date(2023, 6, 26), target_on=date(2023, 7, 24), incidents=["INC000001001905"]))
    action_service.revise_target(action=action, actor=secas, expected_version=action.version, now=now,
                                 target_on=date(2023, 9, 25),
                                 reason="The DCC asked to agree the principles with SECAS first.")
    action_service.close_action(action=action, actor=secas, expected_version=action.version, now=now,
                                closing_note="The DCC presented its exclusion principles at OPSG_100; noted.")
    # Its whole history is replayed here at once: what it planned on the way was never due to anyone.
    db.session.execute(sa.delete(Reminder).where(Reminder.action_id == action.id, Reminder.sent_at.is_(None)))
    recent = meetings[-3] if len(meetings) >= 3 else meetings[-1]
    last_month = recent - timedelta(days=28)
    number = _opsg_number(last_month)
    for nn, text, owner, raised, target in [
        ("01", "The DCC to report CSP N network terminating equipment reset times by region.", "dcc",
         last_month, last_month + timedelta(days=14)),
        ("02", "SECAS to circulate the revised Major Incident reporting template to SEC Parties.", "secas",
         last_month, last_month + timedelta(days=21)),
        ("03", "The DCC to present the price-change capacity test plan (INC000001001877).", "dcc",
         last_month, recent + timedelta(days=21)),
    ]:
        action_service.create_action(actor=secas, now=now, draft=action_service.ActionDraft(
            reference=f"OPSG {number}/{nn}", text=text, owner_org=owner, raised_on=raised, target_on=target,
            incidents=["INC000001001877"] if "1877" in text else []))


def _user(email: str) -> User:
    user = db.session.scalar(sa.select(User).where(User.email == email))
    assert user is not None
    return user


OPSG_97_04 = ("The DCC to confirm the principles that guide the approach to managing Major Incidents caused by "
              "third-party providers, including how exclusions from the PMR are decided.")

REPORT_1905 = {
    "summary": ("On Tuesday 4 April 2023 a nationwide outage of a national telecoms carrier interrupted DCC "
                "services for all cohorts. Services were restored for all cohorts; **CSP N took longest** because "
                "its network terminating equipment (NTE) stuck and needed a reset, completed at 10:40 BST."),
    "root_cause": ("Failure in the national carrier's core network, outside the control of the DCC and its Service "
                   "Providers. CSP N's NTE did not recover automatically when the carrier's service returned."),
    "impact": "Communications with smart meters unavailable nationally for up to 4 h 45 min (CSP N).",
    "lessons_learned": ("- Agree with CSP N a remote reset route for NTE that does not depend on site access.\n"
                        "- Keep a national-incident contact list with the carrier."),
    "actions": "- OPSG 97/04: the DCC to confirm the principles it uses to exclude Major Incidents caused by "
               "third-party providers.",
}


def _seed_reviews() -> list[Incident]:
    """Put the demo reviews in several states, returning the incidents given a history; incidents that already
    have a review are left alone."""
    dcc, secas, opsg = (_user(e) for e in ("dcc@demo.example", "secas@demo.example", "opsg@demo.example"))
    replayed: list[Incident] = []

    def incident(reference: str) -> Incident | None:
        found = db.session.scalar(sa.select(Incident).where(Incident.reference == reference))
        if found is None or review_service.get_review(found) is not None:
            return None
        replayed.append(found)
        return found

    case = incident("INC000001001905")
    if case is not None:
        review_service.propose(
            incident=case, exclude=True, principle="third-party-infrastructure", actor=dcc, now=uk("2023-04-06 15:00"),
            rationale=("Restoration was outside the control of the DCC and its Service Providers: a national "
                       "carrier outage, over which neither had commercial leverage."))
        review_service.review_exclusion(
            incident=case, outcome=ReviewOutcome.INFORMATION_REQUESTED, actor=secas, now=uk("2023-04-14 11:00"),
            comment=("Please set out the principles the DCC applies when excluding Major Incidents caused by "
                     "third parties, and why CSP N's restoration took longer than the other cohorts."))
        review_service.propose(
            incident=case, exclude=True, principle="third-party-infrastructure", actor=dcc, now=uk("2023-04-20 10:00"),
            rationale=("Restoration was outside the control of the DCC and its Service Providers: a national "
                       "carrier outage, over which neither had commercial leverage."),
            response=("CSP N's NTE stuck after the carrier recovered and needed a reset, which was hard to arrange "
                      "during a national incident. The DCC will confirm its principles to the group (OPSG 97/04)."))
        review_service.review_exclusion(incident=case, outcome=ReviewOutcome.AGREED, actor=secas, now=uk("2023-04-24 16:00"),
                                        comment="Agreed: the exclusion applies to the April 2023 PMR.")
        report_service.save_draft(incident=case, sections=REPORT_1905, classification=Classification.AMBER, actor=dcc,
                                  now=uk("2023-04-28 12:00"))
        report_service.submit(incident=case, actor=dcc, now=uk("2023-05-03 09:30"))
        review_service.record_decision(
            incident=case, meeting="OPSG_97", report_version=1, outcome=DecisionOutcome.AGREED,
            classification=Classification.GREEN, actor=secas, now=uk("2023-06-26 16:00"),
            minute=("The group noted the review of INC000001001905 and agreed the Review Report can be published "
                    "to SEC Parties."),
            actions=[review_service.MinutedAction(reference="OPSG 97/04", owner="dcc", target_on=date(2023, 7, 24),
                                                  text=OPSG_97_04)])
        review_service.publish(incident=case, actor=secas, now=uk("2023-06-27 10:00"))
        review_service.add_comment(incident=case, actor=opsg, now=uk("2023-06-20 09:00"),
                                   body="Members asked how long CSP N took compared with the other cohorts.")

    price = incident("INC000001001877")
    if price is not None:
        review_service.propose(incident=price, exclude=False, actor=dcc, now=uk("2023-04-04 09:00"),
                               rationale="The backlog arose in a DCC Service Provider; no exclusion applies.")
        report_service.save_draft(
            incident=price, classification=Classification.AMBER, actor=dcc, now=uk("2023-04-25 10:00"),
            sections={"summary": "Tariff update backlog during the 1 April 2023 price change.",
                      "root_cause": "DSP queue capacity below price-change volumes.",
                      "impact": "Prepayment price updates delayed up to nine hours.",
                      "lessons_learned": "Capacity test before each price-change event.", "actions": ""})
        report_service.submit(incident=price, actor=dcc, now=uk("2023-04-28 10:00"))

    latency = incident("INC000001001932")
    if latency is not None:
        review_service.propose(
            incident=latency, exclude=True, principle="planned-maintenance", actor=dcc, now=uk("2023-04-14 10:00"),
            rationale="The failover happened inside a maintenance window notified to SEC Parties in advance.",
            evidence_links=["https://example.org/notices/maintenance-2023-04-12"])

    brief = {"summary": "See the incident record.", "root_cause": "Recorded in the incident's cause.",
             "impact": "Recorded in the incident's impact.", "lessons_learned": "", "actions": ""}
    if latency is not None:
        report_service.save_draft(incident=latency, sections=brief, classification=Classification.AMBER, actor=dcc,
                                  now=uk("2023-05-02 10:00"))
        report_service.submit(incident=latency, actor=dcc, now=uk("2023-05-04 10:00"))

    supplier = incident("INC000001001966")
    if supplier is not None:
        review_service.propose(incident=supplier, exclude=False, actor=dcc, now=uk("2023-04-24 10:00"),
                               rationale="Not counted: the DCC is not responsible for resolving it.")
        report_service.save_draft(incident=supplier, sections=brief, classification=Classification.AMBER, actor=dcc,
                                  now=uk("2023-05-10 10:00"))

    cellular = incident("INC000001001958")
    if cellular is not None:
        review_service.propose(
            incident=cellular, exclude=True, principle="force-majeure", actor=dcc, now=uk("2023-04-21 10:00"),
            rationale="Severe weather damaged the core site.")
        review_service.review_exclusion(
            incident=cellular, outcome=ReviewOutcome.INFORMATION_REQUESTED, actor=secas, now=uk("2023-04-26 10:00"),
            comment="The cause recorded is a faulty configuration change; please reconcile it with force majeure.")
        report_service.save_draft(incident=cellular, sections=brief, classification=Classification.AMBER, actor=dcc,
                                  now=uk("2023-05-09 10:00"))
        report_service.submit(incident=cellular, actor=dcc, now=uk("2023-05-12 10:00"))

    for found in db.session.scalars(sa.select(Incident).where(Incident.resolved_at.is_not(None))):
        review = review_service.get_review(found)
        if review is not None and review.summary_submitted_at is None and found.resolved_at is not None:
            review_service.mark_summary_submitted(incident=found, actor=dcc, now=found.resolved_at + timedelta(days=1))
            if found not in replayed:
                replayed.append(found)
    return replayed
