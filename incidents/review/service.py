"""The review workflow: PMR treatment, SECAS review, OPSG decision, publication, comments.

Each transition is one function that checks who may act, checks the step is
in order (ConflictError says what must happen first), changes state and
writes the audit trail.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app

from incidents import labels, permissions, validation
from incidents.action import service as action_service
from incidents.audit import service as audit_service
from incidents.errors import (
    ConflictError,
    NotFound,
    StaleError,
    ValidationError,
)
from incidents.extensions import db
from incidents.incident import service as incident_service
from incidents.incident.models import Incident
from incidents.meeting import service as meeting_service
from incidents.meeting.models import Meeting
from incidents.notification import service as notification_service
from incidents.principle import service as principle_service
from incidents.redaction import service as redaction_service
from incidents.reminder import service as reminder_service
from incidents.report import markdown
from incidents.report.models import Classification, ReportVersion
from incidents.review import edition, workflow
from incidents.review.models import (
    Comment,
    Decision,
    DecisionOutcome,
    ExclusionProposal,
    ExclusionReview,
    ExclusionState,
    Publication,
    ReportState,
    Review,
    ReviewOutcome,
    SummaryReportVersion,
)
from incidents.review.workflow import (  # noqa: F401  (names the review's callers read from here)
    EXCLUSION_LABELS,
    REPORT_LABELS,
    SETTLED,
    NextStep,
    Step,
    needs_review,
    next_steps,
    review_categories,
)
from incidents.timeutil import local_date, utcnow
from incidents.user.models import User

MAX_LINKS = 10
# The Major Incident Summary Report's sections, in order.
SUMMARY_SECTIONS = [
    ("what_happened", "What happened"),
    ("impact", "Impact"),
    ("current_status", "Current status"),
    ("next_steps", "Next steps"),
]
MAX_RECIPIENTS = 50
MAX_RECIPIENT_LENGTH = 200
MIN_SENT_YEAR, MAX_SENT_YEAR = 1990, 2999


@dataclass(frozen=True)
class SummaryDraft:
    """A Summary Report version as a form or the API sends it (the time sent aware)."""

    sections: dict[str, str]
    recipients: list[str]
    is_sent: bool = False
    sent_at: datetime | None = None  # when it went out; None when sent: now
    has_contents: bool = True  # False only for a sending recorded without its contents
URL_RE = re.compile(r"^https?://[^\s<>\"']{3,500}$")
PUBLISHABLE = (Classification.GREEN, Classification.WHITE)


# --- Loading ------------------------------------------------------------------

def get_review(incident: Incident) -> Review | None:
    """Return the incident's review, if one has started."""
    return db.session.scalar(sa.select(Review).where(Review.incident_id == incident.id))


def ensure_review(incident: Incident, *, now: datetime) -> Review:
    """Return the incident's review, starting it if needed."""
    if not needs_review(incident):
        raise ConflictError(workflow.no_review_message(incident))
    review = get_review(incident)
    if review is None:
        review = Review(incident_id=incident.id, incident_category=incident.category,
                        incident_is_major=incident.is_major, created_at=now, updated_at=now)
        db.session.add(review)
        db.session.flush()
    return review


def review_etag(review: Review | None) -> str:
    """Return the review's ETag value ("none" before it starts)."""
    return f'"review-{review.id}-v{review.version}"' if review else '"review-none"'


def check_expected(review: Review | None, expected: str | None) -> None:
    """Refuse a write based on an out-of-date copy of the review (ETag or version text)."""
    if expected is None:
        return
    if expected.strip().removeprefix("W/") != review_etag(review):
        raise StaleError("The review changed since you opened it. Reload it and try again.")


def _touch(review: Review, now: datetime) -> None:
    review.updated_at = now


def _name(actor: User | None) -> str:
    return getattr(actor, "email", None) or "system"


# --- Status ---------------------------------------------------------------------

def current_proposal(review: Review | None) -> ExclusionProposal | None:
    """Return the latest proposal round, if any."""
    return review.proposals[-1] if review and review.proposals else None


def pmr_treatment(review: Review | None) -> dict[str, Any]:
    """Describe the incident's PMR treatment as the PMR applies it."""
    state = review.exclusion_state if review else ExclusionState.NOT_PROPOSED
    proposal = current_proposal(review)
    return {
        "state": state.value,
        "label": EXCLUSION_LABELS[state],
        "excluded": state == ExclusionState.AGREED,
        "exclusion_pending": state in workflow.EXCLUSION_UNDER_REVIEW,
        "principle_code": proposal.principle_code if proposal and proposal.exclude else None,
        "principle_wording": proposal.principle_wording if proposal and proposal.exclude else None,
        "rationale": proposal.rationale if proposal else None,
    }


def latest_summary(review: Review | None) -> SummaryReportVersion | None:
    """Return the newest Summary Report version, draft or sent."""
    return review.summary_versions[-1] if review and review.summary_versions else None


def summary_etag(review: Review | None) -> str:
    """Return the Summary Report's ETag: it changes with every new version."""
    version = latest_summary(review)
    if review is None or version is None:
        return '"summary-none"'
    return f'"summary-{review.id}-v{version.number}"'


def get_summary_version(review: Review | None, number: int) -> SummaryReportVersion:
    """Return version ``number`` of the Summary Report, or raise NotFound."""
    for version in (review.summary_versions if review else []):
        if version.number == number:
            return version
    raise NotFound(f"There is no Summary Report version {number}.")


def record_summary_report(*, incident: Incident, draft: SummaryDraft, actor: User, expected: str | None = None,
                          now: datetime | None = None) -> SummaryReportVersion:
    """Save a new version of the Summary Report, recorded as sent when it was (its reminders then stop).

    A save that changes nothing adds no version. The Summary Report counts as sent from the first version
    recorded as sent; a later version is a revision, sent again or not.
    """
    workflow.require_role(Step.SUMMARY_REPORT, actor)
    now = now or utcnow()
    existing = get_review(incident)
    if expected is not None and expected.strip().removeprefix("W/") != summary_etag(existing):
        raise StaleError("The Summary Report was saved by someone else since you opened it. Reload it to see their "
                         "version; your text is kept in the form.")
    workflow.require(Step.SUMMARY_REPORT, user=actor, incident=incident, review=existing)
    sections, recipients, sent_at = _check_summary(draft, incident=incident, now=now)
    review = existing or ensure_review(incident, now=now)
    current = latest_summary(review)
    if current is not None and (current.sections, current.recipients, current.sent_at, current.has_contents) == (
            sections, recipients, sent_at, draft.has_contents):
        return current
    version = SummaryReportVersion(review=review, number=(current.number + 1) if current else 1, sections=sections,
                                   recipients=recipients, sent_at=sent_at, has_contents=draft.has_contents,
                                   created_at=now, created_by_id=getattr(actor, "id", None),
                                   created_by_name=getattr(actor, "email", ""))
    db.session.add(version)
    changes: dict[str, list[Any]] = {}
    for key, _ in SUMMARY_SECTIONS:
        before = current.sections.get(key, "") if current else ""
        if before != sections.get(key, ""):
            changes[f"section {key}"] = [before, sections.get(key, "")]
    if (current.recipients if current else []) != recipients:
        changes["recipients"] = [current.recipients if current else [], recipients]
    changes["sent_at"] = [None, sent_at.isoformat() if sent_at else None]
    if sent_at is not None and review.summary_submitted_at is None:
        changes["summary_submitted_at"] = [None, sent_at.isoformat()]
        review.summary_submitted_at = sent_at
    _touch(review, now)
    db.session.flush()
    what = "recorded as sent" if sent_at is not None else "saved as a draft"
    audit_service.record(actor=actor, action="update", entity_type="summary_report", entity_id=review.id,
                         incident_id=incident.id, changes=changes,
                         summary=f"Summary Report version {version.number} {what}", now=now)
    reminder_service.plan_incident(incident, now=now)
    return version


def mark_summary_submitted(*, incident: Incident, actor: User, now: datetime | None = None) -> Review:
    """Record that the DCC sent the Summary Report at ``now``, without its contents (as before they were kept)."""
    record_summary_report(incident=incident, actor=actor, now=now,
                          draft=SummaryDraft(sections={}, recipients=[], is_sent=True, sent_at=now,
                                             has_contents=False))
    review = get_review(incident)
    assert review is not None
    return review


def _check_summary(draft: SummaryDraft, *, incident: Incident,
                   now: datetime) -> tuple[dict[str, str], list[str], datetime | None]:
    """Check a Summary Report version's sections, recipients and time sent; return them as stored."""
    limits = markdown.Limits.from_config(current_app.config)
    sections, errors = markdown.check_sections(draft.sections, SUMMARY_SECTIONS, limits)
    recipients: list[str] = []
    if len(draft.recipients) > MAX_RECIPIENTS:
        errors["recipients"] = [f"List at most {MAX_RECIPIENTS} recipients; name a distribution list instead."]
    for index, raw in enumerate(draft.recipients[:MAX_RECIPIENTS]):
        recipient = validation.check_text(errors, "recipients", raw, limit=MAX_RECIPIENT_LENGTH,
                                          label=f"Recipient {index + 1}")
        if recipient and recipient not in recipients:
            recipients.append(recipient)
    if not draft.has_contents and (any(sections.values()) or recipients or not draft.is_sent):
        raise ValueError("a sending recorded without contents has no sections nor recipients")
    sent_at = None
    if draft.is_sent:
        sent_at = draft.sent_at or now
        if not MIN_SENT_YEAR <= sent_at.year <= MAX_SENT_YEAR:
            errors["sent_at"] = [f"The time sent must be between {MIN_SENT_YEAR} and {MAX_SENT_YEAR}."]
        elif sent_at > now:
            errors["sent_at"] = [("The time sent is in the future; enter the time the Summary Report went out "
                                  "(UK time), or leave it empty for now.")]
        elif sent_at < incident.started_at:
            errors["sent_at"] = ["The time sent is before the incident started; check the date and time."]
        if draft.has_contents:
            if not sections.get("what_happened"):
                errors.setdefault("sections.what_happened", []).append(
                    "What happened is required before recording the Summary Report as sent.")
            if not recipients and "recipients" not in errors:
                errors["recipients"] = ["Say who the Summary Report went to before recording it as sent."]
    elif draft.sent_at is not None:
        errors["sent_at"] = ["A draft has no time sent: record it as sent, or leave the time empty."]
    elif not any(sections.values()) and not recipients and not errors:
        errors["sections.what_happened"] = ["Write at least one section before saving a draft."]
    if errors:
        raise ValidationError(errors, "The Summary Report needs fixing.")
    return sections, recipients, sent_at


# --- Exclusion ------------------------------------------------------------------

def _clean_text(errors: dict[str, list[str]], name: str, value: str, *, label: str, required: bool) -> str:
    value = value.strip()
    limit = current_app.config["MAX_TEXT_LENGTH"]
    if required and not value:
        errors.setdefault(name, []).append(f"{label} is required.")
    if len(value) > limit:
        errors.setdefault(name, []).append(f"{label} can be at most {limit} characters (it has {len(value)}).")
    if "\x00" in value:
        errors.setdefault(name, []).append(f"{label} contains a null character; remove it.")
    return value


def propose(*, incident: Incident, exclude: bool | None, principle: str | None = None, rationale: str = "",
            evidence_links: list[str] | None = None, response: str = "", actor: User, expected: str | None = None,
            now: datetime | None = None) -> ExclusionProposal:
    """Record the DCC's PMR treatment: include, or exclude citing a principle with a rationale.

    ``exclude`` is None when the person did not say which (a form left unanswered).
    """
    workflow.require_role(Step.PROPOSE, actor)
    now = now or utcnow()
    existing = get_review(incident)
    check_expected(existing, expected)
    workflow.require(Step.PROPOSE, user=actor, incident=incident, review=existing)
    review = existing or ensure_review(incident, now=now)
    errors: dict[str, list[str]] = {}
    if exclude is None:
        errors["exclude"] = ["Say whether the incident is excluded from the PMR (true or false)."]
    rationale = _clean_text(errors, "rationale", rationale, label="Rationale", required=exclude is True)
    response = _clean_text(errors, "response", response, label="Response", required=False)
    if review.exclusion_state == ExclusionState.INFORMATION_REQUESTED and not response and exclude is True:
        errors.setdefault("response", []).append("Answer SECAS's request for information.")
    links = [link.strip() for link in evidence_links or []]
    if len(links) > MAX_LINKS:
        errors["evidence_links"] = [f"Give up to {MAX_LINKS} evidence links."]
    for index, link in enumerate(links):
        if not URL_RE.match(link):
            errors.setdefault(f"evidence_links[{index}]", []).append("Each evidence link must be an http(s) URL.")
    cited = None
    if exclude is True:
        if not principle:
            errors.setdefault("principle", []).append("Choose the exclusion principle you rely on.")
        else:
            try:
                found = principle_service.get_principle(principle)
            except NotFound:
                errors.setdefault("principle", []).append(f"There is no principle {principle!r}.")
            else:
                if found.is_retired:
                    errors.setdefault("principle", []).append(f"{principle} is retired; cite a live principle.")
                else:
                    cited = found.current
    if errors:
        raise ValidationError(errors)
    proposal = ExclusionProposal(
        review=review, round=len(review.proposals) + 1, exclude=exclude,
        principle_version_id=cited.id if cited else None,
        principle_code=cited.principle.code if cited else None,
        principle_wording=cited.wording if cited else None,
        rationale=rationale, evidence_links=links, response=response,
        proposed_by_id=getattr(actor, "id", None), proposed_by_name=_name(actor), proposed_at=now)
    db.session.add(proposal)
    before = review.exclusion_state
    review.exclusion_state = ExclusionState.PENDING if exclude else ExclusionState.INCLUDED
    _touch(review, now)
    db.session.flush()
    audit_service.record(
        actor=actor, action="update", entity_type="review", entity_id=review.id, incident_id=incident.id,
        changes={"exclusion_state": [before.value, review.exclusion_state.value],
                 "principle": [None, proposal.principle_code], "rationale": [None, rationale]},
        summary=f"Proposed PMR treatment, round {proposal.round}: {'exclude' if exclude else 'include'}", now=now)
    notification_service.record(notification_service.kind_of_proposal(before), incident=incident, actor=actor, now=now)
    reminder_service.plan_incident(incident, now=now)
    return proposal


def review_exclusion(*, incident: Incident, outcome: ReviewOutcome | None, comment: str, actor: User,
                     now: datetime | None = None) -> ExclusionReview:
    """Record SECAS's outcome on the pending exclusion, always with a comment."""
    review = get_review(incident)
    workflow.require(Step.REVIEW_EXCLUSION, user=actor, incident=incident, review=review)
    assert review is not None
    now = now or utcnow()
    errors: dict[str, list[str]] = {}
    if outcome is None:
        errors["outcome"] = ["Outcome must be one of agreed, disagreed, information_requested."]
    comment = _clean_text(errors, "comment", comment, label="Comment", required=True)
    if errors:
        raise ValidationError(errors)
    proposal = current_proposal(review)
    assert proposal is not None
    result = ReviewOutcome(outcome)
    entry = ExclusionReview(proposal=proposal, outcome=result, comment=comment, reviewed_by_id=getattr(actor, "id", None),
                            reviewed_by_name=_name(actor), reviewed_at=now)
    db.session.add(entry)
    before = review.exclusion_state
    review.exclusion_state = {
        ReviewOutcome.AGREED: ExclusionState.AGREED,
        ReviewOutcome.DISAGREED: ExclusionState.DISAGREED,
        ReviewOutcome.INFORMATION_REQUESTED: ExclusionState.INFORMATION_REQUESTED,
    }[result]
    _touch(review, now)
    db.session.flush()
    audit_service.record(
        actor=actor, action="update", entity_type="review", entity_id=review.id, incident_id=incident.id,
        changes={"exclusion_state": [before.value, review.exclusion_state.value], "comment": [None, comment]},
        summary=f"SECAS review of round {proposal.round}: {labels.label(result).lower()}", now=now)
    notification_service.record(notification_service.kind_of_review(result), incident=incident, actor=actor, now=now)
    reminder_service.plan_incident(incident, now=now)
    return entry


# --- OPSG decision and publication ----------------------------------------------

def latest_frozen(review: Review) -> ReportVersion | None:
    """Return the newest submitted (frozen) report version."""
    frozen = [v for v in review.report_versions if v.is_frozen]
    return frozen[-1] if frozen else None


def awaiting_version(review: Review | None) -> ReportVersion | None:
    """Return the version waiting for the Operations Group's decision (the one in its pack), if any."""
    if review is None or review.report_state not in workflow.AWAITING_DECISION:
        return None
    return latest_frozen(review)


@dataclass(frozen=True)
class MinutedAction:
    """An action the meeting raised, as minuted with the decision: it goes on the actions register."""

    reference: str
    owner: str
    target_on: date | None
    text: str


def _decision_meeting(errors: dict[str, list[str]], reference: str, *, now: datetime) -> Meeting | None:
    """Find the meeting in the register; a decision is taken at a meeting that has been held."""
    reference = reference.strip()
    found = meeting_service.find(reference) if reference else None
    if found is None:
        errors["meeting"] = [(f"Name a meeting in the register (e.g. {current_app.config['MEETING_HINT']}); "
                             f"{reference or 'no meeting'} is not in it. Schedule it on the meetings page first.")]
    elif found.held_on > local_date(now):
        errors["meeting"] = [(f"{found.reference} is on {found.held_on.isoformat()}, which is still to come; "
                             "record decisions after the meeting.")]
        return None
    return found


def _agreed_classification(errors: dict[str, list[str]], outcome: DecisionOutcome | None,
                           classification: Classification | None) -> Classification | None:
    if outcome != DecisionOutcome.AGREED:
        return None
    if classification is None:
        errors["classification"] = ["Say under which classification the group agreed publication: GREEN or WHITE."]
        return None
    classification = Classification(classification)
    if classification not in PUBLISHABLE:
        errors["classification"] = [(f"Reports published to SEC Parties are GREEN or WHITE, not "
                                    f"{classification.value}.")]
    return classification


def _minute_actions(actions: list[MinutedAction]) -> str:
    return "\n".join(f"{a.reference.strip()} ({a.owner}, by {a.target_on.isoformat() if a.target_on else 'TBC'}): "
                     f"{a.text.strip()}" for a in actions)


def _raise_actions(decision: Decision, meeting: Meeting, incident: Incident, actions: list[MinutedAction], *,
                   actor: User, now: datetime) -> None:
    """Put the decision's actions on the register, each linked to the decision (and so to its meeting)."""
    errors: dict[str, list[str]] = {}
    for index, minuted in enumerate(actions):
        reference = minuted.reference.strip()
        prefix = f"{meeting.group} {meeting.number}/"
        parsed = action_service.parse_reference(reference)
        # Numbered after the meeting; a letter after the number (OPSG 38x/02) is the group's own numbering.
        if parsed is not None and (parsed.group, parsed.number) != (meeting.group.upper(), meeting.number):
            errors[f"actions[{index}].reference"] = [
                (f"Action {index + 1}: an action raised at {meeting.reference} is numbered {prefix}NN, e.g. "
                f"{prefix}04 (not {reference!r}).")]
            continue
        try:
            action_service.create_action(actor=actor, now=now, draft=action_service.ActionDraft(
                reference=reference, text=minuted.text, owner_org=minuted.owner, target_on=minuted.target_on,
                raised_on=meeting.held_on, incidents=[incident.reference], decision_id=decision.id))
        except ValidationError as exc:
            for key, messages in exc.errors.items():
                errors[f"actions[{index}].{'owner' if key == 'owner_org' else key}"] = [
                    f"Action {index + 1}: {message}" for message in messages]
    if errors:
        raise ValidationError(errors, "Correct the actions minuted with the decision.")


def record_decision(*, incident: Incident, meeting: str, report_version: int | None, outcome: DecisionOutcome | None,
                    minute: str, classification: Classification | None = None,
                    actions: list[MinutedAction] | None = None, actor: User, now: datetime | None = None) -> Decision:
    """Record the Operations Group's decision on the version waiting for it, at a meeting in the register.

    ``report_version`` is the number of the version the group decided on (the one its pack circulated); an
    agreement names the classification agreed for publication; the actions minuted go on the actions register.
    The same decision sent again at once is kept once.
    """
    review = get_review(incident)
    workflow.require(Step.RECORD_DECISION, user=actor, incident=incident, review=review)
    assert review is not None
    now = now or utcnow()
    version = awaiting_version(review)
    assert version is not None
    # Whatever classification is asked: a RED version is never agreed for publication.
    if outcome == DecisionOutcome.AGREED and version.classification == Classification.RED:
        raise ConflictError(workflow.RED_NEVER_PUBLISHED)
    actions = actions or []
    errors: dict[str, list[str]] = {}
    if report_version is None:
        errors["report_version"] = ["Name the report version the group decided on (the version in its pack)."]
    found = _decision_meeting(errors, meeting, now=now)
    if outcome is None:
        errors["outcome"] = ["Outcome must be one of agreed, not_agreed, deferred."]
    level = _agreed_classification(errors, outcome, classification)
    minute = _clean_text(errors, "minute", minute, label="Minute", required=True)
    if errors:
        raise ValidationError(errors)
    assert found is not None and outcome is not None
    result = DecisionOutcome(outcome)
    if report_version != version.number:
        raise ConflictError(f"Version {report_version} is not the version waiting for the Operations Group: version "
                            f"{version.number} is. Decide on the version the pack circulated.")
    actions_text = _minute_actions(actions)
    # Only a deferral leaves the report waiting for a decision, so only a deferral can arrive twice.
    repeat = db.session.scalar(sa.select(Decision).where(
        Decision.review_id == review.id, Decision.report_version_id == version.id,
        Decision.recorded_by_id == getattr(actor, "id", None), Decision.meeting_id == found.id,
        Decision.outcome == result, Decision.minute == minute, Decision.actions_text == actions_text,
        Decision.recorded_at >= incident_service.repeat_window_start(now)).limit(1))
    if repeat is not None:
        return repeat  # a double submission: the decision is already recorded
    decision = Decision(review=review, meeting_id=found.id, meeting=found.reference, meeting_on=found.held_on,
                        outcome=result, classification=level, minute=minute, actions_text=actions_text,
                        report_version_id=version.id, recorded_by_id=getattr(actor, "id", None),
                        recorded_by_name=_name(actor), recorded_at=now)
    db.session.add(decision)
    before = review.report_state
    review.report_state = {
        DecisionOutcome.AGREED: ReportState.AGREED,
        DecisionOutcome.NOT_AGREED: ReportState.NOT_AGREED,
        DecisionOutcome.DEFERRED: ReportState.DEFERRED,
    }[result]
    _touch(review, now)
    db.session.flush()
    _raise_actions(decision, found, incident, actions, actor=actor, now=now)
    # The group decides on the edition with its withheld passages: the decision records which it covered.
    withheld = redaction_service.cover(decision=decision)
    audit_service.record(
        actor=actor, action="update", entity_type="review", entity_id=review.id, incident_id=incident.id,
        changes={"report_state": [before.value, review.report_state.value], "meeting": [None, decision.meeting],
                 "report_version": [None, version.number], "classification": [None, level.value if level else None],
                 "minute": [None, minute],
                 **({"withheld_passages": [None, [r.reason for r in withheld]]} if withheld else {})},
        summary=f"{decision.meeting}: {labels.label(result).lower()} (report version {version.number})", now=now)
    notification_service.record(notification_service.EventKind.DECISION_RECORDED, incident=incident, actor=actor, now=now)
    reminder_service.plan_incident(incident, now=now)
    return decision


def agreed_decision(review: Review) -> Decision | None:
    """Return the decision that agreed publication of the report as it stands, if any."""
    agreed = [d for d in review.decisions if d.outcome == DecisionOutcome.AGREED]
    return agreed[-1] if agreed else None


def publish(*, incident: Incident, classification: Classification | None = None, actor: User,
            now: datetime | None = None) -> Publication:
    """Publish exactly the agreed version to SEC Parties, under the classification the group agreed.

    ``classification``, when given (older API clients), must be the one agreed.
    """
    review = get_review(incident)
    workflow.require(Step.PUBLISH, user=actor, incident=incident, review=review)
    assert review is not None
    now = now or utcnow()
    agreed = agreed_decision(review)
    assert agreed is not None
    asked = Classification(classification) if classification is not None else None
    if agreed.report_version.classification == Classification.RED or asked == Classification.RED:
        raise ConflictError(workflow.RED_NEVER_PUBLISHED)
    # Decisions recorded before the group named a classification leave the choice to SECAS, GREEN or WHITE.
    level = agreed.classification or asked
    if level is None or level not in PUBLISHABLE:
        raise ValidationError({"classification": [("Reports published to SEC Parties are GREEN or WHITE. "
                                                  "Choose GREEN or WHITE.")]})
    if asked is not None and asked != level:
        raise ConflictError(f"The Operations Group agreed publication as {level.value} at {agreed.meeting}; "
                            f"the report is published as agreed, not as {asked.value}.")
    agreed_version, previous = agreed.report_version, (review.publications[-1] if review.publications else None)
    publication = Publication(review=review, report_version_id=agreed.report_version_id, classification=level,
                              published_by_id=getattr(actor, "id", None), published_by_name=_name(actor),
                              published_at=now)
    edition.take_snapshot(publication, incident=incident, version=agreed_version, previous=previous)
    db.session.add(publication)
    review.report_state = ReportState.PUBLISHED
    _touch(review, now)
    db.session.flush()
    audit_service.record(
        actor=actor, action="update", entity_type="review", entity_id=review.id, incident_id=incident.id,
        changes={"report_state": ["agreed", "published"], "classification": [None, level.value]},
        summary=f"Published report version {agreed.report_version.number} to SEC Parties as {level.value}", now=now)
    notification_service.record(notification_service.EventKind.REPORT_PUBLISHED, incident=incident, actor=actor, now=now)
    reminder_service.plan_incident(incident, now=now)
    return publication


# --- Comments -----------------------------------------------------------------

def add_comment(*, incident: Incident, body: str, actor: User, now: datetime | None = None) -> Comment:
    """Add a comment to the review (anyone who can see it may); the same comment sent again at once is kept once."""
    # Someone who cannot see the review learns nothing of it, not even that it exists.
    if workflow.role_refusal(Step.COMMENT, actor) is not None:
        raise NotFound(f"No incident {incident.reference!r}.")
    workflow.require(Step.COMMENT, user=actor, incident=incident, review=get_review(incident))
    now = now or utcnow()
    errors: dict[str, list[str]] = {}
    body = _clean_text(errors, "body", body, label="Comment", required=True)
    if errors:
        raise ValidationError(errors)
    review = ensure_review(incident, now=now)
    repeat = db.session.scalar(sa.select(Comment).where(
        Comment.review_id == review.id, Comment.author_id == getattr(actor, "id", None), Comment.body == body,
        Comment.created_at >= incident_service.repeat_window_start(now)).limit(1)) if review.id else None
    if repeat is not None:
        return repeat  # a double submission: the comment is already there
    comment = Comment(review=review, author_id=getattr(actor, "id", None), author_name=_name(actor), body=body,
                      created_at=now)
    db.session.add(comment)
    db.session.flush()
    audit_service.record(actor=actor, action="create", entity_type="comment", entity_id=comment.id,
                         incident_id=incident.id, changes={"body": [None, body]}, summary="Commented", now=now)
    return comment


# --- What SEC Parties see ----------------------------------------------------------

def published_list(*, viewer: User) -> list[Publication]:
    """Return every published report (the latest edition per incident), newest first, as it was published."""
    if not permissions.can_read_published(viewer):
        raise NotFound("No published reports.")
    latest = (sa.select(sa.func.max(Publication.id)).group_by(Publication.review_id)).scalar_subquery()
    return list(db.session.scalars(
        sa.select(Publication).where(Publication.id.in_(latest))
        .order_by(Publication.published_at.desc(), Publication.id.desc())))


def get_published(reference: str, *, viewer: User) -> Publication:
    """Return the latest edition published under this reference, or NotFound when none is published."""
    if not permissions.can_read_published(viewer):
        raise NotFound(f"No published report for {reference!r}.")
    # Looked up by the reference it was published under: the edition is frozen, its address too.
    publication = db.session.scalar(
        sa.select(Publication).where(Publication.reference == reference).order_by(Publication.id.desc()).limit(1))
    if publication is None:
        raise NotFound(f"No published report for {reference!r}.")
    return publication


# --- Where listed incidents' reviews stand ---------------------------------------------------

@dataclass(frozen=True)
class Waiting:
    """One party the review waits on: what they must do, and the earliest date any of it is due."""

    who: str
    what: list[str]
    due_on: date | None


@dataclass(frozen=True)
class Standing:
    """Where one incident's review stands, for a row of a list: its stage, and who must act next."""

    has_review: bool
    report_label: str
    exclusion_label: str
    waiting: list[Waiting]


def standings(incidents: list[Incident]) -> dict[int, Standing]:
    """Return where each incident's review stands, by incident id, loading their reviews in one query.

    The stage and the parties come from the workflow's own tables and ``next_steps``; nothing is restated here.
    """
    ids = [incident.id for incident in incidents]
    reviews: dict[int, Review] = {}
    if ids:
        reviews = {review.incident_id: review for review in db.session.scalars(
            sa.select(Review).where(Review.incident_id.in_(ids))
            .options(sa.orm.load_only(Review.incident_id, Review.exclusion_state, Review.report_state,
                                      Review.summary_submitted_at, raiseload=True)))}
    found = {}
    for incident in incidents:
        review = reviews.get(incident.id)
        waiting: dict[str, Waiting] = {}
        for step in next_steps(incident, review):
            before = waiting.get(step.who)
            dues = [d for d in (before.due_on if before else None, step.due_on) if d is not None]
            waiting[step.who] = Waiting(who=step.who, what=[*(before.what if before else []), step.what],
                                        due_on=min(dues) if dues else None)
        found[incident.id] = Standing(
            has_review=needs_review(incident),
            report_label=REPORT_LABELS[review.report_state if review else ReportState.NOT_STARTED],
            exclusion_label=EXCLUSION_LABELS[review.exclusion_state if review else ExclusionState.NOT_PROPOSED],
            waiting=list(waiting.values()))
    return found
