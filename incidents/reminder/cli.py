"""``flask reminders ...`` and ``flask scheduler run``."""
from __future__ import annotations

import signal
from datetime import datetime
from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from incidents.extensions import db
from incidents.notification import jobs as notification_jobs
from incidents.ops import service as ops
from incidents.reminder import jobs
from incidents.reminder import service as reminder_service
from incidents.reminder.models import ReminderState
from incidents.timeutil import UTC, format_local, utcnow

reminders_cli = AppGroup("reminders", help="List, plan and send reminders.")
scheduler_cli = AppGroup("scheduler", help="Run the reminder scheduler.")


def _instant(text: str | None, name: str) -> datetime | None:
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)
    except ValueError:
        raise click.BadParameter("give an ISO 8601 date and time, e.g. 2023-05-04T09:00+01:00", param_hint=name)
    if value.tzinfo is None:
        raise click.BadParameter("include the offset, e.g. 2023-05-04T09:00+01:00 or ...Z", param_hint=name)
    return value.astimezone(UTC)


@reminders_cli.command("list")
@click.option("--due-before", help="Only reminders due by this ISO instant.")
@click.option("--all", "show_all", is_flag=True, help="Include sent and cancelled reminders.")
def list_(due_before: str | None, show_all: bool) -> None:
    """List pending reminders (soonest first)."""
    states = None if show_all else [ReminderState.PENDING, ReminderState.SENDING]
    rows = reminder_service.list_reminders(states=states, due_before=_instant(due_before, "--due-before"),
                                           limit=10000)
    for row in rows:
        click.echo(f"{format_local(row.send_at)}\t{row.state.value}\t{', '.join(row.recipients)}\t{row.subject}")
    click.echo(f"{len(rows)} reminder(s).")


@reminders_cli.command("plan")
@click.option("--now", help="Plan as if at this ISO instant.")
def plan(now: str | None) -> None:
    """Re-plan the reminders of every open record."""
    count = reminder_service.plan_all(now=_instant(now, "--now"))
    db.session.commit()
    click.echo(f"Planned reminders for {count} record(s).")


@reminders_cli.command("send")
@click.option("--now", help="Sweep as if at this ISO instant.")
def send(now: str | None) -> None:
    """Run one sweep: send every reminder due, printing what was sent."""
    result = jobs.sweep(now=_instant(now, "--now"))
    for subject in result.sent:
        click.echo(f"sent: {subject}")
    for subject in result.failed:
        click.echo(f"failed (will retry): {subject}")
    click.echo(f"{len(result.sent)} sent, {len(result.failed)} failed.")


@scheduler_cli.command("run")
@click.option("--interval", default=60, show_default=True, help="Seconds between sweeps.")
@with_appcontext
def run(interval: int) -> None:
    """Run the sweep every minute in this process until SIGTERM or Ctrl-C."""
    from apscheduler.schedulers.blocking import BlockingScheduler

    app = current_app._get_current_object()  # type: ignore[attr-defined]
    scheduler = BlockingScheduler(timezone="UTC")

    def tick() -> None:
        with app.app_context():
            try:
                result = jobs.sweep(now=utcnow())
                if result.sent or result.failed:
                    app.logger.info("Reminder sweep: %s sent, %s failed", len(result.sent), len(result.failed))
            finally:
                db.session.remove()

    scheduler.add_job(tick, "interval", seconds=interval, next_run_time=utcnow(), max_instances=1, coalesce=True,
                      id="reminder-sweep")

    def notify() -> None:
        with app.app_context():
            try:
                emails = notification_jobs.sweep(now=utcnow())
                hooks = notification_jobs.deliver_webhooks(now=utcnow())
                if emails.sent or emails.failed or hooks.sent or hooks.failed:
                    app.logger.info("Notifications: %s sent, %s failed; webhooks: %s delivered, %s failed",
                                    len(emails.sent), len(emails.failed), len(hooks.sent), len(hooks.failed))
            finally:
                db.session.remove()

    # Review notifications and webhooks: after each commit they wait at most one interval.
    scheduler.add_job(notify, "interval", seconds=interval, next_run_time=utcnow(), max_instances=1, coalesce=True,
                      id="notification-sweep")

    def optimize() -> None:
        with app.app_context():
            try:
                ops.refresh_statistics()
            finally:
                db.session.remove()

    # The query planner's statistics, kept fresh as the data grows (SQLite; PostgreSQL's autovacuum does it).
    scheduler.add_job(optimize, "cron", hour=3, minute=17, id="refresh-statistics", coalesce=True)

    def stop(signum: int, frame: Any) -> None:
        click.echo("Scheduler stopping after the current sweep.")
        scheduler.shutdown(wait=True)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    click.echo(f"Reminder scheduler running: a sweep every {interval} s (Ctrl-C or SIGTERM to stop).")
    scheduler.start()
