"""PDFs kept for frozen report versions: a frozen version never changes, so its PDF is drawn once."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from incidents.extensions import Base
from incidents.timeutil import UTCDateTime, utcnow


class ReportPdf(Base):
    """The PDF drawn from a frozen report version, as the Review Report or as the published report."""

    __tablename__ = "report_pdf"
    __table_args__ = (sa.UniqueConstraint("report_version_id", "kind", name="uq_report_pdf_version_kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    report_version_id: Mapped[int] = mapped_column(sa.ForeignKey("report_version.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(sa.String(16))  # "report" or "published": their stamps differ
    # Of the HTML and the stylesheet it was drawn from: a new template or stylesheet draws it afresh.
    digest: Mapped[str] = mapped_column(sa.String(64))
    pdf: Mapped[bytes] = mapped_column(sa.LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
