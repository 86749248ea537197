"""``flask notifications send``: one sweep of notification emails and webhook deliveries."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from incidents.notification import jobs
from incidents.reminder.cli import _instant

notifications_cli = AppGroup("notifications", help="Send review notifications and webhook deliveries.")


@notifications_cli.command("send")
@click.option("--now", help="Sweep as if at this ISO instant.")
def send(now: str | None) -> None:
    """Send every notification email and webhook delivery due, printing the counts."""
    at = _instant(now, "--now")
    emails = jobs.sweep(now=at)
    hooks = jobs.deliver_webhooks(now=at)
    click.echo(f"Emails: {len(emails.sent)} sent, {len(emails.failed)} failed. "
               f"Webhooks: {len(hooks.sent)} delivered, {len(hooks.failed)} failed (will retry).")
