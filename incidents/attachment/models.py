"""Attachments: a file kept with an incident, a timeline entry, an exclusion proposal or a report version."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.extensions import Base
from incidents.timeutil import UTCDateTime, utcnow


def _enum(kind: type[enum.Enum], length: int = 32) -> sa.Enum:
    return sa.Enum(kind, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class Target(str, enum.Enum):
    """What an attachment hangs on."""

    INCIDENT = "incident"
    TIMELINE_ENTRY = "timeline_entry"
    EXCLUSION_PROPOSAL = "exclusion_proposal"
    REPORT_VERSION = "report_version"


class Attachment(Base):
    """One file kept with the record: its name, detected type, size and SHA-256 (the bytes live in a storage)."""

    __tablename__ = "attachment"
    __table_args__ = (sa.Index("ix_attachment_incident", "incident_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    # Every attachment belongs to an incident, whatever it hangs on: who may see it follows from that incident.
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id", ondelete="CASCADE"))
    target: Mapped[Target] = mapped_column(_enum(Target, 20))
    timeline_entry_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("timeline_entry.id", ondelete="SET NULL"), index=True)
    exclusion_proposal_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("exclusion_proposal.id", ondelete="CASCADE"), index=True)
    report_version_id: Mapped[int | None] = mapped_column(
        sa.ForeignKey("report_version.id", ondelete="CASCADE"), index=True)
    filename: Mapped[str] = mapped_column(sa.String(200))
    # The type found in the content (never the name's or the client's word for it).
    media_type: Mapped[str] = mapped_column(sa.String(100))
    kind: Mapped[str] = mapped_column(sa.String(20))
    size: Mapped[int] = mapped_column(sa.BigInteger)
    sha256: Mapped[str] = mapped_column(sa.String(64))
    # Where the bytes are: "database" (the attachment_content table) or "s3" (object key below).
    storage: Mapped[str] = mapped_column(sa.String(20), default="database")
    storage_key: Mapped[str | None] = mapped_column(sa.String(300))
    uploaded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    uploaded_by_name: Mapped[str] = mapped_column(sa.String(254), default="")
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    content: Mapped[AttachmentContent | None] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, lazy="select", uselist=False)


class AttachmentContent(Base):
    """The bytes of an attachment kept in the database (the default storage), apart so lists never load them."""

    __tablename__ = "attachment_content"

    attachment_id: Mapped[int] = mapped_column(sa.ForeignKey("attachment.id", ondelete="CASCADE"), primary_key=True)
    data: Mapped[bytes] = mapped_column(sa.LargeBinary)
