"""Write notification emails: one event at once, or a person's digest of the day's events."""
from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import format_datetime

from flask import current_app

from incidents.notification.models import Delivery, Event, EventKind, Notification
from incidents.notification.service import PUBLIC_KINDS
from incidents.reminder import mail as reminder_mail
from incidents.timeutil import format_local
from incidents.user.models import Role, User


def link(event: Event, *, internal: bool) -> str:
    """Return where the reader goes: the review for those who see it, else the published report."""
    base = current_app.config["BASE_URL"].rstrip("/")
    reference = event.details.get("reference", "")
    if internal:
        return f"{base}/incidents/{reference}/review"
    return f"{base}/published/{reference}"


def one_line(event: Event, *, internal: bool) -> str:
    """Say in one line what happened (for a party: the published edition only)."""
    published = event.details.get("published") or {}
    if not internal:
        return (f"Report published to SEC Parties: {published.get('reference')} {published.get('title')} "
                f"(version {published.get('version')}, {published.get('classification')}) "
                f"{link(event, internal=False)}")
    text = f"{event.details.get('reference')}: {event.kind.label}"
    if event.actor_name:
        text += f" by {event.actor_name}"
    steps = event.details.get("next_steps", [])
    if steps:
        text += ". Next: " + "; ".join(f"{step['who']}: {step['what']}" for step in steps)
    return f"{text}. {link(event, internal=True)}"


def _paragraph(event: Event, *, internal: bool) -> str:
    """The lines about one event."""
    when = format_local(event.occurred_at)
    if not internal:
        published = event.details.get("published") or {}
        return (f"{published.get('reference')}: {published.get('title')}\n"
                f"Version {published.get('version')}, classified {published.get('classification')}, "
                f"published {when}.\nRead it: {link(event, internal=False)}\n")
    lines = [f"{event.details.get('reference')}: {event.details.get('title')}",
             f"{event.kind.label} on {when}" + (f" by {event.actor_name}." if event.actor_name else ".")]
    steps = event.details.get("next_steps", [])
    if steps:
        lines.append("Who acts next:")
        lines += [f"  - {step['who']}: {step['what']}" + (f" (by {step['due_on']})" if step.get("due_on") else "")
                  for step in steps]
    else:
        lines.append("Nobody has a step to take next.")
    lines.append(f"Open it: {link(event, internal=True)}")
    return "\n".join(lines) + "\n"


def build(*, user: User, rows: Sequence[Notification], sent_at: datetime) -> reminder_mail.Email:
    """Build the email of one batch: a single event, or the digest of several, for one person."""
    config = current_app.config
    events = [row.event for row in rows]
    # A SEC Party sees the published edition only; everyone else who may see the incident gets the review.
    internal = {row.id: row.event.kind not in PUBLIC_KINDS or user.role != Role.PARTY for row in rows}
    is_digest = rows[0].delivery == Delivery.DIGEST
    if is_digest:
        subject = f"Review changes: {len(events)} update{'s' if len(events) != 1 else ''}"
    else:
        event = events[0]
        reference = (event.details.get("published") or {}).get("reference") or event.details.get("reference")
        subject = f"[{reference}] {event.kind.label}"
    parts = [_paragraph(row.event, internal=internal[row.id]) for row in rows]
    body = ("\n".join(parts) + "\nYou get these emails because you act next on these reviews, follow the incident "
            "or subscribed. Choose immediate, daily digest or none for each kind: "
            f"{config['BASE_URL'].rstrip('/')}/settings/notifications\n")
    digest = hashlib.sha256(rows[0].batch_key.encode()).hexdigest()[:24]
    message_id = f"<notify-{digest}@{_domain(config['MAIL_DEFAULT_SENDER'])}>"
    message = EmailMessage(policy=SMTP)
    sender, from_header = reminder_mail._sender(config["MAIL_DEFAULT_SENDER"])
    message["Subject"] = subject
    message["From"] = from_header
    message["To"] = user.email
    message["Message-ID"] = message_id
    message["Date"] = format_datetime(sent_at)
    message["X-Incidents-Notification"] = ",".join(kind_names(events))
    message.set_content(body, cte="quoted-printable")
    return reminder_mail.Email(sender=sender, recipients=[user.email], message_id=message_id,
                               raw=message.as_bytes(), subject=subject, label="digest" if is_digest else "immediate")


def kind_names(events: Sequence[Event]) -> list[str]:
    """Return the distinct kinds in a batch, in order."""
    return list(dict.fromkeys(EventKind(event.kind).value for event in events))


def _domain(sender: str) -> str:
    return sender.rpartition("@")[2].strip(">") or "localhost"
