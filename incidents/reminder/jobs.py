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


def claim_next(*, now: datetime, worker: str) -> int | None:
    """Claim the oldest due reminder for this worker and return its id, or None when none is left.

    One statement picks and claims the row. On PostgreSQL the pick skips rows another
    sweep is claiming at that instant (SKIP LOCKED), so concurrent sweeps take different
    rows without waiting; SQLite runs one writer at a time, so the pick is already exclusive.
    """
    lease = timedelta(seconds=int(current_app.config["REMINDER_LEASE_SECONDS"]))
    oldest = (sa.select(Reminder.id).where(_claimable(now)).order_by(Reminder.send_at, Reminder.id).limit(1)
              .with_for_update(skip_locked=True).scalar_subquery())
    claimed = db.session.execute(
        sa.update(Reminder)
        .where(Reminder.id == oldest, _claimable(now))
        .values(state=ReminderState.SENDING, lease_until=now + lease, claimed_by=worker,
                attempts=Reminder.attempts + 1)
        .returning(Reminder.id)
        .execution_options(synchronize_session=False)).scalar_one_or_none()
    db.session.commit()
    return claimed


def sweep(*, now: datetime | None = None, worker: str | None = None, limit: int | None = None) -> SweepResult:
    """Send the reminders due at ``now`` (at most ``limit``); each is claimed before it is sent, so none goes twice."""
    now = now or utcnow()
    worker = worker or worker_name()
    limit = limit or int(current_app.config["REMINDER_BATCH"])
    result = SweepResult()
    # A claimed row leaves the claimable set (sent, or pending with a later retry time), so this ends.
    while len(result.sent) + len(result.failed) < limit:
        reminder_id = claim_next(now=now, worker=worker)
        if reminder_id is None:
            break
        _send_one(reminder_id, now=now, worker=worker, result=result)
    return result


def _send_one(reminder_id: int, *, now: datetime, worker: str, result: SweepResult) -> None:
    reminder = db.session.get(Reminder, reminder_id)
    assert reminder is not None
    try:
        message = mail.build(reminder, sent_at=now)
        mail.deliver(message)
    except Exception as exc:  # any delivery fault: keep the row, retry later
        db.session.rollback()
        backoff = min(MAX_BACKOFF_MINUTES, 2 ** min(reminder.attempts, 6))
        # Only a row still ours and still sending goes back to pending: if re-planning
        # cancelled it meanwhile, the cancellation stands.
        db.session.execute(
            sa.update(Reminder).where(Reminder.id == reminder_id, Reminder.claimed_by == worker,
                                      Reminder.state == ReminderState.SENDING)
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
    if reminder.incident_id is None and reminder.action_id is None:
        return
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
        log.exception("Re-planning after reminder %s failed; the next send or change of the record re-plans it",
                      reminder_id)
