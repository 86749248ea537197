"""Scheduled governance meetings (OPSG_97 ...): the register every Operations Group decision names."""
from __future__ import annotations

import enum
from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from incidents.extensions import Base
from incidents.timeutil import UTCDateTime, utcnow


class MeetingKind(str, enum.Enum):
    """The group holds main meetings and reporting meetings."""

    MAIN = "main"
    REPORTING = "reporting"


class Meeting(Base):
    """A numbered meeting of a group, entered in advance so reminders can aim at it."""

    __tablename__ = "meeting"
    __table_args__ = (sa.Index("ix_meeting_group_held_on", "group", "held_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(40), unique=True)
    group: Mapped[str] = mapped_column(sa.String(20))
    number: Mapped[int] = mapped_column()
    held_on: Mapped[date] = mapped_column(sa.Date)
    kind: Mapped[MeetingKind] = mapped_column(
        sa.Enum(MeetingKind, native_enum=False, length=10, values_callable=lambda e: [m.value for m in e]),
        default=MeetingKind.MAIN, server_default=MeetingKind.MAIN.value)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
