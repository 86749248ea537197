"""Forms for the review workflow pages.

Forms only turn posted text into the values the services take (a bool for
include/exclude, a date, a list of links). Every rule lives in the review and
report services; ``apply_errors`` puts each message the service answers with
on the field that caused it, so the page says what to fix where it is.
"""
from __future__ import annotations

import enum
import re
from collections.abc import Iterator
from datetime import date, datetime
from typing import Any, ClassVar, TypeVar

from flask_wtf import FlaskForm
from wtforms import (
    Field,
    HiddenField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import ValidationError as WTFormsValidationError
from wtforms.widgets import TextInput

from incidents.idempotency import forms as form_keys
from incidents.incident.forms import LocalDateTimeField
from incidents.meeting.models import Meeting
from incidents.principle.models import ExclusionPrinciple
from incidents.report.models import Classification, ReportVersion
from incidents.review.models import (
    Decision,
    DecisionOutcome,
    ReviewOutcome,
    SummaryReportVersion,
)
from incidents.review.service import PUBLISHABLE as PUBLISHABLE_LEVELS
from incidents.review.service import SUMMARY_SECTIONS, MinutedAction, SummaryDraft
from incidents.timeutil import (
    DATE_HINT,
    DATE_TIME_HINT,
    format_date,
    format_date_input,
    parse_date,
)

GENERAL = "form"
_Choice = TypeVar("_Choice", bound=enum.Enum)
# Service keys like ``evidence_links[2]`` or ``sections.summary`` name a part of one field.
_INDEXED = re.compile(r"^(\w+)\[\d+\](?:\.\w+)?$")

CLASSIFICATION_NOTES = {
    Classification.RED: "Named recipients only",
    Classification.AMBER: "Recipient organisations, on a need-to-know basis",
    Classification.GREEN: "SEC Parties",
    Classification.WHITE: "SEC Parties and stakeholders at large; not for online publication",
}

REVIEW_OUTCOME_LABELS = {
    ReviewOutcome.AGREED: "Agree the exclusion",
    ReviewOutcome.DISAGREED: "Disagree: the incident counts in the PMR",
    ReviewOutcome.INFORMATION_REQUESTED: "Ask the DCC for more information",
}
DECISION_OUTCOME_LABELS = {
    DecisionOutcome.AGREED: "Agreed: the report may be published to SEC Parties",
    DecisionOutcome.NOT_AGREED: "Not agreed: the DCC revises the report",
    DecisionOutcome.DEFERRED: "Deferred to a later meeting",
}


class DateTextField(Field):
    """A calendar date typed as text, day first (30/11/2026, 30 Nov 2026) or ISO; ``data`` is a date or None.

    A text box rather than the browser's date picker, which shows the browser's locale order (mm/dd/yyyy in
    an en-US browser); the hint shows the UK order.
    """

    widget = TextInput()
    data: date | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("description", DATE_HINT)
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Read the date; text that is no date becomes the field's error, saying what to type."""
        if not valuelist:
            return
        self.data = None
        text = str(valuelist[0]).strip()
        if text:
            self.data = parse_date(text)

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return format_date_input(self.data) if isinstance(self.data, date) else ""


def choice(kind: type[_Choice], value: str | None) -> _Choice | None:
    """Return the enum member named by a posted value, or None when it names none."""
    try:
        return kind(value or "")
    except ValueError:
        return None


class ServiceErrors:
    """Put a service's field errors on a form's fields and list them for the error summary."""

    # Service field names that differ from the form's own.
    aliases: ClassVar[dict[str, str]] = {}
    # Fields the service always requires, marked for people (the service still checks).
    required: tuple[str, ...] = ()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.required:
            getattr(self, name).flags.required = True

    def field_for(self, key: str) -> Field | None:
        """Return the form field a service error key refers to, or None."""
        match = _INDEXED.match(key)
        name = match.group(1) if match else key
        name = self.aliases.get(name, name)
        field = getattr(self, name, None)
        return field if isinstance(field, Field) else None

    def apply_errors(self, errors: dict[str, list[str]], detail: str = "") -> None:
        """Attach each message to its field; messages for no field go above the form."""
        general = self.general_errors()
        if not errors and detail:
            general.append(detail)
        for key, messages in errors.items():
            field = self.field_for(key)
            if field is None:
                general.extend(messages)
            else:
                field.errors = [*field.errors, *[m for m in messages if m not in field.errors]]

    def general_errors(self) -> list[str]:
        """Return the form's messages that belong to no single field."""
        found: list[str] = self.__dict__.setdefault("_general_errors", [])
        return found

    def input_fields(self) -> Iterator[Field]:
        """Yield the fields a person fills in, in page order."""
        for field in self:  # type: ignore[attr-defined]
            if field.type not in ("CSRFTokenField", "HiddenField"):
                yield field

    def errors_by_field(self) -> dict[str, list[str]]:
        """Return {field id: messages}, for the error summary that links to each field."""
        found = {field.id: list(field.errors) for field in self.input_fields() if field.errors}
        if self.general_errors():
            found[f"{self._prefix}{GENERAL}"] = list(self.general_errors())  # type: ignore[attr-defined]
        return found


# --- PMR treatment --------------------------------------------------------------

class ProposeForm(ServiceErrors, FlaskForm):
    """The DCC's PMR treatment: include, or exclude citing one principle with a rationale."""

    aliases: ClassVar[dict[str, str]] = {"exclude": "treatment"}
    required = ("treatment",)

    treatment = RadioField("PMR treatment", choices=[
        ("include", "Include: the incident counts in the PMR"),
        ("exclude", "Exclude it from the PMR, citing a principle"),
    ], validate_choice=False)
    # Radios, not a select: a principle's wording is long and must be read in full to be chosen.
    principle = RadioField("Exclusion principle", validate_choice=False,
                           description="Needed to exclude. The wording shown is kept with your proposal.")
    rationale = TextAreaField("Rationale", description="Needed to exclude: why the principle applies.")
    evidence_links = TextAreaField("Evidence links",
                                   description="Optional. One http(s) address per line, at most 10.")
    response = TextAreaField("Your answer to SECAS's request for information")
    etag = HiddenField()

    def setup(self, principles: list[ExclusionPrinciple]) -> None:
        """Offer the live principles with their current wording."""
        self.principle.choices = [(p.code, f"{p.title}: {p.current.wording}") for p in principles]

    def to_data(self) -> dict[str, Any]:
        """Return the service's arguments."""
        # Anything but the two choices is "not said", which the service refuses by name.
        exclude = {"include": False, "exclude": True}.get(self.treatment.data or "")
        links = [line.strip() for line in (self.evidence_links.data or "").splitlines() if line.strip()]
        return {"exclude": exclude, "principle": (self.principle.data or None) if exclude is True else None,
                "rationale": self.rationale.data or "", "evidence_links": links,
                "response": self.response.data or ""}


class ExclusionReviewForm(ServiceErrors, FlaskForm):
    """SECAS's outcome on the pending exclusion, always with a comment."""

    required = ("outcome", "comment")

    outcome = RadioField("Outcome", choices=[(o.value, label) for o, label in REVIEW_OUTCOME_LABELS.items()],
                         validate_choice=False)
    comment = TextAreaField("Comment", description="Always needed: say why, or what information you need.")

    def to_data(self) -> dict[str, Any]:
        """Return the service's arguments (an outcome that is none of the choices is None)."""
        return {"outcome": choice(ReviewOutcome, self.outcome.data), "comment": self.comment.data or ""}


# --- OPSG decision and publication ----------------------------------------------

def parse_actions(text: str) -> tuple[list[MinutedAction], list[str]]:
    """Read one minuted action a line, as ``reference | owner | target date | text``; return them and what is wrong."""
    found: list[MinutedAction] = []
    problems: list[str] = []
    for number, line in enumerate((line for line in text.splitlines() if line.strip()), start=1):
        parts = [part.strip() for part in line.split("|", 3)]
        if len(parts) != 4:
            problems.append(f"Action {number}: write it as reference | owner | target date | text, "
                            "e.g. OPSG 97/04 | dcc | 24/07/2023 | DCC to confirm its principles (the target "
                            "date may be TBC).")
            continue
        reference, owner, target, words = parts
        target_on = None
        if target.upper() != "TBC":
            try:
                target_on = parse_date(target)
            except ValueError as exc:
                problems.append(f"Action {number}, target date: {exc} Or TBC if it is still to be confirmed.")
        found.append(MinutedAction(reference=reference, owner=owner.lower(), target_on=target_on, text=words))
    return found, problems


class DecisionForm(ServiceErrors, FlaskForm):
    """An Operations Group decision on the version waiting for it, at a meeting of the register."""

    # The version is a hidden field: a message about it goes above the form.
    aliases: ClassVar[dict[str, str]] = {"actions": "actions_text", "report_version": GENERAL}
    required = ("meeting", "outcome", "minute")

    meeting = SelectField("Meeting", validate_choice=False,
                          description="A meeting in the register held up to today; its date is the decision's.")
    report_version = HiddenField()
    outcome = RadioField("Decision", choices=[(o.value, label) for o, label in DECISION_OUTCOME_LABELS.items()],
                         validate_choice=False)
    classification = RadioField("Classification agreed for publication", validate_choice=False, choices=[
        (level.value, f"{level.value}: {CLASSIFICATION_NOTES[level]}")
        for level in (Classification.GREEN, Classification.WHITE)],
        description="Needed when the group agrees publication: the report is published under it.")
    minute = TextAreaField("Minute")
    actions_text = TextAreaField("Actions raised", description=(
        "Optional. One a line: reference | owner | target date | text, e.g. "
        "OPSG 97/04 | dcc | 24/07/2023 | DCC to confirm its principles. The target date, day first, may be TBC. "
        "Each goes "
        "on the actions register."))

    def setup(self, meetings: list[Meeting], version: int | None) -> None:
        """Offer the register's meetings held up to today, and name the version waiting for the decision."""
        self.meeting.choices = [("", "Choose a meeting")] + [
            (m.reference, f"{m.reference}, {format_date(m.held_on)}") for m in meetings]
        if not self.report_version.data and version is not None:
            self.report_version.data = str(version)

    def validate_actions_text(self, field: Field) -> None:
        """Refuse lines that are not ``reference | owner | target date | text``."""
        problems = parse_actions(field.data or "")[1]
        if problems:
            raise WTFormsValidationError(" ".join(problems))

    def to_data(self) -> dict[str, Any]:
        """Return the service's arguments."""
        version = (self.report_version.data or "").strip()
        return {"meeting": (self.meeting.data or "").strip(),
                "report_version": int(version) if version.isdigit() and len(version) < 10 else None,
                "outcome": choice(DecisionOutcome, self.outcome.data),
                "classification": choice(Classification, self.classification.data),
                "minute": self.minute.data or "", "actions": parse_actions(self.actions_text.data or "")[0]}


def decision_initial(waiting: ReportVersion | None) -> dict[str, Any]:
    """Return the decision form's starting values: the classification agreed starts as the version's own."""
    if waiting is not None and waiting.classification in PUBLISHABLE_LEVELS:
        return {"classification": waiting.classification.value}
    return {}


class PublishForm(ServiceErrors, FlaskForm):
    """Publish the agreed version to SEC Parties, under the classification the group agreed.

    The classification is pre-filled with the one agreed; only a decision recorded before the group named one
    leaves the choice (GREEN or WHITE) to SECAS. ``version`` is the version the confirmation page showed.
    """

    classification = RadioField("Classification to publish under", validate_choice=False, choices=[
        (level.value, f"{level.value}: {CLASSIFICATION_NOTES[level]}") for level in PUBLISHABLE_LEVELS])
    version = HiddenField()

    def level(self) -> Classification | None:
        """Return the classification sent (None: none, or not one of the classifications)."""
        return choice(Classification, self.classification.data)


def publish_initial(agreed: Decision | None) -> dict[str, Any]:
    """Return the publish form's starting values: the classification the group agreed (else the version's own)."""
    if agreed is None:
        return {}
    level = agreed.classification or agreed.report_version.classification
    return {"classification": level.value if level in PUBLISHABLE_LEVELS else None,
            "version": str(agreed.report_version.number)}


class CommentForm(ServiceErrors, FlaskForm):
    """A comment on the review."""

    required = ("body",)

    body = TextAreaField("Comment")
    submission = form_keys.submission_field()  # a comment sent twice is kept once

    def text(self) -> str:
        """Return the comment as typed."""
        return self.body.data or ""


class ActionForm(FlaskForm):
    """A button that changes something: only the CSRF token."""


class SummaryReportForm(ServiceErrors, FlaskForm):
    """A Summary Report version: its sections (Markdown), who it went to and when, saved as a draft or as sent."""

    what_happened = TextAreaField("What happened")
    impact = TextAreaField("Impact")
    current_status = TextAreaField("Current status")
    next_steps = TextAreaField("Next steps")
    recipients = TextAreaField("Sent to")
    sent_at = LocalDateTimeField("Time sent", description=DATE_TIME_HINT)
    intent = StringField(default="draft")  # the button pressed: "draft" or "sent"
    etag = HiddenField()

    def field_for(self, key: str) -> Field | None:
        """Map ``sections.impact`` to the impact field."""
        return super().field_for(key.removeprefix("sections."))

    def section_fields(self) -> list[Field]:
        """Return the section fields in report order."""
        return [getattr(self, key) for key, _ in SUMMARY_SECTIONS]

    def to_draft(self, *, is_sent: bool) -> SummaryDraft:
        """Return the version as the review service takes it (a draft keeps no time sent)."""
        recipients = [line.strip() for line in (self.recipients.data or "").splitlines() if line.strip()]
        return SummaryDraft(sections={key: getattr(self, key).data or "" for key, _ in SUMMARY_SECTIONS},
                            recipients=recipients, is_sent=is_sent, sent_at=self.sent_at.data if is_sent else None)


def summary_initial(version: SummaryReportVersion | None, etag: str, now: datetime) -> dict[str, Any]:
    """Return the Summary Report form's starting values: the latest version's text, the time sent now."""
    data: dict[str, Any] = {"etag": etag, "sent_at": now}
    if version is not None:
        data.update(version.sections)
        data["recipients"] = "\n".join(version.recipients)
    return data
