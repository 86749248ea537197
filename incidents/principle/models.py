"""Exclusion principles: a maintained, versioned list."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents import labels
from incidents.extensions import Base
from incidents.timeutil import UTCDateTime, utcnow


def title_for(code: str | None) -> str:
    """Return the title people see for a principle's code: its words, capitalised (the code stays in URLs and
    the API)."""
    return labels.humanise(" ".join((code or "").split()))  # machine words become words in one place


class ExclusionPrinciple(Base):
    """A principle the DCC may cite to exclude an incident from the PMR."""

    __tablename__ = "exclusion_principle"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(sa.String(60), unique=True)
    is_retired: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    versions: Mapped[list[PrincipleVersion]] = relationship(
        back_populates="principle", order_by="PrincipleVersion.number", lazy="selectin",
        cascade="all, delete-orphan")

    @property
    def title(self) -> str:
        """Return the principle's name for people ("Third party infrastructure" for "third-party-infrastructure")."""
        return title_for(self.code)

    @property
    def current(self) -> PrincipleVersion:
        """Return the principle's current wording."""
        return self.versions[-1]


class PrincipleVersion(Base):
    """One wording of a principle; decisions point at the exact wording they cited."""

    __tablename__ = "principle_version"
    __table_args__ = (sa.UniqueConstraint("principle_id", "number", name="uq_principle_version_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    principle_id: Mapped[int] = mapped_column(sa.ForeignKey("exclusion_principle.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column()
    wording: Mapped[str] = mapped_column(sa.Text)
    # What the principle rests on (a SEC Section, the minutes that asked for it ...), versioned with the wording.
    basis: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))

    principle: Mapped[ExclusionPrinciple] = relationship(back_populates="versions")
