"""Grow a benchmark data set: incidents with cohorts, timelines, reviews, actions and planned reminders.

Rows go in through SQLAlchemy Core bulk inserts in chunks. Ids are chosen here, offset from each
table's current maximum, so child rows point at their parents without a round trip; on PostgreSQL
the sequences are moved past them at the end so the app can insert afterwards.

Generated rows are marked by their references: incidents are ``INC9`` + 11 digits (generated
incident number k is ``INC9`` + k in 11 digits) and actions ``BENCH m/nn``. A run counts the
generated incidents already present and adds only the missing ones. Each incident (with its
cohorts, timeline, review, action and reminders) is drawn from its own generator seeded by
``(seed, k)``, so for the same ``now`` a set grown in steps holds the same rows as one built at once.

Run it alone: ids are taken from the maxima read at the start, so a concurrent writer to the
same tables would collide with them.

    python -m bench.generate --incidents 100000
"""
from __future__ import annotations

import argparse
import hashlib
import random
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, cast
from urllib.parse import quote

import sqlalchemy as sa
from flask import current_app

from incidents.action import service as action_service
from incidents.action.models import (
    Action,
    ActionStatus,
    TargetRevision,
    action_incident,
)
from incidents.audit.models import AuditEntry
from incidents.incident import service as incident_service
from incidents.incident.models import (
    Incident,
    IncidentCohort,
    IncidentStatus,
    TimelineEntry,
    TimelineKind,
)
from incidents.principle.models import ExclusionPrinciple, PrincipleVersion
from incidents.reminder import service as reminder_service
from incidents.reminder.models import Reminder, ReminderKind, ReminderState
from incidents.review import service as review_service
from incidents.review.models import (
    Classification,
    Comment,
    Decision,
    DecisionOutcome,
    ExclusionProposal,
    ExclusionReview,
    ExclusionState,
    Publication,
    ReportState,
    ReportVersion,
    Review,
    ReviewOutcome,
)
from incidents.rules import service as rules_service
from incidents.timeutil import UTC, local_date, month_bounds, to_local, utcnow
from incidents.user.models import Role, User

REFERENCE_PREFIX = "INC9"
ACTION_GROUP = "BENCH"
# Generated incident 0 is a Category 1 incident with a published review and exactly 50 timeline entries.
DETAIL_INDEX = 0
DETAIL_TIMELINE_ENTRIES = 50
# Every 50th incident (k % 50 == 1) is resolved in the PMR month; among the first 2000, every 100th
# (k % 100 == 1) is Category 1 or 2 with an agreed exclusion, so even a small set has excluded
# incidents there while a large one keeps a plausible share of them.
PMR_EVERY, PMR_OFFSET, EXCLUDED_EVERY, EXCLUDED_BELOW = 50, 1, 100, 2000
# One action per five incidents, as in the target shape (100,000 incidents, 20,000 actions).
ACTION_EVERY = 5
ACTIONS_PER_MEETING = 99
YEARS = 5
INCIDENTS_PER_BATCH = 2000
ROWS_PER_INSERT = 10_000
DEMO_EMAILS = {Role.DCC: "dcc@demo.example", Role.SECAS: "secas@demo.example", Role.OPSG: "opsg@demo.example"}

SETTLED = review_service.SETTLED
_UNDECIDED_REPORTS = (ReportState.NOT_STARTED, ReportState.DRAFT, ReportState.SUBMITTED)
_DECIDED_REPORTS = (ReportState.AGREED, ReportState.NOT_AGREED, ReportState.DEFERRED, ReportState.PUBLISHED)
# Every exclusion/report state pair the workflow can reach: a decision needs a settled exclusion,
# and a settled exclusion is all a decided report can sit beside.
COMBINATIONS: list[tuple[ExclusionState, ReportState]] = (
    [(state, report) for state in (ExclusionState.NOT_PROPOSED, ExclusionState.PENDING,
                                   ExclusionState.INFORMATION_REQUESTED) for report in _UNDECIDED_REPORTS]
    + [(state, report) for state in SETTLED for report in _UNDECIDED_REPORTS + _DECIDED_REPORTS]
)

PROBLEMS = ["communications outage", "message processing latency", "service request backlog",
            "firmware download failures", "certificate validation errors", "intermittent connectivity",
            "alert storm after a network change", "delayed meter readings", "failed tariff updates",
            "authentication failures at the gateway", "scheduled read gaps", "queue build-up"]
PLACES = ["across Great Britain", "in the North", "in Central and South", "in South Wales", "in Scotland",
          "in the Midlands", "in the North East", "for one energy supplier", "for prepayment customers",
          "on the secondary data centre"]
CAUSES = ["A configuration change at a Service Provider was rolled out without its dependency.",
          "A third-party carrier lost a core router; traffic failed over slowly.",
          "Database failover in the DSP slowed message processing.",
          "An expired certificate was deployed by a SEC Party.",
          "Capacity was exceeded during a tariff update peak.",
          "Root cause not yet established; investigation continues."]
IMPACTS = ["Service requests delayed; no messages lost.",
           "Communications with smart meters unavailable for the affected cohort.",
           "Readings delayed by up to several hours.",
           "One party's service requests were rejected; other parties unaffected.",
           "Prepayment top-ups delayed for some customers."]
TIMELINE_TEXTS = {
    TimelineKind.DETECTED: ["Monitoring alarms raised on {c}.", "Service desk ticket raised by a SEC Party about {c}.",
                            "Latency above threshold on {c} message queues."],
    TimelineKind.ESCALATED: ["Raised to a Major Incident; Service Provider engaged.",
                             "Escalated to the duty manager; bridge call opened.",
                             "Category confirmed after impact assessment."],
    TimelineKind.MITIGATION: ["Traffic rerouted away from the failing link on {c}.",
                              "Configuration change rolled back on {c}.",
                              "Queue consumers scaled up to clear the backlog.",
                              "Engineer dispatched to reset network terminating equipment."],
    TimelineKind.RESTORED: ["{c} service restored; monitoring normal.", "{c} backlog cleared; latency normal."],
    TimelineKind.COMMUNICATION: ["Update sent to SEC Parties.", "Initial Major Incident notification sent.",
                                 "Resolution notification sent to SEC Parties."],
    TimelineKind.UPDATE: ["Service Provider reports progress on the fix.", "Root cause analysis under way.",
                          "No change since the last update; monitoring continues.",
                          "Vendor confirms a patch is being tested."],
}
MIDDLE_KINDS = [TimelineKind.MITIGATION, TimelineKind.UPDATE, TimelineKind.UPDATE, TimelineKind.COMMUNICATION,
                TimelineKind.ESCALATED]
ACTION_TEXTS = ["The DCC to report restoration times by region for {r}.",
                "SECAS to circulate the lessons learned from {r} to SEC Parties.",
                "The DCC to present the capacity test plan arising from {r}.",
                "The DCC to confirm the monitoring change agreed after {r}."]
SECTIONS = {"summary": "A {p} affected {c}. Service was restored for every cohort.",
            "root_cause": "See the cause recorded on the incident; the Service Provider confirmed it.",
            "impact": "Recorded in the incident's impact.",
            "lessons_learned": "- Review the monitoring thresholds.\n- Rehearse the failover.", "actions": ""}


@dataclass
class Generated:
    """What one run added, how long it took, and where to point a benchmark."""

    incidents: int
    timeline_entries: int
    actions: int
    reviews: int
    reminders: int
    seconds: float
    detail_reference: str  # an incident that has exactly 50 timeline entries
    pmr_month: str  # "YYYY-MM", a month that holds many generated Category 1-5 resolved incidents


@dataclass
class _Person:
    id: int
    email: str


@dataclass
class _Times:
    """Stand-in with the two fields the incident service's clock_start reads."""

    started_at: datetime
    detected_at: datetime | None


class _WorkingDays:
    """The app's Working Day calendar over a fixed range, as index arithmetic (fast for many rows)."""

    def __init__(self, first: date, last: date) -> None:
        cal = rules_service.calendar()
        self.first = first
        self.days: list[date] = []
        # counts[i]: Working Days on or before first + i.
        self.counts: list[int] = []
        day = first
        while day <= last:
            if cal.is_working_day(day):
                self.days.append(day)
            self.counts.append(len(self.days))
            day += timedelta(days=1)

    def index_after(self, day: date) -> int:
        """Return the index of the first Working Day after ``day``."""
        return self.counts[(day - self.first).days]

    def between(self, start: date, end: date) -> int:
        """Count Working Days after ``start`` up to and including ``end`` (end >= start)."""
        return self.counts[(end - self.first).days] - self.counts[(start - self.first).days]

    def add(self, day: date, count: int) -> date:
        """Return the date ``count`` Working Days after ``day`` (before, if negative)."""
        if count >= 0:
            return self.days[self.index_after(day) + count - 1] if count else day
        before = self.counts[(day - self.first).days - 1]  # Working Days strictly before day
        return self.days[before + count]


@dataclass
class _Context:
    """What every incident's rows are built from."""

    seed: int
    now: datetime
    today: date
    start_k: int
    dcc: _Person
    secas: _Person
    opsg: _Person
    principles: list[tuple[int, str, str]]
    cohorts: list[str]
    causes: dict[str, str]
    organisations: list[str]
    addresses: dict[str, str]
    review_categories: set[int]
    pmr_start: datetime
    pmr_end: datetime
    wd: _WorkingDays
    future_days: list[date]
    ids: dict[str, int]
    message_domain: str
    # Ids of the generated incidents just before this run's first (k -> id), for action links.
    earlier: dict[int, int]
    targets: dict[int, str] = field(default_factory=dict)
    instants: dict[date, datetime] = field(default_factory=dict)

    def next_id(self, table: str) -> int:
        """Allocate the next id of ``table``."""
        self.ids[table] += 1
        return self.ids[table]

    def send_at(self, day: date) -> datetime:
        """Return the reminder send instant of ``day``, as the reminder service computes it."""
        found = self.instants.get(day)
        if found is None:
            found = self.instants[day] = reminder_service.send_instant(day)
        return found

    def target(self, category: int) -> str:
        """Describe a Category's TRT (cached)."""
        found = self.targets.get(category)
        if found is None:
            found = self.targets[category] = rules_service.describe_target(category)
        return found


TABLES: list[sa.Table] = [model.__table__ for model in (
    Incident, IncidentCohort, TimelineEntry, AuditEntry, Review, ExclusionProposal, ExclusionReview, ReportVersion,
    Decision, Publication, Comment, Action, TargetRevision)] + [action_incident, Reminder.__table__]


def generate(connection: sa.engine.Connection, *, incidents: int, seed: int = 1905,
             now: datetime | None = None) -> Generated:
    """Grow the generated data set to `incidents` generated incidents (adding only what is missing).

    Must run inside an app context (the rules, cohorts and reminder settings come from its config)
    on a migrated database where ``flask seed-demo`` has run (demo users and exclusion principles).
    The caller owns the transaction. Counts in the result are rows added by this call.
    """
    began = time.perf_counter()
    now = (now or utcnow()).astimezone(UTC).replace(microsecond=0)
    pmr_month = _previous_month(now)
    existing = connection.scalar(sa.select(sa.func.count()).select_from(Incident.__table__)
                                 .where(Incident.reference.like(f"{REFERENCE_PREFIX}%"))) or 0
    added: dict[str, int] = {table.name: 0 for table in TABLES}
    if incidents > existing:
        context = _context(connection, seed=seed, now=now, start_k=existing, pmr_month=pmr_month)
        rows: dict[str, list[dict[str, Any]]] = {table.name: [] for table in TABLES}
        for batch_start in range(existing, incidents, INCIDENTS_PER_BATCH):
            for k in range(batch_start, min(incidents, batch_start + INCIDENTS_PER_BATCH)):
                _incident(k, context, rows)
            _flush(connection, rows, added)
        if connection.dialect.name == "postgresql":
            _reset_sequences(connection, context.ids)
    return Generated(
        incidents=added["incident"], timeline_entries=added["timeline_entry"], actions=added["action"],
        reviews=added["review"], reminders=added["reminder"], seconds=round(time.perf_counter() - began, 2),
        detail_reference=reference(DETAIL_INDEX), pmr_month=pmr_month)


def reference(k: int) -> str:
    """Return generated incident number ``k``'s reference."""
    return f"{REFERENCE_PREFIX}{k:011d}"


def _previous_month(now: datetime) -> str:
    local = to_local(now)
    year, month = (local.year - 1, 12) if local.month == 1 else (local.year, local.month - 1)
    return f"{year:04d}-{month:02d}"


def _person(connection: sa.engine.Connection, role: Role) -> _Person:
    """Return the demo user of a role, or else the first active user with it."""
    table = User.__table__
    row = connection.execute(sa.select(table.c.id, table.c.email).where(table.c.email == DEMO_EMAILS[role])).first()
    if row is None:
        row = connection.execute(sa.select(table.c.id, table.c.email)
                                 .where(table.c.role == role, table.c.is_active.is_(True))
                                 .order_by(table.c.id).limit(1)).first()
    if row is None:
        raise RuntimeError(f"No {role.value} user: run `flask --app wsgi seed-demo` first.")
    return _Person(row.id, row.email)


def _context(connection: sa.engine.Connection, *, seed: int, now: datetime, start_k: int,
             pmr_month: str) -> _Context:
    config = current_app.config
    principle, version = ExclusionPrinciple.__table__, PrincipleVersion.__table__
    newer = version.alias("newer")
    latest = (sa.select(sa.func.max(newer.c.number)).where(newer.c.principle_id == principle.c.id)
              .scalar_subquery())
    principles = [(row.id, row.code, row.wording) for row in connection.execute(
        sa.select(version.c.id, principle.c.code, version.c.wording)
        .join(principle, principle.c.id == version.c.principle_id)
        .where(principle.c.is_retired.is_(False), version.c.number == latest).order_by(principle.c.code))]
    if not principles:
        raise RuntimeError("No live exclusion principle: run `flask --app wsgi seed-demo` first.")
    today = local_date(now)
    first = today - timedelta(days=366 * YEARS + 60)
    wd = _WorkingDays(first, today + timedelta(days=400))
    horizon = today + timedelta(days=int(config["REMINDER_HORIZON_DAYS"]))
    year, month = (int(part) for part in pmr_month.split("-"))
    pmr_start, pmr_end = month_bounds(year, month)
    ids = {}
    for table in TABLES:
        if "id" in table.c:
            ids[table.name] = connection.scalar(sa.select(sa.func.coalesce(sa.func.max(table.c.id), 0))) or 0
    return _Context(
        seed=seed, now=now, today=today, start_k=start_k, dcc=_person(connection, Role.DCC),
        secas=_person(connection, Role.SECAS), opsg=_person(connection, Role.OPSG), principles=principles,
        cohorts=list(config["COHORTS"]), causes=dict(config["CAUSE_CATEGORIES"]),
        organisations=list(config["ORGANISATIONS"]), addresses=dict(config["REMINDER_ADDRESSES"]),
        review_categories=set(review_service.review_categories()), pmr_start=pmr_start, pmr_end=min(pmr_end, now),
        wd=wd, future_days=[d for d in wd.days if today < d <= horizon], ids=ids,
        message_domain=config["MAIL_MESSAGE_ID_DOMAIN"], earlier=_earlier(connection, start_k))


def _earlier(connection: sa.engine.Connection, start_k: int) -> dict[int, int]:
    wanted = {reference(k): k for k in range(max(0, start_k - 2), start_k)}
    table = Incident.__table__
    return {wanted[row.reference]: row.id for row in connection.execute(
        sa.select(table.c.reference, table.c.id).where(table.c.reference.in_(list(wanted))))}


def _flush(connection: sa.engine.Connection, rows: dict[str, list[dict[str, Any]]], added: dict[str, int]) -> None:
    """Insert the buffered rows, parents before children, in chunks."""
    for table in TABLES:
        buffered = rows[table.name]
        for start in range(0, len(buffered), ROWS_PER_INSERT):
            connection.execute(table.insert(), buffered[start:start + ROWS_PER_INSERT])
        added[table.name] += len(buffered)
        buffered.clear()


def _reset_sequences(connection: sa.engine.Connection, ids: dict[str, int]) -> None:
    """Move each PostgreSQL sequence past the ids chosen here."""
    preparer = connection.dialect.identifier_preparer
    for table in TABLES:
        if table.name in ids:
            connection.execute(
                sa.text("SELECT setval(pg_get_serial_sequence(:name, 'id'), "
                        "GREATEST(:value, (SELECT COALESCE(MAX(id), 1) FROM " + preparer.format_table(table) + ")))"),
                {"name": preparer.format_table(table), "value": max(ids[table.name], 1)})


# --- One incident and everything hanging off it ---------------------------------------------

def _category(k: int, rng: random.Random) -> int:
    if k == DETAIL_INDEX:
        return 1
    if _forced_exclusion(k):
        return rng.choice((1, 2))
    draw = rng.random()
    return 1 if draw < 0.03 else 2 if draw < 0.10 else 3 if draw < 0.40 else 4 if draw < 0.75 else 5


def _forced_exclusion(k: int) -> bool:
    return k < EXCLUDED_BELOW and k % EXCLUDED_EVERY == PMR_OFFSET


def _minutes(value: datetime) -> datetime:
    return value.replace(second=0, microsecond=0)


def _incident(k: int, ctx: _Context, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Build incident ``k`` and its dependants into ``rows``."""
    rng = random.Random((ctx.seed << 40) | k)
    now = ctx.now
    ref = reference(k)
    category = _category(k, rng)
    in_pmr = k % PMR_EVERY == PMR_OFFSET
    detected_after = timedelta(minutes=rng.randint(0, 45))
    has_detected = in_pmr or rng.random() < 0.97

    if in_pmr:
        # Resolution lands inside the PMR month; the start is set back from it.
        span = (ctx.pmr_end - ctx.pmr_start).total_seconds()
        resolved: datetime | None = _minutes(ctx.pmr_start + timedelta(seconds=span * rng.uniform(0.02, 0.98)))
        assert resolved is not None
        rule = rules_service.target_resolution(category) or {"hours": 24}
        hours = rule["hours"] if "hours" in rule else rule["working_days"] * 24 * 1.4
        started = _minutes(resolved - timedelta(hours=hours * rng.uniform(0.2, 1.3)) - detected_after)
    else:
        span = 366 * YEARS * 86400
        started = _minutes(now - timedelta(seconds=3600 + span * rng.random()))
        resolved = None
    detected = started + detected_after if has_detected else None
    # The deadline exactly as the incident service stores it.
    clock = incident_service.clock_start(cast(Incident, _Times(started, detected)))
    deadline = rules_service.target_deadline(category, clock)
    if not in_pmr:
        allowed = (deadline - clock) if deadline is not None else timedelta(hours=24)
        share = rng.uniform(0.05, 0.95) if rng.random() < 0.85 else rng.uniform(1.05, 3.0)
        resolved = _minutes(clock + allowed * share)
        resolved = max(resolved, (detected or started) + timedelta(minutes=5))
        if resolved > now:
            resolved = None
    status = IncidentStatus.OPEN if resolved is None else IncidentStatus.RESOLVED
    if resolved is not None and resolved < now - timedelta(days=30) and rng.random() < 0.6:
        status = IncidentStatus.CLOSED
    incident_id = ctx.next_id("incident")
    names = sorted(rng.sample(ctx.cohorts, min(len(ctx.cohorts), rng.choice((1, 1, 2, 2, 3)))))
    title = f"{names[0] if names else 'DCC'} {rng.choice(PROBLEMS)} {rng.choice(PLACES)}"
    cause_category = "unknown" if resolved is None and rng.random() < 0.5 else rng.choice(list(ctx.causes))
    end = resolved or now

    cohorts: list[incident_service.CohortRestoration] = []
    for index, name in enumerate(names):
        impact = min(started + timedelta(minutes=rng.randint(0, 10)), end)
        if index == 0:
            restored = resolved  # the cohort that took longest sets the resolution time
        elif resolved is not None or rng.random() < 0.5:
            restored = _minutes(impact + (end - impact) * rng.uniform(0.3, 1.0))
        else:
            restored = None
        cohorts.append(incident_service.CohortRestoration(
            name, impact, restored, int((restored - impact).total_seconds() // 60) if restored else None))
        rows["incident_cohort"].append({"id": ctx.next_id("incident_cohort"), "incident_id": incident_id,
                                        "name": name, "impact_started_at": impact, "restored_at": restored})

    created_at = min((detected or started) + timedelta(minutes=rng.randint(2, 30)), now)
    timeline = _timeline(k, rng, ctx, incident_id, cohorts, started=started, detected=detected, end=end,
                         resolved=resolved, created_at=created_at)
    rows["timeline_entry"].extend(timeline)
    updated_at = max(created_at, min(end + timedelta(minutes=rng.randint(5, 90)), now))
    rows["incident"].append({
        "id": incident_id, "reference": ref, "title": title, "category": category, "status": status,
        "started_at": started, "detected_at": detected, "resolved_at": resolved, "cause_category": cause_category,
        "cause": "" if cause_category == "unknown" else rng.choice(CAUSES), "impact": rng.choice(IMPACTS),
        "devices_affected": rng.choice((None, rng.randint(100, 5_000_000))),
        "dcc_responsible": in_pmr or rng.random() < 0.9, "target_deadline_at": deadline, "created_at": created_at,
        "updated_at": updated_at, "created_by_id": ctx.dcc.id, "version": 1,
        # Declared a Major Incident when logged, as the default rule does for the configured Categories.
        "is_major": category in ctx.review_categories,
        "major_declared_at": created_at if category in ctx.review_categories else None, "major_reason": ""})
    rows["audit_entry"].append({
        "id": ctx.next_id("audit_entry"), "at": created_at, "actor_id": ctx.dcc.id, "actor_name": ctx.dcc.email,
        "incident_id": incident_id, "entity_type": "incident", "entity_id": incident_id, "action": "create",
        "summary": f"Logged {ref}", "changes": {"reference": [None, ref], "title": [None, title],
                                                 "category": [None, category], "status": [None, status.value]}})

    facts = {"id": incident_id, "reference": ref, "title": title, "category": category, "started_at": started,
             "resolved_at": resolved, "deadline": deadline, "cause_category": cause_category,
             "devices_affected": rows["incident"][-1]["devices_affected"], "cohorts": cohorts, "timeline": timeline}
    decision_id = None
    if resolved is not None and category in ctx.review_categories:
        decision_id = _review(k, rng, ctx, facts, rows)
    if k % ACTION_EVERY == 0:
        _action(k, rng, ctx, incident_id, start=resolved or started, decision_id=decision_id, rows=rows)


def _timeline(k: int, rng: random.Random, ctx: _Context, incident_id: int,
              cohorts: list[incident_service.CohortRestoration], *, started: datetime, detected: datetime | None,
              end: datetime, resolved: datetime | None, created_at: datetime) -> list[dict[str, Any]]:
    """Return the timeline rows: detection, escalation, restorations, updates, the closing notice."""
    count = DETAIL_TIMELINE_ENTRIES if k == DETAIL_INDEX else rng.randint(2, 18)
    first = detected or started
    some = cohorts[0].name if cohorts else "the service"
    fixed: list[tuple[datetime, TimelineKind, str | None]] = [(first, TimelineKind.DETECTED, None)]
    for cohort in cohorts:
        if cohort.restored_at is not None:
            fixed.append((cohort.restored_at, TimelineKind.RESTORED, cohort.name))
    if resolved is not None:
        fixed.append((resolved + timedelta(minutes=rng.randint(5, 40)), TimelineKind.COMMUNICATION, None))
    fixed = fixed[:count]
    span = max(0, int((end - first).total_seconds() // 60))
    offsets = sorted(rng.randint(0, span) for _ in range(count - len(fixed)))
    names = [c.name for c in cohorts]
    entries = fixed + [(first + timedelta(minutes=m), rng.choice(MIDDLE_KINDS),
                        rng.choice(names) if names and rng.random() < 0.4 else None) for m in offsets]
    entries.sort(key=lambda e: e[0])
    rows = []
    now = ctx.now
    for occurred, kind, cohort_name in entries:
        occurred = min(occurred, now)
        rows.append({"id": ctx.next_id("timeline_entry"), "incident_id": incident_id, "occurred_at": occurred,
                     "kind": kind, "cohort": cohort_name,
                     "text": rng.choice(TIMELINE_TEXTS[kind]).format(c=cohort_name or some),
                     "created_at": max(created_at, min(occurred + timedelta(minutes=7), now)),
                     "created_by_id": ctx.dcc.id, "version": 1})
    return rows


def _combination(k: int, rng: random.Random, resolved: datetime, now: datetime) -> tuple[ExclusionState, ReportState]:
    if k == DETAIL_INDEX:
        return ExclusionState.AGREED, ReportState.PUBLISHED
    if _forced_exclusion(k):
        return ExclusionState.AGREED, rng.choice(_UNDECIDED_REPORTS + _DECIDED_REPORTS)
    if resolved < now - timedelta(days=120) and rng.random() < 0.45:
        # Many older reviews have run their course.
        settled = rng.choices(SETTLED, weights=(6, 3, 1))[0]
        return settled, ReportState.PUBLISHED
    return rng.choice(COMBINATIONS)


class _Steps:
    """Instants after a start, in order, squeezed so the last stays before now."""

    def __init__(self, start: datetime, now: datetime, typical_days: float = 150.0) -> None:
        self.at = start
        self.scale = min(1.0, (now - start).total_seconds() / (typical_days * 86400)) * 0.98

    def step(self, days: float) -> datetime:
        """Advance by about ``days`` (scaled) and return the new instant."""
        self.at = self.at + timedelta(days=days * self.scale)
        return self.at.replace(microsecond=0)


def _review(k: int, rng: random.Random, ctx: _Context, facts: dict[str, Any],
            rows: dict[str, list[dict[str, Any]]]) -> int | None:
    """Add the review in a reachable state with its rows; return the last decision's id, if any."""
    resolved: datetime = facts["resolved_at"]
    exclusion, report = _combination(k, rng, resolved, ctx.now)
    steps = _Steps(resolved, ctx.now)
    review_id = ctx.next_id("review")
    created_at = steps.step(0.5)
    summary_at = steps.step(1.5) if rng.random() < (0.5 if report == ReportState.NOT_STARTED else 0.95) else None
    dcc, secas = ctx.dcc, ctx.secas

    rounds = 0
    last_proposed: datetime | None = None

    def propose(exclude: bool, response: str = "") -> None:
        nonlocal rounds, last_proposed
        rounds += 1
        cited = rng.choice(ctx.principles) if exclude else None
        last_proposed = steps.step(3)
        rows["exclusion_proposal"].append({
            "id": ctx.next_id("exclusion_proposal"), "review_id": review_id, "round": rounds, "exclude": exclude,
            "principle_version_id": cited[0] if cited else None, "principle_code": cited[1] if cited else None,
            "principle_wording": cited[2] if cited else None,
            "rationale": ("Restoration was outside the control of the DCC and its Service Providers."
                          if exclude else "The DCC proposes no exclusion; the incident counts in the PMR."),
            "evidence_links": [f"https://example.org/evidence/{facts['reference']}"] if exclude and rng.random() < 0.3
            else [],
            "response": response, "proposed_by_id": dcc.id, "proposed_by_name": dcc.email,
            "proposed_at": last_proposed})

    def secas_review(outcome: ReviewOutcome) -> None:
        rows["exclusion_review"].append({
            "id": ctx.next_id("exclusion_review"), "proposal_id": ctx.ids["exclusion_proposal"], "outcome": outcome,
            "comment": {ReviewOutcome.AGREED: "Agreed: the exclusion applies to the PMR month.",
                        ReviewOutcome.DISAGREED: "Not agreed: restoration was within the DCC's control.",
                        ReviewOutcome.INFORMATION_REQUESTED: "Please explain why restoration took longer for "
                                                             "one cohort."}[outcome],
            "reviewed_by_id": secas.id, "reviewed_by_name": secas.email, "reviewed_at": steps.step(5)})

    asked_first = rng.random() < 0.3
    if exclusion == ExclusionState.INCLUDED:
        propose(False)
    elif exclusion == ExclusionState.INFORMATION_REQUESTED:
        propose(True)
        secas_review(ReviewOutcome.INFORMATION_REQUESTED)
    elif exclusion in (ExclusionState.PENDING, ExclusionState.AGREED, ExclusionState.DISAGREED):
        propose(True)
        if asked_first:
            secas_review(ReviewOutcome.INFORMATION_REQUESTED)
            propose(True, response="The cohort's equipment needed a site visit, arranged as fast as access allowed.")
        if exclusion != ExclusionState.PENDING:
            secas_review(ReviewOutcome.AGREED if exclusion == ExclusionState.AGREED else ReviewOutcome.DISAGREED)

    number = 0
    frozen_id: int | None = None
    frozen_row: dict[str, Any] | None = None
    decision_id: int | None = None
    sections = dict(SECTIONS, summary=SECTIONS["summary"].format(p=facts["title"].lower(),
                                                                   c=facts["cohorts"][0].name if facts["cohorts"]
                                                                   else "the service"))

    def version(frozen: bool) -> None:
        nonlocal number, frozen_id, frozen_row
        number += 1
        version_id = ctx.next_id("report_version")
        at = steps.step(7)
        row = {
            "id": version_id, "review_id": review_id, "number": number, "is_frozen": frozen,
            "classification": Classification.AMBER, "sections": sections,
            "generated": _generated(ctx, facts, exclusion, rows, review_id) if frozen else None,
            "created_at": at, "created_by_id": dcc.id, "created_by_name": dcc.email,
            "submitted_at": steps.step(2) if frozen else None, "submitted_by_name": dcc.email if frozen else None}
        rows["report_version"].append(row)
        if frozen:
            frozen_id, frozen_row = version_id, row

    def decide(outcome: DecisionOutcome) -> None:
        nonlocal decision_id
        assert frozen_id is not None
        at = steps.step(20)
        held_on = local_date(at)
        decision_id = ctx.next_id("decision")
        rows["decision"].append({
            "id": decision_id, "review_id": review_id, "meeting": f"OPSG_{_opsg_number(held_on)}",
            "meeting_on": held_on, "outcome": outcome,
            "minute": f"The group considered the review of {facts['reference']}: {outcome.value.replace('_', ' ')}.",
            "actions_text": "", "report_version_id": frozen_id, "recorded_by_id": secas.id,
            "recorded_by_name": secas.email, "recorded_at": at})

    settled = exclusion in SETTLED
    earlier_cycle = settled and report != ReportState.NOT_STARTED and rng.random() < 0.2
    if report != ReportState.NOT_STARTED:
        if earlier_cycle:
            version(True)
            decide(DecisionOutcome.NOT_AGREED)
        for _ in range(rng.choice((0, 1)) if report != ReportState.DRAFT else rng.choice((1, 2))):
            version(False)
        if report != ReportState.DRAFT:
            version(True)
        if report in _DECIDED_REPORTS:
            if report in (ReportState.AGREED, ReportState.PUBLISHED) and rng.random() < 0.2:
                decide(DecisionOutcome.DEFERRED)
            decide({ReportState.NOT_AGREED: DecisionOutcome.NOT_AGREED, ReportState.DEFERRED: DecisionOutcome.DEFERRED}
                   .get(report, DecisionOutcome.AGREED))
        if report == ReportState.PUBLISHED:
            agreed = frozen_row
            assert agreed is not None
            rows["publication"].append({
                "id": ctx.next_id("publication"), "review_id": review_id, "report_version_id": frozen_id,
                "classification": rng.choice((Classification.GREEN, Classification.WHITE)),
                "published_by_id": secas.id, "published_by_name": secas.email, "published_at": steps.step(2),
                # The edition's snapshot, as publishing takes it (incidents.review.edition.take_snapshot).
                "reference": facts["reference"], "title": facts["title"], "version_number": agreed["number"],
                "supersedes_version": None, "supersedes_published_at": None,
                "snapshot": {"sections": agreed["sections"], "generated": agreed["generated"]}})
    for _ in range(rng.choice((0, 0, 0, 1, 2))):
        author = rng.choice((ctx.dcc, ctx.secas, ctx.opsg))
        rows["review_comment"].append({
            "id": ctx.next_id("review_comment"), "review_id": review_id, "author_id": author.id,
            "author_name": author.email, "body": "Members asked how long the slowest cohort took to restore.",
            "created_at": steps.step(2)})
    rows["review"].append({
        "id": review_id, "incident_id": facts["id"], "incident_category": facts["category"],
        "incident_is_major": True, "exclusion_state": exclusion, "report_state": report,
        "summary_submitted_at": summary_at, "created_at": created_at, "updated_at": steps.at.replace(microsecond=0),
        "version": 1})
    _incident_reminders(rng, ctx, facts, exclusion=exclusion, report=report, summary_done=summary_at is not None,
                        rounds=rounds, proposed=last_proposed, rows=rows)
    return decision_id


def _opsg_number(day: date) -> int:
    """Number OPSG meetings monthly from OPSG_97 in June 2023, as the demo data does."""
    return max(1, 97 + (day.year - 2023) * 12 + (day.month - 6))


def _generated(ctx: _Context, facts: dict[str, Any], exclusion: ExclusionState, rows: dict[str, list[dict[str, Any]]],
               review_id: int) -> dict[str, Any]:
    """Return the sections a submission captures, in the report service's shape."""
    started, resolved, deadline = facts["started_at"], facts["resolved_at"], facts["deadline"]
    proposals = [p for p in rows["exclusion_proposal"][-3:] if p["review_id"] == review_id]
    proposal = proposals[-1] if proposals else None
    longest = incident_service.longest_restoration(facts["cohorts"])
    local = to_local(resolved)
    return {
        "facts": {
            "reference": facts["reference"], "title": facts["title"], "category": facts["category"],
            "started_at": started.isoformat(), "resolved_at": resolved.isoformat(),
            "duration_minutes": int((resolved - started).total_seconds() // 60),
            "target": ctx.target(facts["category"]),
            "within_target": resolved <= deadline if deadline is not None else None,
            "pmr_month": f"{local.year:04d}-{local.month:02d}",
            "cause_category": ctx.causes.get(facts["cause_category"], facts["cause_category"]),
            "devices_affected": facts["devices_affected"],
        },
        "timeline": [{"occurred_at": e["occurred_at"].isoformat(), "kind": e["kind"].value, "cohort": e["cohort"],
                      "text": e["text"]} for e in facts["timeline"]],
        "cohorts": [{"name": c.name, "impact_started_at": c.impact_started_at.isoformat(),
                     "restored_at": c.restored_at.isoformat() if c.restored_at else None, "minutes": c.minutes}
                    for c in facts["cohorts"]],
        "longest": longest.describe() if longest else None,
        "pmr": {
            "state": exclusion.value, "label": review_service.EXCLUSION_LABELS[exclusion],
            "excluded": exclusion == ExclusionState.AGREED,
            "exclusion_pending": exclusion in (ExclusionState.PENDING, ExclusionState.INFORMATION_REQUESTED),
            "principle_code": proposal["principle_code"] if proposal and proposal["exclude"] else None,
            "principle_wording": proposal["principle_wording"] if proposal and proposal["exclude"] else None,
            "rationale": proposal["rationale"] if proposal else None,
        },
    }


# --- Actions ----------------------------------------------------------------------------

def action_reference(j: int) -> str:
    """Return generated action number ``j``'s reference (BENCH m/nn, as the action rules allow)."""
    return f"{ACTION_GROUP} {j // ACTIONS_PER_MEETING + 1}/{j % ACTIONS_PER_MEETING + 1:02d}"


def _action(k: int, rng: random.Random, ctx: _Context, incident_id: int, *, start: datetime,
            decision_id: int | None, rows: dict[str, list[dict[str, Any]]]) -> None:
    """Add the action raised about incident ``k``, linked to it and perhaps to the two before it."""
    j = k // ACTION_EVERY
    ref = action_reference(j)
    action_id = ctx.next_id("action")
    today = ctx.today
    raised = min(local_date(start) + timedelta(days=rng.randint(1, 40)), today)
    original = raised + timedelta(days=rng.randint(14, 120))
    target = original
    revised = rng.random() < 0.2
    if revised:
        target = original + timedelta(days=rng.randint(14, 60))
        rows["action_target_revision"].append({
            "id": ctx.next_id("action_target_revision"), "action_id": action_id, "previous_on": original,
            "target_on": target, "reason": "The owner asked for more time to agree the approach.",
            "revised_by_name": ctx.secas.email,
            "revised_at": min(datetime.combine(raised + timedelta(days=7), datetime.min.time(), UTC)
                              + timedelta(hours=10), ctx.now)})
    # Plenty stay open (and overdue): the register's reminders are most of the planned mail.
    closed = target < today - timedelta(days=7) and rng.random() < 0.6
    closed_at = min(datetime.combine(target - timedelta(days=rng.randint(0, 10)), datetime.min.time(), UTC)
                    + timedelta(hours=15), ctx.now) if closed else None
    org = rng.choices(ctx.organisations, weights=[6 if o == "dcc" else 2 for o in ctx.organisations])[0]
    owner = {"dcc": ctx.dcc, "secas": ctx.secas, "opsg": ctx.opsg}.get(org) if rng.random() < 0.7 else None
    created = min(datetime.combine(raised, datetime.min.time(), UTC) + timedelta(hours=11), ctx.now)
    text = rng.choice(ACTION_TEXTS).format(r=reference(k))
    rows["action"].append({
        "id": action_id, "reference": ref, "reference_key": action_service.reference_key(ref), "group": ACTION_GROUP,
        "meeting_number": j // ACTIONS_PER_MEETING + 1,
        "text": text, "owner_org": org, "owner_user_id": owner.id if owner else None, "raised_on": raised,
        "target_on": target, "original_target_on": original,
        "status": ActionStatus.CLOSED if closed else ActionStatus.OPEN,
        "closing_note": "Done; reported to the group." if closed else "", "closed_at": closed_at,
        "decision_id": decision_id if decision_id is not None and rng.random() < 0.5 else None,
        "created_at": created, "updated_at": max(created, closed_at or created), "version": 1})
    for back in range(rng.choice((0, 0, 1, 2)) + 1):
        # Incidents of this run have consecutive ids; the two before it were looked up.
        linked = incident_id - back if k - back >= ctx.start_k else ctx.earlier.get(k - back)
        if linked is not None:
            rows["action_incident"].append({"action_id": action_id, "incident_id": linked})
    recipients = ([ctx.addresses[org]] if org in ctx.addresses else []) + ([owner.email] if owner else [])
    link = "/actions/" + quote(action_service.slug(ref))
    short = text if len(text) <= 100 else text[:97] + "..."
    future = 0 if closed else rng.randint(6, 10)
    past = rng.randint(1, 3) if closed else rng.randint(0, 2)

    def label(day: date) -> str:
        if day == target:
            return "due today"
        if day < target:
            return f"due in {_plural(ctx.wd.between(day, target), 'working day')}"
        return f"overdue by {_plural((day - target).days, 'day')}"

    for day, state in _reminder_days(rng, ctx, since=raised, future=future, past=past):
        text_label = label(day)
        _reminder(ctx, rng, rows, key=f"action:{action_id}:{day.isoformat()}", kind=ReminderKind.ACTION,
                  incident_id=None, action_id=action_id, subject=f"[Action {text_label}] {ref} {short}",
                  label=text_label, recipients=recipients, link=link, deadline=target, day=day, state=state,
                  since=created)


# --- Reminders --------------------------------------------------------------------------

def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _reminder_days(rng: random.Random, ctx: _Context, *, since: date, future: int,
                   past: int) -> Iterator[tuple[date, ReminderState]]:
    """Pick distinct Working Days: ``past`` between ``since`` and today, ``future`` within the horizon."""
    wd = ctx.wd
    low, high = wd.index_after(since), wd.index_after(ctx.today - timedelta(days=1))
    # high: index of the first Working Day on or after today; past days lie strictly before it.
    past = min(past, max(0, high - low))
    for index in sorted(rng.sample(range(low, high), past)) if past else []:
        draw = rng.random()
        # Nothing from the past is left pending: a sweep would send it as soon as the set is used.
        yield wd.days[index], ReminderState.SENT if draw < 0.85 else ReminderState.CANCELLED
    future = min(future, len(ctx.future_days))
    for day in sorted(rng.sample(ctx.future_days, future)) if future else []:
        yield day, ReminderState.PENDING if rng.random() < 0.92 else ReminderState.CANCELLED


def _incident_reminders(rng: random.Random, ctx: _Context, facts: dict[str, Any], *, exclusion: ExclusionState,
                        report: ReportState, summary_done: bool, rounds: int, proposed: datetime | None,
                        rows: dict[str, list[dict[str, Any]]]) -> None:
    """Add a review's reminders: history for its deadlines, and pending ones for the steps still open."""
    resolved: datetime = facts["resolved_at"]
    summary_due, review_due = rules_service.report_due_dates(resolved)
    open_kinds = []
    if not summary_done:
        open_kinds.append(ReminderKind.SUMMARY_REPORT)
    if report in (ReportState.NOT_STARTED, ReportState.DRAFT):
        open_kinds.append(ReminderKind.REVIEW_REPORT)
    if exclusion == ExclusionState.PENDING and proposed is not None:
        open_kinds.append(ReminderKind.SECAS_REVIEW)
    ready = report in (ReportState.SUBMITTED, ReportState.DEFERRED) and exclusion in SETTLED
    if ready:
        open_kinds.append(ReminderKind.OPSG_DECISION)
    future = rng.randint(15, 25) if open_kinds else 0
    past = rng.randint(2, 6)
    ref, title = facts["reference"], facts["title"]
    link = f"/incidents/{quote(ref)}/review"
    team = [ctx.addresses["dcc"]] if "dcc" in ctx.addresses else []
    dcc_people = team + ([ctx.dcc.email] if ctx.dcc.email not in team else [])
    since = local_date(resolved)
    meeting_used = False
    for day, state in _reminder_days(rng, ctx, since=since, future=future, past=past):
        kind = rng.choice(open_kinds) if day > ctx.today else rng.choice(
            (ReminderKind.SUMMARY_REPORT, ReminderKind.REVIEW_REPORT, ReminderKind.REVIEW_REPORT))
        if kind == ReminderKind.OPSG_DECISION and meeting_used:
            kind = ReminderKind.REVIEW_REPORT if ReminderKind.REVIEW_REPORT in open_kinds else open_kinds[0]
        if kind == ReminderKind.OPSG_DECISION and meeting_used:
            continue
        deadline: date | None
        key = f"{kind.value}:incident:{facts['id']}:{day.isoformat()}"
        if kind in (ReminderKind.SUMMARY_REPORT, ReminderKind.REVIEW_REPORT):
            deadline = summary_due if kind == ReminderKind.SUMMARY_REPORT else review_due
            if day == deadline:
                label = "due today"
            elif day < deadline:
                label = f"due in {_plural(ctx.wd.between(day, deadline), 'working day')}"
            else:
                label = f"overdue by {_plural(ctx.wd.between(deadline, day), 'working day')}"
            prefix = "Summary Report" if kind == ReminderKind.SUMMARY_REPORT else "Review Report"
            recipients = dcc_people
        elif kind == ReminderKind.SECAS_REVIEW:
            assert proposed is not None
            deadline, prefix, recipients = None, "Exclusion review", [ctx.addresses.get("secas", ctx.secas.email)]
            proposed_on = local_date(proposed)
            waited = ctx.wd.between(proposed_on, day) if day >= proposed_on else 0
            label = f"pending {_plural(waited, 'working day')}"
            key = f"{kind.value}:incident:{facts['id']}:r{rounds}:{day.isoformat()}"
        else:
            meeting_used = True
            held_on = ctx.wd.add(day, 5)
            meeting = f"OPSG_{_opsg_number(held_on)}"
            deadline, prefix = held_on, "OPSG decision due"
            label = f"at {meeting} on {held_on.day} {held_on:%b %Y}"
            recipients = [ctx.addresses[o] for o in ("opsg", "secas") if o in ctx.addresses]
            key = f"{kind.value}:incident:{facts['id']}:{meeting}"
        _reminder(ctx, rng, rows, key=key, kind=kind, incident_id=facts["id"], action_id=None,
                  subject=f"[{prefix} {label}] {ref} {title}", label=label, recipients=recipients, link=link,
                  deadline=deadline, day=day, state=state,
                  since=datetime.combine(since, datetime.min.time(), UTC))


def _reminder(ctx: _Context, rng: random.Random, rows: dict[str, list[dict[str, Any]]], *, key: str,
              kind: ReminderKind, incident_id: int | None, action_id: int | None, subject: str, label: str,
              recipients: list[str], link: str, deadline: date | None, day: date, state: ReminderState,
              since: datetime) -> None:
    send_at = ctx.send_at(day)
    now = ctx.now
    created = min(max(since, send_at - timedelta(days=rng.randint(1, 45))), now)
    sent = state == ReminderState.SENT
    rows["reminder"].append({
        "id": ctx.next_id("reminder"), "key": key, "kind": kind, "incident_id": incident_id, "action_id": action_id,
        "subject": subject[:300], "label": label[:120], "recipients": recipients, "link_path": link,
        "deadline_on": deadline, "send_at": send_at, "state": state,
        # A few went out only after a retry (a sent row keeps its attempts, not its error).
        "attempts": (1 if rng.random() < 0.97 else rng.randint(2, 4)) if sent else 0,
        "last_error": None, "next_attempt_at": None,
        "lease_until": None, "claimed_by": "bench-worker:1" if sent else None,
        # The reminder service's Message-ID form: stable per occurrence, so a resend threads.
        "message_id": f"<reminder.{hashlib.sha256(key.encode()).hexdigest()[:24]}@{ctx.message_domain}>",
        "sent_at": min(send_at + timedelta(seconds=rng.randint(1, 90)), now) if sent else None,
        "cancelled_at": (min(max(created, send_at - timedelta(hours=rng.randint(1, 72))), now)
                         if state == ReminderState.CANCELLED else None),
        "created_at": created})


# --- Command line -------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    """Generate up to --incidents incidents in the configured database (DATABASE_URL) and report."""
    parser = argparse.ArgumentParser(prog="python -m bench.generate", description=__doc__.splitlines()[0])
    parser.add_argument("--incidents", type=int, required=True, help="generated incidents wanted in total")
    parser.add_argument("--seed", type=int, default=1905)
    parser.add_argument("--analyze", action="store_true", help="refresh the planner statistics afterwards")
    args = parser.parse_args(argv)
    from incidents import create_app
    from incidents.extensions import db

    app = create_app()
    with app.app_context():
        with db.engine.begin() as connection:
            result = generate(connection, incidents=args.incidents, seed=args.seed)
        if args.analyze:
            with db.engine.begin() as connection:
                connection.exec_driver_sql("ANALYZE")
        db.engine.dispose()
    print(f"Added {result.incidents} incident(s), {result.timeline_entries} timeline entries, "
          f"{result.actions} action(s), {result.reviews} review(s), {result.reminders} reminder(s) "
          f"in {result.seconds:.1f} s.")
    print(f"detail_reference={result.detail_reference} pmr_month={result.pmr_month}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
