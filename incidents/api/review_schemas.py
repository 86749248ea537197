"""Request and response bodies of the review workflow: PMR treatment, report, decisions, publication.

As in ``schemas``, pydantic checks shapes only and the services keep every
domain rule. Response models are built from the services' own results
(``review_service.pmr_treatment``, ``next_steps``, ``report_service.view_model``)
so that the API shows exactly what the pages show.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import Field

from incidents.api.schemas import (
    Instant,
    Representation,
    RequestBody,
    TargetDay,
    Text,
    UtcInstant,
)
from incidents.incident import service as incident_service
from incidents.incident.models import Incident as IncidentRow
from incidents.report import service as report_service
from incidents.report.models import Classification
from incidents.report.models import ReportVersion as ReportVersionRow
from incidents.review import edition, workflow
from incidents.review import service as review_service
from incidents.review.models import Decision as DecisionRow
from incidents.review.models import (
    DecisionOutcome,
    ExclusionProposal,
    ExclusionState,
    ReportState,
    Review,
    ReviewOutcome,
)
from incidents.review.models import Publication as PublicationRow

# --- Requests ------------------------------------------------------------------


class ExclusionProposalInput(RequestBody):
    """The DCC's PMR treatment: include, or exclude citing a principle with a rationale."""

    exclude: bool = Field(description="true: exclude the incident from the PMR; false: count it.")
    principle: Text | None = Field(default=None, description="The code of a live principle; required to exclude.",
                                   examples=["third-party-infrastructure"])
    rationale: Text = Field(default="", description="Why the principle applies; required to exclude.")
    evidence_links: list[Text] = Field(default_factory=list, description="Up to 10 http(s) URLs.")
    response: Text = Field(default="", description="The answer to SECAS's request for information, when it asked.")


class ExclusionReviewInput(RequestBody):
    """SECAS's outcome on the pending exclusion, always with a comment."""

    outcome: ReviewOutcome
    comment: Text


class SummarySectionsInput(RequestBody):
    """The Summary Report's sections, as Markdown; a section left out is empty."""

    what_happened: Text = ""
    impact: Text = ""
    current_status: Text = ""
    next_steps: Text = ""


class SummaryReportInput(RequestBody):
    """A new version of the Major Incident Summary Report: a draft, or recorded as sent."""

    sections: SummarySectionsInput
    recipients: list[Text] = Field(default_factory=list, description="Who it went to (people, organisations or "
                                                                     "distribution lists); at least one when sent.")
    sent: bool = Field(default=False, description="true: this version went out (at sent_at); false: a draft.")
    sent_at: Instant | None = Field(default=None, description="When it went out; now when left out. Never in "
                                                              "the future; only with sent.")


class ReportSectionsInput(RequestBody):
    """The narrative sections the DCC writes, as Markdown; a section left out is empty."""

    summary: Text = ""
    root_cause: Text = ""
    impact: Text = ""
    lessons_learned: Text = ""
    actions: Text = ""


class ReportInput(RequestBody):
    """A new draft of the Review Report: the whole text and its classification."""

    classification: Classification = Field(description="SEC Panel Information Policy classification.")
    sections: ReportSectionsInput


class MinutedActionInput(RequestBody):
    """An action the meeting raised with the decision: it goes on the actions register, linked to the decision."""

    reference: Text = Field(description="Numbered after the meeting: OPSG 97/04 at OPSG_97.", examples=["OPSG 97/04"])
    owner: Text = Field(description="The organisation that owns it (dcc, secas, opsg ...).", examples=["dcc"])
    target_on: TargetDay
    text: Text = Field(description="The action as minuted.")


class DecisionInput(RequestBody):
    """The Operations Group's decision on the version waiting for it, at a meeting in the register."""

    meeting: Text = Field(description="A meeting in the register that has been held, e.g. OPSG_97 (422 otherwise); "
                                      "the decision's date is the meeting's.", examples=["OPSG_97"])
    report_version: int = Field(description="The number of the version decided on: the version waiting for the "
                                            "group, as its pack circulated it (409 when another version is).")
    outcome: DecisionOutcome
    classification: Classification | None = Field(
        default=None, description="Required when the outcome is agreed: the classification agreed for publication, "
                                  "GREEN or WHITE (422 otherwise). A version classified RED is never agreed (409).")
    minute: Text
    actions: list[MinutedActionInput] = Field(default_factory=list, max_length=50,
                                              description="Actions the meeting raised, entered on the register.")


class PublicationInput(RequestBody):
    """Publish the agreed version to SEC Parties, under the classification the group agreed."""

    classification: Classification | None = Field(
        default=None, description="Optional: the classification the group agreed; any other is a 409. A RED "
                                  "report is never published (409).")


# --- Responses: PMR treatment ----------------------------------------------------

class PmrTreatment(Representation):
    """How the PMR treats the incident, as the PMR applies it."""

    state: ExclusionState
    label: str
    excluded: bool = Field(description="Left out of the PMR measure (SECAS agreed the exclusion).")
    exclusion_pending: bool = Field(description="An exclusion waits for SECAS or for the DCC's answer.")
    principle_code: str | None
    principle_wording: str | None = Field(description="The exact wording cited, kept after any rewording.")
    rationale: str | None


class SecasOutcome(Representation):
    """SECAS's outcome on one proposal round."""

    outcome: ReviewOutcome
    comment: str
    reviewed_by: str
    reviewed_at: UtcInstant


class ProposalRound(Representation):
    """One round of the DCC's proposal and SECAS's outcomes on it."""

    round: int
    exclude: bool
    principle_code: str | None
    principle_wording: str | None
    rationale: str
    evidence_links: list[str]
    response: str = Field(description="The DCC's answer to SECAS's request for information.")
    proposed_by: str
    proposed_at: UtcInstant
    reviews: list[SecasOutcome]


class NextStep(Representation):
    """Who must act next, what they must do and by when."""

    who: str = Field(examples=["DCC", "SECAS", "OPSG"])
    what: str
    due_on: date | None


class Exclusion(Representation):
    """The incident's PMR treatment with every proposal round, and who acts next."""

    reference: str
    treatment: PmrTreatment
    current_proposal: ProposalRound | None
    rounds: list[ProposalRound] = Field(description="Every round, oldest first.")
    next_steps: list[NextStep]


class ReviewStatus(Representation):
    """Where the review stands."""

    reference: str
    exclusion_state: ExclusionState
    report_state: ReportState
    summary_submitted_at: UtcInstant | None = Field(description="When the DCC sent the Summary Report.")
    next_steps: list[NextStep]


class SummarySections(Representation):
    """The Summary Report's sections, as Markdown."""

    what_happened: str
    impact: str
    current_status: str
    next_steps: str


class SummaryReportVersion(Representation):
    """One saved version of the Summary Report."""

    number: int
    sections: SummarySections
    recipients: list[str]
    sent_at: UtcInstant | None = Field(description="When this version went out, as the DCC entered it; null: a "
                                                   "draft.")
    has_contents: bool = Field(description="false: recorded as sent before the contents were kept (only its time "
                                           "is known).")
    created_at: UtcInstant
    created_by: str


class SummaryReport(Representation):
    """The Major Incident Summary Report: when it is due, when it was first sent, every version (newest last)."""

    reference: str
    due_on: date | None = Field(description="When it is due (2 Working Days after resolution by default).")
    sent_at: UtcInstant | None = Field(description="When it was first recorded as sent; null until then.")
    versions: list[SummaryReportVersion]
    next_steps: list[NextStep]


# --- Responses: the report ----------------------------------------------------------

class ReportSections(Representation):
    """The narrative sections, as Markdown."""

    summary: str
    root_cause: str
    impact: str
    lessons_learned: str
    actions: str


class ReportFacts(Representation):
    """The incident's facts as the report states them."""

    reference: str
    title: str
    category: int
    started_at: UtcInstant
    resolved_at: UtcInstant | None
    duration_minutes: int | None
    target: str | None = Field(description="The Target Resolution Time, described.")
    within_target: bool | None
    pmr_month: str | None
    cause_category: str | None
    devices_affected: int | None


class ReportTimelineEntry(Representation):
    """A timeline entry as the report shows it."""

    occurred_at: UtcInstant
    kind: str
    cohort: str | None
    text: str


class ReportCohort(Representation):
    """A cohort's restoration as the report shows it."""

    name: str
    impact_started_at: UtcInstant
    restored_at: UtcInstant | None
    minutes: int | None


class GeneratedSections(Representation):
    """Sections generated from the record; captured when a version is submitted, live for a draft."""

    facts: ReportFacts
    timeline: list[ReportTimelineEntry]
    cohorts: list[ReportCohort]
    longest: str | None = Field(description="Which cohort took longest to restore, and by how much.")
    pmr: PmrTreatment


class ReportVersionSummary(Representation):
    """One saved version of the report, without its text."""

    number: int
    is_frozen: bool = Field(description="Submitted versions are frozen: never changed again.")
    classification: Classification
    created_at: UtcInstant
    created_by: str
    submitted_at: UtcInstant | None
    submitted_by: str | None


class ReportVersion(ReportVersionSummary):
    """One saved version of the report with its text and generated sections."""

    reference: str
    sections: ReportSections
    generated: GeneratedSections


class Report(ReportVersion):
    """The report's latest version and where the report stands."""

    state: ReportState
    state_label: str


class ReportVersionList(Representation):
    """Every version of the report, oldest first."""

    items: list[ReportVersionSummary]


class MinutedAction(Representation):
    """An action raised with a decision, as it stands on the actions register."""

    reference: str
    owner: str
    target_on: date | None = Field(description="null: TBC.")
    text: str


class Decision(Representation):
    """An Operations Group decision on a submitted report version, at a meeting in the register."""

    id: int = Field(description="Give it as decision_id when raising an action from this decision.")
    meeting: str
    meeting_on: date = Field(description="The meeting's date, from the register.")
    outcome: DecisionOutcome
    classification: Classification | None = Field(description="The classification agreed for publication "
                                                               "(agreed decisions only).")
    minute: str
    actions: list[MinutedAction] = Field(description="The actions raised with it, from the actions register.")
    actions_text: str = Field(description="The actions as minuted with the decision.")
    report_version: int = Field(description="The number of the version decided on.")
    recorded_by: str
    recorded_at: UtcInstant


class DecisionList(Representation):
    """The Operations Group's decisions on the report, by meeting date."""

    items: list[Decision]


class Publication(Representation):
    """A report version published to SEC Parties."""

    reference: str
    classification: Classification
    version: int
    published_by: str
    published_at: UtcInstant


class ReportSectionsHtml(Representation):
    """The narrative sections as sanitised HTML, rendered from their Markdown by the app's own renderer."""

    summary: str
    root_cause: str
    impact: str
    lessons_learned: str
    actions: str


class SupersededEdition(Representation):
    """The edition a correction replaced, as it was published."""

    version: int
    published_at: UtcInstant


class PublishedReport(Representation):
    """A published edition, as SEC Parties read it: frozen when it was published, nothing of the internal review."""

    reference: str = Field(description="The incident's reference as published.")
    title: str = Field(description="The incident's title as published (a later change of the record is not shown).")
    classification: Classification = Field(description="The classification it was published under.")
    published_at: UtcInstant
    version: int
    edition: str = Field(description="Which edition this is, in words.",
                         examples=["version 2, superseding version 1"])
    supersedes: SupersededEdition | None = Field(
        description="The edition this correction supersedes, with its own publication date; null for a first.")
    sections: ReportSections = Field(description="The narrative sections as Markdown (their source).")
    sections_html: ReportSectionsHtml = Field(
        description="The same sections as sanitised HTML, ready to show (HTML written in the Markdown comes "
                    "through as text, and only an allow-list of tags and attributes is kept): no client needs "
                    "to render Markdown.")
    generated: GeneratedSections


class PublishedReportList(Representation):
    """Every published report, newest first."""

    items: list[PublishedReport]


# --- From rows to representations -------------------------------------------

def present_treatment(treatment: dict[str, Any]) -> PmrTreatment:
    """Represent a PMR treatment as ``review_service.pmr_treatment`` describes it."""
    return PmrTreatment.model_validate({name: treatment.get(name) for name in PmrTreatment.model_fields})


def _round(proposal: ExclusionProposal) -> ProposalRound:
    return ProposalRound(
        round=proposal.round, exclude=proposal.exclude, principle_code=proposal.principle_code,
        principle_wording=proposal.principle_wording, rationale=proposal.rationale,
        evidence_links=list(proposal.evidence_links or []), response=proposal.response,
        proposed_by=proposal.proposed_by_name, proposed_at=proposal.proposed_at,
        reviews=[SecasOutcome(outcome=r.outcome, comment=r.comment, reviewed_by=r.reviewed_by_name,
                              reviewed_at=r.reviewed_at) for r in proposal.reviews])


def _steps(incident: IncidentRow, review: Review | None) -> list[NextStep]:
    return [NextStep(who=s.who, what=s.what, due_on=s.due_on) for s in workflow.next_steps(incident, review)]


def present_exclusion(incident: IncidentRow, review: Review | None) -> Exclusion:
    """Represent the incident's PMR treatment, its rounds and the next steps."""
    rounds = [_round(p) for p in (review.proposals if review else [])]
    return Exclusion(reference=incident.reference, treatment=present_treatment(review_service.pmr_treatment(review)),
                     current_proposal=rounds[-1] if rounds else None, rounds=rounds,
                     next_steps=_steps(incident, review))


def present_status(incident: IncidentRow, review: Review | None) -> ReviewStatus:
    """Represent where the review stands."""
    return ReviewStatus(
        reference=incident.reference,
        exclusion_state=review.exclusion_state if review else ExclusionState.NOT_PROPOSED,
        report_state=review.report_state if review else ReportState.NOT_STARTED,
        summary_submitted_at=review.summary_submitted_at if review else None,
        next_steps=_steps(incident, review))


def present_summary(incident: IncidentRow, review: Review | None) -> SummaryReport:
    """Represent the Summary Report with every version."""
    return SummaryReport(
        reference=incident.reference,
        due_on=incident_service.report_due_dates(incident)[0],
        sent_at=review.summary_submitted_at if review else None,
        versions=[SummaryReportVersion(
            number=v.number,
            sections=SummarySections.model_validate({key: (v.sections or {}).get(key) or ""
                                                     for key, _ in review_service.SUMMARY_SECTIONS}),
            recipients=list(v.recipients or []), sent_at=v.sent_at, has_contents=v.has_contents,
            created_at=v.created_at, created_by=v.created_by_name) for v in (review.summary_versions if review
                                                                             else [])],
        next_steps=_steps(incident, review))


def present_sections(sections: dict[str, Any]) -> ReportSections:
    """Represent the narrative sections; a section never written is empty."""
    return ReportSections.model_validate({key: sections.get(key) or "" for key in report_service.SECTION_KEYS})


def present_generated(generated: dict[str, Any]) -> GeneratedSections:
    """Represent the generated sections, picking the documented fields of what was stored."""
    facts = generated.get("facts") or {}
    return GeneratedSections(
        facts=ReportFacts.model_validate({name: facts.get(name) for name in ReportFacts.model_fields}),
        timeline=[ReportTimelineEntry.model_validate({name: entry.get(name)
                                                      for name in ReportTimelineEntry.model_fields})
                  for entry in generated.get("timeline") or []],
        cohorts=[ReportCohort.model_validate({name: cohort.get(name) for name in ReportCohort.model_fields})
                 for cohort in generated.get("cohorts") or []],
        longest=generated.get("longest"),
        pmr=present_treatment(generated.get("pmr") or {"state": ExclusionState.NOT_PROPOSED.value}))


def _summary_fields(version: ReportVersionRow) -> dict[str, Any]:
    return {"number": version.number, "is_frozen": version.is_frozen, "classification": version.classification,
            "created_at": version.created_at, "created_by": version.created_by_name,
            "submitted_at": version.submitted_at, "submitted_by": version.submitted_by_name}


def present_version_summary(version: ReportVersionRow) -> ReportVersionSummary:
    """Represent a report version without its text."""
    return ReportVersionSummary.model_validate(_summary_fields(version))


def _version_fields(incident: IncidentRow, review: Review | None, version: ReportVersionRow) -> dict[str, Any]:
    model = report_service.view_model(incident, review, version)
    return {**_summary_fields(version), "reference": incident.reference,
            "sections": present_sections(model["sections"]), "generated": present_generated(model["generated"])}


def present_version(incident: IncidentRow, review: Review | None, version: ReportVersionRow) -> ReportVersion:
    """Represent one report version with its text and generated sections."""
    return ReportVersion.model_validate(_version_fields(incident, review, version))


def present_report(incident: IncidentRow, review: Review, version: ReportVersionRow) -> Report:
    """Represent the report's latest version and where the report stands."""
    return Report.model_validate({**_version_fields(incident, review, version), "state": review.report_state,
                                  "state_label": workflow.REPORT_LABELS[review.report_state]})


def present_decision(decision: DecisionRow) -> Decision:
    """Represent an Operations Group decision."""
    return Decision(id=decision.id, meeting=decision.meeting, meeting_on=decision.meeting_on,
                    outcome=decision.outcome, classification=decision.classification, minute=decision.minute,
                    actions=[MinutedAction(reference=a.reference, owner=a.owner_org, target_on=a.target_on, text=a.text)
                             for a in decision.actions],
                    actions_text=decision.actions_text, report_version=decision.report_version.number, recorded_by=decision.recorded_by_name,
                    recorded_at=decision.recorded_at)


def present_publication(publication: PublicationRow) -> Publication:
    """Represent a publication as SECAS made it."""
    return Publication(reference=publication.reference, classification=publication.classification,
                       version=publication.version_number, published_by=publication.published_by_name,
                       published_at=publication.published_at)


def present_published(publication: PublicationRow) -> PublishedReport:
    """Represent a published edition as SEC Parties read it: from its snapshot only."""
    supersedes = None
    if publication.supersedes_version is not None and publication.supersedes_published_at is not None:
        supersedes = SupersededEdition(version=publication.supersedes_version,
                                       published_at=publication.supersedes_published_at)
    return PublishedReport(
        reference=publication.reference, title=publication.title, classification=publication.classification,
        published_at=publication.published_at, version=publication.version_number,
        edition=publication.edition_label, supersedes=supersedes,
        sections=present_sections(edition.sections(publication)),
        sections_html=ReportSectionsHtml.model_validate(
            edition.sections_html(publication, report_service.SECTION_KEYS)),
        generated=present_generated(edition.generated(publication)))
