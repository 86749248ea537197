"""The Major Incident Review Report: its saved versions (submitted versions are frozen) and classification."""
from __future__ import annotations

import enum
from datetime import datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.extensions import Base
from incidents.timeutil import UTCDateTime, utcnow

if TYPE_CHECKING:
    from incidents.review.models import Review


def _enum(kind: type[enum.Enum], length: int = 32) -> sa.Enum:
    return sa.Enum(kind, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


# The narrative sections of a Review Report, in report order: the keys its versions' ``sections`` hold, and their
# names. Kept with the models so that the configuration's check can name them without loading the services.
SECTIONS = [
    ("summary", "Summary"),
    ("root_cause", "Root cause"),
    ("impact", "Impact"),
    ("lessons_learned", "Lessons learned"),
    ("actions", "Actions"),
]
SECTION_KEYS = [key for key, _ in SECTIONS]


class Classification(str, enum.Enum):
    """SEC Panel Information Policy classification."""

    RED = "RED"
    AMBER = "AMBER"
    GREEN = "GREEN"
    WHITE = "WHITE"


class ReportVersion(Base):
    """One saved version of the Major Incident Review Report; submitted versions are frozen."""

    __tablename__ = "report_version"
    __table_args__ = (sa.UniqueConstraint("review_id", "number", name="uq_report_version_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("review.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column()
    is_frozen: Mapped[bool] = mapped_column(default=False)
    classification: Mapped[Classification] = mapped_column(_enum(Classification, 8), default=Classification.AMBER)
    sections: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    # Sections generated from the record (timeline, restoration, PMR treatment), captured when frozen.
    generated: Mapped[dict[str, Any] | None] = mapped_column(sa.JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_by_name: Mapped[str] = mapped_column(sa.String(254), default="")
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    submitted_by_name: Mapped[str | None] = mapped_column(sa.String(254))
    # A submitted version the DCC withdrew before the Operations Group decided on it: it left the pack.
    withdrawn_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    withdrawn_by_name: Mapped[str | None] = mapped_column(sa.String(254))

    review: Mapped[Review] = relationship(back_populates="report_versions")


class ReportDraft(Base):
    """The editor's working draft: text typed since the last saved version, kept in place by autosave.

    One per report. It is not a version: it never shows in the version list or the history, and saving a version
    (or the text going back to what the latest version says) clears it. ``revision`` counts its saves, so an
    autosave from a page that opened an older revision is refused instead of overwriting someone else's text.
    """

    __tablename__ = "report_draft"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("review.id", ondelete="CASCADE"), unique=True)
    # The version the text was typed on (None: before the first version).
    base_number: Mapped[int | None] = mapped_column()
    classification: Mapped[Classification] = mapped_column(_enum(Classification, 8), default=Classification.AMBER)
    sections: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    updated_by_name: Mapped[str] = mapped_column(sa.String(254), default="")
    revision: Mapped[int] = mapped_column(default=1)

    __mapper_args__ = {"version_id_col": revision}  # noqa: RUF012 (read once, when SQLAlchemy maps the class)
