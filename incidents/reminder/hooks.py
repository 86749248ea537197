"""Re-plan reminders in the same transaction as any change to the records they follow."""
from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from incidents.action.models import Action, TargetRevision
from incidents.extensions import db
from incidents.incident.models import Incident, IncidentCohort
from incidents.meeting.models import Meeting
from incidents.review.models import (
    Decision,
    ExclusionProposal,
    ExclusionReview,
    Publication,
    ReportVersion,
    Review,
)
from incidents.timeutil import utcnow

_REVIEW_CHILDREN = (ExclusionProposal, ReportVersion, Decision, Publication)
_installed = False


def _collect(session: Session, flush_context: Any) -> None:
    marks = session.info.setdefault("reminders.dirty", {"incidents": set(), "reviews": set(), "actions": set(),
                                                         "meetings": False})
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, Incident):
            marks["incidents"].add(obj.id)
        elif isinstance(obj, (IncidentCohort, Review)):
            marks["incidents"].add(obj.incident_id)
        elif isinstance(obj, _REVIEW_CHILDREN):
            marks["reviews"].add(obj.review_id)
        elif isinstance(obj, ExclusionReview):
            marks["reviews"].add(obj.proposal.review_id)
        elif isinstance(obj, Action):
            marks["actions"].add(obj.id)
        elif isinstance(obj, TargetRevision):
            marks["actions"].add(obj.action_id)
        elif isinstance(obj, Meeting):
            marks["meetings"] = True


def _plan(session: Session) -> None:
    # before_commit also fires when a SAVEPOINT is released (planning itself uses them):
    # plan once, at the real commit, and never from inside planning.
    if session.in_nested_transaction() or session.info.get("reminders.planning"):
        return
    session.info["reminders.planning"] = True
    try:
        _plan_changes(session)
    finally:
        session.info.pop("reminders.planning", None)


def _plan_changes(session: Session) -> None:
    from incidents.reminder import service as reminder_service
    from incidents.review.models import ReportState

    for _ in range(3):
        # before_commit runs before the commit's own flush: flush now, so a change the
        # caller did not flush is collected and planned in this same transaction.
        session.flush()
        marks = session.info.pop("reminders.dirty", None)
        if not marks or session.info.get("reminders.disabled"):
            return
        if not (marks["incidents"] or marks["reviews"] or marks["actions"] or marks["meetings"]):
            return
        now = session.info.get("now") or utcnow()
        incident_ids = set(marks["incidents"])
        for review_id in marks["reviews"]:
            review = session.get(Review, review_id)
            if review is not None:
                incident_ids.add(review.incident_id)
        if marks["meetings"]:
            rows = session.query(Review.incident_id).filter(
                Review.report_state.in_([ReportState.SUBMITTED, ReportState.DEFERRED]))
            incident_ids.update(row[0] for row in rows)
        for incident_id in incident_ids:
            incident = session.get(Incident, incident_id)
            if incident is not None:
                reminder_service.plan_incident(incident, now=now)
        for action_id in marks["actions"]:
            action = session.get(Action, action_id)
            if action is not None:
                reminder_service.plan_action(action, now=now)


def install() -> None:
    """Listen on the app's session (once per process)."""
    global _installed
    if _installed:
        return
    event.listen(db.session, "after_flush", _collect)
    event.listen(db.session, "before_commit", _plan)
    _installed = True
