"""Exactly once whatever the timing: a slow mail server, a short lease, and a second sweep started while the first
is still sending (a real SMTP server on loopback that takes its time over each message).

Both sweeps run on the real clock, each in its own thread with its own app context and session, against the
suite's database (SQLite, or PostgreSQL when TEST_DATABASE_URL is set).
"""
from __future__ import annotations

import threading
import time
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask

from incidents import create_app
from incidents.extensions import db
from incidents.reminder import jobs
from incidents.reminder.models import Reminder, ReminderState
from tests.reminder.helpers import SmtpServer
from tests.reminder.test_delivery import plan_due_reminders

LEASE = 2.0  # seconds
DELAY = 0.4  # seconds the server takes over each message
COUNT = 20  # so the first sweep sends for about 8 s, four times its lease (room for a slow start of the second)


@pytest.fixture()
def app_config(smtp: SmtpServer) -> dict[str, Any]:
    """A short lease, and the loopback server."""
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port, "MAIL_TIMEOUT": 10, "REMINDER_LEASE_SECONDS": LEASE}


class Sweeper(threading.Thread):
    """One sweep on the real clock, in a thread of its own with its own app context (so its own session)."""

    def __init__(self, app: Flask, worker: str) -> None:
        super().__init__(name=worker)
        self.app, self.worker = app, worker
        self.sent: list[str] = []
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            with self.app.app_context():
                self.sent = jobs.sweep(worker=self.worker).sent
                db.session.remove()
        except BaseException as exc:  # noqa: BLE001  (surfaced in the test's thread)
            self.error = exc


def race(app: Flask, smtp: SmtpServer) -> tuple[Sweeper, Sweeper]:
    """Start a sweep, and a second one once the first has sent something and outlived its lease; wait for both."""
    smtp.recorder.delay = DELAY
    first = Sweeper(app, "first")
    started = time.monotonic()
    first.start()
    while smtp.count() == 0 or time.monotonic() - started < LEASE * 1.4:
        assert first.is_alive(), "the first sweep ended before the second could start"
        time.sleep(0.02)
    second = Sweeper(app, "second")
    second.start()
    for sweeper in (first, second):
        sweeper.join(timeout=120)
        assert not sweeper.is_alive() and sweeper.error is None, sweeper.error
    return first, second


def delivered_once(smtp: SmtpServer) -> dict[str, str]:
    """Check every reminder reached the server exactly once and its row says sent; return who sent each."""
    ids = smtp.ids()
    assert smtp.count() == COUNT and len(ids) == COUNT and set(ids.values()) == {1}
    db.session.rollback()
    rows = db.session.execute(sa.select(Reminder.message_id, Reminder.state, Reminder.claimed_by)).all()
    assert {row.state for row in rows} == {ReminderState.SENT}
    assert {row.message_id for row in rows} == set(ids)
    return {row.message_id: row.claimed_by for row in rows}


def test_a_sweep_that_outlives_its_lease_keeps_its_claims_and_nothing_goes_twice(app, users, smtp):
    plan_due_reminders(users, count=COUNT, actions=0)
    first, second = race(app, smtp)
    # The first sweep renewed its lease while it sent: the second found nothing to take.
    assert (len(first.sent), second.sent) == (COUNT, [])
    assert set(delivered_once(smtp).values()) == {"first"}


def test_a_sweep_that_stalls_past_its_lease_never_sends_what_another_took_over(app, users, smtp, monkeypatch):
    """Renewal stopped (as in a process frozen between sends): the second sweep takes the rest over once the lease
    has run out, and the first, confirming each row before it sends, leaves every row taken from it."""
    monkeypatch.setattr(jobs.Renewal, "_run", lambda self: None)
    plan_due_reminders(users, count=COUNT, actions=0)
    first, second = race(app, smtp)
    assert first.sent and second.sent and len(first.sent) + len(second.sent) == COUNT
    assert set(delivered_once(smtp).values()) == {"first", "second"}


def test_a_message_slower_than_the_lease_is_not_taken_over(app, users, smtp):
    plan_due_reminders(users, count=2, actions=0)
    smtp.recorder.delay = LEASE * 1.5
    first = Sweeper(app, "first")
    first.start()
    time.sleep(LEASE * 1.2)  # the first message is still with the server, its claim two lease-renewals old
    with app.app_context():
        assert jobs.sweep(worker="second").sent == []
    first.join(timeout=60)
    assert first.error is None and len(first.sent) == 2
    assert smtp.count() == 2 and set(smtp.ids().values()) == {1}


@pytest.mark.parametrize("given, seconds", [(300, 300.0), (7.5, 7.5), ("0.25", 0.25), (" 12 ", 12.0)])
def test_the_lease_takes_any_positive_number_of_seconds(tmp_path, monkeypatch, given, seconds):
    monkeypatch.setenv("INCIDENTS_INSTANCE_PATH", str(tmp_path))
    assert create_app({"REMINDER_LEASE_SECONDS": given}).config["REMINDER_LEASE_SECONDS"] == seconds


def test_the_lease_from_the_environment_may_be_a_fraction(tmp_path, monkeypatch):
    monkeypatch.setenv("INCIDENTS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("INCIDENTS_REMINDER_LEASE_SECONDS", "8.5")
    assert create_app().config["REMINDER_LEASE_SECONDS"] == 8.5


@pytest.mark.parametrize("given", [0, -5, "soon", "", True, None, float("nan"), float("inf"), [30]])
def test_a_lease_that_is_not_a_positive_number_is_refused_with_what_to_set(tmp_path, monkeypatch, given):
    monkeypatch.setenv("INCIDENTS_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(ValueError, match=r"REMINDER_LEASE_SECONDS must be a positive number of seconds, such as "
                                         r"300 or 7\.5; it is "):
        create_app({"REMINDER_LEASE_SECONDS": given})
