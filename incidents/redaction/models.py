"""A passage of a submitted report version that SECAS withholds from SEC Parties, with its reason."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from incidents.extensions import Base
from incidents.timeutil import UTCDateTime, utcnow


class Redaction(Base):
    """A passage withheld from the published edition: parties read "[withheld: reason]" wherever it stood."""

    __tablename__ = "redaction"

    id: Mapped[int] = mapped_column(primary_key=True)
    report_version_id: Mapped[int] = mapped_column(sa.ForeignKey("report_version.id", ondelete="CASCADE"),
                                                   index=True)
    passage: Mapped[str] = mapped_column(sa.Text)
    reason: Mapped[str] = mapped_column(sa.String(200))
    # The Operations Group decision that covered it (the group decides on the edition with its redactions).
    decision_id: Mapped[int | None] = mapped_column(sa.ForeignKey("decision.id", ondelete="SET NULL"))
    marked_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    marked_by_name: Mapped[str] = mapped_column(sa.String(254), default="")
    marked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
