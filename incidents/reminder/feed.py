"""Each person's deadlines as an iCalendar feed, read by calendar apps through a secret link.

The link carries a secret token instead of a login, so a calendar app can
poll it; the database keeps only its hash (``user.calendar_token_hash``), and
the person sees the link once, when they make it. They replace it to cut off
an old link (or when they no longer have it). A feed lists only what its owner
may see.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from flask import current_app

from incidents import permissions
from incidents.action import service as action_service
from incidents.action.models import Action, ActionStatus
from incidents.audit import service as audit_service
from incidents.extensions import db
from incidents.incident import service as incident_service
from incidents.incident.models import Incident
from incidents.meeting import service as meeting_service
from incidents.meeting.models import Meeting
from incidents.review import service as review_service
from incidents.review.models import ExclusionState, ReportState, Review
from incidents.rules import service as rules_service
from incidents.timeutil import format_date, local_date, utcnow
from incidents.user.models import Role, User
from incidents.user.service import hash_token

TOKEN_BYTES = 32
TOKEN_ALPHABET = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
REPORT_OPEN = (ReportState.NOT_STARTED, ReportState.DRAFT, ReportState.NOT_AGREED)


@dataclass(frozen=True)
class Deadline:
    """One all-day event in a feed."""

    uid: str
    on: date
    summary: str
    description: str
    path: str


def issue_token(*, user: User, now: datetime | None = None) -> str:
    """Give the user a new feed token (the old link stops working) and return it."""
    now = now or utcnow()
    had_one = user.calendar_token_hash is not None
    token = secrets.token_urlsafe(TOKEN_BYTES)
    user.calendar_token_hash = hash_token(token)
    audit_service.record(actor=user, action="update", entity_type="user", entity_id=user.id,
                         changes={"calendar feed link": ["set" if had_one else None, "replaced" if had_one else "set"]},
                         summary="Replaced the calendar feed link" if had_one else "Created a calendar feed link",
                         now=now)
    return token


def user_for_token(token: str) -> User | None:
    """Return the active user whose feed token this is, or None."""
    if not token or len(token) > 64 or not set(token) <= TOKEN_ALPHABET:
        return None
    user = db.session.scalar(sa.select(User).where(User.calendar_token_hash == hash_token(token)))
    return user if user is not None and user.is_active else None


def _uid(*parts: Any) -> str:
    domain: str = current_app.config["MAIL_MESSAGE_ID_DOMAIN"]
    return "-".join(str(p) for p in parts) + "@" + domain


def _report_deadlines() -> list[Deadline]:
    """Summary and Review Report due dates still to be met, for incidents whose review is open."""
    found: list[Deadline] = []
    rows = db.session.execute(
        sa.select(Incident, Review).outerjoin(Review, Review.incident_id == Incident.id)
        .where(Incident.is_major.is_(True), Incident.resolved_at.is_not(None))
        .where(sa.or_(Review.id.is_(None), Review.report_state != ReportState.PUBLISHED))
        .order_by(Incident.resolved_at))
    for incident, review in rows:
        derived = incident_service.derive(incident)
        path = f"/incidents/{quote(incident.reference)}/review"
        if derived.summary_report_due_on and (review is None or review.summary_submitted_at is None):
            found.append(Deadline(_uid("summary-report", incident.id), derived.summary_report_due_on,
                                  f"Summary Report due: {incident.reference}",
                                  f"Major Incident Summary Report for {incident.reference} {incident.title}", path))
        if derived.review_report_due_on and (review is None or review.report_state in REPORT_OPEN):
            found.append(Deadline(_uid("review-report", incident.id), derived.review_report_due_on,
                                  f"Review Report due: {incident.reference}",
                                  f"Major Incident Review Report for {incident.reference} {incident.title}", path))
    return found


def _secas_deadlines() -> list[Deadline]:
    """Exclusions waiting for SECAS, on the day the first reminder goes."""
    cal = rules_service.calendar()
    waiting = int(current_app.config["REMINDER_RULES"]["secas_review"]["pending_working_days"])
    found: list[Deadline] = []
    rows = db.session.execute(sa.select(Incident, Review).join(Review, Review.incident_id == Incident.id)
                              .where(Review.exclusion_state == ExclusionState.PENDING).order_by(Incident.id))
    for incident, review in rows:
        proposal = review_service.current_proposal(review)
        if proposal is None:
            continue
        proposed_on = local_date(proposal.proposed_at)
        found.append(Deadline(_uid("exclusion-review", incident.id, proposal.round),
                              cal.add_working_days(proposed_on, waiting),
                              f"Exclusion review: {incident.reference}",
                              f"The DCC proposed excluding {incident.reference} from the PMR on "
                              f"{format_date(proposed_on)} (round {proposal.round}); SECAS to review.",
                              f"/incidents/{quote(incident.reference)}/review"))
    return found


def _meetings(today: date) -> list[Deadline]:
    return [Deadline(_uid("meeting", m.id), m.held_on, f"{m.reference} ({meeting_service.kind_label(m.kind)})",
                     f"Meeting {m.reference}, a {meeting_service.kind_label(m.kind).lower()}", "/meetings/")
            for m in db.session.scalars(sa.select(Meeting).where(Meeting.held_on >= today).order_by(Meeting.held_on))]


def _actions(org: str | None) -> list[Deadline]:
    # A TBC target has no day to put in a calendar.
    query = (sa.select(Action).where(Action.status == ActionStatus.OPEN, Action.target_on.is_not(None))
             .order_by(Action.target_on, Action.reference))
    if org is not None:
        query = query.where(Action.owner_org == org)
    return [Deadline(_uid("action", a.id), a.target_on, f"Action {a.reference} due", a.text,
                     "/actions/" + quote(action_service.slug(a.reference)))
            for a in db.session.scalars(query) if a.target_on is not None]


def deadlines(user: User, *, now: datetime | None = None) -> list[Deadline]:
    """List the user's deadlines: what their role must do, the next meetings, their organisation's open actions."""
    today = local_date(now or utcnow())
    role, with_actions = user.role, permissions.can_view_actions(user)
    return _deadlines(role, with_actions, today)


def _deadlines(role: Role, with_actions: bool, today: date) -> list[Deadline]:
    found: list[Deadline] = []
    if role in (Role.DCC, Role.ADMIN):
        found += _report_deadlines()
    if role in (Role.SECAS, Role.ADMIN):
        found += _secas_deadlines()
    if with_actions:
        found += _meetings(today)
        org = None if role == Role.ADMIN else role.value
        if org is None or org in action_service.organisations():
            found += _actions(org)
    return sorted(found, key=lambda d: (d.on, d.summary))


def ics(user: User, *, now: datetime | None = None) -> bytes:
    """Build the user's feed: one all-day event per deadline."""
    from icalendar import (  # imported here: only the feed needs it, not every command's start
        Calendar,
        Event,
    )

    now = now or utcnow()
    base = current_app.config["BASE_URL"].rstrip("/")
    calendar = Calendar()
    calendar.add("prodid", "-//SEC Major Incident Reviews//Deadlines//EN")
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("x-wr-calname", f"SEC incident deadlines ({user.display_name})")
    calendar.add("x-wr-timezone", current_app.config["TIMEZONE"])
    for item in deadlines(user, now=now):
        event = Event()
        event.add("uid", item.uid)
        event.add("dtstamp", now)
        event.add("dtstart", item.on)
        event.add("dtend", item.on + timedelta(days=1))
        event.add("summary", item.summary)
        event.add("description", f"{item.description}\n{base}{item.path}")
        event.add("url", base + item.path)
        event.add("transp", "TRANSPARENT")
        calendar.add_component(event)
    ical: bytes = calendar.to_ical()  # icalendar leaves to_ical unannotated
    return ical
