"""Planned reminders: one row per email to send, claimed atomically by a sweep."""
from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from incidents.extensions import Base
from incidents.timeutil import UTCDateTime, utcnow


class ReminderState(str, enum.Enum):
    """Where a reminder stands."""

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    CANCELLED = "cancelled"


class ReminderKind(str, enum.Enum):
    """Which deadline a reminder is about."""

    SUMMARY_REPORT = "summary_report"
    REVIEW_REPORT = "review_report"
    SECAS_REVIEW = "secas_review"
    OPSG_DECISION = "opsg_decision"
    ACTION = "action"


def _enum(kind: type[enum.Enum], length: int) -> sa.Enum:
    return sa.Enum(kind, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class Reminder(Base):
    """One planned email: what, to whom, when, and how delivery went."""

    __tablename__ = "reminder"
    __table_args__ = (
        sa.Index("ix_reminder_state_send_at", "state", "send_at"),
        sa.Index("ix_reminder_incident_state", "incident_id", "state"),
        sa.Index("ix_reminder_action_state", "action_id", "state"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # Identifies the occurrence (kind, record, date), so planning twice never doubles it.
    key: Mapped[str] = mapped_column(sa.String(200), unique=True)
    kind: Mapped[ReminderKind] = mapped_column(_enum(ReminderKind, 20))
    incident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("incident.id", ondelete="CASCADE"))
    action_id: Mapped[int | None] = mapped_column(sa.ForeignKey("action.id", ondelete="CASCADE"))
    subject: Mapped[str] = mapped_column(sa.String(300))
    label: Mapped[str] = mapped_column(sa.String(120))
    recipients: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    link_path: Mapped[str] = mapped_column(sa.String(300), default="/")
    deadline_on: Mapped[date | None] = mapped_column(sa.Date)
    # The day a wait began (an exclusion proposal), so "pending N working days" is counted to the sending day.
    since_on: Mapped[date | None] = mapped_column(sa.Date)
    send_at: Mapped[datetime] = mapped_column(UTCDateTime())
    state: Mapped[ReminderState] = mapped_column(_enum(ReminderState, 12), default=ReminderState.PENDING)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(sa.Text)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_by: Mapped[str | None] = mapped_column(sa.String(80))
    # New for every claim: a sweep sends and records a row only while the row still holds its token.
    claim_token: Mapped[str | None] = mapped_column(sa.String(32))
    message_id: Mapped[str] = mapped_column(sa.String(200))
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
