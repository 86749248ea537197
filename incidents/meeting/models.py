"""Scheduled governance meetings (OPSG_97 ...)."""
from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from incidents.extensions import Base
from incidents.timeutil import UTCDateTime, utcnow


class Meeting(Base):
    """A numbered meeting of a group, entered in advance so reminders can aim at it."""

    __tablename__ = "meeting"
    __table_args__ = (sa.Index("ix_meeting_group_held_on", "group", "held_on"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(40), unique=True)
    group: Mapped[str] = mapped_column(sa.String(20))
    number: Mapped[int] = mapped_column()
    held_on: Mapped[date] = mapped_column(sa.Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
