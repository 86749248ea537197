"""The actions register: OPSG 97/04 and the like."""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.extensions import Base
from incidents.timeutil import UTCDateTime, utcnow

if TYPE_CHECKING:
    from incidents.incident.models import Incident
    from incidents.user.models import User

action_incident = sa.Table(
    "action_incident", Base.metadata,
    sa.Column("action_id", sa.ForeignKey("action.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("incident_id", sa.ForeignKey("incident.id", ondelete="CASCADE"), primary_key=True),
)


class ActionStatus(str, enum.Enum):
    """Open or closed."""

    OPEN = "open"
    CLOSED = "closed"


class Action(Base):
    """An action raised by a group, with an owner and a target date that may be revised."""

    __tablename__ = "action"
    __table_args__ = (sa.Index("ix_action_status_target", "status", "target_on"),
                      sa.Index("ix_action_owner_status_target", "owner_org", "status", "target_on"))

    id: Mapped[int] = mapped_column(primary_key=True)
    # As minuted (OPSG 75/ CONF01); reference_key is the same reference in capitals with no space around the
    # slash (OPSG 75/CONF01): lookups and uniqueness go by the key, so case and that space never make two actions.
    reference: Mapped[str] = mapped_column(sa.String(40), unique=True)
    reference_key: Mapped[str] = mapped_column(sa.String(40), unique=True)
    group: Mapped[str] = mapped_column(sa.String(20))
    meeting_number: Mapped[int] = mapped_column()
    # The letter after the meeting number, as in OPSG 38x/02 ("" when there is none).
    meeting_suffix: Mapped[str] = mapped_column(sa.String(4), default="", server_default="")
    text: Mapped[str] = mapped_column(sa.Text)
    owner_org: Mapped[str] = mapped_column(sa.String(20))
    owner_user_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    raised_on: Mapped[date] = mapped_column(sa.Date)
    # The latest target date (the original, or the newest revision); None is "TBC": no date yet, so no date
    # reminders, and the action is listed as needing a date.
    target_on: Mapped[date | None] = mapped_column(sa.Date)
    original_target_on: Mapped[date | None] = mapped_column(sa.Date)
    status: Mapped[ActionStatus] = mapped_column(
        sa.Enum(ActionStatus, native_enum=False, length=8, values_callable=lambda e: [m.value for m in e]),
        default=ActionStatus.OPEN)
    closing_note: Mapped[str] = mapped_column(sa.Text, default="")
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decision_id: Mapped[int | None] = mapped_column(sa.ForeignKey("decision.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    revisions: Mapped[list[TargetRevision]] = relationship(
        back_populates="action", order_by="TargetRevision.id", cascade="all, delete-orphan", lazy="selectin")
    incidents: Mapped[list[Incident]] = relationship(secondary=action_incident, lazy="selectin")
    owner_user: Mapped[User | None] = relationship()

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (read once, when SQLAlchemy maps the class)


class TargetRevision(Base):
    """One revision of an action's target date, with its reason."""

    __tablename__ = "action_target_revision"

    id: Mapped[int] = mapped_column(primary_key=True)
    action_id: Mapped[int] = mapped_column(sa.ForeignKey("action.id", ondelete="CASCADE"), index=True)
    # None on either side is TBC: a revision to or from "no date yet".
    previous_on: Mapped[date | None] = mapped_column(sa.Date)
    target_on: Mapped[date | None] = mapped_column(sa.Date)
    reason: Mapped[str] = mapped_column(sa.Text, default="")
    revised_by_name: Mapped[str] = mapped_column(sa.String(254), default="")
    revised_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    action: Mapped[Action] = relationship(back_populates="revisions")
