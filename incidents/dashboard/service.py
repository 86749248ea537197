"""The home page after login: what each role must do next, where reviews stand, this month's measures.

Everything comes from a fixed handful of queries whatever the number of
incidents: one for the reviews that need someone (their cohorts load in one
more), grouped counts, the month's measures, overdue actions, the next meeting.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app

from incidents import labels, permissions
from incidents.action import service as action_service
from incidents.action.models import Action, ActionStatus
from incidents.extensions import db
from incidents.incident.models import Incident
from incidents.meeting import service as meeting_service
from incidents.meeting.models import Meeting
from incidents.pmr import service as pmr_service
from incidents.report.models import Classification
from incidents.review import workflow
from incidents.review.models import (
    ExclusionState,
    Publication,
    ReportState,
    Review,
)
from incidents.rules import service as rules_service
from incidents.timeutil import local_date, utcnow
from incidents.user.models import Role

OVERDUE_ACTIONS_SHOWN = 10
# The reviews whose next steps are worked out (the longest waiting, whose steps fall due first), and how
# many of those steps are shown: the page costs the same with a hundred reviews open or ten thousand.
TASK_CANDIDATES = 50
TASKS_SHOWN = 25
PUBLISHED_SHOWN = 10
# Whose next steps each role sees; an administrator sees everyone's.
ROLE_ACTORS = {Role.DCC: {"DCC"}, Role.SECAS: {"SECAS"}, Role.OPSG: {"OPSG"}, Role.ADMIN: set(workflow.PARTIES)}


# Where each step is taken: the page (endpoint) and the part of it (anchor, "" for the top).
STEP_PAGES: dict[workflow.Step, tuple[str, str]] = {
    workflow.Step.SUMMARY_REPORT: ("review.summary_report", "write-heading"),
    workflow.Step.PROPOSE: ("review.show", "pmr"),
    workflow.Step.ANSWER_REQUEST: ("review.show", "pmr"),
    workflow.Step.REVIEW_EXCLUSION: ("review.show", "pmr"),
    workflow.Step.WRITE_REPORT: ("report.edit_report", ""),
    workflow.Step.SUBMIT_REPORT: ("report.edit_report", ""),
    workflow.Step.WITHDRAW_REPORT: ("review.show", "report"),
    workflow.Step.RECORD_DECISION: ("review.show", "decisions"),
    workflow.Step.PUBLISH: ("review.show", "publications"),
    workflow.Step.COMMENT: ("review.show", "comments"),
}


@dataclass
class Task:
    """One thing someone can do now on one review, and where it is done."""

    who: str
    what: str
    reference: str
    title: str
    due_on: date | None
    waiting_since: datetime | None
    is_overdue: bool
    step: workflow.Step | None = None
    holds_up: str = ""  # who waits until it is done ("" when no one but its deadline)
    today: date | None = None  # the day the list was drawn up (the Working Days count from it)

    @functools.cached_property
    def working_days_left(self) -> int | None:
        """Return the Working Days from today to the due date (negative: overdue by); only shown tasks ask."""
        if self.due_on is None or self.today is None:
            return None
        return rules_service.calendar().working_days_between(self.today, self.due_on)

    @property
    def endpoint(self) -> str:
        """Return the endpoint of the page where the step is taken."""
        return STEP_PAGES[self.step][0] if self.step else "review.show"

    @property
    def anchor(self) -> str | None:
        """Return the part of that page where the step is taken (None for the top)."""
        return (STEP_PAGES[self.step][1] or None) if self.step else None

    @property
    def urgency(self) -> int:
        """Return the task's group: 0 overdue, 1 someone else waits on it, 2 the rest (by due date)."""
        return 0 if self.is_overdue else 1 if self.holds_up else 2

    @property
    def deadline_note(self) -> str:
        """Say how the due date stands in Working Days: 'today', '3 Working Days left', '2 Working Days late'."""
        left = self.working_days_left
        if left is None:
            return ""
        if left == 0:
            return "due today" if not self.is_overdue else "late"
        days = abs(left)
        words = f"{days} Working Day{'' if days == 1 else 's'}"
        return f"{words} left" if left > 0 else f"{words} late"


@dataclass
class Count:
    """How many reviews stand in one state."""

    key: str
    label: str
    count: int


@dataclass
class OverdueAction:
    """An open action past its target date."""

    reference: str
    text: str
    owner: str
    target_on: date
    days_overdue: int
    is_mine: bool


@dataclass
class UndatedAction:
    """An open action whose target is TBC: someone has to give it a date."""

    reference: str
    slug: str
    text: str
    owner: str
    raised_on: date
    is_mine: bool


@dataclass
class PublishedRow:
    """A published report as the dashboard lists it."""

    reference: str
    title: str
    published_at: datetime
    version: int
    classification: Classification
    supersedes_version: int | None = None
    supersedes_published_at: datetime | None = None

    @property
    def edition_label(self) -> str:
        """Say which edition this is: 'version 2, superseding version 1', or 'version 1'."""
        label = f"version {self.version}"
        return label if self.supersedes_version is None else f"{label}, superseding version {self.supersedes_version}"


@dataclass
class Dashboard:
    """What the home page shows one person."""

    role: Role
    today: date
    is_reader: bool
    tasks: list[Task] = field(default_factory=list)
    report_counts: list[Count] = field(default_factory=list)
    exclusion_counts: list[Count] = field(default_factory=list)
    month: str = ""
    month_label: str = ""
    measures: list[pmr_service.Measure] = field(default_factory=list)
    overdue_actions: list[OverdueAction] = field(default_factory=list)
    overdue_actions_total: int = 0
    undated_actions: list[UndatedAction] = field(default_factory=list)
    undated_actions_total: int = 0
    next_meeting: Meeting | None = None
    reviews_waiting: int = 0
    tasks_limit: int = TASKS_SHOWN
    published: list[PublishedRow] = field(default_factory=list)

    @property
    def status_labels(self) -> dict[str, str]:
        """Return the words for a measure's status."""
        return pmr_service.STATUS_LABELS

    @property
    def overdue_tasks(self) -> list[Task]:
        """Return the tasks past their due date."""
        return [t for t in self.tasks if t.urgency == 0]

    @property
    def held_up_tasks(self) -> list[Task]:
        """Return the tasks not overdue that someone else waits on."""
        return [t for t in self.tasks if t.urgency == 1]

    @property
    def upcoming_tasks(self) -> list[Task]:
        """Return the other tasks (with a due date first, soonest first)."""
        return [t for t in self.tasks if t.urgency == 2]


@dataclass(frozen=True)
class Waiting:
    """The review states in which one party may have a step to take (next_steps decides the rest)."""

    exclusion: frozenset[ExclusionState]
    report: frozenset[ReportState]
    unstarted: bool  # a major incident with no review yet
    summary: bool = False  # a Summary Report not yet recorded as sent

    def matches(self, report: ReportState | None, exclusion: ExclusionState | None) -> bool:
        """Tell whether a review in these states (None, None: none yet) may wait on this party."""
        if report is None:
            return self.unstarted
        return exclusion in self.exclusion or report in self.report


def _waiting(party: str) -> Waiting:
    exclusion, report = workflow.waits_on(party)
    summary = workflow.waits_on_summary(party)
    unstarted = ExclusionState.NOT_PROPOSED in exclusion or ReportState.NOT_STARTED in report or summary
    return Waiting(exclusion, report, unstarted, summary)


WAITING = {party: _waiting(party) for party in workflow.PARTIES}


def _task_scope(role: Role) -> tuple[sa.ColumnElement[bool] | None, bool]:
    """Return which started reviews can hold a step for this role (None: none) and whether unstarted ones can."""
    clauses = []
    unstarted = False
    for actor in sorted(ROLE_ACTORS.get(role, set())):
        waiting = WAITING[actor]
        unstarted = unstarted or waiting.unstarted
        if waiting.exclusion:
            clauses.append(Review.exclusion_state.in_(sorted(waiting.exclusion)))
        if waiting.report:
            clauses.append(Review.report_state.in_(sorted(waiting.report)))
        if waiting.summary:
            clauses.append(Review.summary_submitted_at.is_(None))
    return (sa.or_(*clauses) if clauses else None), unstarted


def _summary_only(role: Role) -> bool:
    """Tell whether, of a Major Incident with no review yet, only its Summary Report can wait on this role."""
    return all(ExclusionState.NOT_PROPOSED not in WAITING[actor].exclusion
               and ReportState.NOT_STARTED not in WAITING[actor].report for actor in ROLE_ACTORS.get(role, set()))


def _major_ids() -> sa.Select[Any]:
    """Return the ids of the declared Major Incidents, which need a review (read from their index alone)."""
    return sa.select(Incident.id).where(Incident.is_major.is_(True))


# Up to this many reviews waiting on a role, its candidates are those waiting longest, read from the review
# table alone (each review keeps its incident's category); beyond, they are found by walking the major incidents
# in start order, which stops early when so many wait.
REVIEW_DRIVEN_UP_TO = 2000


def _held_up_scope(role: Role) -> sa.ColumnElement[bool] | None:
    """Return which started reviews can hold a step of this role that someone else waits on (None: none)."""
    clauses: list[sa.ColumnElement[bool]] = []
    for actor in sorted(ROLE_ACTORS.get(role, set())):
        for exclusions, reports in workflow.holds_up_states(actor):
            both = []
            if exclusions is not None:
                both.append(Review.exclusion_state.in_(sorted(exclusions)))
            if reports is not None:
                both.append(Review.report_state.in_(sorted(reports)))
            clauses.append(sa.and_(*both))
        if workflow.waits_on_summary(actor) and actor == "DCC":
            clauses.append(Review.summary_submitted_at.is_(None))
    return sa.or_(*clauses) if clauses else None


def _task(incident: Incident, review: Review | None, step: workflow.NextStep, *, today: date) -> Task:
    """Return one step as the dashboard lists it."""
    since = review.updated_at if review is not None else (incident.resolved_at or incident.started_at)
    return Task(who=step.who, what=step.what, reference=incident.reference, title=incident.title,
                due_on=step.due_on, waiting_since=since,
                is_overdue=step.due_on is not None and step.due_on < today, step=step.step,
                holds_up=step.holds_up, today=today)


def _urgency_key(task: Task) -> tuple[int, date, bool, float, str, str]:
    """Sort overdue first, then what someone else waits on, then by due date; then what holds someone up, then
    the longest waiting."""
    return (task.urgency, task.due_on or date.max, not task.holds_up,
            task.waiting_since.timestamp() if task.waiting_since else float("inf"), task.reference, task.what)


def tasks_for(role: Role, *, today: date, limit: int | None = None,
              rows: list[tuple[Any, Any, int]] | None = None) -> list[Task]:
    """Return the steps this role can take now, overdue first, then what others wait on, then by due date.

    Only the steps the workflow allows now are listed (``workflow.to_do``), each once. With ``limit``, only the
    ``TASK_CANDIDATES`` reviews waiting longest, and as many of those holding someone else up, are looked at, and
    ``limit`` steps returned. ``rows`` (the grouped state counts, when already read) tell how many reviews wait, to
    choose the plan.
    """
    actors = ROLE_ACTORS.get(role, set())
    if not actors:
        return []
    started, unstarted = _task_scope(role)
    if rows is not None:
        unstarted = unstarted and any(report is None for report, _, _ in rows)
    waiting = reviews_waiting(role, rows) if rows is not None else 0
    majors = Incident.is_major.is_(True)
    if waiting > REVIEW_DRIVEN_UP_TO:
        scope = [started] if started is not None else []
        if unstarted:
            scope.append(Review.id.is_(None))
        picked = (sa.select(Incident.id).outerjoin(Review, Review.incident_id == Incident.id)
                  .where(majors, sa.or_(*scope)).order_by(Incident.started_at, Incident.id))
    else:
        # Waiting since: a review's last change; an incident without a review, its resolution (or start).
        parts = []
        if started is not None:
            parts.append(sa.select(Review.incident_id.label("id"), Review.updated_at.label("since"))
                         .where(started, Review.incident_is_major.is_(True)))
        if unstarted:
            unstarted_rows = (sa.select(Incident.id, sa.func.coalesce(Incident.resolved_at, Incident.started_at))
                              # Majors with no review, as an anti-join read from the Major Incident index (a set
                              # difference made PostgreSQL hash all 100,000 incidents).
                              .where(Incident.is_major.is_(True),
                                     ~sa.exists().where(Review.incident_id == Incident.id)))
            if _summary_only(role):
                # Only the Summary Report can wait on this role before a review starts: it follows resolution.
                unstarted_rows = unstarted_rows.where(Incident.resolved_at.is_not(None))
            parts.append(unstarted_rows)
        if not parts:
            return []
        candidates = sa.union_all(*parts).subquery() if len(parts) > 1 else parts[0].subquery()
        picked = sa.select(candidates.c.id).order_by(candidates.c.since, candidates.c.id)
    chosen: sa.Select[Any] | sa.CompoundSelect = picked
    held_up = _held_up_scope(role)
    if limit is not None:
        longest = picked.limit(TASK_CANDIDATES).subquery()
        chosen = sa.select(longest.c.id)
        if held_up is not None:
            # However many reviews wait longer, those where someone else waits on this role are looked at too: a
            # question SECAS asked today is listed before deadlines weeks away.
            holding = (sa.select(Review.incident_id.label("id")).where(held_up, Review.incident_is_major.is_(True))
                       .order_by(Review.updated_at, Review.incident_id).limit(TASKS_SHOWN).subquery())
            chosen = sa.union(chosen, sa.select(holding.c.id))
    # The candidates are picked and loaded in one statement, with only the columns the next steps and the task
    # list read: each row becomes two light objects. Whether a review was ever published (the PMR treatment is then
    # fixed) comes in one more statement for them all.
    loaded = db.session.execute(
        sa.select(Incident, Review).outerjoin(Review, Review.incident_id == Incident.id)
        .where(Incident.id.in_(chosen.scalar_subquery()))
        .order_by(Incident.started_at, Incident.id)
        .options(sa.orm.load_only(Incident.reference, Incident.title, Incident.category, Incident.is_major,
                                  Incident.started_at, Incident.resolved_at, raiseload=True),
                 sa.orm.load_only(Review.exclusion_state, Review.report_state, Review.summary_submitted_at,
                                  Review.updated_at, raiseload=True),
                 sa.orm.selectinload(Review.publications).load_only(Publication.id, raiseload=True),
                 sa.orm.lazyload(Incident.cohorts)))
    tasks: list[Task] = []
    seen: set[tuple[str, str, str]] = set()
    for incident, review in loaded:
        for step in workflow.to_do(incident, review, today=today):
            key = (step.who, step.what, incident.reference)
            if step.who in actors and key not in seen:
                seen.add(key)
                tasks.append(_task(incident, review, step, today=today))
    tasks.sort(key=_urgency_key)
    return tasks if limit is None else tasks[:limit]


def reviews_waiting(role: Role, rows: list[tuple[Any, Any, int]]) -> int:
    """Count the reviews that may hold a step for this role, from the grouped state counts."""
    actors = ROLE_ACTORS.get(role, set())
    return sum(count for report, exclusion, count in rows
               if any(WAITING[actor].matches(report, exclusion) for actor in actors))


def state_rows() -> list[tuple[ReportState | None, ExclusionState | None, int]]:
    """Count the major incidents by (report state, PMR treatment) of their review (None, None: no review yet).

    The reviews are counted from the review state index (which holds whether each one's incident is declared a
    Major Incident), and the Major Incidents from their index: those without a review are the difference.
    """
    reviews = (sa.select(sa.literal(False).label("majors"), Review.report_state, Review.exclusion_state,
                         sa.func.count()).where(Review.incident_is_major.is_(True))
               .group_by(Review.report_state, Review.exclusion_state))
    majors = sa.select(sa.literal(True), sa.null(), sa.null(), sa.func.count()).where(Incident.is_major.is_(True))
    rows: list[tuple[ReportState | None, ExclusionState | None, int]] = []
    majors_count = 0
    found: list[Any] = list(db.session.execute(sa.union_all(reviews, majors)))
    for is_majors, report, exclusion, count in found:
        if is_majors:
            majors_count = int(count)
        else:
            rows.append((report, exclusion, int(count)))
    unstarted = majors_count - sum(count for _, _, count in rows)
    return rows + [(None, None, unstarted)] if unstarted else rows


def state_counts(rows: list[tuple[Any, Any, int]] | None = None) -> tuple[list[Count], list[Count]]:
    """Count the reviews of major incidents by report state and by PMR treatment (unstarted ones included)."""
    rows = state_rows() if rows is None else rows
    reports = {state: 0 for state in ReportState}
    exclusions = {state: 0 for state in ExclusionState}
    for report_state, exclusion_state, count in rows:
        reports[report_state or ReportState.NOT_STARTED] += int(count)
        exclusions[exclusion_state or ExclusionState.NOT_PROPOSED] += int(count)
    # The states in the words every page uses for them (incidents.labels), under the table's caption.
    return ([Count(s.value, labels.label(s), n) for s, n in reports.items()],
            [Count(s.value, labels.label(s), n) for s, n in exclusions.items()])


def overdue_actions(role: Role, *, today: date) -> tuple[list[OverdueAction], int]:
    """Return the most overdue open actions (the role's own first) and how many are overdue in all."""
    scope = (Action.status == ActionStatus.OPEN, Action.target_on < today)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Action).where(*scope)) or 0
    # The role's own first, then the others: two walks of the (status, target date) index in one statement,
    # each stopping after a screenful, rather than sorting every overdue action.
    columns = sa.select(Action.reference, Action.text, Action.owner_org, Action.target_on).where(*scope)
    walks = [columns.where(owner).order_by(Action.target_on, Action.reference).limit(OVERDUE_ACTIONS_SHOWN)
             .subquery() for owner in (Action.owner_org == role.value, Action.owner_org != role.value)]
    found = db.session.execute(sa.union_all(*(sa.select(walk) for walk in walks))).all()
    rows = sorted(found, key=lambda r: (r.owner_org != role.value, r.target_on, r.reference))[:OVERDUE_ACTIONS_SHOWN]
    owners = current_app.config["ORGANISATIONS"]
    return ([OverdueAction(reference=r, text=t, owner=owners.get(o, o), target_on=on, days_overdue=(today - on).days,
                           is_mine=o == role.value) for r, t, o, on in rows], int(total))


def undated_actions(role: Role) -> tuple[list[UndatedAction], int]:
    """Return the open actions whose target is TBC (the role's own first, oldest first) and how many in all."""
    scope = (Action.status == ActionStatus.OPEN, Action.target_on.is_(None))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(Action).where(*scope)) or 0
    rows = db.session.execute(
        sa.select(Action.reference, Action.text, Action.owner_org, Action.raised_on).where(*scope)
        .order_by(sa.case((Action.owner_org == role.value, 0), else_=1), Action.raised_on, Action.reference)
        .limit(OVERDUE_ACTIONS_SHOWN)).all()
    owners = current_app.config["ORGANISATIONS"]
    return ([UndatedAction(reference=r, slug=action_service.slug(r), text=t, owner=owners.get(o, o), raised_on=on,
                           is_mine=o == role.value) for r, t, o, on in rows], int(total))


def recent_publications(limit: int = PUBLISHED_SHOWN) -> list[PublishedRow]:
    """Return the newest editions (the latest per incident) as they were published, one query."""
    latest = sa.select(sa.func.max(Publication.id)).group_by(Publication.review_id).scalar_subquery()
    rows = db.session.execute(
        sa.select(Publication.reference, Publication.title, Publication.published_at, Publication.version_number,
                  Publication.classification, Publication.supersedes_version, Publication.supersedes_published_at)
        .where(Publication.id.in_(latest))
        .order_by(Publication.published_at.desc(), Publication.id.desc()).limit(limit))
    return [PublishedRow(*row) for row in rows]


def build(*, user: Any, now: datetime | None = None) -> Dashboard:
    """Gather the dashboard for a logged-in user."""
    now = now or utcnow()
    today = local_date(now)
    role: Role = user.role
    if not permissions.can_view_incidents(user):
        return Dashboard(role=role, today=today, is_reader=False, published=recent_publications())
    month = pmr_service.current_month(now)
    rows = state_rows()
    reports, exclusions = state_counts(rows)
    actions, total = overdue_actions(role, today=today)
    undated, undated_total = undated_actions(role)
    tasks = tasks_for(role, today=today, limit=TASKS_SHOWN, rows=rows)
    measures = pmr_service.measures(month, with_incidents=False)
    group = current_app.config["REMINDER_RULES"].get("opsg_decision", {}).get("group", "OPSG")
    return Dashboard(
        role=role, today=today, is_reader=True, tasks=tasks,
        reviews_waiting=reviews_waiting(role, rows), report_counts=reports,
        exclusion_counts=exclusions, month=month, month_label=pmr_service.month_label(month),
        measures=measures, overdue_actions=actions,
        overdue_actions_total=total, undated_actions=undated, undated_actions_total=undated_total,
        next_meeting=meeting_service.next_meeting(group, after=today))
