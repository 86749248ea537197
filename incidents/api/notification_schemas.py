"""Request and response bodies of notification preferences, follows and webhooks; the service keeps every rule."""
from __future__ import annotations

from datetime import datetime

from pydantic import Field

from incidents.api.schemas import Representation, RequestBody
from incidents.notification.models import Delivery, EventKind, PayloadFormat, SendState
from incidents.notification.models import Webhook as WebhookRow
from incidents.notification.models import WebhookDelivery as DeliveryRow


class NotificationPreferencesInput(RequestBody):
    """The choices to change: kind of event -> immediate, digest or none (kinds not sent are kept)."""

    preferences: dict[str, str] = Field(
        description="Kind of event (exclusion_proposed, ..., report_published) -> immediate, digest (09:00 UK time "
                    "on Working Days) or none. A SEC Party chooses only report_published.",
        examples=[{"report_submitted": "digest", "report_published": "none"}])


class NotificationSettings(Representation):
    """How the caller hears of each kind of review change, and the incidents they follow."""

    preferences: dict[EventKind, Delivery]
    following: list[str] = Field(description="References of the incidents the caller follows.")


class WebhookInput(RequestBody):
    """An endpoint to register (administrators)."""

    url: str = Field(description="http:// or https:// URL with a host; redirects are never followed.")
    events: list[str] = Field(description="The kinds of event to post; without is_internal, report_published only.")
    description: str = ""
    secret: str | None = Field(default=None, description="whsec_ and at least 24 bytes in base64; left out, one "
                                                         "is made and answered this once.")
    is_internal: bool = Field(default=False, description="Receives every event with the review's details.")
    payload_format: PayloadFormat = Field(default=PayloadFormat.STANDARD,
                                          description="standard (the event as JSON) or chat (a Teams or Slack "
                                                      "incoming-webhook message).")


class Webhook(Representation):
    """A registered endpoint (its secret is answered only when it is made)."""

    id: int
    url: str
    description: str
    events: list[str]
    is_internal: bool
    payload_format: PayloadFormat
    created_at: datetime


class WebhookCreated(Webhook):
    """A just-registered endpoint, with its signing secret (never answered again)."""

    secret: str


class WebhookList(Representation):
    """The active endpoints."""

    items: list[Webhook]


class WebhookDelivery(Representation):
    """One event owed to an endpoint, and how its delivery went."""

    id: int
    message_id: str = Field(description="The webhook-id header, the same on every attempt.")
    event: EventKind
    reference: str
    state: SendState
    attempts: int
    last_status: int | None
    last_error: str | None
    last_attempt_at: datetime | None
    next_attempt_at: datetime | None = Field(description="When the next attempt is due (pending only).")
    delivered_at: datetime | None


class WebhookDeliveryList(Representation):
    """An endpoint's delivery log, newest first."""

    items: list[WebhookDelivery]


def present_webhook(row: WebhookRow) -> Webhook:
    """Represent an endpoint without its secret."""
    return Webhook(id=row.id, url=row.url, description=row.description, events=list(row.events),
                   is_internal=row.is_internal, payload_format=row.payload_format, created_at=row.created_at)


def present_delivery(row: DeliveryRow) -> WebhookDelivery:
    """Represent one delivery of the log."""
    return WebhookDelivery(id=row.id, message_id=row.message_id, event=row.event.kind,
                           reference=str(row.event.details.get("reference", "")), state=row.state,
                           attempts=row.attempts, last_status=row.last_status, last_error=row.last_error,
                           last_attempt_at=row.last_attempt_at,
                           next_attempt_at=row.next_attempt_at if row.state == SendState.PENDING else None,
                           delivered_at=row.delivered_at)
