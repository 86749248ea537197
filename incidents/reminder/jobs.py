"""The reminder sweep: claim due rows atomically, send, record; safe to run anywhere, any number of times."""
from __future__ import annotations

import functools
import logging
import os
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Self, cast

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


def lease() -> timedelta:
    """Return how long a claim lasts unless renewed (REMINDER_LEASE_SECONDS, any positive number)."""
    return timedelta(seconds=float(current_app.config["REMINDER_LEASE_SECONDS"]))


def new_token() -> str:
    """Return a token for one claim: unique, so a sweep recognises its own claim and nobody else's."""
    return uuid.uuid4().hex


class Clock:
    """A sweep's clock: ``now`` when the sweep began, moving on with the time the sweep has taken.

    Leases are counted from each claim and renewal on this clock, so a sweep given a ``now`` (tests, the CLI's
    ``--now``) still counts the seconds its sends really take.
    """

    def __init__(self, now: datetime) -> None:
        self.start = now
        self._began = time.monotonic()

    def __call__(self) -> datetime:
        """Return the sweep's time now."""
        return self.start + timedelta(seconds=time.monotonic() - self._began)


def _superseded(at: datetime) -> sa.ColumnElement[bool]:
    """A later reminder about the same deadline of the same record is due too: this one has nothing left to say.

    A scheduler that was down finds several reminders of one deadline due at once; only the latest goes (its
    text written as of the sending day), so the reader gets one catch-up, not a run of stale ones.
    """
    later = sa.orm.aliased(Reminder)
    return sa.exists().where(
        later.kind == Reminder.kind,
        sa.or_(later.incident_id == Reminder.incident_id, later.action_id == Reminder.action_id),
        sa.or_(later.deadline_on == Reminder.deadline_on,
               sa.and_(later.deadline_on.is_(None), Reminder.deadline_on.is_(None))),
        later.send_at > Reminder.send_at, later.send_at <= at,
        later.state.in_([ReminderState.PENDING, ReminderState.SENDING, ReminderState.SENT]))


def _due(now: datetime) -> sa.ColumnElement[bool]:
    pending = sa.and_(Reminder.state == ReminderState.PENDING, Reminder.send_at <= now,
                      sa.or_(Reminder.next_attempt_at.is_(None), Reminder.next_attempt_at <= now))
    abandoned = sa.and_(Reminder.state == ReminderState.SENDING, Reminder.lease_until < now)
    return sa.or_(pending, abandoned)


def _claimable(now: datetime) -> sa.ColumnElement[bool]:
    # The superseded are not tested here: each sweep cancels them as it starts (``cancel_superseded``), one
    # statement for all of them, rather than testing every row a claim looks at, batch after batch.
    return _due(now)


def _claim_values(*, now: datetime, worker: str, token: str) -> dict[str, Any]:
    return {"state": ReminderState.SENDING, "lease_until": now + lease(), "claimed_by": worker,
            "claim_token": token, "attempts": Reminder.attempts + 1}


def claim(reminder_id: int, *, now: datetime, worker: str, token: str | None = None) -> bool:
    """Claim one reminder for this worker (its lease counted from ``now``); exactly one concurrent claimer
    succeeds."""
    # An UPDATE answers a CursorResult, which has the row count; Session.execute is typed for any statement.
    result = cast(sa.CursorResult[Any], db.session.execute(
        sa.update(Reminder)
        .where(Reminder.id == reminder_id, _claimable(now))
        .values(**_claim_values(now=now, worker=worker, token=token or new_token()))
        .execution_options(synchronize_session=False)))
    db.session.commit()
    return result.rowcount == 1


def claim_next(*, now: datetime, worker: str, token: str, count: int = 1) -> list[int]:
    """Claim the ``count`` oldest due reminders under ``token``, leased from ``now``; return their ids (none when
    none is left).

    One statement picks and claims the rows. On PostgreSQL the pick skips rows another
    sweep is claiming at that instant (SKIP LOCKED), so concurrent sweeps take different
    rows without waiting; SQLite runs one writer at a time, so the pick is already exclusive.
    """
    oldest = (sa.select(Reminder.id).where(_claimable(now)).order_by(Reminder.send_at, Reminder.id).limit(count)
              .with_for_update(skip_locked=True))
    claimed = list(db.session.scalars(
        sa.update(Reminder)
        .where(Reminder.id.in_(oldest), _claimable(now))
        .values(**_claim_values(now=now, worker=worker, token=token))
        .returning(Reminder.id)
        .execution_options(synchronize_session=False)))
    db.session.commit()
    return sorted(claimed)


def cancel_superseded(*, now: datetime) -> int:
    """Cancel the due reminders that a later one about the same deadline replaces; return how many."""
    result = cast(sa.CursorResult[Any], db.session.execute(
        sa.update(Reminder)
        .where(_due(now), _superseded(now))
        .values(state=ReminderState.CANCELLED, cancelled_at=now, lease_until=None, claimed_by=None,
                claim_token=None)
        .execution_options(synchronize_session=False)))
    db.session.commit()
    return result.rowcount


class Renewal:
    """Renew the lease of the rows a sweep holds, every third of a lease, on a thread and connection of its own,
    so a claim outlives any send that is still going on; a sweep that dies stops renewing and its rows are
    taken over once the lease runs out."""

    def __init__(self, engine: sa.Engine, clock: Clock, term: timedelta) -> None:
        self.token: str | None = None
        self._engine, self._clock, self._term = engine, clock, term
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="reminder-lease-renewal", daemon=True)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        table = Reminder.__table__
        while not self._stop.wait(self._term.total_seconds() / 3):
            token = self.token
            if token is None:
                continue
            try:
                with self._engine.begin() as connection:
                    connection.execute(sa.update(table).where(table.c.claim_token == token,
                                                              table.c.state == ReminderState.SENDING)
                                       .values(lease_until=self._clock() + self._term))
            except sa.exc.SQLAlchemyError:
                # The next renewal tries again; a row whose lease ran out meanwhile is confirmed before it is sent.
                log.exception("Renewing the reminder leases of claim %s failed", token)


def sweep(*, now: datetime | None = None, worker: str | None = None, limit: int | None = None) -> SweepResult:
    """Send the reminders due at ``now`` (at most ``limit``), each exactly once.

    Each batch of rows is claimed under a token of its own with a lease counted from the claim and renewed while
    the sweep works; each row is confirmed as still held by that token (and its lease extended) in one
    conditional statement just before it is sent, and recorded as sent only where the token still holds. A row
    another sweep took over (after this one stalled past its lease) is left to that sweep.
    """
    now = now or utcnow()
    clock = Clock(now)
    worker = worker or worker_name()
    limit = limit or int(current_app.config["REMINDER_BATCH"])
    term = lease()
    result = SweepResult()
    cancel_superseded(now=clock())
    # One SMTP connection for the whole sweep, not one a message; and one database connection on which each
    # send is confirmed and recorded by single statements that commit themselves (one round trip each).
    with mail.Postman() as postman, db.engine.connect() as recorder, \
            Renewal(db.engine, clock, term) as renewal:
        recorder = recorder.execution_options(isolation_level="AUTOCOMMIT")
        # A claimed row leaves the claimable set (sent, or pending with a later retry time), so this ends.
        while (room := limit - len(result.sent) - len(result.failed)) > 0:
            # A few at a time: one claiming transaction for several sends. Each is still marked sent on its
            # own the moment the server accepts it; a crash leaves at most these few to their lease.
            token = new_token()
            renewal.token = token
            claimed = claim_next(now=clock(), worker=worker, token=token, count=min(CLAIM_BATCH, room))
            if not claimed:
                break
            # The claimed rows' fields in one query; build and send work from these values.
            rows = db.session.execute(sa.select(*OUTGOING).where(Reminder.id.in_(claimed))
                                      .order_by(Reminder.send_at, Reminder.id)).all()
            db.session.commit()
            sent = [(row.incident_id, row.action_id) for row in rows
                    if _send_one(row, now=now, clock=clock, term=term, token=token, result=result,
                                 postman=postman, recorder=recorder)]
            _extend_series(sent, now=now)
    return result


# What a send needs of a reminder (mail.build reads these as attributes).
OUTGOING = (Reminder.id, Reminder.key, Reminder.kind, Reminder.subject, Reminder.label, Reminder.recipients,
            Reminder.link_path, Reminder.deadline_on, Reminder.since_on, Reminder.send_at, Reminder.message_id,
            Reminder.attempts, Reminder.incident_id, Reminder.action_id)


def _send_one(reminder: Any, *, now: datetime, clock: Clock, term: timedelta, token: str, result: SweepResult,
              postman: mail.Postman, recorder: sa.Connection) -> bool:
    """Send one claimed reminder (a row of OUTGOING) if this claim still holds it; record and return whether
    it went."""
    confirmed = recorder.execute(_confirm(), {"reminder": reminder.id, "token": token, "until": clock() + term})
    if confirmed.rowcount != 1:
        log.info("Reminder %s was taken over by another sweep; this one leaves it", reminder.id)
        return False
    try:
        message = mail.build(reminder, sent_at=now)
        mail.deliver(message, via=postman)
    except Exception as exc:  # noqa: BLE001  (any delivery fault: keep the row, retry later)
        db.session.rollback()
        backoff = min(MAX_BACKOFF_MINUTES, 2 ** min(reminder.attempts, 6))
        # Only a row still held by this claim and still sending goes back to pending: if re-planning
        # cancelled it meanwhile, the cancellation stands.
        db.session.execute(
            sa.update(Reminder).where(Reminder.id == reminder.id, Reminder.claim_token == token,
                                      Reminder.state == ReminderState.SENDING)
            .values(state=ReminderState.PENDING, lease_until=None, claimed_by=None, claim_token=None,
                    next_attempt_at=now + timedelta(minutes=backoff), last_error=f"{type(exc).__name__}: {exc}"[:2000])
            .execution_options(synchronize_session=False))
        db.session.commit()
        log.warning("Reminder %s not sent (attempt %s): %s", reminder.id, reminder.attempts, exc)
        result.failed.append(reminder.subject)
        return False
    recorder.execute(_mark_sent(), {"reminder": reminder.id, "token": token, "now": now,
                                    "subject": message.subject, "label": message.label})
    result.sent.append(message.subject)
    return True


@functools.cache
def _confirm() -> sa.Update:
    """The statement that confirms, just before a send, that the row is still held by this claim and extends its
    lease: it matches nothing once another sweep has claimed the row (a new token) or it was sent or cancelled."""
    table = Reminder.__table__
    return (sa.update(table)
            .where(table.c.id == sa.bindparam("reminder"), table.c.claim_token == sa.bindparam("token"),
                   table.c.state == ReminderState.SENDING)
            .values(lease_until=sa.bindparam("until")))


@functools.cache
def _mark_sent() -> sa.Update:
    """The statement that records a send with the text that went, built once: it runs once a message, and
    building it cost more than running it. On the table, not the mapped class: nothing loaded in the session
    needs updating."""
    table = Reminder.__table__
    return (sa.update(table)
            .where(table.c.id == sa.bindparam("reminder"), table.c.claim_token == sa.bindparam("token"))
            .values(state=ReminderState.SENT, sent_at=sa.bindparam("now"), lease_until=None, last_error=None,
                    next_attempt_at=None, subject=sa.bindparam("subject"), label=sa.bindparam("label")))


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
