"""A major incident, the cohorts it affected and its timeline."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.extensions import Base
from incidents.timeutil import UTCDateTime, utcnow


def _enum(kind: type[enum.Enum], length: int = 32) -> sa.Enum:
    return sa.Enum(kind, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class IncidentStatus(str, enum.Enum):
    """Where the incident stands operationally."""

    OPEN = "open"
    RESOLVED = "resolved"
    CLOSED = "closed"


class TimelineKind(str, enum.Enum):
    """What a timeline entry records."""

    DETECTED = "detected"
    ESCALATED = "escalated"
    MITIGATION = "mitigation"
    RESTORED = "restored"
    COMMUNICATION = "communication"
    UPDATE = "update"


class Incident(Base):
    """A major incident as logged by the DCC."""

    __tablename__ = "incident"
    __table_args__ = (
        # The list's order; with the category, the dashboard walks major incidents in start order on it alone.
        sa.Index("ix_incident_started_at_id", "started_at", "id", "category"),
        # Matches a review to its incident's category and start without reading the incident's row.
        sa.Index("ix_incident_key", "id", "category", "started_at"),
        sa.Index("ix_incident_resolved_at", "resolved_at"),
        sa.Index("ix_incident_category_status_started", "category", "status", "started_at", "id"),
        # Covers every PMR figure and the trend: they filter on these columns and read no others.
        sa.Index("ix_incident_pmr", "resolved_at", "category", "dcc_responsible", "target_deadline_at", "id"),
        # The declared Major Incidents in start order: the dashboard and the "Major Incidents only" list.
        sa.Index("ix_incident_major", "is_major", "started_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    reference: Mapped[str] = mapped_column(sa.String(40), unique=True)
    title: Mapped[str] = mapped_column(sa.String(200))
    category: Mapped[int] = mapped_column()
    status: Mapped[IncidentStatus] = mapped_column(_enum(IncidentStatus, 16), default=IncidentStatus.OPEN)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    detected_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    cause_category: Mapped[str] = mapped_column(sa.String(40), default="unknown")
    cause: Mapped[str] = mapped_column(sa.Text, default="")
    impact: Mapped[str] = mapped_column(sa.Text, default="")
    devices_affected: Mapped[int | None] = mapped_column(sa.BigInteger)
    dcc_responsible: Mapped[bool] = mapped_column(default=True)
    # When the Target Resolution Time runs out, stored so the PMR can be computed in SQL.
    target_deadline_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Declared a Major Incident (the review and the Summary and Review Reports follow the declaration, the PMR
    # measures the Category): by default when logged at a configured Category, until the DCC decides otherwise.
    is_major: Mapped[bool] = mapped_column(default=False, server_default=sa.false())
    major_declared_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # The DCC's reason for its latest declaration or undeclaration ("" while the default by Category stands).
    major_reason: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(default=1)

    cohorts: Mapped[list[IncidentCohort]] = relationship(
        back_populates="incident", cascade="all, delete-orphan",
        order_by="IncidentCohort.name", lazy="selectin")
    timeline: Mapped[list[TimelineEntry]] = relationship(
        back_populates="incident", cascade="all, delete-orphan",
        order_by="(TimelineEntry.occurred_at, TimelineEntry.id)")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (read once, when SQLAlchemy maps the class)


class IncidentCohort(Base):
    """One cohort's impact start and restoration within an incident."""

    __tablename__ = "incident_cohort"
    __table_args__ = (sa.UniqueConstraint("incident_id", "name", name="uq_incident_cohort_incident_name"),
                      sa.Index("ix_incident_cohort_name_incident", "name", "incident_id"))

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(sa.String(40))
    impact_started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    restored_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    incident: Mapped[Incident] = relationship(back_populates="cohorts")


class TimelineEntry(Base):
    """A timestamped event in an incident's life, optionally for one cohort."""

    __tablename__ = "timeline_entry"
    __table_args__ = (sa.Index("ix_timeline_entry_incident_occurred", "incident_id", "occurred_at", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id", ondelete="CASCADE"))
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime())
    kind: Mapped[TimelineKind] = mapped_column(_enum(TimelineKind, 20))
    cohort: Mapped[str | None] = mapped_column(sa.String(40))
    text: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    version: Mapped[int] = mapped_column(default=1)

    incident: Mapped[Incident] = relationship(back_populates="timeline")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (read once, when SQLAlchemy maps the class)
