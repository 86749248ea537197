"""The scheduler's sweeps: email each notification due, post each webhook delivery due; exactly once each.

As the reminder sweep does (``incidents.reminder.jobs``): rows are claimed by one conditional UPDATE under a
token of their own with a lease, confirmed as still held by that token just before anything leaves, and
recorded as sent only where the token still holds; a sweep that dies leaves its rows to be taken over once
the lease runs out. Safe to run twice and from two processes at once.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import current_app

from incidents.extensions import db
from incidents.incident.models import Incident
from incidents.notification import mail
from incidents.notification import service as notification_service
from incidents.notification.models import (
    Event,
    Notification,
    PayloadFormat,
    SendState,
    Webhook,
    WebhookDelivery,
)
from incidents.reminder import jobs as reminder_jobs
from incidents.reminder import mail as reminder_mail
from incidents.timeutil import utcnow
from incidents.user.models import User

log = logging.getLogger(__name__)
MAX_BACKOFF_MINUTES = 60
# Pauses between webhook attempts; the last is repeated until a day has passed since the event.
WEBHOOK_BACKOFF = (timedelta(seconds=30), timedelta(minutes=2), timedelta(minutes=10), timedelta(minutes=30),
                   timedelta(hours=1), timedelta(hours=2), timedelta(hours=4))
WEBHOOK_TIMEOUT = 10.0
KEPT_RESPONSE = 300  # characters of a failed answer kept in the log


@dataclass
class SweepResult:
    """What one sweep did."""

    sent: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)


# --- Email notifications ---------------------------------------------------------------------

def _due(now: datetime) -> sa.ColumnElement[bool]:
    pending = sa.and_(Notification.state == SendState.PENDING, Notification.send_at <= now,
                      sa.or_(Notification.next_attempt_at.is_(None), Notification.next_attempt_at <= now))
    abandoned = sa.and_(Notification.state == SendState.SENDING, Notification.lease_until < now)
    return sa.or_(pending, abandoned)


CLAIM_TRIES = 10


def claim_batch(*, now: datetime, token: str) -> list[int]:
    """Claim every due row of the oldest due batch (one email) under ``token``; return their ids (none when
    nothing is due)."""
    # Another sweep may claim the batch picked between the pick and the claim: then pick again.
    for _ in range(CLAIM_TRIES):
        oldest = db.session.scalar(sa.select(Notification.batch_key).where(_due(now))
                                   .order_by(Notification.send_at, Notification.id).limit(1))
        if oldest is None:
            break
        claimed = list(db.session.scalars(
            sa.update(Notification).where(Notification.batch_key == oldest, _due(now))
            .values(state=SendState.SENDING, lease_until=now + reminder_jobs.lease(), claim_token=token,
                    attempts=Notification.attempts + 1)
            .returning(Notification.id).execution_options(synchronize_session=False)))
        db.session.commit()
        if claimed:
            return sorted(claimed)
    db.session.commit()
    return []


def sweep(*, now: datetime | None = None, limit: int | None = None) -> SweepResult:
    """Send the notification emails due at ``now`` (at most ``limit`` emails), each exactly once."""
    now = now or utcnow()
    clock = reminder_jobs.Clock(now)
    limit = limit or int(current_app.config["REMINDER_BATCH"])
    result = SweepResult()
    with reminder_mail.Postman() as postman:
        while len(result.sent) + len(result.failed) < limit:
            token = reminder_jobs.new_token()
            claimed = claim_batch(now=clock(), token=token)
            if not claimed:
                break
            _send_batch(claimed, now=now, clock=clock, token=token, postman=postman, result=result)
    return result


def _send_batch(claimed: list[int], *, now: datetime, clock: reminder_jobs.Clock, token: str,
                postman: reminder_mail.Postman, result: SweepResult) -> None:
    rows = list(db.session.scalars(sa.select(Notification).where(Notification.id.in_(claimed))
                                   .options(sa.orm.joinedload(Notification.event))
                                   .order_by(Notification.send_at, Notification.id)))
    user = db.session.get(User, rows[0].user_id)
    incidents = {i.id: i for i in db.session.scalars(
        sa.select(Incident).where(Incident.id.in_({row.event.incident_id for row in rows}))
        .options(sa.orm.lazyload(Incident.cohorts)))}
    # What the person may hear of as they are now (a role changed since: what they may no longer see is dropped).
    keep = [row for row in rows if user is not None and user.is_active
            and notification_service.may_hear(user, row.event.kind, incidents[row.event.incident_id])]
    dropped = [row.id for row in rows if row not in keep]
    if dropped:
        db.session.execute(sa.update(Notification).where(Notification.id.in_(dropped),
                                                         Notification.claim_token == token)
                           .values(state=SendState.CANCELLED, lease_until=None)
                           .execution_options(synchronize_session=False))
    ids = [row.id for row in keep]
    db.session.commit()
    if not keep or user is None:
        return
    # Still ours? Another sweep that took the rows over (this one stalled past the lease) has a new token.
    confirmed = cast(sa.CursorResult[Any], db.session.execute(
        sa.update(Notification).where(Notification.id.in_(ids), Notification.claim_token == token,
                                      Notification.state == SendState.SENDING)
        .values(lease_until=clock() + reminder_jobs.lease()).execution_options(synchronize_session=False)))
    db.session.commit()
    if confirmed.rowcount != len(ids):
        log.info("Notifications %s were taken over by another sweep; this one leaves them", ids)
        return
    message = mail.build(user=user, rows=keep, sent_at=now)
    try:
        reminder_mail.deliver(message, via=postman)
    except Exception as exc:  # noqa: BLE001  (any delivery fault: keep the rows, retry later)
        db.session.rollback()
        backoff = min(MAX_BACKOFF_MINUTES, 2 ** min(keep[0].attempts, 6))
        db.session.execute(
            sa.update(Notification).where(Notification.id.in_(ids), Notification.claim_token == token,
                                          Notification.state == SendState.SENDING)
            .values(state=SendState.PENDING, lease_until=None, claim_token=None,
                    next_attempt_at=now + timedelta(minutes=backoff),
                    last_error=f"{type(exc).__name__}: {exc}"[:2000])
            .execution_options(synchronize_session=False))
        db.session.commit()
        log.warning("Notification email to %s not sent: %s", user.email, exc)
        result.failed.append(message.subject)
        return
    db.session.execute(sa.update(Notification).where(Notification.id.in_(ids), Notification.claim_token == token)
                       .values(state=SendState.SENT, sent_at=now, lease_until=None, last_error=None,
                               next_attempt_at=None)
                       .execution_options(synchronize_session=False))
    db.session.commit()
    result.sent.append(message.subject)


# --- Webhooks ---------------------------------------------------------------------------

def _webhook_due(now: datetime) -> sa.ColumnElement[bool]:
    pending = sa.and_(WebhookDelivery.state == SendState.PENDING, WebhookDelivery.next_attempt_at <= now)
    abandoned = sa.and_(WebhookDelivery.state == SendState.SENDING, WebhookDelivery.lease_until < now)
    return sa.or_(pending, abandoned)


def claim_delivery(*, now: datetime, token: str) -> int | None:
    """Claim the oldest due webhook delivery under ``token``; return its id (None when none is due)."""
    oldest = (sa.select(WebhookDelivery.id).where(_webhook_due(now))
              .order_by(WebhookDelivery.next_attempt_at, WebhookDelivery.id).limit(1)
              .with_for_update(skip_locked=True))
    claimed = list(db.session.scalars(
        sa.update(WebhookDelivery).where(WebhookDelivery.id.in_(oldest), _webhook_due(now))
        .values(state=SendState.SENDING, lease_until=now + reminder_jobs.lease(), claim_token=token,
                attempts=WebhookDelivery.attempts + 1)
        .returning(WebhookDelivery.id).execution_options(synchronize_session=False)))
    db.session.commit()
    return claimed[0] if claimed else None


def deliver_webhooks(*, now: datetime | None = None, limit: int = 200) -> SweepResult:
    """Post the webhook deliveries due at ``now`` (at most ``limit`` attempts); each event reaches an endpoint
    once it answers 2xx, and never from two processes at once."""
    now = now or utcnow()
    result = SweepResult()
    for _ in range(limit):
        token = reminder_jobs.new_token()
        delivery_id = claim_delivery(now=now, token=token)
        if delivery_id is None:
            break
        _attempt(delivery_id, now=now, token=token, result=result)
    return result


def payload(event: Event, webhook: Webhook) -> bytes:
    """Return the body posted for an event: everything for an internal endpoint, else what a party may see."""
    details = event.details
    if webhook.is_internal:
        data: dict[str, Any] = {"reference": details.get("reference"), "title": details.get("title"),
                                "exclusion_state": details.get("exclusion_state"),
                                "report_state": details.get("report_state"),
                                "next_steps": details.get("next_steps", []), "actor": event.actor_name,
                                "published": details.get("published")}
    else:
        data = {"published": details.get("published")}
    occurred = event.occurred_at.isoformat().replace("+00:00", "Z")
    if webhook.payload_format == PayloadFormat.CHAT:
        body: dict[str, Any] = {"text": mail.one_line(event, internal=webhook.is_internal)}
    else:
        body = {"type": f"review.{event.kind.value}", "timestamp": occurred, "data": data}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode("utf-8")


def signature(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """Return the webhook-signature header (Standard Webhooks): "v1," and the base64 HMAC-SHA256 of
    "id.timestamp.body" keyed with the secret's decoded bytes."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(notification_service.secret_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def post(url: str, *, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    """POST ``body`` to an http(s) URL without following redirects; return the status and the answer's start."""
    parts = urlsplit(url)
    if notification_service.check_url(url):
        raise ValueError("The endpoint URL is not an http(s) URL this tool posts to.")
    connection_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    connection = connection_class(parts.hostname or "", parts.port, timeout=WEBHOOK_TIMEOUT)
    try:
        path = parts.path or "/"
        connection.request("POST", path + (f"?{parts.query}" if parts.query else ""), body=body, headers=headers)
        answer = connection.getresponse()
        text = answer.read(KEPT_RESPONSE * 4).decode("utf-8", "replace")[:KEPT_RESPONSE]
        return answer.status, text
    finally:
        connection.close()


def _attempt(delivery_id: int, *, now: datetime, token: str, result: SweepResult) -> None:
    delivery = db.session.get(WebhookDelivery, delivery_id)
    assert delivery is not None
    webhook, event = delivery.webhook, delivery.event
    body = payload(event, webhook)
    timestamp = int(now.timestamp())
    headers = {"Content-Type": "application/json", "User-Agent": "SEC-Major-Incident-Reviews-Webhooks",
               "webhook-id": delivery.message_id, "webhook-timestamp": str(timestamp),
               "webhook-signature": signature(webhook.secret, delivery.message_id, timestamp, body)}
    url, attempts, give_up_at, message_id = webhook.url, delivery.attempts, delivery.give_up_at, delivery.message_id
    db.session.commit()
    # Still ours? A process that took the row over (this one stalled past the lease) has a new token.
    confirmed = cast(sa.CursorResult[Any], db.session.execute(
        sa.update(WebhookDelivery).where(WebhookDelivery.id == delivery_id, WebhookDelivery.claim_token == token,
                                         WebhookDelivery.state == SendState.SENDING)
        .values(lease_until=now + reminder_jobs.lease()).execution_options(synchronize_session=False)))
    db.session.commit()
    if confirmed.rowcount != 1:
        log.info("Webhook delivery %s was taken over by another process; this one leaves it", message_id)
        return
    status: int | None = None
    error: str | None = None
    try:
        status, text = post(url, body=body, headers=headers)
        if not 200 <= status < 300:
            error = f"HTTP {status}: {text}".strip()
    except Exception as exc:  # noqa: BLE001  (any fault reaching the endpoint: retry later)
        error = f"{type(exc).__name__}: {exc}"[:2000]
    ours = sa.and_(WebhookDelivery.id == delivery_id, WebhookDelivery.claim_token == token)
    if error is None:
        db.session.execute(sa.update(WebhookDelivery).where(ours)
                           .values(state=SendState.SENT, delivered_at=now, last_attempt_at=now, last_status=status,
                                   last_error=None, lease_until=None)
                           .execution_options(synchronize_session=False))
        db.session.commit()
        result.sent.append(message_id)
        return
    retry_at = now + WEBHOOK_BACKOFF[min(attempts - 1, len(WEBHOOK_BACKOFF) - 1)]
    if now >= give_up_at:
        state = SendState.FAILED
    else:
        state, retry_at = SendState.PENDING, min(retry_at, give_up_at)
    db.session.execute(sa.update(WebhookDelivery).where(ours)
                       .values(state=state, next_attempt_at=retry_at, last_attempt_at=now, last_status=status,
                               last_error=error, lease_until=None, claim_token=None)
                       .execution_options(synchronize_session=False))
    db.session.commit()
    log.warning("Webhook delivery %s to %s failed (attempt %s): %s", message_id,
                notification_service.log_address(url), attempts, error)
    result.failed.append(message_id)
