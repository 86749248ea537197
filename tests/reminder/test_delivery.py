"""Delivery guarantees against a real SMTP server: exactly once under concurrent sweeps, outages and crashes.

Concurrent sweeps run as threads, as separate processes and as separate
``flask reminders send`` processes, on whichever database the suite uses
(SQLite, or PostgreSQL when TEST_DATABASE_URL is set).

Worker processes come from multiprocessing's 'forkserver': a clean server
process, started once with no threads, no app and no database connection,
that has imported the app's modules; each worker is forked from it, builds its
own app and connects on its own, so it shares nothing with the test process.
Starting one this way costs milliseconds, where 'spawn' re-imports everything
in every worker (seconds each). The ``flask`` test starts fully independent
interpreters.
"""
from __future__ import annotations

import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from incidents.action import service as action_service
from incidents.extensions import db
from incidents.reminder import jobs
from incidents.reminder.models import Reminder, ReminderKind, ReminderState
from tests.reminder import workers
from tests.reminder.helpers import SmtpServer, uk

ROOT = Path(__file__).resolve().parents[2]
START_METHOD = "forkserver"
DAY = date(2023, 7, 3)  # a Monday
DUE = uk(DAY)
COUNT = 200
ACTIONS = 20


def plan_due_reminders(users: dict, count: int = COUNT, actions: int = ACTIONS) -> None:
    """Make ``count`` reminders due at 09:00 on DAY: some planned from real actions, the rest as rows."""
    raised = uk(DAY, 8, 0)
    for n in range(actions):
        action_service.create_action(actor=users["secas"], now=raised, draft=action_service.ActionDraft(
            reference=f"OPSG 99/{n + 1:02d}", text=f"Action {n + 1}", owner_org="dcc",
            raised_on=DAY, target_on=DAY))
    for n in range(count - actions):
        db.session.add(Reminder(key=f"test:{n}", kind=ReminderKind.ACTION, subject=f"[Test reminder {n}]",
                                label="due today", recipients=["ops@example.org"], link_path="/", send_at=DUE,
                                message_id=f"<test.{n}@incidents.example>", state=ReminderState.PENDING))
    db.session.commit()
    assert _count(ReminderState.PENDING, due_by=DUE) == count


def _count(state: ReminderState, *, due_by: datetime | None = None) -> int:
    db.session.rollback()
    query = sa.select(sa.func.count()).select_from(Reminder).where(Reminder.state == state)
    if due_by is not None:
        query = query.where(Reminder.send_at <= due_by)
    return db.session.scalar(query) or 0


def assert_each_sent_once(smtp: SmtpServer, count: int = COUNT) -> None:
    """The server got ``count`` messages with ``count`` distinct Message-IDs, and the rows all say sent."""
    ids = smtp.ids()
    assert smtp.count() == count
    assert len(ids) == count and max(ids.values()) == 1
    assert _count(ReminderState.SENT) == count
    assert _count(ReminderState.SENDING) == 0
    assert set(db.session.scalars(sa.select(Reminder.attempts).where(Reminder.state == ReminderState.SENT))) == {1}
    stored = set(db.session.scalars(sa.select(Reminder.message_id).where(Reminder.state == ReminderState.SENT)))
    assert stored == set(ids)


def sweep_in_threads(app: Flask, workers_count: int, now: datetime) -> list[tuple[str, int]]:
    """Run ``workers_count`` sweeps at once, each in its own thread with its own session."""
    barrier = threading.Barrier(workers_count)
    outcomes: list[tuple[str, int]] = []
    errors: list[BaseException] = []

    def work(index: int) -> None:
        try:
            with app.app_context():
                db.session.execute(sa.text("SELECT 1"))
                db.session.rollback()
                barrier.wait(timeout=30)
                result = jobs.sweep(now=now, worker=f"thread-{index}")
                outcomes.append((f"thread-{index}", len(result.sent)))
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001  (surfaced below, in the test's thread)
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(workers_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert not errors, errors
    return outcomes


def process_context() -> Any:
    """Return the multiprocessing context for worker processes (see the module docstring)."""
    context = multiprocessing.get_context(START_METHOD)
    if START_METHOD == "forkserver":
        # Takes effect when the server starts (the first worker of the run).
        context.set_forkserver_preload(["tests.reminder.preload"])
    return context


def sweep_in_processes(app: Flask, workers_count: int, now: datetime) -> list[tuple[str, int, int]]:
    """Run ``workers_count`` sweeps at once in separate processes against the same database."""
    context = process_context()
    barrier = context.Barrier(workers_count)
    results = context.Queue()
    config = workers.child_config(app.config, app.instance_path)
    processes = [context.Process(target=workers.sweep, args=(config, now.isoformat(), f"process-{i}", barrier,
                                                             results))
                 for i in range(workers_count)]
    for process in processes:
        process.start()
    outcomes = [results.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=30)
        assert process.exitcode == 0
    return outcomes


@pytest.mark.parametrize("workers_count", [2, 4])
def test_concurrent_sweeps_in_threads_send_each_reminder_once(app, users, smtp, workers_count):
    plan_due_reminders(users)
    outcomes = sweep_in_threads(app, workers_count, DUE)
    assert sum(sent for _, sent in outcomes) == COUNT
    assert_each_sent_once(smtp)


@pytest.mark.parametrize("workers_count", [2, 4])
def test_concurrent_sweeps_in_processes_send_each_reminder_once(app, users, smtp, workers_count):
    plan_due_reminders(users)
    outcomes = sweep_in_processes(app, workers_count, DUE)
    assert sum(sent for _, sent, _ in outcomes) == COUNT
    assert all(failed == 0 for _, _, failed in outcomes)
    assert_each_sent_once(smtp)


def cli_env(app: Flask, smtp: SmtpServer) -> dict[str, str]:
    """Environment for a ``flask`` process that uses this test's database and SMTP server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENTS_") and k != "DATABASE_URL"}
    env.update({
        "INCIDENTS_INSTANCE_PATH": app.instance_path,
        "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"],
        "INCIDENTS_SQLALCHEMY_ENGINE_OPTIONS": json.dumps(app.config["SQLALCHEMY_ENGINE_OPTIONS"]),
        "INCIDENTS_MAIL_SERVER": "127.0.0.1",
        "INCIDENTS_MAIL_PORT": str(smtp.port),
        "PYTHONUNBUFFERED": "1",
    })
    return env


def test_concurrent_flask_reminders_send_processes_send_each_reminder_once(app, users, smtp):
    plan_due_reminders(users)
    command = [sys.executable, "-m", "flask", "--app", "wsgi", "reminders", "send", "--now", DUE.isoformat()]
    processes = [subprocess.Popen(command, cwd=ROOT, env=cli_env(app, smtp), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for _ in range(2)]
    outputs = [process.communicate(timeout=120) for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs
    totals = [int(out.strip().splitlines()[-1].split()[0]) for out, _ in outputs]
    assert sum(totals) == COUNT
    assert_each_sent_once(smtp)


def test_an_smtp_outage_loses_nothing_and_doubles_nothing(app, users, smtp):
    plan_due_reminders(users, count=30, actions=5)
    smtp.stop()
    result = jobs.sweep(now=DUE, worker="during-outage")
    assert (len(result.sent), len(result.failed)) == (0, 30)
    db.session.rollback()
    rows = db.session.scalars(sa.select(Reminder)).all()
    due = [r for r in rows if r.send_at <= DUE]
    assert {r.state for r in due} == {ReminderState.PENDING}
    assert {r.attempts for r in due} == {1}
    assert all(r.last_error and "Connection refused" in r.last_error for r in due)
    assert {r.next_attempt_at for r in due} == {DUE + timedelta(minutes=2)}

    # Still down a minute later: the backoff holds, so nothing is even tried.
    result = jobs.sweep(now=DUE + timedelta(minutes=1), worker="backoff")
    assert (result.sent, result.failed) == ([], [])
    # Still down at the retry: a longer backoff, and the error is still there to see.
    result = jobs.sweep(now=DUE + timedelta(minutes=2), worker="retry")
    assert len(result.failed) == 30
    db.session.rollback()
    assert {r.next_attempt_at for r in db.session.scalars(sa.select(Reminder).where(Reminder.attempts == 2))} == {
        DUE + timedelta(minutes=6)}

    smtp.start()
    result = jobs.sweep(now=DUE + timedelta(minutes=6), worker="after-recovery")
    assert len(result.sent) == 30
    for later in (7, 60, 600):
        assert jobs.sweep(now=DUE + timedelta(minutes=later), worker="later").sent == []
    ids = smtp.ids()
    assert smtp.count() == 30 and len(ids) == 30
    db.session.rollback()
    sent = db.session.scalars(sa.select(Reminder).where(Reminder.state == ReminderState.SENT)).all()
    assert len(sent) == 30 and {r.attempts for r in sent} == {3}
    assert {r.last_error for r in sent} == {None}
    assert {r.sent_at for r in sent} == {DUE + timedelta(minutes=6)}


def test_a_server_that_refuses_some_messages_gets_them_again_later(app, users, smtp):
    plan_due_reminders(users, count=10, actions=0)
    smtp.recorder.refuse(3)
    result = jobs.sweep(now=DUE, worker="first")
    assert (len(result.sent), len(result.failed)) == (7, 3)
    db.session.rollback()
    failed = db.session.scalars(sa.select(Reminder).where(Reminder.last_error.is_not(None))).all()
    assert len(failed) == 3 and all("451" in r.last_error for r in failed)
    assert len(jobs.sweep(now=DUE + timedelta(minutes=2), worker="second").sent) == 3
    assert smtp.count() == 10 and len(smtp.ids()) == 10


def test_a_killed_sweep_is_resent_once_after_its_lease_and_not_before(app, users, smtp):
    plan_due_reminders(users, count=1, actions=0)
    context = process_context()
    doomed = context.Process(target=workers.sweep_and_hang,
                             args=(workers.child_config(app.config, app.instance_path), DUE.isoformat(), "doomed"))
    doomed.start()
    try:
        deadline = time.monotonic() + 30
        while _count(ReminderState.SENDING) == 0:
            assert time.monotonic() < deadline, "the doomed sweep never claimed the reminder"
            time.sleep(0.05)
    finally:
        doomed.kill()
        doomed.join(timeout=10)
    row = db.session.scalar(sa.select(Reminder))
    assert (row.state, row.claimed_by, row.attempts) == (ReminderState.SENDING, "doomed", 1)
    lease = timedelta(seconds=app.config["REMINDER_LEASE_SECONDS"])
    # Counted from the claim (the sweep's own time, a few milliseconds after DUE), not from the sweep's start.
    assert DUE + lease < row.lease_until < DUE + lease + timedelta(seconds=5)
    expires = row.lease_until

    for early in (DUE - expires, -timedelta(seconds=1), -timedelta(milliseconds=200)):
        assert jobs.sweep(now=expires + early, worker="too-early").sent == []
    assert smtp.count() == 0
    assert len(jobs.sweep(now=expires + timedelta(seconds=1), worker="rescuer").sent) == 1
    assert jobs.sweep(now=DUE + 2 * lease, worker="after").sent == []
    assert smtp.count() == 1
    db.session.rollback()
    row = db.session.scalar(sa.select(Reminder))
    assert (row.state, row.claimed_by, row.attempts) == (ReminderState.SENT, "rescuer", 2)


def test_a_claim_by_a_live_worker_is_left_alone(app, users, smtp):
    plan_due_reminders(users, count=3, actions=0)
    first = db.session.scalars(sa.select(Reminder.id).order_by(Reminder.id)).first()
    assert jobs.claim(first, now=DUE, worker="busy") is True
    assert jobs.claim(first, now=DUE, worker="other") is False
    result = jobs.sweep(now=DUE + timedelta(seconds=30), worker="other")
    assert len(result.sent) == 2
    assert smtp.count() == 2


def test_cancelling_while_a_send_fails_keeps_it_cancelled(app, users, smtp, monkeypatch):
    """Re-planning cancels a reminder whose send is failing at that moment: it must not come back."""
    plan_due_reminders(users, count=1, actions=0)
    smtp.stop()
    reminder_id = db.session.scalar(sa.select(Reminder.id))

    from incidents.reminder import mail

    def cancel_then_fail(message: Any, **_: Any) -> None:
        with db.engine.begin() as other:
            other.execute(sa.update(Reminder).where(Reminder.id == reminder_id)
                          .values(state=ReminderState.CANCELLED))
        raise ConnectionRefusedError("down")

    monkeypatch.setattr(mail, "deliver", cancel_then_fail)
    jobs.sweep(now=DUE, worker="w")
    db.session.rollback()
    assert db.session.get(Reminder, reminder_id).state == ReminderState.CANCELLED


def test_a_sweep_sends_over_one_connection_and_reconnects_once_dropped(app, users, smtp):
    """One SMTP session carries the sweep; when the server drops it, the next message goes on a new one."""
    plan_due_reminders(users, count=6, actions=0)
    smtp.recorder.drop_after = {3}
    result = jobs.sweep(now=DUE, worker="w")
    assert len(result.sent) == 6 and result.failed == []
    assert sorted(smtp.ids().values()) == [1] * 6
    assert len(set(smtp.recorder.peers[:3])) == 1 and len(set(smtp.recorder.peers)) == 2
    assert db.session.scalar(sa.select(sa.func.count()).where(Reminder.state == ReminderState.SENT)) == 6
