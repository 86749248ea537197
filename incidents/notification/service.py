"""Review events in one place: each review step records one, in its own transaction, and the people who must act
next, the incident's followers and the registered webhooks are owed a message about it (sent after the commit
by the scheduler's sweeps, ``jobs``).

Who must act next is asked of ``review.workflow`` (``next_steps``); who may see what, of ``permissions``.
"""
from __future__ import annotations

import base64
import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa

from incidents import permissions
from incidents.errors import NotFound, PermissionDenied, ValidationError
from incidents.extensions import db
from incidents.incident.models import Incident
from incidents.notification.models import (
    Delivery,
    Event,
    EventKind,
    Follow,
    Notification,
    PayloadFormat,
    Preference,
    SendState,
    Webhook,
    WebhookDelivery,
)
from incidents.review import workflow
from incidents.review.models import ExclusionState, Publication, Review, ReviewOutcome
from incidents.rules import service as rules_service
from incidents.timeutil import local_date, local_zone, utcnow
from incidents.user.models import Role, User

DIGEST_TIME = time(9, 0)  # UK local time, on Working Days
# The only kind a SEC Party hears of, and the only one a webhook not marked internal receives: a party sees the
# published edition and nothing else of a review.
PUBLIC_KINDS = (EventKind.REPORT_PUBLISHED,)
PARTY_ROLES = {"DCC": Role.DCC, "SECAS": Role.SECAS, "OPSG": Role.OPSG}
WEBHOOK_RETRY_FOR = timedelta(days=1)
MAX_URL = 2000


def kind_of_proposal(before: ExclusionState) -> EventKind:
    """Name the event a DCC proposal makes: an answer when SECAS had asked for information."""
    if before == ExclusionState.INFORMATION_REQUESTED:
        return EventKind.INFORMATION_ANSWERED
    return EventKind.EXCLUSION_PROPOSED


def kind_of_review(outcome: ReviewOutcome) -> EventKind:
    """Name the event a SECAS review of an exclusion makes."""
    return {ReviewOutcome.AGREED: EventKind.EXCLUSION_AGREED,
            ReviewOutcome.DISAGREED: EventKind.EXCLUSION_DISAGREED,
            ReviewOutcome.INFORMATION_REQUESTED: EventKind.INFORMATION_REQUESTED}[ReviewOutcome(outcome)]


# --- Recording an event ---------------------------------------------------------------------

def record(kind: EventKind, *, incident: Incident, actor: User | None, now: datetime) -> Event:
    """Record a review's state change and plan who hears of it, in the caller's transaction.

    Written with the change, so a change that rolls back leaves no event and notifies nobody; the sweeps send
    only what was committed.
    """
    review = db.session.scalar(sa.select(Review).where(Review.incident_id == incident.id))
    details: dict[str, Any] = {
        "reference": incident.reference, "title": incident.title,
        "exclusion_state": review.exclusion_state.value if review else None,
        "report_state": review.report_state.value if review else None,
        "next_steps": [{"who": step.who, "what": step.what,
                        "due_on": step.due_on.isoformat() if step.due_on else None}
                       for step in workflow.next_steps(incident, review)],
    }
    if kind == EventKind.REPORT_PUBLISHED and review is not None and review.publications:
        details["published"] = published_facts(review.publications[-1])
    event = Event(kind=kind, incident_id=incident.id, actor_id=getattr(actor, "id", None),
                  actor_name=getattr(actor, "person", "") or "", occurred_at=now, details=details)
    db.session.add(event)
    db.session.flush()
    _plan_notifications(event, incident=incident, now=now)
    _plan_webhooks(event, now=now)
    return event


def published_facts(publication: Publication) -> dict[str, Any]:
    """Return what SEC Parties see of a publication: the edition, nothing of the review behind it."""
    return {"reference": publication.reference, "title": publication.title,
            "version": publication.version_number, "classification": publication.classification.value,
            "published_at": publication.published_at.isoformat()}


def recipients(event: Event, *, incident: Incident) -> list[User]:
    """Return who hears of an event: those who must act next, the followers, and (a publication) subscribed
    SEC Parties; never the person who made the change, never someone who may not see what it says."""
    acting = {PARTY_ROLES[step["who"]] for step in event.details.get("next_steps", []) if step["who"] in PARTY_ROLES}
    found: dict[int, User] = {}
    if acting:
        for user in db.session.scalars(sa.select(User).where(User.role.in_(acting), User.is_active.is_(True))):
            found[user.id] = user
    for user in db.session.scalars(sa.select(User).join(Follow, Follow.user_id == User.id)
                                   .where(Follow.incident_id == incident.id, User.is_active.is_(True))):
        found[user.id] = user
    if event.kind in PUBLIC_KINDS:
        for user in db.session.scalars(sa.select(User).where(User.role == Role.PARTY, User.is_active.is_(True))):
            found[user.id] = user
    return [user for user_id, user in sorted(found.items())
            if user_id != event.actor_id and may_hear(user, event.kind, incident)]


def may_hear(user: User, kind: EventKind, incident: Incident) -> bool:
    """Tell whether the user may be told of this kind of event on this incident."""
    if kind in PUBLIC_KINDS and permissions.can_read_published(user):
        return True
    return permissions.can_view_incident(user, incident)


def _plan_notifications(event: Event, *, incident: Incident, now: datetime) -> None:
    people = recipients(event, incident=incident)
    chosen = preferences_of([user.id for user in people])
    for user in people:
        delivery = chosen.get(user.id, {}).get(event.kind) or default_delivery(user, event.kind)
        if delivery == Delivery.NONE:
            continue
        if delivery == Delivery.DIGEST:
            send_at = next_digest_at(now)
            batch = f"digest:{user.id}:{local_date(send_at).isoformat()}"
        else:
            send_at, batch = now, f"event:{event.id}:{user.id}"
        db.session.add(Notification(event_id=event.id, user_id=user.id, email=user.email, delivery=delivery,
                                    batch_key=batch, send_at=send_at))


def next_digest_at(now: datetime) -> datetime:
    """Return the next 09:00 UK local time on a Working Day after ``now``."""
    calendar = rules_service.calendar()
    day: date = local_date(now)
    while True:
        instant = datetime.combine(day, DIGEST_TIME, tzinfo=local_zone()).astimezone(UTC)
        if instant > now and calendar.is_working_day(day):
            return instant
        day += timedelta(days=1)


# --- Preferences and follows ---------------------------------------------------------------

def kinds_for(user: User) -> list[EventKind]:
    """Return the kinds of event the user may choose to hear of (a SEC Party: publications only)."""
    if permissions.can_view_incidents(user):
        return list(EventKind)
    if permissions.can_read_published(user):
        return list(PUBLIC_KINDS)
    return []


def default_delivery(user: User, kind: EventKind) -> Delivery:
    """Return how a user hears of a kind they never chose for: at once, except SEC Parties, who subscribe."""
    return Delivery.NONE if user.role == Role.PARTY else Delivery.IMMEDIATE


def preferences_of(user_ids: list[int]) -> dict[int, dict[EventKind, Delivery]]:
    """Return the choices the given users made, by user and kind."""
    found: dict[int, dict[EventKind, Delivery]] = {}
    if user_ids:
        for row in db.session.scalars(sa.select(Preference).where(Preference.user_id.in_(user_ids))):
            found.setdefault(row.user_id, {})[row.kind] = row.delivery
    return found


def preferences(user: User) -> dict[EventKind, Delivery]:
    """Return the user's delivery for every kind they may hear of (their choice, else the default)."""
    chosen = preferences_of([user.id]).get(user.id, {})
    return {kind: chosen.get(kind) or default_delivery(user, kind) for kind in kinds_for(user)}


def set_preferences(user: User, choices: dict[str, str]) -> dict[EventKind, Delivery]:
    """Save the user's choices (kind name -> immediate, digest or none); every problem is reported at once."""
    allowed = {kind.value: kind for kind in kinds_for(user)}
    errors: dict[str, list[str]] = {}
    parsed: dict[EventKind, Delivery] = {}
    for name, value in choices.items():
        if name not in allowed:
            errors[name] = [(f"{name!r} is not a kind of notification you can choose; choose from "
                             f"{', '.join(sorted(allowed)) or 'none'}.")]
            continue
        try:
            parsed[allowed[name]] = Delivery(value)
        except ValueError:
            errors[name] = ["Choose immediate, digest or none."]
    if errors:
        raise ValidationError(errors)
    existing = {row.kind: row for row in db.session.scalars(sa.select(Preference).where(Preference.user_id == user.id))}
    for kind, delivery in parsed.items():
        if kind in existing:
            existing[kind].delivery = delivery
        else:
            db.session.add(Preference(user_id=user.id, kind=kind, delivery=delivery))
    db.session.flush()
    return preferences(user)


def is_following(user: User, incident: Incident) -> bool:
    """Tell whether the user follows the incident."""
    return db.session.scalar(sa.select(Follow.id).where(Follow.user_id == user.id,
                                                        Follow.incident_id == incident.id)) is not None


def can_follow(user: User, incident: Incident) -> bool:
    """Tell whether the user may follow the incident (whoever may see it)."""
    return permissions.can_view_incident(user, incident)


def follow(user: User, incident: Incident, *, now: datetime | None = None) -> None:
    """Follow the incident (following twice is following once)."""
    if not can_follow(user, incident):
        raise PermissionDenied("Only people who can see an incident follow it.")
    if not is_following(user, incident):
        db.session.add(Follow(user_id=user.id, incident_id=incident.id, created_at=now or utcnow()))
        db.session.flush()


def unfollow(user: User, incident: Incident) -> None:
    """Stop following the incident."""
    if not can_follow(user, incident):
        raise PermissionDenied("Only people who can see an incident follow it.")
    db.session.execute(sa.delete(Follow).where(Follow.user_id == user.id, Follow.incident_id == incident.id))


def followed(user: User) -> list[Incident]:
    """Return the incidents the user follows, by reference."""
    return list(db.session.scalars(sa.select(Incident).join(Follow, Follow.incident_id == Incident.id)
                                   .where(Follow.user_id == user.id).order_by(Incident.reference)))


# --- Webhooks -------------------------------------------------------------------------------

@dataclass(frozen=True)
class WebhookDraft:
    """What an administrator enters for an endpoint."""

    url: str
    events: list[str]
    description: str = ""
    secret: str | None = None  # none: one is generated
    is_internal: bool = False
    payload_format: str = PayloadFormat.STANDARD.value


def new_secret() -> str:
    """Return a fresh signing secret: "whsec_" and 32 random bytes in base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def secret_key(secret: str) -> bytes:
    """Return the HMAC key of a secret: its base64 part decoded."""
    return base64.b64decode(secret.removeprefix("whsec_"), validate=True)


def log_address(url: str) -> str:
    """Return the part of an endpoint URL that may be logged: scheme, host and port, never path or query.

    Chat endpoints carry their credential in the path or query, so the rest of the URL stays out of logs.
    """
    try:
        parts = urlsplit(url)
        host, port = parts.hostname or "?", parts.port
    except ValueError:
        return "(an unreadable URL)"
    return f"{parts.scheme}://{host}{f':{port}' if port else ''}/..."


def check_url(url: str) -> list[str]:
    """Say what is wrong with an endpoint URL (nothing: it may be used).

    Only http and https with a host name, no user name or password in it: a URL of another scheme (file:,
    gopher:, ...) could make this server read or talk to what it should not. Deliveries never follow redirects.
    """
    problems: list[str] = []
    if len(url) > MAX_URL:
        return [f"The URL can be at most {MAX_URL} characters."]
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return ["Give a URL such as https://hooks.example.org/incidents."]
    if parts.scheme not in ("http", "https"):
        problems.append("The URL must start with https:// (or http://).")
    if not parts.hostname:
        problems.append("The URL must name a host.")
    if parts.username or parts.password:
        problems.append("Leave the user name and password out of the URL; the signature authenticates deliveries.")
    if port == 0:
        problems.append("The port must be between 1 and 65535.")
    if any(c.isspace() for c in url):
        problems.append("The URL cannot contain spaces.")
    return problems


def create_webhook(draft: WebhookDraft, *, actor: User, now: datetime | None = None) -> Webhook:
    """Register an endpoint (administrators); the secret is returned on the row this once."""
    require_admin(actor)
    errors: dict[str, list[str]] = {}
    url = draft.url.strip()
    if problems := check_url(url):
        errors["url"] = problems
    known = {kind.value for kind in EventKind}
    events = sorted(set(draft.events))
    if not events:
        errors["events"] = ["Choose at least one event."]
    elif unknown := [name for name in events if name not in known]:
        errors["events"] = [f"Unknown event {', '.join(unknown)}; choose from {', '.join(sorted(known))}."]
    elif not draft.is_internal and (hidden := [n for n in events if EventKind(n) not in PUBLIC_KINDS]):
        errors["events"] = [(f"An endpoint not marked internal receives only what SEC Parties may see "
                             f"({', '.join(k.value for k in PUBLIC_KINDS)}); mark it internal for "
                             f"{', '.join(hidden)}.")]
    secret = (draft.secret or "").strip() or new_secret()
    try:
        if not secret.startswith("whsec_") or len(secret_key(secret)) < 24:
            raise ValueError
    except ValueError:
        errors["secret"] = [("Give a secret as whsec_ followed by at least 24 bytes in base64, or leave it "
                             "empty for one to be made.")]
    try:
        payload_format = PayloadFormat(draft.payload_format)
    except ValueError:
        errors["payload_format"] = ["Choose standard or chat."]
    description = draft.description.strip()
    if len(description) > 200:
        errors["description"] = ["The description can be at most 200 characters."]
    if errors:
        raise ValidationError(errors)
    webhook = Webhook(url=url, events=events, secret=secret, is_internal=draft.is_internal,
                      payload_format=payload_format, description=description,
                      created_at=now or utcnow(), created_by_name=actor.display_name)
    db.session.add(webhook)
    db.session.flush()
    return webhook


def require_admin(user: User) -> None:
    """Refuse anyone but an administrator."""
    if not permissions.can_manage_users(user):
        raise PermissionDenied("Only administrators manage webhooks.")


def list_webhooks(*, actor: User) -> list[Webhook]:
    """Return the active endpoints (administrators)."""
    require_admin(actor)
    return list(db.session.scalars(sa.select(Webhook).where(Webhook.is_active.is_(True)).order_by(Webhook.id)))


def get_webhook(webhook_id: int, *, actor: User) -> Webhook:
    """Return one active endpoint (administrators), or raise NotFound."""
    require_admin(actor)
    found = db.session.get(Webhook, webhook_id) if 0 < webhook_id < 2**31 else None
    if found is None or not found.is_active:
        raise NotFound("No such webhook.")
    return found


def webhook_etag(webhook: Webhook) -> str:
    """Return an endpoint's ETag: it changes whenever what is delivered, where, changes."""
    text = f"{webhook.id}|{webhook.url}|{','.join(webhook.events)}|{webhook.is_internal}|{webhook.payload_format.value}"
    return '"webhook-' + hashlib.sha256(text.encode()).hexdigest()[:16] + '"'


def remove_webhook(webhook_id: int, *, actor: User) -> None:
    """Stop delivering to an endpoint; its log stays."""
    webhook = get_webhook(webhook_id, actor=actor)
    webhook.is_active = False
    db.session.execute(sa.update(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook.id,
                                                        WebhookDelivery.state == SendState.PENDING)
                       .values(state=SendState.CANCELLED))


def deliveries(webhook: Webhook, *, limit: int = 200) -> list[WebhookDelivery]:
    """Return an endpoint's delivery log, newest first."""
    return list(db.session.scalars(sa.select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook.id)
                                   .order_by(WebhookDelivery.id.desc()).limit(limit)))


def send_again(webhook: Webhook, delivery_id: int, *, actor: User, now: datetime | None = None) -> WebhookDelivery:
    """Queue one delivery again (after it failed, or was delivered and the receiver lost it), retried for a day."""
    require_admin(actor)
    now = now or utcnow()
    found = db.session.get(WebhookDelivery, delivery_id) if 0 < delivery_id < 2**31 else None
    if found is None or found.webhook_id != webhook.id:
        raise NotFound("No such delivery.")
    if found.state == SendState.SENDING:
        return found  # being sent right now
    found.state, found.next_attempt_at, found.give_up_at = SendState.PENDING, now, now + WEBHOOK_RETRY_FOR
    found.claim_token = found.lease_until = None
    db.session.flush()
    return found


def _plan_webhooks(event: Event, *, now: datetime) -> None:
    for webhook in db.session.scalars(sa.select(Webhook).where(Webhook.is_active.is_(True))):
        if event.kind.value in webhook.events and (webhook.is_internal or event.kind in PUBLIC_KINDS):
            db.session.add(WebhookDelivery(webhook_id=webhook.id, event_id=event.id,
                                           message_id=f"msg_{uuid.uuid4().hex}", next_attempt_at=now,
                                           give_up_at=now + WEBHOOK_RETRY_FOR, created_at=now))
