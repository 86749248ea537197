"""The reminder sweep: claim due rows atomically, send, record; safe to run anywhere, any number of times."""
from __future__ import annotations

import functools
import logging
import os
import socket
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

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
CLAIM_BATCH = 25


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
    # An UPDATE answers a CursorResult, which has the row count; Session.execute is typed for any statement.
    result = cast(sa.CursorResult[Any], db.session.execute(
        sa.update(Reminder)
        .where(Reminder.id == reminder_id, _claimable(now))
        .values(state=ReminderState.SENDING, lease_until=now + lease, claimed_by=worker,
                attempts=Reminder.attempts + 1)
        .execution_options(synchronize_session=False)))
    db.session.commit()
    return result.rowcount == 1


def claim_next(*, now: datetime, worker: str, count: int = 1) -> list[int]:
    """Claim the ``count`` oldest due reminders for this worker and return their ids (none when none is left).

    One statement picks and claims the rows. On PostgreSQL the pick skips rows another
    sweep is claiming at that instant (SKIP LOCKED), so concurrent sweeps take different
    rows without waiting; SQLite runs one writer at a time, so the pick is already exclusive.
    """
    lease = timedelta(seconds=int(current_app.config["REMINDER_LEASE_SECONDS"]))
    oldest = (sa.select(Reminder.id).where(_claimable(now)).order_by(Reminder.send_at, Reminder.id).limit(count)
              .with_for_update(skip_locked=True))
    claimed = list(db.session.scalars(
        sa.update(Reminder)
        .where(Reminder.id.in_(oldest), _claimable(now))
        .values(state=ReminderState.SENDING, lease_until=now + lease, claimed_by=worker,
                attempts=Reminder.attempts + 1)
        .returning(Reminder.id)
        .execution_options(synchronize_session=False)))
    db.session.commit()
    return sorted(claimed)


def sweep(*, now: datetime | None = None, worker: str | None = None, limit: int | None = None) -> SweepResult:
    """Send the reminders due at ``now`` (at most ``limit``); each is claimed before it is sent, so none goes twice."""
    now = now or utcnow()
    worker = worker or worker_name()
    limit = limit or int(current_app.config["REMINDER_BATCH"])
    result = SweepResult()
    # One SMTP connection for the whole sweep, not one a message; and one database connection on which each
    # send is recorded by a single statement that commits itself (one round trip, durable when it returns).
    with mail.Postman() as postman, db.engine.connect() as recorder:
        recorder = recorder.execution_options(isolation_level="AUTOCOMMIT")
        # A claimed row leaves the claimable set (sent, or pending with a later retry time), so this ends.
        while (room := limit - len(result.sent) - len(result.failed)) > 0:
            # A few at a time: one claiming transaction for several sends. Each is still marked sent on its
            # own the moment the server accepts it; a crash leaves at most these few to their lease.
            claimed = claim_next(now=now, worker=worker, count=min(CLAIM_BATCH, room))
            if not claimed:
                break
            # The claimed rows' fields in one query; build and send work from these values.
            rows = db.session.execute(sa.select(*OUTGOING).where(Reminder.id.in_(claimed))
                                      .order_by(Reminder.send_at, Reminder.id)).all()
            db.session.commit()
            sent = [(row.incident_id, row.action_id) for row in rows
                    if _send_one(row, now=now, worker=worker, result=result, postman=postman, recorder=recorder)]
            _extend_series(sent, now=now)
    return result


# What a send needs of a reminder (mail.build reads these as attributes).
OUTGOING = (Reminder.id, Reminder.key, Reminder.subject, Reminder.label, Reminder.recipients, Reminder.link_path,
            Reminder.deadline_on, Reminder.send_at, Reminder.message_id, Reminder.attempts, Reminder.incident_id,
            Reminder.action_id)


def _send_one(reminder: Any, *, now: datetime, worker: str, result: SweepResult, postman: mail.Postman,
              recorder: sa.Connection) -> bool:
    """Send one claimed reminder (a row of OUTGOING); record and return whether it went."""
    try:
        message = mail.build(reminder, sent_at=now)
        mail.deliver(message, via=postman)
    except Exception as exc:  # noqa: BLE001  (any delivery fault: keep the row, retry later)
        db.session.rollback()
        backoff = min(MAX_BACKOFF_MINUTES, 2 ** min(reminder.attempts, 6))
        # Only a row still ours and still sending goes back to pending: if re-planning
        # cancelled it meanwhile, the cancellation stands.
        db.session.execute(
            sa.update(Reminder).where(Reminder.id == reminder.id, Reminder.claimed_by == worker,
                                      Reminder.state == ReminderState.SENDING)
            .values(state=ReminderState.PENDING, lease_until=None, claimed_by=None,
                    next_attempt_at=now + timedelta(minutes=backoff), last_error=f"{type(exc).__name__}: {exc}"[:2000])
            .execution_options(synchronize_session=False))
        db.session.commit()
        log.warning("Reminder %s not sent (attempt %s): %s", reminder.id, reminder.attempts, exc)
        result.failed.append(reminder.subject)
        return False
    recorder.execute(_mark_sent(), {"reminder": reminder.id, "worker": worker, "now": now})
    result.sent.append(reminder.subject)
    return True


@functools.cache
def _mark_sent() -> sa.Update:
    """The statement that records a send, built once: it runs once a message, and building it cost more than
    running it. On the table, not the mapped class: nothing loaded in the session needs updating."""
    table = Reminder.__table__
    return (sa.update(table)
            .where(table.c.id == sa.bindparam("reminder"), table.c.claimed_by == sa.bindparam("worker"))
            .values(state=ReminderState.SENT, sent_at=sa.bindparam("now"), lease_until=None, last_error=None,
                    next_attempt_at=None))


def _extend_series(owners: list[tuple[int | None, int | None]], *, now: datetime) -> None:
    """Re-plan each record whose last pending reminder was just sent, so repeating reminders continue past the
    planning horizon (while others are pending, the series is planned ahead already). One transaction."""
    incident_ids = {i for i, _ in owners if i is not None}
    action_ids = {a for i, a in owners if i is None and a is not None}
    try:
        # Records that still have a reminder to come need nothing: two queries for the whole batch.
        if incident_ids:
            incident_ids -= set(db.session.scalars(sa.select(Reminder.incident_id).distinct().where(
                Reminder.incident_id.in_(incident_ids), Reminder.state == ReminderState.PENDING)))
        if action_ids:
            action_ids -= set(db.session.scalars(sa.select(Reminder.action_id).distinct().where(
                Reminder.action_id.in_(action_ids), Reminder.state == ReminderState.PENDING)))
        # Planning needs the records, not their cohorts.
        if incident_ids:
            reminder_service.plan_incidents(list(db.session.scalars(
                sa.select(Incident).where(Incident.id.in_(sorted(incident_ids)))
                .options(sa.orm.lazyload(Incident.cohorts)))), now=now)
        if action_ids:
            reminder_service.plan_actions(list(db.session.scalars(
                sa.select(Action).where(Action.id.in_(sorted(action_ids))))), now=now)
        db.session.commit()
    except sa.exc.SQLAlchemyError:
        db.session.rollback()
        log.exception("Re-planning after a sweep's sends failed; the next send or change of each record re-plans it")
