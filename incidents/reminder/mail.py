"""Build reminder emails and deliver them by SMTP, or to .eml files when no server is configured."""
from __future__ import annotations

import functools
import logging
import os
import secrets
import smtplib
import tempfile
from dataclasses import dataclass
from datetime import datetime
from email.charset import QP, Charset
from email.header import Header
from email.utils import format_datetime, formataddr, parseaddr
from typing import Any, Self

from flask import current_app

from incidents.reminder import service as reminder_service
from incidents.reminder.models import Reminder
from incidents.timeutil import format_date, format_local, local_date, utcnow

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Email:
    """A reminder email ready to go: the envelope and the message as sent (``bytes(email)``)."""

    sender: str
    recipients: list[str]
    message_id: str
    raw: bytes
    # The words as written when it was built (the sending day's): recorded on the row once it has gone.
    subject: str
    label: str

    def __bytes__(self) -> bytes:
        return self.raw


def build(reminder: Reminder | Any, *, sent_at: datetime | None = None) -> Email:
    """Build the email for a reminder (or a row with its fields): plain text and HTML, stable Message-ID, dated
    and worded when it is sent ("due in" / "overdue by" counted to the sending day, not the planned one).

    The message has one fixed shape (multipart/alternative: text, then HTML, both UTF-8 as quoted-printable), so
    it is written here directly; the email package still encodes every header that needs it (non-ASCII text,
    long lines) and the bodies. Building it as a tree of email.mime objects and serialising that cost a sweep
    of ten thousand reminders about nine seconds of processor time.
    """
    config = current_app.config
    sent_at = sent_at or utcnow()
    subject, label = reminder_service.wording(reminder, on=local_date(sent_at))
    # Always the configured address, never the request's: a sweep has no request, and a page that happens to
    # trigger a send may be reached by an address the recipients cannot use.
    link = config["BASE_URL"].rstrip("/") + reminder.link_path
    context = {"reminder": reminder, "subject": subject, "label": label, "link": link,
               "sent_at": format_local(sent_at), "details": reminder_service.details(reminder),
               "deadline": format_date(reminder.deadline_on) or None, "since": format_date(reminder.since_on) or None}
    sender, from_header = _sender(config["MAIL_DEFAULT_SENDER"])
    boundary = f"=_{secrets.token_hex(16)}"  # '=_' never occurs in quoted-printable text
    headers = [
        ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
        ("MIME-Version", "1.0"),
        ("Subject", subject),
        ("From", from_header),
        ("To", ", ".join(reminder.recipients)),
        ("Message-ID", reminder.message_id),
        ("Date", format_datetime(sent_at)),
        ("X-Incidents-Reminder", reminder.key),
    ]
    lines = [_header_line(field, value) for field, value in headers]
    for subtype, template in (("plain", "mail/reminder.txt"), ("html", "mail/reminder.html")):
        lines += ["", f"--{boundary}", f'Content-Type: text/{subtype}; charset="utf-8"', "MIME-Version: 1.0",
                  "Content-Transfer-Encoding: quoted-printable", "",
                  _UTF8.body_encode(_render(template, context)).rstrip("\n")]
    lines += ["", f"--{boundary}--", ""]
    raw = "\r\n".join(line.replace("\n", "\r\n") for line in lines).encode("ascii")
    return Email(sender=sender, recipients=list(reminder.recipients), message_id=reminder.message_id, raw=raw,
                 subject=subject, label=label)


def _render(template: str, context: dict[str, Any]) -> str:
    # The template alone: the page context (the signed-in user, permissions) means nothing in an email.
    return current_app.jinja_env.get_template(template).render(**context)


@functools.lru_cache(maxsize=8)
def _sender(configured: str) -> tuple[str, str]:
    """The envelope sender's address and the From header for the configured sender."""
    name, address = parseaddr(configured)
    return address, formataddr((name, address), charset="utf-8")


def _header_line(field: str, value: str) -> str:
    """One header: ASCII folded at spaces to lines of at most 78 characters; other text encoded (RFC 2047)."""
    value = " ".join(value.splitlines())  # a line break would end the header
    if not value.isascii():
        return f"{field}: " + Header(value, "utf-8", header_name=field).encode(linesep="\n")
    lines = [f"{field}:"]
    for word in value.split(" "):
        # A new line starts at a space (folding); never for an empty word, nor after the name alone.
        if word and len(lines[-1]) + 1 + len(word) > 78 and lines[-1] != f"{field}:":
            lines.append("")
        lines[-1] += " " + word
    return "\n".join(lines)


# UTF-8 bodies as quoted-printable: readable in the raw message, safe for any mail server.
_UTF8 = Charset("utf-8")
_UTF8.body_encoding = QP


def deliver(message: Email, via: Postman | None = None) -> None:
    """Send by SMTP when MAIL_SERVER is set (over ``via``'s connection, else a new one); otherwise write an
    .eml file under instance/outbox."""
    if not message.recipients:
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

    def send(self, message: Email) -> None:
        """Send one message; a connection the server has dropped while idle is opened again, once."""
        for attempt in (1, 2):
            fresh = self._smtp is None
            if self._smtp is None:
                self._smtp = _connect()
            try:
                self._smtp.sendmail(message.sender, message.recipients, message.raw)
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


def _write_file(message: Email) -> None:
    folder = outbox_dir()
    os.makedirs(folder, exist_ok=True)
    name = message.message_id.strip("<>").replace("@", "_").replace("/", "_") + ".eml"
    # Write then rename, so a reader never sees half a file.
    fd, tmp = tempfile.mkstemp(dir=folder, suffix=".tmp")
    with os.fdopen(fd, "wb") as handle:
        handle.write(bytes(message))
    os.replace(tmp, os.path.join(folder, name))
