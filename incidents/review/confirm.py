"""What each irreversible review step will do, said before it is done: the confirmation pages' content.

Submitting a report version, withdrawing it, recording the Operations Group's decision and publishing to SEC
Parties cannot be undone. Before each, the person sees exactly what will happen and to whom: which version, which
classification, which meeting, how many people, which passages are withheld. Whether the step is allowed is asked
of ``workflow`` (never restated here); a decision is tried in a savepoint and undone, so the confirmation appears
only for a decision the service would record, and says why not otherwise.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm.exc import StaleDataError

from incidents import labels
from incidents.errors import ServiceError, StaleError
from incidents.extensions import db
from incidents.incident.models import Incident
from incidents.meeting import service as meeting_service
from incidents.meeting.models import Meeting
from incidents.redaction import service as redaction_service
from incidents.redaction.models import Redaction
from incidents.report import service as report_service
from incidents.report.models import Classification
from incidents.review import service as review_service
from incidents.review import workflow
from incidents.review.forms import CLASSIFICATION_NOTES, DECISION_OUTCOME_LABELS
from incidents.review.models import DecisionOutcome, Review
from incidents.review.workflow import Step
from incidents.timeutil import format_date, format_target, local_date
from incidents.user import service as user_service
from incidents.user.models import Role, User


@dataclass
class Preview:
    """A confirmation page: what will happen, to whom, and the button that does it (or why it cannot be done)."""

    title: str
    happens: list[str] = field(default_factory=list)
    facts: list[tuple[str, str]] = field(default_factory=list)
    lists: list[tuple[str, list[str]]] = field(default_factory=list)
    button: str = ""
    is_destructive: bool = False
    refusal: str | None = None
    version: int | None = None

    @property
    def is_allowed(self) -> bool:
        """Tell whether the page offers the confirm button."""
        return self.refusal is None


def _active(role: Role) -> int:
    """Count the active users of a role."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(User)
                             .where(User.role == role, User.is_active.is_(True))) or 0


def _people(count: int, what: str) -> str:
    return f"{count} {what}{'' if count == 1 else 's'}"


def _parties(count: int) -> str:
    """Name the SEC Party users a publication reaches."""
    if count == 0:
        return "SEC Party users (none is registered yet: each sees it on joining)"
    return "the one SEC Party user" if count == 1 else f"all {count} SEC Party users"


def _meeting_words(meeting: Meeting | None) -> str:
    if meeting is None:
        return ("the Operations Group (no meeting of the group is in the register yet; it goes into the pack of the "
                "next meeting scheduled)")
    return f"the Operations Group for its meeting {meeting.reference} on {format_date(meeting.held_on)}"


def _refused(step: Step, title: str, *, user: Any, incident: Incident, review: Review | None) -> Preview | None:
    refused = workflow.refusal(step, user=user, incident=incident, review=review)
    return None if refused is None else Preview(title=title, refusal=refused.message)


def _passages(redactions: list[Redaction]) -> list[str]:
    return [f"“{r.passage}” becomes “{redaction_service.placeholder(r.reason)}”" for r in redactions]


# --- Submit and withdraw -------------------------------------------------------------------

def submit(*, incident: Incident, user: Any, now: datetime) -> Preview:
    """Say what submitting the last saved version does: frozen, and sent to the group's next meeting."""
    review = review_service.get_review(incident)
    refused = _refused(Step.SUBMIT_REPORT, "Submit the Review Report", user=user, incident=incident, review=review)
    if refused is not None:
        return refused
    version = report_service.latest(review)
    assert version is not None
    title = f"Submit version {version.number} of the Review Report to the Operations Group?"
    missing = report_service.missing_sections(version)
    if missing:
        return Preview(title=title, version=version.number, refusal=(
            f"Version {version.number} cannot be submitted yet: complete {' and '.join(missing)} in the editor, "
            "save, then submit."))
    meeting = meeting_service.next_meeting("OPSG", after=local_date(now))
    members = _active(Role.OPSG)
    return Preview(
        title=title, version=version.number, button=f"Yes, submit version {version.number}",
        happens=[
            (f"Version {version.number}, classified {version.classification.value}, will be frozen and sent to "
            f"{_meeting_words(meeting)}; the sections generated from the incident record are captured as they "
            "are now."),
            ("You will not be able to edit it. To change it before the group decides, you would have to withdraw it "
            "(it leaves the meeting pack) and submit another version."),
            f"The Operations Group ({_people(members, 'member')}) and SECAS are told it is waiting for a decision.",
        ],
        facts=[("Incident", f"{incident.reference}: {incident.title}"),
               ("Version", f"{version.number}, saved {format_date(version.created_at)} by {user_service.person(version.created_by_name)}"),
               ("Classification", f"{version.classification.value}: {CLASSIFICATION_NOTES[version.classification]}"),
               ("Meeting", f"{meeting.reference}, {format_date(meeting.held_on)}" if meeting else "None scheduled")])


def withdraw(*, incident: Incident, user: Any, now: datetime) -> Preview:
    """Say what withdrawing the version waiting for the group does."""
    review = review_service.get_review(incident)
    refused = _refused(Step.WITHDRAW_REPORT, "Withdraw the Review Report", user=user, incident=incident,
                       review=review)
    if refused is not None:
        return refused
    version = review_service.awaiting_version(review)
    assert version is not None
    meeting = meeting_service.next_meeting("OPSG", after=local_date(now))
    where = f"the pack for {meeting.reference} on {format_date(meeting.held_on)}" if meeting else "the meeting pack"
    return Preview(
        title=f"Withdraw version {version.number} from the Operations Group?",
        version=version.number, button=f"Yes, withdraw version {version.number}", is_destructive=True,
        happens=[
            f"Version {version.number} will be taken out of {where}: the Operations Group will not decide on it.",
            ("It stays in the list of versions, marked withdrawn; it cannot be submitted again. The report goes back "
            "to draft, and you save and submit another version for the group to decide on."),
            "The Operations Group and SECAS are told it was withdrawn.",
        ],
        facts=[("Incident", f"{incident.reference}: {incident.title}"),
               ("Version", (f"{version.number}, submitted "
                           f"{format_date(version.submitted_at) if version.submitted_at else ''}")),
               ("Classification", version.classification.value)])


# --- The Operations Group's decision ----------------------------------------------------------

def try_decision(*, incident: Incident, user: Any, data: dict[str, Any]) -> ServiceError | None:
    """Record the decision in a savepoint and undo it; return the service's refusal, or None when it would record."""
    savepoint = db.session.begin_nested()
    try:
        review_service.record_decision(incident=incident, actor=user, **data)
    except ServiceError as exc:
        return exc
    except StaleDataError:
        return StaleError("Someone else changed this review while you were deciding; check the page and send the "
                          "decision again if it still applies.")
    finally:
        savepoint.rollback()
    return None


def decision(*, incident: Incident, user: Any, data: dict[str, Any]) -> Preview:
    """Say what recording this decision does (the caller has checked the service would record it)."""
    review = review_service.get_review(incident)
    refused = _refused(Step.RECORD_DECISION, "Record the Operations Group's decision", user=user,
                       incident=incident, review=review)
    if refused is not None:
        return refused
    version = review_service.awaiting_version(review)
    meeting = meeting_service.find(data["meeting"])
    assert version is not None and meeting is not None
    outcome = DecisionOutcome(data["outcome"])
    level: Classification | None = data.get("classification") if outcome == DecisionOutcome.AGREED else None
    at = f"{meeting.reference} on {format_date(meeting.held_on)}"
    happens = [(f"The Operations Group's decision at {at} on version {version.number} will be recorded: "
               f"{DECISION_OUTCOME_LABELS[outcome].split(':')[0].lower()}.")]
    if outcome == DecisionOutcome.AGREED and level is not None:
        happens.append(f"Publication is agreed as {level.value} ({CLASSIFICATION_NOTES[level]}). SECAS can then "
                       f"publish version {version.number} to {_parties(_active(Role.PARTY))}.")
    elif outcome == DecisionOutcome.NOT_AGREED:
        happens.append(f"Version {version.number} goes back to the DCC, who must revise the report and submit a new "
                       "version.")
    else:
        happens.append(f"Version {version.number} stays waiting for the Operations Group's decision at a later "
                       "meeting.")
    happens.append("A recorded decision cannot be changed or removed; it stays in the review's history and the "
                   "audit trail.")
    lists: list[tuple[str, list[str]]] = []
    actions = data.get("actions") or []
    if actions:
        lists.append((f"{_people(len(actions), 'action')} will go on the actions register",
                      [f"{a.reference} ({labels.organisation(a.owner)}, target {format_target(a.target_on)})"
                       f": {a.text}" for a in actions]))
    withheld = [r for r in redaction_service.for_version(version) if r.decision_id is None]
    if withheld:
        lists.append(((f"The decision covers {_people(len(withheld), 'withheld passage')}: each is replaced when "
                      "published"), _passages(withheld)))
    facts = [("Incident", f"{incident.reference}: {incident.title}"), ("Meeting", at),
             ("Version", str(version.number)), ("Decision", DECISION_OUTCOME_LABELS[outcome])]
    if level is not None:
        facts.append(("Classification agreed", f"{level.value}: {CLASSIFICATION_NOTES[level]}"))
    facts.append(("Minute", data["minute"]))
    return Preview(title=f"Record the {meeting.reference} decision on version {version.number}?", happens=happens,
                   facts=facts, lists=lists, version=version.number, button="Yes, record the decision",
                   is_destructive=False)


# --- Publication to SEC Parties ---------------------------------------------------------------

def publish(*, incident: Incident, user: Any, classification: Classification | None) -> Preview:
    """Say what publishing does: which version, which classification, to how many SEC Party users, what is withheld."""
    review = review_service.get_review(incident)
    refused = _refused(Step.PUBLISH, "Publish the report to SEC Parties", user=user, incident=incident,
                       review=review)
    if refused is not None:
        return refused
    assert review is not None
    agreed = review_service.agreed_decision(review)
    assert agreed is not None
    version = agreed.report_version
    level = agreed.classification or classification
    title = f"Publish version {version.number} of the report to SEC Parties?"
    if level is None or level not in review_service.PUBLISHABLE:
        return Preview(title=title, version=version.number, refusal=(
            "The Operations Group's decision names no classification: choose GREEN or WHITE on the review page."))
    if classification is not None and classification != level:
        # Only a page sent with other values gets here: the service would refuse it, so nothing is offered.
        return Preview(title=title, version=version.number, refusal=(
            f"The Operations Group agreed publication as {level.value} at {agreed.meeting}; the report is "
            f"published as agreed, not as {classification.value}. Go back to the review page and publish again."))
    parties = _active(Role.PARTY)
    edition = " as a new edition, superseding the one published," if review.publications else ""
    happens = [
        (f"The report on {incident.reference}, version {version.number}, classified {level.value}, will be published "
        f"{edition} to {_parties(parties)}, as the Operations Group agreed at "
        f"{agreed.meeting} on {format_date(agreed.meeting_on)}."),
        (f"{level.value} means: {CLASSIFICATION_NOTES[level]}. SEC Party users are told of it by email as their "
        "notification settings say, and webhooks for published reports are called."),
        ("Publication cannot be undone: the published edition stays as it is. A correction is a new version, "
        "submitted, agreed and published as a new edition."),
    ]
    withheld = redaction_service.covered_by(agreed)
    lists = [(f"{_people(len(withheld), 'passage')} withheld from SEC Parties", _passages(withheld))] if withheld \
        else []
    if not withheld:
        happens.append("No passage is withheld: SEC Parties read the version in full.")
    return Preview(
        title=title, happens=happens, lists=lists, version=version.number,
        button=f"Yes, publish version {version.number} to SEC Parties",
        facts=[("Incident", f"{incident.reference}: {incident.title}"), ("Version", str(version.number)),
               ("Classification", f"{level.value}: {CLASSIFICATION_NOTES[level]}"),
               ("Agreed at", f"{agreed.meeting}, {format_date(agreed.meeting_on)}"),
               ("Recipients", _people(parties, "SEC Party user"))])
