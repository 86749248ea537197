"""Review events, who hears of them (email notifications, preferences, follows) and signed webhooks."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.extensions import Base
from incidents.timeutil import UTCDateTime, utcnow


class EventKind(str, enum.Enum):
    """A state change of a review that people hear of."""

    EXCLUSION_PROPOSED = "exclusion_proposed"
    INFORMATION_REQUESTED = "information_requested"
    INFORMATION_ANSWERED = "information_answered"
    EXCLUSION_AGREED = "exclusion_agreed"
    EXCLUSION_DISAGREED = "exclusion_disagreed"
    REPORT_SUBMITTED = "report_submitted"
    REPORT_WITHDRAWN = "report_withdrawn"
    DECISION_RECORDED = "decision_recorded"
    REPORT_PUBLISHED = "report_published"

    @property
    def label(self) -> str:
        """Return the kind's name for people."""
        return EVENT_LABELS[self]


EVENT_LABELS = {
    EventKind.EXCLUSION_PROPOSED: "PMR treatment proposed",
    EventKind.INFORMATION_REQUESTED: "SECAS requested information",
    EventKind.INFORMATION_ANSWERED: "DCC answered a request for information",
    EventKind.EXCLUSION_AGREED: "SECAS agreed the exclusion",
    EventKind.EXCLUSION_DISAGREED: "SECAS disagreed with the exclusion",
    EventKind.REPORT_SUBMITTED: "Review Report submitted",
    EventKind.REPORT_WITHDRAWN: "Review Report withdrawn",
    EventKind.DECISION_RECORDED: "Operations Group decision recorded",
    EventKind.REPORT_PUBLISHED: "Report published to SEC Parties",
}


class Delivery(str, enum.Enum):
    """How a person hears of one kind of event."""

    IMMEDIATE = "immediate"
    DIGEST = "digest"
    NONE = "none"


class SendState(str, enum.Enum):
    """Where an outgoing notification or webhook delivery stands."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"  # webhooks only: retried for a day, then given up (an administrator may send it again)
    CANCELLED = "cancelled"


class PayloadFormat(str, enum.Enum):
    """The body a webhook endpoint receives."""

    STANDARD = "standard"  # the event as JSON (Standard Webhooks)
    CHAT = "chat"  # {"text": ...}: what Slack and Microsoft Teams incoming webhooks accept


def _enum(kind: type[enum.Enum], length: int) -> sa.Enum:
    return sa.Enum(kind, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class Event(Base):
    """One state change of a review: what happened, to which incident, by whom and when."""

    __tablename__ = "review_event"

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[EventKind] = mapped_column(_enum(EventKind, 30))
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    actor_name: Mapped[str] = mapped_column(sa.String(254), default="")
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # The facts as they stood after the change (states, who acts next, the published edition): written once.
    details: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)


class Preference(Base):
    """A person's choice for one kind of event; no row means the default for their role."""

    __tablename__ = "notification_preference"
    __table_args__ = (sa.UniqueConstraint("user_id", "kind", name="uq_notification_preference_user_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    kind: Mapped[EventKind] = mapped_column(_enum(EventKind, 30))
    delivery: Mapped[Delivery] = mapped_column(_enum(Delivery, 12))


class Follow(Base):
    """A person following an incident: they hear of every change to its review."""

    __tablename__ = "incident_follow"
    __table_args__ = (sa.UniqueConstraint("user_id", "incident_id", name="uq_incident_follow_user_incident"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Notification(Base):
    """One email owed to one person about one event, claimed and sent once by a sweep (as reminders are).

    Rows with the same ``batch_key`` go in one email: an event's own row when sent at once, or every row of a
    person's daily digest.
    """

    __tablename__ = "notification"
    __table_args__ = (
        sa.UniqueConstraint("event_id", "user_id", name="uq_notification_event_user"),
        sa.Index("ix_notification_state_send_at", "state", "send_at"),
        sa.Index("ix_notification_batch_key", "batch_key"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("review_event.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    email: Mapped[str] = mapped_column(sa.String(254))
    delivery: Mapped[Delivery] = mapped_column(_enum(Delivery, 12))
    batch_key: Mapped[str] = mapped_column(sa.String(80))
    send_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[SendState] = mapped_column(_enum(SendState, 12), default=SendState.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claim_token: Mapped[str | None] = mapped_column(sa.String(32))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    event: Mapped[Event] = relationship()


class Webhook(Base):
    """An endpoint an administrator registered: where events are posted, which ones, and the signing secret."""

    __tablename__ = "webhook"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(sa.String(2000))
    description: Mapped[str] = mapped_column(sa.String(200), default="")
    events: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # "whsec_" and the base64 key: kept to sign with, shown to the administrator only when made.
    secret: Mapped[str] = mapped_column(sa.String(200))
    is_internal: Mapped[bool] = mapped_column(default=False)
    is_active: Mapped[bool] = mapped_column(default=True)
    payload_format: Mapped[PayloadFormat] = mapped_column(_enum(PayloadFormat, 12), default=PayloadFormat.STANDARD)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_name: Mapped[str] = mapped_column(sa.String(254), default="")


class WebhookDelivery(Base):
    """One event owed to one endpoint: attempts with backoff for a day, claimed so only one process posts it."""

    __tablename__ = "webhook_delivery"
    __table_args__ = (
        sa.UniqueConstraint("webhook_id", "event_id", name="uq_webhook_delivery_webhook_event"),
        sa.Index("ix_webhook_delivery_state_next", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    webhook_id: Mapped[int] = mapped_column(sa.ForeignKey("webhook.id", ondelete="CASCADE"), index=True)
    event_id: Mapped[int] = mapped_column(sa.ForeignKey("review_event.id", ondelete="CASCADE"))
    # The webhook-id header: the same on every attempt, so a receiver can drop a repeat.
    message_id: Mapped[str] = mapped_column(sa.String(40), unique=True)
    state: Mapped[SendState] = mapped_column(_enum(SendState, 12), default=SendState.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime())
    give_up_at: Mapped[datetime] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claim_token: Mapped[str | None] = mapped_column(sa.String(32))
    last_status: Mapped[int | None] = mapped_column()
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    last_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    webhook: Mapped[Webhook] = relationship()
    event: Mapped[Event] = relationship()
