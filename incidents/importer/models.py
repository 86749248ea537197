"""What the last import from the ITSM wrote to each incident, so the next one can tell the tool's edits apart."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from incidents.extensions import Base
from incidents.timeutil import UTCDateTime, utcnow


class ImportRecord(Base):
    """One imported incident: the values the last import left it with (plain JSON), and when."""

    __tablename__ = "import_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id", ondelete="CASCADE"), unique=True)
    values: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    imported_by_name: Mapped[str] = mapped_column(sa.String(254), default="")
