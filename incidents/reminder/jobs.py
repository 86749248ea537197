"""The reminder sweep: claim due rows atomically, send, record; safe to run anywhere, any number of times."""
from __future__ import annotations

import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from incidents.action.models import Action
from incidents.extensions import db
from incidents.incident.models import Incident
from incidents.reminder import mail
from incidents.reminder import service as reminder_service
from incidents.reminder.models import Reminder, ReminderState
from incidents.timeutil import utcnow

log = logging.getLogger(__name__)
MAX_BACKOFF_MINUTES = 60


@dataclass
class SweepResult:
    """What one sweep did."""

    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: int = 0


def worker_name() -> str:
    """Name this process for claims, unique across hosts and restarts."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    pending = sa.and_(Reminder.state == ReminderState.PENDING, Reminder.send_at <= now,
                      sa.or_(Reminder.next_attempt_at.is_(None), Reminder.next_attempt_at <= now))
    abandoned = sa.and_(Reminder.state == ReminderState.SENDING, Reminder.lease_until < now)
    return sa.or_(pending, abandoned)


def claim(reminder_id: int, *, now: datetime, worker: str) -> bool:
    """Claim one reminder for this worker; exactly one concurrent claimer succeeds."""
    lease = timedelta(seconds=int(current_app.config["REMINDER_LEASE_SECONDS"]))
    result = db.session.execute(
        sa.update(Reminder)
        .where(Reminder.id == reminder_id, _claimable(now))
        .values(state=ReminderState.SENDING, lease_until=now + lease, claimed_by=worker,
                attempts=Reminder.attempts + 1)
        .execution_options(synchronize_session=False))
    db.session.commit()
    return result.rowcount == 1


def sweep(*, now: datetime | None = None, worker: str | None = None, limit: int | None = None) -> SweepResult:
    """Send every reminder due at ``now``; each is claimed before it is sent, so none goes twice."""
    now = now or utcnow()
    worker = worker or worker_name()
    limit = limit or int(current_app.config["REMINDER_BATCH"])
    result = SweepResult()
    while True:
        ids = list(db.session.scalars(sa.select(Reminder.id).where(_claimable(now))
                                      .order_by(Reminder.send_at, Reminder.id).limit(limit)))
        db.session.commit()
        if not ids:
            break
        progressed = False
        for reminder_id in ids:
            if not claim(reminder_id, now=now, worker=worker):
                result.skipped += 1
                continue
            progressed = True
            _send_one(reminder_id, now=now, worker=worker, result=result)
        if not progressed:
            break
    return result


def _send_one(reminder_id: int, *, now: datetime, worker: str, result: SweepResult) -> None:
    reminder = db.session.get(Reminder, reminder_id)
    assert reminder is not None
    try:
        message = mail.build(reminder)
        mail.deliver(message)
    except Exception as exc:  # any delivery fault: keep the row, retry later
        db.session.rollback()
        backoff = min(MAX_BACKOFF_MINUTES, 2 ** min(reminder.attempts, 6))
        db.session.execute(
            sa.update(Reminder).where(Reminder.id == reminder_id, Reminder.claimed_by == worker)
            .values(state=ReminderState.PENDING, lease_until=None, claimed_by=None,
                    next_attempt_at=now + timedelta(minutes=backoff), last_error=f"{type(exc).__name__}: {exc}"[:2000])
            .execution_options(synchronize_session=False))
        db.session.commit()
        log.warning("Reminder %s not sent (attempt %s): %s", reminder_id, reminder.attempts, exc)
        result.failed.append(reminder.subject)
        return
    db.session.execute(
        sa.update(Reminder).where(Reminder.id == reminder_id, Reminder.claimed_by == worker)
        .values(state=ReminderState.SENT, sent_at=now, lease_until=None, last_error=None, next_attempt_at=None)
        .execution_options(synchronize_session=False))
    db.session.commit()
    result.sent.append(reminder.subject)
    _extend_series(reminder, now=now)


def _extend_series(reminder: Reminder, *, now: datetime) -> None:
    """Re-plan the record after a send, so repeating reminders continue past the planning horizon."""
    try:
        if reminder.incident_id is not None:
            incident = db.session.get(Incident, reminder.incident_id)
            if incident is not None:
                reminder_service.plan_incident(incident, now=now)
        elif reminder.action_id is not None:
            action = db.session.get(Action, reminder.action_id)
            if action is not None:
                reminder_service.plan_action(action, now=now)
        db.session.commit()
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        log.exception("Re-planning after reminder %s failed; the next sweep's planning will catch up", reminder.id)
