"""Withheld passages: SECAS marks passages of the version waiting for the group, the decision covers them, and
the published edition carries "[withheld: reason]" in their place.

A passage is withheld wherever it stands in the version (narrative sections, generated sections, title), so
nothing of it reaches SEC Parties: the published edition's snapshot is taken with the passages already
replaced (``incidents.review.edition.take_snapshot`` calls ``apply``), and every surface a party reads draws on
that snapshot alone. Passages may be marked or removed only while the version waits for the Operations Group's
decision; the decision records which it covered, and publication withholds exactly those.
"""
from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from incidents import permissions, validation
from incidents.audit import service as audit_service
from incidents.errors import ConflictError, NotFound, ValidationError
from incidents.extensions import db
from incidents.incident.models import Incident
from incidents.redaction.models import Redaction
from incidents.report.models import ReportVersion
from incidents.review import workflow
from incidents.review.models import Decision, Review
from incidents.timeutil import utcnow
from incidents.user.models import User

MIN_PASSAGE = 3
MAX_PASSAGE = 5000
MAX_REASON = 200


def placeholder(reason: str) -> str:
    """Return what parties read in place of a withheld passage."""
    return f"[withheld: {reason}]"


def review_of(incident: Incident) -> Review | None:
    return db.session.scalar(sa.select(Review).where(Review.incident_id == incident.id))


def waiting_version(review: Review | None) -> ReportVersion | None:
    """Return the version waiting for the Operations Group's decision (None when none is waiting)."""
    if review is None or review.report_state not in workflow.AWAITING_DECISION or not review.report_versions:
        return None
    latest = review.report_versions[-1]
    return latest if latest.is_frozen and latest.withdrawn_at is None else None


def refusal(*, user: Any, review: Review | None) -> workflow.Refusal | None:
    """Return why the user may not mark or remove withheld passages now (None: they may)."""
    if not permissions.can_publish(user):
        return workflow.Refusal("Only SECAS marks passages to withhold from SEC Parties.", is_forbidden=True)
    if waiting_version(review) is None:
        return workflow.Refusal(
            "Passages are marked on the version waiting for the Operations Group's decision, so that the decision "
            "covers them; no version is waiting now.", is_forbidden=False)
    return None


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for item in value.values() for s in _strings(item)]
    if isinstance(value, list):
        return [s for item in value for s in _strings(item)]
    return []


def _text_of(version: ReportVersion, incident: Incident) -> list[str]:
    return [*_strings(version.sections or {}), *_strings(version.generated or {}), incident.title]


def for_version(version: ReportVersion) -> list[Redaction]:
    """Return the passages marked on a version, in the order they were marked."""
    return list(db.session.scalars(sa.select(Redaction).where(Redaction.report_version_id == version.id)
                                   .order_by(Redaction.id)))


def mark(*, incident: Incident, passage: str, reason: str, actor: User, now: datetime | None = None) -> Redaction:
    """Withhold a passage of the version waiting for the group from SEC Parties, with the reason they will read."""
    now = now or utcnow()
    review = review_of(incident)
    refused = refusal(user=actor, review=review)
    if refused is not None:
        raise refused.error()
    version = waiting_version(review)
    assert version is not None
    passage = (passage or "").strip()
    reason = " ".join((reason or "").split())
    errors: dict[str, list[str]] = {}
    if validation.has_nul(passage) or not MIN_PASSAGE <= len(passage) <= MAX_PASSAGE:
        errors["passage"] = [(f"Copy the passage to withhold exactly as the report has it ({MIN_PASSAGE} to "
                             f"{MAX_PASSAGE} characters).")]
    elif not any(passage in text for text in _text_of(version, incident)):
        errors["passage"] = [(f"Version {version.number} does not contain this passage; copy it exactly as the "
                             "report has it.")]
    elif passage in incident.reference:
        errors["passage"] = ["The incident's reference names the published report; it cannot be withheld."]
    elif any(r.passage == passage for r in for_version(version)):
        errors["passage"] = ["This passage is already withheld."]
    if validation.has_nul(reason) or not 1 <= len(reason) <= MAX_REASON or "]" in reason:
        errors["reason"] = [f"Give the reason parties will read, up to {MAX_REASON} characters, without ']'."]
    elif passage and passage in reason:
        errors["reason"] = ["The reason must not repeat the withheld passage."]
    if errors:
        raise ValidationError(errors)
    redaction = Redaction(report_version_id=version.id, passage=passage, reason=reason, marked_at=now,
                          marked_by_id=actor.id, marked_by_name=actor.email)
    db.session.add(redaction)
    db.session.flush()
    audit_service.record(actor=actor, action="create", entity_type="redaction", entity_id=redaction.id,
                         incident_id=incident.id, changes={"passage": [None, passage], "reason": [None, reason]},
                         summary=f"Withheld a passage of report version {version.number} from SEC Parties: {reason}",
                         now=now)
    return redaction


def remove(*, incident: Incident, redaction_id: int, actor: User, now: datetime | None = None) -> Redaction:
    """Stop withholding a passage (only while the version still waits for the group's decision)."""
    now = now or utcnow()
    review = review_of(incident)
    refused = refusal(user=actor, review=review)
    if refused is not None:
        raise refused.error()
    version = waiting_version(review)
    redaction = db.session.get(Redaction, redaction_id) if 0 < redaction_id < 2**31 else None
    if redaction is None or version is None or redaction.report_version_id != version.id:
        raise NotFound(f"No withheld passage {redaction_id} on the version waiting for the group.")
    if redaction.decision_id is not None:
        raise ConflictError("A decision already covered this passage; it stays withheld.")
    audit_service.record(actor=actor, action="delete", entity_type="redaction", entity_id=redaction.id,
                         incident_id=incident.id,
                         changes={"passage": [redaction.passage, None], "reason": [redaction.reason, None]},
                         summary=f"No longer withholding a passage of report version {version.number}", now=now)
    db.session.delete(redaction)
    db.session.flush()
    return redaction


def cover(*, decision: Decision) -> list[Redaction]:
    """Record that the decision covered the passages withheld from its version so far; return them."""
    covered = [r for r in db.session.scalars(sa.select(Redaction).where(
        Redaction.report_version_id == decision.report_version_id, Redaction.decision_id.is_(None)))]
    for redaction in covered:
        redaction.decision_id = decision.id
    return covered


def covered_by(decision: Decision) -> list[Redaction]:
    """Return the passages a decision covered."""
    return list(db.session.scalars(sa.select(Redaction).where(Redaction.decision_id == decision.id)
                                   .order_by(Redaction.id)))


def _replace(value: Any, redactions: list[Redaction]) -> Any:
    if isinstance(value, str):
        for redaction in redactions:
            value = value.replace(redaction.passage, placeholder(redaction.reason))
        return value
    if isinstance(value, dict):
        return {key: _replace(item, redactions) for key, item in value.items()}
    if isinstance(value, list):
        return [_replace(item, redactions) for item in value]
    return value


def apply(version: ReportVersion, sections: dict[str, Any],
          generated: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Return the sections and generated sections with every passage a decision covered withheld."""
    redactions = [r for r in for_version(version) if r.decision_id is not None]
    # The longest first: a passage inside another is withheld with it.
    redactions.sort(key=lambda r: len(r.passage), reverse=True)
    if not redactions:
        return sections, generated
    return _replace(copy.deepcopy(sections), redactions), _replace(copy.deepcopy(generated), redactions)
