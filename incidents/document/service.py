"""Print-ready documents: the Review Report and the OPSG pack, as HTML pages and as PDFs.

PDFs are drawn by WeasyPrint from the same HTML. WeasyPrint never reaches
the network: its URL fetcher serves only files from our own static folder and
refuses everything else (a link in a report's Markdown included).
"""
from __future__ import annotations

import hashlib
import mimetypes
import os
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote, urlsplit

import sqlalchemy as sa
from markupsafe import Markup
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload
from werkzeug.security import safe_join

from incidents import permissions, validation
from incidents.action import service as action_service
from incidents.action.models import Action, ActionStatus
from incidents.attachment import service as attachment_service
from incidents.attachment.models import Attachment
from incidents.chart import service as chart_service
from incidents.document.models import ReportPdf
from incidents.errors import NotFound
from incidents.extensions import db
from incidents.incident import service as incident_service
from incidents.incident.models import Incident
from incidents.meeting.models import Meeting
from incidents.report import service as report_service
from incidents.report.markdown import render
from incidents.report.models import Classification, ReportVersion
from incidents.review import edition, workflow
from incidents.review import service as review_service
from incidents.review.forms import CLASSIFICATION_NOTES
from incidents.review.models import (
    Decision,
    Publication,
    Review,
)
from incidents.timeutil import format_date, format_local, local_date, utcnow

_NUMBER = re.compile(r"^[0-9]{1,9}$")
WAITING = workflow.AWAITING_DECISION


# --- PDF rendering -------------------------------------------------------------------------------

def render_pdf(html: str, *, base_url: str, static_folder: str, static_url_path: str) -> bytes:
    """Draw HTML as a PDF; only our own static files may be fetched while drawing."""
    # Imported here: WeasyPrint takes a second or two to load, which only PDF requests should pay.
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    base = urlsplit(base_url)
    prefix = static_url_path.rstrip("/") + "/"

    class StaticOnlyFetcher(URLFetcher):
        """Serve our static files from disk; refuse every other address."""

        def fetch(self, url: str, headers: Any = None) -> Any:
            parts = urlsplit(url)
            if parts.scheme not in ("http", "https") or parts.netloc != base.netloc or not parts.path.startswith(prefix):
                raise ValueError(f"Not fetched while drawing a PDF: {url[:200]}")
            path = safe_join(static_folder, unquote(parts.path[len(prefix):]))
            if path is None or not os.path.isfile(path):
                raise ValueError(f"No static file for {url[:200]}")
            with open(path, "rb") as handle:
                body = handle.read()
            mime = mimetypes.guess_type(path)[0] or "application/octet-stream"
            return URLFetcherResponse(url, body, {"Content-Type": mime})

    return bytes(HTML(string=html, base_url=base_url, url_fetcher=StaticOnlyFetcher()).write_pdf())


def pdf_digest(html: str, *, static_folder: str) -> str:
    """Return the digest of what a PDF is drawn from: the HTML and the stylesheet it links to."""
    digest = hashlib.sha256(html.encode())
    stylesheet = os.path.join(static_folder, "style.css")
    if os.path.isfile(stylesheet):
        with open(stylesheet, "rb") as handle:
            digest.update(handle.read())
    return digest.hexdigest()


def report_pdf(doc: ReportDocument, html: str, *, digest: str, draw: Callable[[str], bytes]) -> bytes:
    """Return the PDF of a report document: a frozen version's is drawn once and kept, a draft's every time.

    A kept PDF is served only while it was drawn from the same HTML and stylesheet (``digest``); a changed
    template or stylesheet draws it again and replaces it. The caller commits.
    """
    if not doc.version.is_frozen:
        return draw(html)
    kind = "published" if doc.publication is not None else "report"
    kept = db.session.scalar(sa.select(ReportPdf).where(ReportPdf.report_version_id == doc.version.id,
                                                         ReportPdf.kind == kind))
    if kept is not None and kept.digest == digest:
        return kept.pdf
    pdf = draw(html)
    if kept is not None:
        kept.digest, kept.pdf, kept.created_at = digest, pdf, utcnow()
        return pdf
    try:
        with db.session.begin_nested():
            db.session.add(ReportPdf(report_version_id=doc.version.id, kind=kind, digest=digest, pdf=pdf))
    except IntegrityError:
        pass  # drawn at the same moment by another request, which kept it
    return pdf


# --- The Review Report -----------------------------------------------------------------------------

def parse_version(text: str | None) -> int | None:
    """Return the version asked for in ``?version=N``; anything else is a version that does not exist."""
    if text is None or text == "":
        return None
    if not _NUMBER.match(text):
        raise NotFound(f"There is no report version {text[:20]!r}.")
    return int(text)




@dataclass
class ReportDocument:
    """What the printable Review Report shows."""

    # None for a published edition: it is drawn from its snapshot alone, nothing of the live record.
    incident: Incident | None
    version: ReportVersion
    classification: Classification
    narrative: dict[str, Markup]
    generated: dict[str, Any]
    publication: Publication | None = None
    # The version's attachments, each listed with its SHA-256 (none in a published edition: evidence stays with
    # the record, which SEC Parties do not read).
    attachments: list[Attachment] = field(default_factory=list)

    @property
    def reference(self) -> str:
        """Return the incident's reference, as published for a published edition."""
        if self.publication is not None:
            return self.publication.reference
        assert self.incident is not None
        return self.incident.reference

    @property
    def title(self) -> str:
        """Return the incident's title as the document states it."""
        if self.publication is not None:
            return self.publication.title
        assert self.incident is not None
        return str((self.generated.get("facts") or {}).get("title") or self.incident.title)

    @property
    def stamp(self) -> str:
        """Say which version this is: 'Published version 3, 27 Jun 2023, GREEN' or 'Version 3 (draft), AMBER'.

        A correction names the edition it supersedes and when that was published.
        """
        if self.publication is not None:
            when = format_date(self.publication.published_at, with_day=False)
            stamp = f"Published version {self.publication.version_number}, {when}"
            if self.publication.supersedes_version is not None:
                stamp += f", superseding version {self.publication.supersedes_version}"
                if self.publication.supersedes_published_at is not None:
                    before = format_date(self.publication.supersedes_published_at, with_day=False)
                    stamp += f" (published {before})"
            return f"{stamp}, {self.classification.value}"
        state = "submitted" if self.version.is_frozen else "draft"
        return f"Version {self.version.number} ({state}), {self.classification.value}"

    @property
    def filename(self) -> str:
        """Return the PDF's file name."""
        kind = "published" if self.publication is not None else "review-report"
        return f"{self.reference}-{kind}-v{self.version.number}.pdf"

    def context(self) -> dict[str, Any]:
        """Return the template context (the report body reads the same names as the report page)."""
        return {
            "doc": self, "incident": self.incident, "version": self.version, "generated": self.generated,
            "narrative": self.narrative, "section_labels": dict(report_service.SECTIONS),
            "classification": self.classification,
            "classification_note": CLASSIFICATION_NOTES[self.classification], "publication": self.publication,
            "attachments": self.attachments, "size_label": attachment_service.size_label,
        }


def _document(incident: Incident, review: Review | None, version: ReportVersion) -> ReportDocument:
    model = report_service.view_model(incident, review, version)
    return ReportDocument(
        incident=incident, version=version, classification=model["classification"],
        narrative={key: render(model["sections"].get(key)) for key in report_service.SECTION_KEYS},
        generated=report_service.for_display(model["generated"]),
        attachments=attachment_service.for_version(version))


def report_document(reference: str, *, viewer: Any, number: int | None = None) -> ReportDocument:
    """Return a version of the Review Report (the latest by default) for a reader of incidents."""
    incident = incident_service.get_incident(reference, viewer=viewer)
    review = review_service.get_review(incident)
    if number is None:
        version = report_service.latest(review)
        if version is None:
            raise NotFound(f"The DCC has not saved a Review Report for {incident.reference} yet.")
    else:
        version = report_service.get_version(review, number)
    return _document(incident, review, version)


def published_document(reference: str, *, viewer: Any) -> ReportDocument:
    """Return the published version of a report, as SEC Parties see it."""
    if not validation.is_lookup_key(reference):
        raise NotFound(f"No published report for {reference!r}.")
    publication = review_service.get_published(reference, viewer=viewer)
    sections = edition.sections(publication)
    return ReportDocument(
        incident=None, version=publication.report_version, classification=publication.classification,
        narrative={key: render(sections.get(key)) for key in report_service.SECTION_KEYS},
        generated=report_service.for_display(edition.generated(publication)), publication=publication)


# --- The OPSG pack --------------------------------------------------------------------------------

@dataclass
class PackItem:
    """One review in the pack: what the group is asked to decide, with the report's summary and chart."""

    incident: Incident
    review: Review
    version: ReportVersion | None
    summary: Markup
    treatment: dict[str, Any]
    is_settled: bool
    report_label: str
    facts: dict[str, Any]
    figure: chart_service.Figure
    decision: Decision | None = None


# From most to least restrictive: a pack is classified as its most restrictive report.
RESTRICTION = [Classification.RED, Classification.AMBER, Classification.GREEN, Classification.WHITE]


@dataclass
class Pack:
    """The papers for one meeting."""

    meeting: Meeting
    is_past: bool
    items: list[PackItem]
    actions: list[Action]
    overdue: set[int] = field(default_factory=set)
    owners: dict[str, str] = field(default_factory=dict)
    prepared_at: datetime = field(default_factory=utcnow)

    @property
    def classification(self) -> Classification:
        """Return the most restrictive classification of the reports in the pack (AMBER when there are none)."""
        levels = [item.version.classification for item in self.items if item.version is not None]
        return min(levels, key=RESTRICTION.index) if levels else Classification.AMBER

    def context(self) -> dict[str, Any]:
        """Return the template context."""
        return {"pack": self, "classification": self.classification,
                "classification_note": CLASSIFICATION_NOTES[self.classification]}

    @property
    def prepared_label(self) -> str:
        """Say when the pack was drawn up, in UK time."""
        return format_local(self.prepared_at)

    @property
    def filename(self) -> str:
        """Return the PDF's file name."""
        return f"{self.meeting.reference}-pack.pdf"


def get_meeting(reference: str) -> Meeting:
    """Load a meeting by its reference (OPSG_97), or raise NotFound."""
    if not validation.is_lookup_key(reference, 40):
        raise NotFound(f"No meeting {reference!r}.")
    meeting = db.session.scalar(sa.select(Meeting).where(Meeting.reference == reference))
    if meeting is None:
        raise NotFound(f"No meeting {reference!r}.")
    return meeting


def _item(incident: Incident, review: Review, version: ReportVersion | None, decision: Decision | None,
          now: datetime) -> PackItem:
    generated = (version.generated if version is not None and version.generated
                 else report_service.generate(incident, review))
    data = chart_service.from_generated(incident, generated, now=now)
    return PackItem(
        incident=incident, review=review, version=version,
        summary=render((version.sections or {}).get("summary") if version is not None else None),
        treatment=review_service.pmr_treatment(review), is_settled=review.exclusion_state in workflow.SETTLED,
        report_label=workflow.REPORT_LABELS[review.report_state], facts=report_service.for_display(generated)["facts"],
        figure=chart_service.figure(data, id_prefix=f"pack-{incident.reference}"), decision=decision)


def opsg_pack(reference: str, *, viewer: Any, now: datetime | None = None) -> Pack:
    """Gather a meeting's pack: the reviews waiting for its decision (or decided at it) and the group's open actions."""
    if not permissions.can_view_incidents(viewer):
        raise NotFound(f"No meeting {reference!r}.")
    now = now or utcnow()
    meeting = get_meeting(reference)
    today = local_date(now)
    is_past = meeting.held_on < today
    loaders = (selectinload(Review.report_versions), selectinload(Review.proposals))
    items: dict[int, PackItem] = {}
    decided = db.session.execute(
        sa.select(Incident, Review, Decision)
        .join(Review, Review.incident_id == Incident.id).join(Decision, Decision.review_id == Review.id)
        .where(Decision.meeting == meeting.reference)
        .options(*loaders, selectinload(Decision.report_version))
        .order_by(Incident.resolved_at, Incident.id, Decision.id))
    for incident, review, decision in decided:
        items[review.id] = _item(incident, review, decision.report_version, decision, now)
    if not is_past:
        waiting = db.session.execute(
            sa.select(Incident, Review).join(Review, Review.incident_id == Incident.id)
            .where(Review.report_state.in_(WAITING)).options(*loaders)
            .order_by(Incident.resolved_at, Incident.id))
        for incident, review in waiting:
            if review.id not in items:
                items[review.id] = _item(incident, review, review_service.latest_frozen(review), None, now)
    actions = list(db.session.scalars(
        sa.select(Action).where(Action.group == meeting.group, Action.status == ActionStatus.OPEN)
        .order_by(sa.case((Action.target_on.is_(None), 1), else_=0), Action.target_on, Action.reference)))
    overdue = {a.id for a in actions if action_service.is_overdue(a, today=today)}
    return Pack(meeting=meeting, is_past=is_past, items=list(items.values()), actions=actions, overdue=overdue,
                owners=action_service.organisations(), prepared_at=now)
