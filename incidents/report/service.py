"""The Major Incident Review Report: draft versions, frozen submissions, generated sections, differences."""
from __future__ import annotations

import difflib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app

from incidents.attachment import service as attachment_service
from incidents.audit import service as audit_service
from incidents.errors import NotFound, StaleError, ValidationError
from incidents.extensions import db
from incidents.incident import service as incident_service
from incidents.incident.models import Incident
from incidents.notification import service as notification_service
from incidents.reminder import service as reminder_service
from incidents.report import markdown
from incidents.report.models import (  # SECTIONS and SECTION_KEYS are read by callers from here too
    SECTION_KEYS,
    SECTIONS,
    Classification,
    ReportDraft,
    ReportVersion,
)
from incidents.review import service as review_service
from incidents.review import workflow
from incidents.review.models import (
    ReportState,
    Review,
)
from incidents.review.workflow import Step
from incidents.timeutil import utcnow
from incidents.user import service as user_service
from incidents.user.models import User

# Narrative sections the DCC writes, in report order (generated sections sit between them).
REQUIRED_TO_SUBMIT = ("summary", "root_cause")
# The editor's token for "there was no working draft when I opened the page" (otherwise the draft's revision).
NO_DRAFT = "none"


@dataclass
class DiffLine:
    """One line of a difference between two versions."""

    kind: str  # "same", "added" or "removed"
    text: str


def latest(review: Review | None) -> ReportVersion | None:
    """Return the newest report version, draft or frozen."""
    return review.report_versions[-1] if review and review.report_versions else None


def report_etag(review: Review | None) -> str:
    """Return the report's ETag: it changes with every new version."""
    version = latest(review)
    if review is None or version is None:
        return '"report-none"'
    return f'"report-{review.id}-v{version.number}"'


def get_version(review: Review | None, number: int) -> ReportVersion:
    """Return version ``number`` of the report, or raise NotFound."""
    for version in (review.report_versions if review else []):
        if version.number == number:
            return version
    raise NotFound(f"There is no report version {number}.")


def _writing(incident: Incident, sections: dict[str, str], classification: Classification | None, *, actor: User,
             expected: str | None, expected_draft: str | None,
             now: datetime) -> tuple[Review, dict[str, str], Classification, ReportDraft | None]:
    """Check that ``actor`` may write the report now, from the version and working draft their page opened.

    Returns the review (started if need be), the validated sections and classification, and the working draft.
    """
    workflow.require_role(Step.WRITE_REPORT, actor)
    existing = review_service.get_review(incident)
    _check_etag(expected, existing)
    workflow.require(Step.WRITE_REPORT, user=actor, incident=incident, review=existing)
    review = existing or review_service.ensure_review(incident, now=now)
    clean_sections, level = _validate(sections, classification)
    draft = working_draft(review)
    if expected_draft is not None:
        _check_draft(draft, expected_draft)
    return review, clean_sections, level, draft


def save_draft(*, incident: Incident, sections: dict[str, str], classification: Classification | None,
               actor: User, expected: str | None = None, expected_draft: str | None = None,
               now: datetime | None = None) -> ReportVersion:
    """Save the report as a new draft version (a save that changes nothing adds none).

    ``sections`` holds the narrative sections by key (one left out is empty); ``classification``
    is None when the one given is not a classification. ``expected_draft`` is the working draft the
    editor opened (its revision, or ``NO_DRAFT``): the save is refused if the draft moved on since, and
    clears it, since the saved version now holds that text. A save that names no draft (the API) leaves
    any working draft in place: its text was never seen by the person saving.
    """
    now = now or utcnow()
    review, clean_sections, level, draft = _writing(incident, sections, classification, actor=actor,
                                                    expected=expected, expected_draft=expected_draft, now=now)
    if expected_draft is not None and draft is not None:
        db.session.delete(draft)
        db.session.flush()
    current = latest(review)
    if current is not None and _unchanged(current, clean_sections, level):
        return current
    version = ReportVersion(review=review, number=(current.number + 1) if current else 1, is_frozen=False,
                            classification=level, sections=clean_sections, created_at=now,
                            created_by_id=getattr(actor, "id", None), created_by_name=getattr(actor, "email", ""))
    db.session.add(version)
    before = review.report_state
    review.report_state = ReportState.DRAFT
    review.updated_at = now
    db.session.flush()
    attachment_service.follow_draft(previous=current, version=version)
    audit_service.record(actor=actor, action="update", entity_type="report", entity_id=review.id,
                         incident_id=incident.id,
                         changes=_section_changes(current, version) | (
                             {"report_state": [before.value, "draft"]} if before != ReportState.DRAFT else {}),
                         summary=f"Saved report draft version {version.number}", now=now)
    reminder_service.plan_incident(incident, now=now)
    return version


def missing_sections(version: ReportVersion) -> list[str]:
    """Name the sections a version must have before it is submitted, and lacks."""
    return [label for key, label in SECTIONS if key in REQUIRED_TO_SUBMIT and not version.sections.get(key)]


def working_draft(review: Review | None) -> ReportDraft | None:
    """Return the report's working draft (text typed since the last saved version), if there is one."""
    if review is None or review.id is None:
        return None
    return db.session.scalar(sa.select(ReportDraft).where(ReportDraft.review_id == review.id))


def draft_token(draft: ReportDraft | None) -> str:
    """Return what the editor sends back to say which working draft it opened."""
    return str(draft.revision) if draft is not None else NO_DRAFT


def keep_working_draft(*, incident: Incident, sections: dict[str, str], classification: Classification | None,
                       actor: User, expected: str | None = None, expected_draft: str | None = None,
                       now: datetime | None = None) -> ReportDraft | None:
    """Keep the editor's text as the report's one working draft, updated in place; make no version.

    Returns the draft, or None when the text is the latest version's (then no draft is kept). Refused
    (StaleError) when a version was saved since ``expected`` or the draft moved on since ``expected_draft``,
    so no one's text is overwritten unseen. Not audited: the draft is a scratch copy of what is in the
    editor, and every version made from it is.
    """
    now = now or utcnow()
    review, clean_sections, level, draft = _writing(incident, sections, classification, actor=actor,
                                                    expected=expected, expected_draft=expected_draft, now=now)
    current = latest(review)
    if _unchanged(current, clean_sections, level):
        if draft is not None:
            db.session.delete(draft)
            db.session.flush()
        return None
    if draft is None:
        draft = ReportDraft(review_id=review.id)
        db.session.add(draft)
    draft.base_number = current.number if current else None
    draft.sections = clean_sections
    draft.classification = level
    draft.updated_at = now
    draft.updated_by_id = getattr(actor, "id", None)
    # Kept as every record keeps who acted (the email); pages show the person's name and organisation.
    draft.updated_by_name = getattr(actor, "email", "") or ""
    db.session.flush()
    return draft


def _check_etag(expected: str | None, review: Review | None) -> None:
    if expected is not None and expected.strip().removeprefix("W/") != report_etag(review):
        raise StaleError("The report was saved by someone else since you opened it. Reload it to see their "
                         "version; your text is kept in the form.")


def _check_draft(draft: ReportDraft | None, expected_draft: str) -> None:
    """Refuse when the working draft is not the one the editor opened (someone else kept other text)."""
    if draft_token(draft) == expected_draft.strip():
        return
    if draft is None:
        raise StaleError("The unsaved working draft you opened was cleared by someone else since (they saved a "
                         "version or went back to the saved text). Reload the editor to see the report as it "
                         "is; your text is kept in the form.")
    raise StaleError(f"{user_service.person(draft.updated_by_name) or 'Someone else'} changed the unsaved working draft since you "
                     f"opened it. Reload the editor to see their text; your text is kept in the form.")


def _unchanged(current: ReportVersion | None, sections: dict[str, str], level: Classification) -> bool:
    """Whether the text is what the latest version says (before any version: nothing written, AMBER)."""
    if current is None:
        return level == Classification.AMBER and not any(sections.get(key) for key in SECTION_KEYS)
    return (all((current.sections.get(key) or "") == (sections.get(key) or "") for key in SECTION_KEYS)
            and current.classification == level)


def submit(*, incident: Incident, actor: User, expected: str | None = None,
           now: datetime | None = None) -> ReportVersion:
    """Freeze the latest draft as the submitted version, capturing the generated sections."""
    workflow.require_role(Step.SUBMIT_REPORT, actor)
    now = now or utcnow()
    review = review_service.get_review(incident)
    if expected is not None and expected.strip().removeprefix("W/") != report_etag(review):
        raise StaleError("The report was saved again since you opened it; review the latest version, then submit.")
    workflow.require(Step.SUBMIT_REPORT, user=actor, incident=incident, review=review)
    current = latest(review)
    assert review is not None and current is not None
    missing = missing_sections(current)
    if missing:
        raise ValidationError({f"sections.{key}": [f"{label} is required before submitting."]
                               for key, label in SECTIONS if label in missing},
                              "Complete the required sections before submitting.")
    current.is_frozen = True
    current.submitted_at = now
    current.submitted_by_name = getattr(actor, "email", "")
    current.generated = generate(incident, review)
    before = review.report_state
    review.report_state = ReportState.SUBMITTED
    review.updated_at = now
    db.session.flush()
    audit_service.record(actor=actor, action="update", entity_type="report", entity_id=review.id,
                         incident_id=incident.id, changes={"report_state": [before.value, "submitted"]},
                         summary=f"Submitted report version {current.number}", now=now)
    notification_service.record(notification_service.EventKind.REPORT_SUBMITTED, incident=incident, actor=actor, now=now)
    reminder_service.plan_incident(incident, now=now)
    return current


def withdraw(*, incident: Incident, actor: User, now: datetime | None = None) -> ReportVersion:
    """Take back the version waiting for the Operations Group: it leaves the pack, and the DCC may submit another."""
    workflow.require_role(Step.WITHDRAW_REPORT, actor)
    now = now or utcnow()
    review = review_service.get_review(incident)
    workflow.require(Step.WITHDRAW_REPORT, user=actor, incident=incident, review=review)
    assert review is not None
    version = review_service.awaiting_version(review)
    assert version is not None
    version.withdrawn_at = now
    version.withdrawn_by_name = getattr(actor, "email", "")
    before = review.report_state
    review.report_state = ReportState.DRAFT
    review.updated_at = now
    db.session.flush()
    audit_service.record(actor=actor, action="update", entity_type="report", entity_id=review.id,
                         incident_id=incident.id, changes={"report_state": [before.value, "draft"],
                                                           "withdrawn_version": [None, version.number]},
                         summary=f"Withdrew report version {version.number} from the Operations Group", now=now)
    notification_service.record(notification_service.EventKind.REPORT_WITHDRAWN, incident=incident, actor=actor, now=now)
    reminder_service.plan_incident(incident, now=now)
    return version


def generate(incident: Incident, review: Review | None) -> dict[str, Any]:
    """Build the sections generated from the record: facts, timeline, restoration, PMR treatment."""
    derived = incident_service.derive(incident)
    treatment = review_service.pmr_treatment(review)
    return {
        "facts": {
            "reference": incident.reference,
            "title": incident.title,
            "category": incident.category,
            "started_at": incident.started_at.isoformat(),
            "resolved_at": incident.resolved_at.isoformat() if incident.resolved_at else None,
            "duration_minutes": derived.duration_minutes,
            "target": derived.target_description,
            "within_target": derived.within_target_resolution_time,
            "pmr_month": derived.pmr_month,
            # Kept with the facts so the chart of a frozen version draws the deadline it was agreed with.
            "target_deadline_at": derived.target_deadline_at.isoformat() if derived.target_deadline_at else None,
            "cause_category": current_app.config["CAUSE_CATEGORIES"].get(incident.cause_category,
                                                                          incident.cause_category),
            "devices_affected": incident.devices_affected,
        },
        "timeline": [
            {"occurred_at": e.occurred_at.isoformat(), "kind": e.kind.value, "cohort": e.cohort, "text": e.text}
            for e in incident.timeline
        ],
        "cohorts": [
            {"name": c.name, "impact_started_at": c.impact_started_at.isoformat(),
             "restored_at": c.restored_at.isoformat() if c.restored_at else None, "minutes": c.minutes}
            for c in derived.cohorts
        ],
        "longest": derived.longest_restoration.describe() if derived.longest_restoration else None,
        "pmr": treatment,
    }


def view_model(incident: Incident, review: Review | None, version: ReportVersion | None) -> dict[str, Any]:
    """Return what a report page shows: the version's text and its generated sections."""
    generated = version.generated if version is not None and version.generated else generate(incident, review)
    return {"version": version, "sections": version.sections if version else {}, "generated": generated,
            "classification": version.classification if version else Classification.AMBER}


def diff(old: ReportVersion, new: ReportVersion) -> list[tuple[str, list[DiffLine]]]:
    """Compare two versions section by section, line by line."""
    result: list[tuple[str, list[DiffLine]]] = []
    for key, label in SECTIONS + [("classification", "Classification")]:
        a = (old.classification.value if key == "classification" else old.sections.get(key, "")).splitlines()
        b = (new.classification.value if key == "classification" else new.sections.get(key, "")).splitlines()
        lines: list[DiffLine] = []
        for line in difflib.ndiff(a, b):
            tag, text = line[:2], line[2:]
            if tag == "  ":
                lines.append(DiffLine("same", text))
            elif tag == "- ":
                lines.append(DiffLine("removed", text))
            elif tag == "+ ":
                lines.append(DiffLine("added", text))
        result.append((label, lines))
    return result


def markdown_limits() -> markdown.Limits:
    """Return the limits every narrative section is held to (the editor and the API schema state them)."""
    return markdown.Limits.from_config(current_app.config)


def _validate(sections: dict[str, str], classification: Classification | None) -> tuple[dict[str, str],
                                                                                      Classification]:
    clean, errors = markdown.check_sections(sections, SECTIONS, markdown_limits())
    if classification is None:
        errors["classification"] = ["Classification must be RED, AMBER, GREEN or WHITE."]
    if errors:
        raise ValidationError(errors)
    assert classification is not None
    return clean, Classification(classification)


def _section_changes(old: ReportVersion | None, new: ReportVersion) -> dict[str, list[Any]]:
    changes: dict[str, list[Any]] = {}
    for key in SECTION_KEYS:
        before = old.sections.get(key, "") if old else ""
        after = new.sections.get(key, "")
        if before != after:
            changes[f"section {key}"] = [before, after]
    if old is None or old.classification != new.classification:
        changes["classification"] = [old.classification.value if old else None, new.classification.value]
    return changes


def _when(value: Any) -> Any:
    """Turn a stored ISO time back into an aware datetime (anything else passes through)."""
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


def for_display(generated: dict[str, Any]) -> dict[str, Any]:
    """Return generated sections with their times as datetimes, as the report templates read them."""
    facts = dict(generated.get("facts") or {})
    for key in ("started_at", "resolved_at"):
        facts[key] = _when(facts.get(key))
    return {
        "facts": facts,
        "timeline": [{**entry, "occurred_at": _when(entry.get("occurred_at"))}
                     for entry in generated.get("timeline") or []],
        "cohorts": [{**cohort, "impact_started_at": _when(cohort.get("impact_started_at")),
                     "restored_at": _when(cohort.get("restored_at"))} for cohort in generated.get("cohorts") or []],
        "longest": generated.get("longest"),
        "pmr": generated.get("pmr") or {},
    }
