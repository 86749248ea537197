"""Plan reminders from the records they are about; re-planning is idempotent.

Each occurrence has a key (kind, record, date). Planning computes the wanted
set, inserts the missing rows, updates pending ones and cancels pending rows
that are no longer wanted; sent rows are history and never change.

A row that fell due but was not sent yet (the scheduler was down, say) stays
planned when the record is re-planned later, so the next sweep still sends it:
re-planning never drops a reminder just because its day has passed, and it
never creates or revives one for a day already gone.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from incidents.action import service as action_service
from incidents.action.models import Action, ActionStatus
from incidents.errors import ValidationError
from incidents.extensions import db
from incidents.incident import service as incident_service
from incidents.incident.models import Incident
from incidents.meeting import service as meeting_service
from incidents.reminder.models import Reminder, ReminderKind, ReminderState
from incidents.review import service as review_service
from incidents.review import workflow
from incidents.review.models import ExclusionState, ReportState, Review
from incidents.rules import service as rules_service
from incidents.timeutil import UTC, format_date, local_date, local_zone, utcnow
from incidents.user.models import Role, User


@dataclass
class Wanted:
    """A reminder occurrence the rules call for."""

    key: str
    kind: ReminderKind
    send_on: date
    subject: str
    label: str
    recipients: list[str]
    link_path: str
    deadline_on: date | None
    since_on: date | None = None


def rules() -> dict[str, Any]:
    """Return the configured reminder rules."""
    configured: dict[str, Any] = current_app.config["REMINDER_RULES"]
    return configured


def send_instant(day: date) -> datetime:
    """Return the UTC instant of the configured local send time on ``day``."""
    hour, minute = (int(p) for p in current_app.config["REMINDER_SEND_TIME"].split(":"))
    return datetime.combine(day, time(hour, minute), tzinfo=local_zone()).astimezone(UTC)


def _one_line(text: str) -> str:
    """Collapse line breaks and runs of spaces: a header with a line break cannot be sent."""
    return " ".join(text.split())


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def _when_label(deadline: date, send_on: date) -> str:
    """Say where a deadline counted in Working Days stands on ``send_on``."""
    cal = rules_service.calendar()
    if send_on == deadline:
        return "due today"
    if send_on < deadline:
        return f"due in {_plural(cal.working_days_between(send_on, deadline), 'working day')}"
    late = cal.working_days_between(deadline, send_on)
    # Past the deadline with no Working Day gone by yet (a weekend after a Friday deadline).
    return f"overdue by {_plural(late, 'working day')}" if late else f"overdue since {deadline:%a %-d %b}"


def _action_label(target: date, send_on: date) -> str:
    """Say where an action's target stands on ``send_on`` (overdue counted in calendar days)."""
    if send_on > target:
        return f"overdue by {_plural((send_on - target).days, 'day')}"
    ahead = rules_service.calendar().working_days_between(send_on, target)
    return f"due in {_plural(ahead, 'working day')}" if ahead else "due today"


# The opening words of each kind's subject: "[<heading> <label>] <what it is about>".
HEADINGS = {
    ReminderKind.SUMMARY_REPORT: "Summary Report",
    ReminderKind.REVIEW_REPORT: "Review Report",
    ReminderKind.SECAS_REVIEW: "Exclusion review",
    ReminderKind.OPSG_DECISION: "OPSG decision due",
    ReminderKind.ACTION: "Action",
}


def label_on(reminder: Reminder | Any, day: date) -> str:
    """Return a reminder's label (where its deadline stands) as of ``day``; a label that does not age (the
    meeting a decision is due at) is kept as planned."""
    kind = ReminderKind(reminder.kind)
    if kind in (ReminderKind.SUMMARY_REPORT, ReminderKind.REVIEW_REPORT) and reminder.deadline_on is not None:
        return _when_label(reminder.deadline_on, day)
    if kind == ReminderKind.ACTION and reminder.deadline_on is not None:
        return _action_label(reminder.deadline_on, day)
    if kind == ReminderKind.SECAS_REVIEW and reminder.since_on is not None:
        waited = rules_service.calendar().working_days_between(reminder.since_on, day)
        return f"pending {_plural(waited, 'working day')}"
    return str(reminder.label)


def wording(reminder: Reminder | Any, *, on: date) -> tuple[str, str]:
    """Return a reminder's subject and label written as of ``on`` (the day it is sent)."""
    label = label_on(reminder, on)
    opening = f"[{HEADINGS[ReminderKind(reminder.kind)]} {reminder.label}] "
    if not reminder.subject.startswith(opening):
        return reminder.subject, reminder.label  # not one the planner wrote: send as it is
    return f"[{HEADINGS[ReminderKind(reminder.kind)]} {label}] {reminder.subject[len(opening):]}"[:300], label


@dataclass(frozen=True)
class Details:
    """What a reminder email says besides its subject and deadline: what is due, who must act, about what."""

    what: str
    who: str
    about: str


# What each kind asks for ("{about}": the record's reference and title) and which organisation must act.
DUE = {
    ReminderKind.SUMMARY_REPORT: ("The Summary Report of {about}, sent to SECAS and recorded as sent", "dcc"),
    ReminderKind.REVIEW_REPORT: ("The Review Report of {about}, submitted for the Operations Group's decision",
                                 "dcc"),
    ReminderKind.SECAS_REVIEW: ("SECAS's review of the PMR exclusion the DCC proposed for {about}", "secas"),
    ReminderKind.OPSG_DECISION: ("The Operations Group's decision on publishing the Review Report of {about}",
                                 "opsg"),
    ReminderKind.ACTION: ("Action {about}", ""),
}


def details(reminder: Reminder | Any) -> Details:
    """Return what a reminder is about, what is due and who must act (an action's owner by name where named)."""
    opening_end = reminder.subject.find("] ")
    about = reminder.subject[opening_end + 2:] if reminder.subject.startswith("[") and opening_end > 0 \
        else reminder.subject
    kind = ReminderKind(reminder.kind)
    what, org = DUE[kind]
    names: dict[str, str] = current_app.config["ORGANISATIONS"]
    who = names.get(org, org)
    if kind == ReminderKind.OPSG_DECISION:
        who += f" (at its meeting; {names.get('secas', 'SECAS')} prepares the pack)"
    if kind == ReminderKind.ACTION and reminder.action_id is not None:
        action = db.session.get(Action, reminder.action_id)
        if action is not None:
            who = names.get(action.owner_org, action.owner_org)
            if action.owner_user is not None:
                who = f"{action.owner_user.display_name} ({who})"
    return Details(what=what.format(about=about), who=who or "the action's owner", about=about)


def _first_working_day(day: date) -> date:
    cal = rules_service.calendar()
    return day if cal.is_working_day(day) else cal.add_working_days(day, 1)


def _address(org: str) -> list[str]:
    address = current_app.config["REMINDER_ADDRESSES"].get(org)
    return [address] if address else []


def _incident_recipients(incident: Incident) -> list[str]:
    people = _address("dcc")
    if incident.created_by_id:
        owner = db.session.get(User, incident.created_by_id)
        if owner is not None and owner.is_active and owner.role == Role.DCC and owner.email not in people:
            people.append(owner.email)
    return people


def _series(start: date, every_working_days: int, *, since: date, today: date, horizon: date) -> list[date]:
    """Dates every N working days from ``start`` (inclusive), from ``since`` up to ``horizon``.

    The first date after ``today`` is always included, even beyond the horizon, so a
    series whose step is longer than the horizon still continues after each send.
    """
    cal = rules_service.calendar()
    days: list[date] = []
    day = start
    while every_working_days > 0:
        if day > horizon and any(d > today for d in days):
            break
        if day >= since:
            days.append(day)
        if day > horizon:
            break
        day = cal.add_working_days(day, every_working_days)
    return days


def _since(existing: list[Reminder], today: date) -> date:
    """Return the first day to plan from: today, or the day of the oldest reminder still waiting to go."""
    waiting = [row.send_at for row in existing if row.state == ReminderState.PENDING]
    return min(today, local_date(min(waiting))) if waiting else today


def wanted_for_incident(incident: Incident, review: Review | None, *, now: datetime,
                        since: date | None = None) -> list[Wanted]:
    """Return the reminders an incident's deadlines call for from ``since`` (default: today) on."""
    if not review_service.needs_review(incident) or incident.resolved_at is None:
        return []
    cal = rules_service.calendar()
    today = local_date(now)
    since = min(since or today, today)
    horizon = today + timedelta(days=int(current_app.config["REMINDER_HORIZON_DAYS"]))
    summary_due, review_due = incident_service.report_due_dates(incident)
    title = _one_line(incident.title)
    title = title if len(title) <= 120 else title[:117] + "..."
    link = f"/incidents/{quote(incident.reference)}/review"
    wanted: list[Wanted] = []
    config = rules()

    def add(kind: ReminderKind, day: date, label: str, deadline: date | None, recipients: list[str],
            tag: str = "", key: str | None = None, since_on: date | None = None) -> None:
        if day < since or not cal.is_working_day(day):
            return
        wanted.append(Wanted(key=key or f"{kind.value}:incident:{incident.id}:{tag}{day.isoformat()}", kind=kind,
                             send_on=day, subject=f"[{HEADINGS[kind]} {label}] {incident.reference} {title}",
                             label=label, recipients=recipients, link_path=link, deadline_on=deadline,
                             since_on=since_on))

    # A record logged after a deadline had passed (a backfilled incident) gets one overdue notice about it on
    # the day it was logged, not the reminders of days long gone nor a series repeating from them.
    logged_on = local_date(incident.created_at) if incident.created_at else today
    late_on = _first_working_day(logged_on)

    summary_done = review is not None and review.summary_submitted_at is not None
    due = summary_due
    if due and not summary_done and due < logged_on:
        add(ReminderKind.SUMMARY_REPORT, late_on, _when_label(due, late_on), due, _incident_recipients(incident),
            tag="late:")
    elif due and not summary_done:
        for before in config["summary_report"]["before_working_days"]:
            day = cal.add_working_days(due, -int(before))
            add(ReminderKind.SUMMARY_REPORT, day, _when_label(due, day), due, _incident_recipients(incident))

    # A correction drafted after publication is not a late report: the report was delivered when first published.
    report_done = review is not None and (review.report_state not in (ReportState.NOT_STARTED, ReportState.DRAFT)
                                          or bool(review.publications))
    due = review_due
    if due and not report_done and due < logged_on:
        add(ReminderKind.REVIEW_REPORT, late_on, _when_label(due, late_on), due, _incident_recipients(incident),
            tag="late:")
    elif due and not report_done:
        rule = config["review_report"]
        for before in rule["before_working_days"]:
            day = cal.add_working_days(due, -int(before))
            add(ReminderKind.REVIEW_REPORT, day, _when_label(due, day), due, _incident_recipients(incident))
        every = int(rule.get("overdue_every_working_days") or 0)
        overdue = _series(cal.add_working_days(due, every), every, since=since, today=today,
                          horizon=horizon) if every else []
        for day in overdue:
            add(ReminderKind.REVIEW_REPORT, day, _when_label(due, day), due, _incident_recipients(incident))

    if review is not None and review.exclusion_state == ExclusionState.PENDING:
        proposal = review_service.current_proposal(review)
        assert proposal is not None
        rule = config["secas_review"]
        proposed_on = local_date(proposal.proposed_at)
        first = cal.add_working_days(proposed_on, int(rule["pending_working_days"]))
        for day in _series(first, int(rule["every_working_days"]), since=since, today=today, horizon=horizon):
            waited = cal.working_days_between(proposed_on, day)
            add(ReminderKind.SECAS_REVIEW, day, f"pending {_plural(waited, 'working day')}", None,
                _address("secas"), tag=f"r{proposal.round}:", since_on=proposed_on)

    ready = review is not None and review.report_state in workflow.AWAITING_DECISION \
        and review.exclusion_state in workflow.DECIDABLE
    if ready:
        rule = config["opsg_decision"]
        meeting = meeting_service.next_meeting(rule["group"], after=today)
        if meeting is not None:
            day = cal.add_working_days(meeting.held_on, -int(rule["before_meeting_working_days"]))
            if day < today:
                # Ready inside the notice period: remind on the next Working Day, if the meeting is still ahead.
                day = today if cal.is_working_day(today) else cal.add_working_days(today, 1)
            if day <= meeting.held_on:
                # One reminder per meeting: its key has no date, so re-planning on a later day
                # moves a pending reminder instead of adding another.
                add(ReminderKind.OPSG_DECISION, day, f"at {meeting.reference} on {format_date(meeting.held_on, with_day=False)}",
                    meeting.held_on, _address("opsg") + _address("secas"),
                    key=f"{ReminderKind.OPSG_DECISION.value}:incident:{incident.id}:{meeting.reference}")
    return wanted


def wanted_for_action(action: Action, *, now: datetime, since: date | None = None) -> list[Wanted]:
    """Return the reminders an open action calls for from ``since`` (default: today) on."""
    if action.status != ActionStatus.OPEN or action.target_on is None:
        return []  # closed, or its target is TBC: no date to remind about (it is listed as needing a date)
    cal = rules_service.calendar()
    today = local_date(now)
    since = min(since or today, today)
    horizon = today + timedelta(days=int(current_app.config["REMINDER_HORIZON_DAYS"]))
    rule = rules()["action"]
    recipients = _address(action.owner_org)
    if action.owner_user is not None and action.owner_user.is_active and action.owner_user.email not in recipients:
        recipients.append(action.owner_user.email)
    text = _one_line(action.text)
    text = text if len(text) <= 100 else text[:97] + "..."
    target = action.target_on
    days: list[tuple[date, str]] = []
    logged_on = local_date(action.created_at) if action.created_at else today
    if target < logged_on:
        # Raised after its target had passed (entered late): one overdue notice, not a weekly series.
        late_on = _first_working_day(logged_on)
        days.append((late_on, _action_label(target, late_on)))
    for before in rule["before_working_days"] if target >= logged_on else []:
        # On a target that is not a Working Day, remind on the Working Day before it.
        anchor = target if cal.is_working_day(target) else cal.add_working_days(target, -1)
        day = cal.add_working_days(anchor, -int(before))
        days.append((day, _action_label(target, day)))
    every = int(rule.get("overdue_every_days") or 0) if target >= logged_on else 0
    step = 1
    # Up to the horizon, and always the next one after today so the series goes on after each send.
    while every:
        day = target + timedelta(days=every * step)
        if day > horizon and any(d > today for d, _ in days):
            break
        if not cal.is_working_day(day):
            day = cal.add_working_days(day, 1)
        days.append((day, _action_label(target, day)))
        step += 1
    wanted = []
    link = "/actions/" + quote(action_service.slug(action.reference))
    for day, label in days:
        if day < since or not cal.is_working_day(day):
            continue
        wanted.append(Wanted(key=f"action:{action.id}:{day.isoformat()}", kind=ReminderKind.ACTION, send_on=day,
                             subject=f"[{HEADINGS[ReminderKind.ACTION]} {label}] {action.reference} {text}",
                             label=label,
                             recipients=recipients, link_path=link, deadline_on=target))
    return wanted


def _existing(owner: sa.orm.InstrumentedAttribute[int | None], ids: list[int]) -> dict[int, list[Reminder]]:
    """The reminders of each of these records (all of them: one query however many records)."""
    found: dict[int, list[Reminder]] = {record: [] for record in ids}
    for row in db.session.scalars(sa.select(Reminder).where(owner.in_(ids)).order_by(Reminder.id)):
        found[getattr(row, owner.key)].append(row)
    return found


def _sync(rows: list[Reminder], wanted: list[Wanted], *, now: datetime, **owner: int) -> None:
    existing = {r.key: r for r in rows}
    wanted_keys = {w.key for w in wanted}
    today = local_date(now)
    for key, planned in existing.items():
        if key not in wanted_keys and planned.state == ReminderState.PENDING:
            planned.state = ReminderState.CANCELLED
            planned.cancelled_at = now
    for item in wanted:
        row = existing.get(item.key)
        # A day already gone only keeps a reminder still waiting to go; it never gains a new one.
        gone = item.send_on < today
        if row is None:
            if gone:
                continue
            new = Reminder(key=item.key, kind=item.kind, subject=item.subject[:300], label=item.label,
                           recipients=item.recipients, link_path=item.link_path, deadline_on=item.deadline_on,
                           since_on=item.since_on,
                           send_at=send_instant(item.send_on), state=ReminderState.PENDING, created_at=now,
                           message_id=_message_id(item.key), **owner)
            try:
                # Another process may plan the same occurrence at the same moment: the key is unique.
                with db.session.begin_nested():
                    db.session.add(new)
            except IntegrityError:
                pass
        elif row.sent_at is None and (row.state == ReminderState.PENDING
                                      or (row.state == ReminderState.CANCELLED and not gone)):
            row.state = ReminderState.PENDING
            row.cancelled_at = None
            row.subject, row.label, row.recipients = item.subject[:300], item.label, item.recipients
            row.deadline_on, row.link_path, row.since_on = item.deadline_on, item.link_path, item.since_on
            row.send_at = send_instant(item.send_on)


def _message_id(key: str) -> str:
    digest = hashlib.sha256(key.encode()).hexdigest()[:24]
    return f"<reminder.{digest}@{current_app.config['MAIL_MESSAGE_ID_DOMAIN']}>"


def plan_incident(incident: Incident, *, now: datetime | None = None) -> None:
    """Re-plan the reminders of one incident's deadlines."""
    plan_incidents([incident], now=now)


def plan_incidents(incidents: list[Incident], *, now: datetime | None = None) -> None:
    """Re-plan the reminders of these incidents' deadlines, reading their reviews and reminders in two queries."""
    now = now or utcnow()
    today = local_date(now)
    ids = [incident.id for incident in incidents]
    reviews = {review.incident_id: review
               for review in db.session.scalars(sa.select(Review).where(Review.incident_id.in_(ids)))}
    existing = _existing(Reminder.incident_id, ids)
    for incident in incidents:
        rows = existing[incident.id]
        wanted = wanted_for_incident(incident, reviews.get(incident.id), now=now, since=_since(rows, today))
        _sync(rows, wanted, now=now, incident_id=incident.id)


def plan_action(action: Action, *, now: datetime | None = None) -> None:
    """Re-plan the reminders of one action."""
    plan_actions([action], now=now)


def plan_actions(actions: list[Action], *, now: datetime | None = None) -> None:
    """Re-plan the reminders of these actions, reading their reminders in one query."""
    now = now or utcnow()
    today = local_date(now)
    existing = _existing(Reminder.action_id, [action.id for action in actions])
    for action in actions:
        rows = existing[action.id]
        _sync(rows, wanted_for_action(action, now=now, since=_since(rows, today)), now=now, action_id=action.id)


PLAN_BATCH = 200  # records re-planned per pair of queries


def plan_awaiting_decision(*, now: datetime) -> None:
    """Re-plan the incidents whose report waits for an OPSG decision (after a meeting is scheduled)."""
    incidents = list(db.session.scalars(sa.select(Incident).join(Review, Review.incident_id == Incident.id).where(
        Review.report_state.in_([ReportState.SUBMITTED, ReportState.DEFERRED])).order_by(Incident.id)))
    for start in range(0, len(incidents), PLAN_BATCH):
        plan_incidents(incidents[start:start + PLAN_BATCH], now=now)


def plan_all(*, now: datetime | None = None) -> int:
    """Re-plan every open record (after a rule change, or from the CLI); return how many."""
    now = now or utcnow()
    incidents = list(db.session.scalars(sa.select(Incident).where(Incident.is_major.is_(True),
                                                                  Incident.resolved_at.is_not(None))))
    actions = list(db.session.scalars(sa.select(Action).where(Action.status == ActionStatus.OPEN)))
    for start in range(0, len(incidents), PLAN_BATCH):
        plan_incidents(incidents[start:start + PLAN_BATCH], now=now)
    for start in range(0, len(actions), PLAN_BATCH):
        plan_actions(actions[start:start + PLAN_BATCH], now=now)
    return len(incidents) + len(actions)


def list_reminders(*, incident_id: int | None = None, action_id: int | None = None,
                   states: list[ReminderState] | None = None, due_before: datetime | None = None,
                   limit: int = 200) -> list[Reminder]:
    """Return reminders, soonest first."""
    query = sa.select(Reminder)
    if incident_id is not None:
        query = query.where(Reminder.incident_id == incident_id)
    if action_id is not None:
        query = query.where(Reminder.action_id == action_id)
    if states:
        query = query.where(Reminder.state.in_(states))
    if due_before is not None:
        query = query.where(Reminder.send_at <= due_before)
    return list(db.session.scalars(query.order_by(Reminder.send_at, Reminder.id).limit(limit)))


# --- The outbox -------------------------------------------------------------------

OUTBOX_STATES = {
    "pending": "Waiting to be sent (including failed ones waiting to retry)",
    "failed": "Failed at least once and waiting to retry",
    "sending": "Being sent now (claimed by a sweep)",
    "sent": "Sent",
    "cancelled": "Cancelled (the step was done or the dates moved)",
}


def parse_outbox_state(value: str | None) -> str | None:
    """Read the outbox's state filter; None means every state."""
    value = (value or "").strip()
    if not value:
        return None
    if value not in OUTBOX_STATES:
        raise ValidationError({"state": ["State must be one of " + ", ".join(OUTBOX_STATES) + "."]},
                              "The filter needs fixing.")
    return value


# The outbox's two parts when no state is chosen: what is still to go, and what went or was called off.
WAITING = "waiting"
DONE = "done"
WAITING_STATES = (ReminderState.PENDING, ReminderState.SENDING)
DONE_STATES = (ReminderState.SENT, ReminderState.CANCELLED)


def outbox(*, state: str | None, page: int, per_page: int) -> tuple[list[Reminder], int]:
    """Return one page of reminders in a state, or in ``WAITING`` or ``DONE`` states, and their total.

    Those still to go come soonest first; those done come most recent first, by when they were sent or cancelled,
    so the one just sent heads the first page.
    """
    query = sa.select(Reminder)
    if state == "failed":
        query = query.where(Reminder.state == ReminderState.PENDING, Reminder.last_error.is_not(None))
    elif state == WAITING:
        query = query.where(Reminder.state.in_(WAITING_STATES))
    elif state == DONE:
        query = query.where(Reminder.state.in_(DONE_STATES))
    elif state is not None:
        query = query.where(Reminder.state == ReminderState(state))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())) or 0
    waiting = state in ("pending", "failed", "sending", WAITING)
    happened = sa.func.coalesce(Reminder.sent_at, Reminder.cancelled_at, Reminder.send_at)
    order = (Reminder.send_at, Reminder.id) if waiting else (happened.desc(), Reminder.id.desc())
    items = list(db.session.scalars(query.order_by(*order).limit(per_page).offset((page - 1) * per_page)))
    return items, total


@dataclass(frozen=True)
class About:
    """The record a reminder is about, in words and as a link."""

    text: str
    path: str


def about(reminders: list[Reminder]) -> dict[int, About]:
    """Name the record each reminder is about ("Review of INC…", "Action OPSG 97/04"), by reminder id.

    The references are read in one query per kind of record, however many reminders there are.
    """
    incident_ids = {r.incident_id for r in reminders if r.incident_id is not None}
    action_ids = {r.action_id for r in reminders if r.action_id is not None}
    incidents: dict[int, str] = {}
    actions: dict[int, str] = {}
    if incident_ids:
        incidents = {key: reference for key, reference in db.session.execute(
            sa.select(Incident.id, Incident.reference).where(Incident.id.in_(incident_ids)))}
    if action_ids:
        actions = {key: reference for key, reference in db.session.execute(
            sa.select(Action.id, Action.reference).where(Action.id.in_(action_ids)))}
    found = {}
    for reminder in reminders:
        if reminder.action_id is not None and reminder.action_id in actions:
            text = f"Action {actions[reminder.action_id]}"
        elif reminder.incident_id is not None and reminder.incident_id in incidents:
            text = f"Review of {incidents[reminder.incident_id]}"
        else:
            text = reminder.link_path
        found[reminder.id] = About(text=text, path=reminder.link_path)
    return found
