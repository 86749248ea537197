"""A major incident's review: PMR treatment, SECAS rounds, OPSG decisions, publication (the report: report.models)."""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.extensions import Base
from incidents.report.models import Classification, ReportVersion
from incidents.timeutil import UTCDateTime, utcnow

if TYPE_CHECKING:
    from incidents.action.models import Action


def _enum(kind: type[enum.Enum], length: int = 32) -> sa.Enum:
    return sa.Enum(kind, native_enum=False, length=length, values_callable=lambda e: [m.value for m in e])


class ExclusionState(str, enum.Enum):
    """Where the PMR treatment stands."""

    NOT_PROPOSED = "not_proposed"
    INCLUDED = "included"
    PENDING = "pending"
    INFORMATION_REQUESTED = "information_requested"
    AGREED = "agreed"
    DISAGREED = "disagreed"


class ReportState(str, enum.Enum):
    """Where the Major Incident Review Report stands."""

    NOT_STARTED = "not_started"
    DRAFT = "draft"
    SUBMITTED = "submitted"
    AGREED = "agreed"
    NOT_AGREED = "not_agreed"
    DEFERRED = "deferred"
    PUBLISHED = "published"


class ReviewOutcome(str, enum.Enum):
    """SECAS's answer to an exclusion proposal."""

    AGREED = "agreed"
    DISAGREED = "disagreed"
    INFORMATION_REQUESTED = "information_requested"


class DecisionOutcome(str, enum.Enum):
    """The Operations Group's decision on publication."""

    AGREED = "agreed"
    NOT_AGREED = "not_agreed"
    DEFERRED = "deferred"


class Review(Base):
    """The single review of one major incident."""

    __tablename__ = "review"
    # The incident id and category too: the reviews in given states are listed, and those of major incidents
    # counted, from the index alone (dashboard, PMR).
    __table_args__ = (sa.Index("ix_review_states", "exclusion_state", "report_state", "incident_id",
                               "incident_is_major"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    incident_id: Mapped[int] = mapped_column(sa.ForeignKey("incident.id", ondelete="CASCADE"), unique=True)
    # The incident's category, kept in step by the incident service (``incident_service.set_category``): the
    # dashboard counts the reviews of major incidents without looking up each incident.
    incident_category: Mapped[int] = mapped_column()
    # Whether the incident is a declared Major Incident, kept in step by ``incident_service.set_major``: the
    # dashboard counts the reviews that ask for something without looking up each incident.
    incident_is_major: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    exclusion_state: Mapped[ExclusionState] = mapped_column(_enum(ExclusionState), default=ExclusionState.NOT_PROPOSED)
    report_state: Mapped[ReportState] = mapped_column(_enum(ReportState), default=ReportState.NOT_STARTED)
    # When the Summary Report was first recorded as sent (its versions: ``summary_versions``).
    summary_submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    proposals: Mapped[list[ExclusionProposal]] = relationship(
        back_populates="review", order_by="ExclusionProposal.round", cascade="all, delete-orphan")
    report_versions: Mapped[list[ReportVersion]] = relationship(
        back_populates="review", order_by="ReportVersion.number", cascade="all, delete-orphan")
    decisions: Mapped[list[Decision]] = relationship(
        back_populates="review", order_by="(Decision.meeting_on, Decision.id)", cascade="all, delete-orphan")
    publications: Mapped[list[Publication]] = relationship(
        back_populates="review", order_by="Publication.id", cascade="all, delete-orphan")
    comments: Mapped[list[Comment]] = relationship(
        back_populates="review", order_by="(Comment.created_at, Comment.id)", cascade="all, delete-orphan")
    summary_versions: Mapped[list[SummaryReportVersion]] = relationship(
        back_populates="review", order_by="SummaryReportVersion.number", cascade="all, delete-orphan")

    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012 (read once, when SQLAlchemy maps the class)


class SummaryReportVersion(Base):
    """One saved version of the Major Incident Summary Report: its sections, who it went to, when it was sent."""

    __tablename__ = "summary_report_version"
    __table_args__ = (sa.UniqueConstraint("review_id", "number", name="uq_summary_report_version_number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("review.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column()
    sections: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)
    recipients: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    # When the DCC sent this version, as it entered it (None: a draft, not sent).
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # False for a sending recorded before the Summary Report's contents were kept (only its time is known).
    has_contents: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    created_by_name: Mapped[str] = mapped_column(sa.String(254), default="")

    review: Mapped[Review] = relationship(back_populates="summary_versions")


class ExclusionProposal(Base):
    """One round of the DCC's proposal for the PMR treatment."""

    __tablename__ = "exclusion_proposal"
    __table_args__ = (sa.UniqueConstraint("review_id", "round", name="uq_exclusion_proposal_round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("review.id", ondelete="CASCADE"))
    round: Mapped[int] = mapped_column()
    exclude: Mapped[bool] = mapped_column()
    principle_version_id: Mapped[int | None] = mapped_column(sa.ForeignKey("principle_version.id"))
    # The exact words cited, kept even if the principle is later reworded or retired.
    principle_code: Mapped[str | None] = mapped_column(sa.String(60))
    principle_wording: Mapped[str | None] = mapped_column(sa.Text)
    rationale: Mapped[str] = mapped_column(sa.Text, default="")
    evidence_links: Mapped[list[str]] = mapped_column(sa.JSON, default=list)
    response: Mapped[str] = mapped_column(sa.Text, default="")
    proposed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    proposed_by_name: Mapped[str] = mapped_column(sa.String(254), default="")
    proposed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    review: Mapped[Review] = relationship(back_populates="proposals")
    reviews: Mapped[list[ExclusionReview]] = relationship(
        back_populates="proposal", order_by="ExclusionReview.id", cascade="all, delete-orphan")


class ExclusionReview(Base):
    """SECAS's outcome on one proposal round, always with a comment."""

    __tablename__ = "exclusion_review"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(sa.ForeignKey("exclusion_proposal.id", ondelete="CASCADE"), index=True)
    outcome: Mapped[ReviewOutcome] = mapped_column(_enum(ReviewOutcome))
    comment: Mapped[str] = mapped_column(sa.Text)
    reviewed_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    reviewed_by_name: Mapped[str] = mapped_column(sa.String(254), default="")
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    proposal: Mapped[ExclusionProposal] = relationship(back_populates="reviews")


class Decision(Base):
    """An Operations Group decision on a submitted report, minuted at a meeting."""

    __tablename__ = "decision"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("review.id", ondelete="CASCADE"), index=True)
    # The meeting in the register (its reference and date are copied: the minute names them as they were).
    meeting_id: Mapped[int | None] = mapped_column(sa.ForeignKey("meeting.id", ondelete="SET NULL"), index=True)
    meeting: Mapped[str] = mapped_column(sa.String(40))
    meeting_on: Mapped[date] = mapped_column(sa.Date)
    outcome: Mapped[DecisionOutcome] = mapped_column(_enum(DecisionOutcome))
    # The classification the group agreed the report is published under (GREEN or WHITE; only when agreed).
    classification: Mapped[Classification | None] = mapped_column(_enum(Classification, 8))
    minute: Mapped[str] = mapped_column(sa.Text)
    actions_text: Mapped[str] = mapped_column(sa.Text, default="")
    report_version_id: Mapped[int] = mapped_column(sa.ForeignKey("report_version.id"))
    recorded_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    recorded_by_name: Mapped[str] = mapped_column(sa.String(254), default="")
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    review: Mapped[Review] = relationship(back_populates="decisions")
    report_version: Mapped[ReportVersion] = relationship()
    actions: Mapped[list[Action]] = relationship(order_by="Action.reference", viewonly=True)


class Publication(Base):
    """An edition published to SEC Parties: the agreed version, wholly frozen when it was published.

    Everything a SEC Party reads of it comes from the columns below and ``snapshot`` (taken by
    ``incidents.review.edition.take_snapshot``), never from the live incident, so later edits of the
    record cannot reach a published edition.
    """

    __tablename__ = "publication"
    __table_args__ = (sa.Index("ix_publication_reference", "reference", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("review.id", ondelete="CASCADE"), index=True)
    report_version_id: Mapped[int] = mapped_column(sa.ForeignKey("report_version.id"))
    classification: Mapped[Classification] = mapped_column(_enum(Classification, 8))
    published_by_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    published_by_name: Mapped[str] = mapped_column(sa.String(254), default="")
    published_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    # The edition as published: what the lists show, and the report itself (sections and generated sections).
    reference: Mapped[str] = mapped_column(sa.String(40))
    title: Mapped[str] = mapped_column(sa.String(200))
    version_number: Mapped[int] = mapped_column()
    # The edition this one replaced, as it was published (a correction is "version N, superseding version M").
    supersedes_version: Mapped[int | None] = mapped_column()
    supersedes_published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    snapshot: Mapped[dict[str, Any]] = mapped_column(sa.JSON)

    review: Mapped[Review] = relationship(back_populates="publications")
    report_version: Mapped[ReportVersion] = relationship()

    @property
    def edition_label(self) -> str:
        """Say which edition this is: 'version 2, superseding version 1', or 'version 1'."""
        label = f"version {self.version_number}"
        if self.supersedes_version is not None:
            label += f", superseding version {self.supersedes_version}"
        return label


class Comment(Base):
    """A comment on a review by anyone who can see it."""

    __tablename__ = "review_comment"

    id: Mapped[int] = mapped_column(primary_key=True)
    review_id: Mapped[int] = mapped_column(sa.ForeignKey("review.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    author_name: Mapped[str] = mapped_column(sa.String(254), default="")
    body: Mapped[str] = mapped_column(sa.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    review: Mapped[Review] = relationship(back_populates="comments")
