"""A month's PMR figures as the DCC reported them: a frozen copy, kept beside the figures as they are today."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from incidents.extensions import Base
from incidents.timeutil import UTCDateTime, utcnow


class RecordedMonth(Base):
    """The figures of one month as reported, recorded once or more (each recording kept; the latest shown).

    ``figures`` holds every measure as ``pmr.service.freeze`` wrote it: the three figures with their counts and
    each incident's line (reference, Category, within the TRT, where its exclusion stood), never read back from
    the live incidents.
    """

    __tablename__ = "pmr_recorded_month"
    __table_args__ = (sa.Index("ix_pmr_recorded_month_month", "month", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    month: Mapped[str] = mapped_column(sa.String(7))
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    recorded_by_name: Mapped[str] = mapped_column(sa.String(254), default="")
    figures: Mapped[dict[str, Any]] = mapped_column(sa.JSON)
