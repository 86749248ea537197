"""Re-plan reminders in the same transaction as any change to the records they follow."""
from __future__ import annotations

from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from incidents.action.models import Action, TargetRevision
from incidents.extensions import db
from incidents.incident.models import Incident, IncidentCohort
from incidents.meeting.models import Meeting
from incidents.review.models import (Decision, ExclusionProposal, ExclusionReview, Publication, ReportVersion,
                                     Review)
from incidents.timeutil import utcnow

_REVIEW_CHILDREN = (ExclusionProposal, ReportVersion, Decision, Publication)
_installed = False


def _collect(session: Session, flush_context: Any) -> None:
    marks = session.info.setdefault("reminders.dirty", {"incidents": set(), "reviews": set(), "actions": set(),
                                                         "meetings": False})
    for obj in list(session.new) + list(session.dirty):
        if isinstance(obj, Incident):
            marks["incidents"].add(obj.id)
        elif isinstance(obj, IncidentCohort):
            marks["incidents"].add(obj.incident_id)
        elif isinstance(obj, Review):
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
    from incidents.reminder import service as reminder_service
    from incidents.review.models import ReportState

    for _ in range(3):
        marks = session.info.pop("reminders.dirty", None)
        if not marks or session.info.get("reminders.disabled"):
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
        session.flush()


def install() -> None:
    """Listen on the app's session (once per process)."""
    global _installed
    if _installed:
        return
    event.listen(db.session, "after_flush", _collect)
    event.listen(db.session, "before_commit", _plan)
    _installed = True
