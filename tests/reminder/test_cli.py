"""``flask reminders list/plan/send`` and ``flask scheduler run``."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from incidents import create_app
from incidents.extensions import db
from incidents.reminder.models import Reminder, ReminderKind, ReminderState
from tests import factories
from tests.reminder.helpers import uk

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture()
def case(app, users):
    created = uk(date(2023, 4, 4), 11, 0)
    incident = factories.incident(actor=users["dcc"], now=created, reference="INC000001001905")
    db.session.commit()
    return incident


def test_list_shows_what_is_due_before_a_time(runner, case):
    result = runner.invoke(args=["reminders", "list", "--due-before", "2023-04-06T09:00+01:00"])
    assert result.exit_code == 0, result.output
    lines = result.output.strip().splitlines()
    assert lines[-1] == "2 reminder(s)."
    assert lines[0].startswith("Wed 5 Apr 2023 09:00 BST\tpending\tdcc-major-incidents@dcc.example")
    assert lines[0].endswith("[Summary Report due in 1 working day] INC000001001905 National telecoms carrier outage")
    assert "Thu 6 Apr 2023 09:00 BST" in lines[1]

    everything = runner.invoke(args=["reminders", "list"])
    assert everything.output.strip().splitlines()[-1] == "9 reminder(s)."


def test_send_sweeps_as_of_a_given_time_and_says_what_it_sent(runner, case, smtp):
    result = runner.invoke(args=["reminders", "send", "--now", "2023-04-05T09:00:00+01:00"])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines() == [
        "sent: [Summary Report due in 1 working day] INC000001001905 National telecoms carrier outage",
        "1 sent, 0 failed."]
    assert smtp.count() == 1
    again = runner.invoke(args=["reminders", "send", "--now", "2023-04-05T10:00:00+01:00"])
    assert again.output.splitlines() == ["0 sent, 0 failed."]
    listed = runner.invoke(args=["reminders", "list", "--all", "--due-before", "2023-04-05T12:00Z"])
    assert "\tsent\t" in listed.output


def test_send_reports_failures_that_will_be_retried(runner, case, smtp):
    smtp.stop()
    result = runner.invoke(args=["reminders", "send", "--now", "2023-04-05T08:00:00Z"])
    assert result.exit_code == 0
    assert result.output.splitlines()[-1] == "0 sent, 1 failed."
    assert "failed (will retry): [Summary Report due in 1 working day]" in result.output


@pytest.mark.parametrize("args", [
    ["reminders", "send", "--now", "yesterday"],
    ["reminders", "send", "--now", "2023-04-05T09:00"],
    ["reminders", "list", "--due-before", "soon"],
])
def test_times_must_be_iso_with_an_offset(runner, case, args):
    result = runner.invoke(args=args)
    assert result.exit_code == 2
    assert "ISO 8601" in result.output or "include the offset" in result.output


def test_plan_replans_every_open_record(runner, case):
    db.session.execute(sa.delete(Reminder))
    db.session.commit()
    result = runner.invoke(args=["reminders", "plan", "--now", "2023-04-04T12:00:00+01:00"])
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "Planned reminders for 1 record(s)."
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Reminder)) == 9


def _flask(instance: Path, database: str, *args: str, **kwargs: object) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INCIDENTS_") and k != "DATABASE_URL"}
    env.update({"INCIDENTS_INSTANCE_PATH": str(instance), "DATABASE_URL": database, "PYTHONUNBUFFERED": "1"})
    return subprocess.Popen([sys.executable, "-m", "flask", "--app", "wsgi", *args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, **kwargs)  # type: ignore[call-overload]


def test_scheduler_sends_what_is_due_and_stops_cleanly_on_sigterm(tmp_path):
    instance = tmp_path / "scheduler-instance"
    instance.mkdir()
    database = f"sqlite:///{tmp_path / 'scheduler.sqlite'}"
    upgrade = _flask(instance, database, "db", "upgrade")
    output, _ = upgrade.communicate(timeout=120)
    assert upgrade.returncode == 0, output

    # One reminder already due, added through the app on the migrated database.
    side = create_app({"SQLALCHEMY_DATABASE_URI": database, "SECRET_KEY": "t"})
    with side.app_context():
        db.session.add(Reminder(key="scheduler:1", kind=ReminderKind.ACTION, subject="[Scheduler test]",
                                label="due today", recipients=["ops@example.org"], link_path="/",
                                send_at=datetime.now(UTC) - timedelta(minutes=1),
                                message_id="<scheduler.1@incidents.example>"))
        db.session.commit()

        scheduler = _flask(instance, database, "scheduler", "run", "--interval", "1")
        try:
            assert scheduler.stdout is not None
            assert "Reminder scheduler running" in scheduler.stdout.readline()
            outbox = instance / "outbox"
            deadline = time.monotonic() + 30
            while not list(outbox.glob("*.eml")):
                assert time.monotonic() < deadline, "the scheduler sent nothing"
                assert scheduler.poll() is None
                time.sleep(0.1)
            scheduler.send_signal(signal.SIGTERM)
            output, _ = scheduler.communicate(timeout=10)
        finally:
            if scheduler.poll() is None:
                scheduler.kill()
                scheduler.wait()
        assert scheduler.returncode == 0, output
        assert "Scheduler stopping after the current sweep." in output
        assert db.session.scalar(sa.select(Reminder.state)) == ReminderState.SENT
        db.session.remove()
        db.engine.dispose()
