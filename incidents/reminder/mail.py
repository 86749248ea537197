"""Build reminder emails and deliver them by SMTP, or to .eml files when no server is configured."""
from __future__ import annotations

import logging
import os
import smtplib
import tempfile
from datetime import datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid  # noqa: F401  (make_msgid kept for callers)

from flask import current_app, render_template

from incidents.reminder.models import Reminder
from incidents.timeutil import format_local

log = logging.getLogger(__name__)


def build(reminder: Reminder, *, sent_at: datetime | None = None) -> EmailMessage:
    """Build the email for a reminder: plain text and HTML, stable Message-ID, dated when it is sent."""
    link = current_app.config["BASE_URL"].rstrip("/") + reminder.link_path
    context = {"reminder": reminder, "link": link,
               "send_at": format_local(reminder.send_at),
               "deadline": reminder.deadline_on.strftime("%a %-d %b %Y") if reminder.deadline_on else None}
    message = EmailMessage()
    message["Subject"] = reminder.subject
    message["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    message["To"] = ", ".join(reminder.recipients)
    message["Message-ID"] = reminder.message_id
    message["Date"] = format_datetime(sent_at or reminder.send_at)
    message["X-Incidents-Reminder"] = reminder.key
    message.set_content(render_template("mail/reminder.txt", **context))
    message.add_alternative(render_template("mail/reminder.html", **context), subtype="html")
    return message


def deliver(message: EmailMessage) -> None:
    """Send by SMTP when MAIL_SERVER is set; otherwise write an .eml file under instance/outbox."""
    config = current_app.config
    if not message["To"]:
        raise ValueError("The reminder has no recipients: set REMINDER_ADDRESSES, then run `flask reminders plan`.")
    if not config.get("MAIL_SERVER"):
        _write_file(message)
        return
    smtp_class = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
    smtp = smtp_class(config["MAIL_SERVER"], int(config["MAIL_PORT"]), timeout=config["MAIL_TIMEOUT"])
    try:
        if config["MAIL_USE_TLS"] and not config["MAIL_USE_SSL"]:
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
        smtp.send_message(message)
    except BaseException:
        smtp.close()
        raise
    # The server has accepted the message: a failure to say goodbye must not make it count as
    # unsent, or the next sweep would send it a second time.
    try:
        smtp.quit()
    except (smtplib.SMTPException, OSError) as exc:
        log.warning("SMTP QUIT failed after %s was accepted: %s", message["Message-ID"], exc)
        smtp.close()


def outbox_dir() -> str:
    """Return the folder where emails are written when no SMTP server is configured."""
    return os.path.join(current_app.instance_path, "outbox")


def _write_file(message: EmailMessage) -> None:
    folder = outbox_dir()
    os.makedirs(folder, exist_ok=True)
    name = str(message["Message-ID"]).strip("<>").replace("@", "_").replace("/", "_") + ".eml"
    # Write then rename, so a reader never sees half a file.
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "wb") as handle:
        handle.write(bytes(message))
    os.replace(tmp, os.path.join(folder, name))
