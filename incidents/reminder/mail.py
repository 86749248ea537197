"""Build reminder emails and deliver them by SMTP, or to .eml files when no server is configured."""
from __future__ import annotations

import logging
import os
import smtplib
import tempfile
from datetime import datetime
from email.charset import QP, Charset
from email.header import Header
from email.message import Message
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any, Self

from flask import current_app, render_template

from incidents.reminder.models import Reminder
from incidents.timeutil import format_local

log = logging.getLogger(__name__)


def build(reminder: Reminder | Any, *, sent_at: datetime | None = None) -> Message:
    """Build the email for a reminder (or a row with its fields): plain text and HTML, stable Message-ID, dated
    when it is sent.

    Built with the email package's compat32 classes: the modern EmailMessage parses every header it is
    given and cost a sweep of ten thousand reminders several seconds; these only encode what needs it.
    """
    link = current_app.config["BASE_URL"].rstrip("/") + reminder.link_path
    context = {"reminder": reminder, "link": link,
               "send_at": format_local(reminder.send_at),
               "deadline": reminder.deadline_on.strftime("%a %-d %b %Y") if reminder.deadline_on else None}
    message = MIMEMultipart("alternative")
    message["Subject"] = _header(reminder.subject)
    name, address = parseaddr(current_app.config["MAIL_DEFAULT_SENDER"])
    message["From"] = formataddr((name, address), charset="utf-8")
    message["To"] = _header(", ".join(reminder.recipients))
    message["Message-ID"] = reminder.message_id
    message["Date"] = format_datetime(sent_at or reminder.send_at)
    message["X-Incidents-Reminder"] = _header(reminder.key)
    message.attach(MIMEText(render_template("mail/reminder.txt", **context), "plain", _UTF8))
    message.attach(MIMEText(render_template("mail/reminder.html", **context), "html", _UTF8))
    return message


def _header(text: str) -> str | Header:
    return text if text.isascii() else Header(text, "utf-8")


# UTF-8 bodies as quoted-printable: readable in the raw message, safe for any mail server.
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP


def deliver(message: Message, via: Postman | None = None) -> None:
    """Send by SMTP when MAIL_SERVER is set (over ``via``'s connection, else a new one); otherwise write an
    .eml file under instance/outbox."""
    if not message["To"]:
        raise ValueError("The reminder has no recipients: set REMINDER_ADDRESSES, then run `flask reminders plan`.")
    if not current_app.config.get("MAIL_SERVER"):
        _write_file(message)
        return
    if via is not None:
        via.send(message)
        return
    with Postman() as postman:
        postman.send(message)


class Postman:
    """One SMTP connection for many messages (a sweep's), opened when first needed and closed at the end."""

    def __init__(self) -> None:
        self._smtp: smtplib.SMTP | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, message: Message) -> None:
        """Send one message; a connection the server has dropped while idle is opened again, once."""
        for attempt in (1, 2):
            fresh = self._smtp is None
            if self._smtp is None:
                self._smtp = _connect()
            try:
                self._smtp.send_message(message)
                return
            except smtplib.SMTPServerDisconnected:
                # Dropped before the message was accepted: safe to send again on a new connection.
                self._abandon()
                if fresh or attempt == 2:
                    raise
            except BaseException:
                self._abandon()
                raise

    def close(self) -> None:
        """Say goodbye. Every message sent was already accepted: a failed QUIT loses nothing, so it is only logged."""
        if self._smtp is None:
            return
        try:
            self._smtp.quit()
        except (smtplib.SMTPException, OSError) as exc:
            log.warning("SMTP QUIT failed after the messages were accepted: %s", exc)
            self._abandon()
        self._smtp = None

    def _abandon(self) -> None:
        if self._smtp is not None:
            try:
                self._smtp.close()
            finally:
                self._smtp = None


def _connect() -> smtplib.SMTP:
    config = current_app.config
    smtp_class = smtplib.SMTP_SSL if config["MAIL_USE_SSL"] else smtplib.SMTP
    smtp = smtp_class(config["MAIL_SERVER"], int(config["MAIL_PORT"]), timeout=config["MAIL_TIMEOUT"])
    try:
        if config["MAIL_USE_TLS"] and not config["MAIL_USE_SSL"]:
            smtp.starttls()
        if config.get("MAIL_USERNAME"):
            smtp.login(config["MAIL_USERNAME"], config.get("MAIL_PASSWORD") or "")
    except BaseException:
        smtp.close()
        raise
    return smtp


def outbox_dir() -> str:
    """Return the folder where emails are written when no SMTP server is configured."""
    return os.path.join(current_app.instance_path, "outbox")


def _write_file(message: Message) -> None:
    folder = outbox_dir()
    os.makedirs(folder, exist_ok=True)
    name = str(message["Message-ID"]).strip("<>").replace("@", "_").replace("/", "_") + ".eml"
    # Write then rename, so a reader never sees half a file.
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "wb") as handle:
        handle.write(bytes(message))
    os.replace(tmp, os.path.join(folder, name))
