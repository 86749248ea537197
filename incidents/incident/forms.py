"""Forms for incidents and their timelines.

Forms only turn text into typed values (UK local times into aware UTC,
numbers into ints, choices into enums) and hand the service its typed inputs
(``IncidentDraft``, ``TimelineEntryDraft`` and their changes). Every rule on
those values lives in the incident service,
so the page, the API and the importer refuse the same things in the same
words. The service answers with errors keyed like ``title`` or
``cohorts[0].restored_at``; ``apply_errors`` puts each message on the field
that caused it.
"""
from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app, request
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    Field,
    FieldList,
    Form,
    FormField,
    HiddenField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields import SearchField
from wtforms.validators import ValidationError as FieldError
from wtforms.widgets import TextInput

from incidents import labels
from incidents.idempotency import forms as form_keys
from incidents.incident import service as incident_service
from incidents.incident.models import (
    Incident,
    IncidentStatus,
    TimelineEntry,
    TimelineKind,
)
from incidents.incident.service import (
    CohortDraft,
    IncidentChanges,
    IncidentDraft,
    TimelineEntryChanges,
    TimelineEntryDraft,
)
from incidents.rules import service as rules_service
from incidents.timeutil import (
    DATE_TIME_FORM_HINT,
    DATE_TIME_HINT,
    format_input,
    parse_local,
)
from incidents.validation import KEEP

GENERAL = "form"
_COHORT_KEY = re.compile(r"^cohorts\[(\d+)\](?:\.(\w+))?$")
_NUMBER = re.compile(r"^-?[0-9]{1,30}$")
_VERSION = re.compile(r"^[0-9]{1,9}$")
_SMALL_WHOLE = re.compile(r"^[0-9]{1,9}$")


class LocalDateTimeField(Field):
    """A UK local date and time typed as text, day first (see ``parse_local``); ``data`` is aware UTC or None."""

    widget = TextInput()
    data: datetime | None

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("description", DATE_TIME_HINT)
        super().__init__(*args, **kwargs)

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Parse the typed text; a parse failure becomes the field's error."""
        if not valuelist:
            return
        self.data = None
        text = str(valuelist[0]).strip()
        if text:
            self.data = parse_local(text)

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return format_input(self.data) if isinstance(self.data, datetime) else ""


class WholeNumberField(Field):
    """A whole number typed as text (commas and spaces allowed); ``data`` is an int or None."""

    widget = TextInput()
    data: int | None

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Read digits; anything else becomes the field's error."""
        if not valuelist:
            return
        self.data = None
        text = re.sub(r"[,\s]", "", str(valuelist[0]))
        if not text:
            return
        if not _NUMBER.match(text):
            raise ValueError("Enter a whole number using digits only, e.g. 120000.")
        self.data = int(text)

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        return "" if self.data is None else str(self.data)


def _was_typed(field: Field) -> bool:
    return bool(field.raw_data and str(field.raw_data[0]).strip())


def parse_version(text: Any) -> int | None:
    """Return the version a form carried, or None when it is missing or garbled."""
    text = str(text or "").strip()
    return int(text) if _VERSION.match(text) else None


def _small_whole(text: str | None) -> int | None:
    """Return the int that digits stand for, or None for anything else."""
    text = (text or "").strip()
    return int(text) if _SMALL_WHOLE.match(text) else None


def _member(text: str | None, kind: type[IncidentStatus | TimelineKind]) -> bool:
    return (text or "") in {member.value for member in kind}


def _choose_from(label: str, kind: type[IncidentStatus | TimelineKind]) -> str:
    return f"{label} must be one of " + ", ".join(member.value for member in kind) + "."


class ServiceErrorsMixin:
    """Put a service's field errors on the form's fields, and list them for the summary."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Messages that belong to no single field (shown in the summary only).
        self.general_errors: list[str] = []

    def field_for(self, key: str) -> Field | None:
        """Return the field a service error key refers to, or None."""
        field = getattr(self, key, None)
        return field if isinstance(field, Field) else None

    def apply_errors(self, errors: dict[str, list[str]], detail: str = "") -> None:
        """Attach each service message to its field; unplaced ones become general errors."""
        if not errors and detail:
            self.general_errors.append(detail)
        for key, messages in errors.items():
            field = self.field_for(key)
            if field is None:
                self.general_errors.extend(messages)
            else:
                field.errors = [*field.errors, *messages]

    def input_fields(self) -> Iterator[Field]:
        """Yield every field a person fills in, in page order."""
        for field in self:  # type: ignore[attr-defined]
            if field.type in ("CSRFTokenField", "HiddenField"):
                continue
            yield field

    def summary(self) -> dict[str, list[str]]:
        """Return {field id: messages} in page order, for the error summary."""
        found: dict[str, list[str]] = {}
        for field in self.input_fields():
            if field.errors:
                found[field.id] = list(field.errors)
        if self.general_errors:
            found[GENERAL] = list(self.general_errors)
        return found


# --- Incident ------------------------------------------------------------------

class CohortForm(Form):
    """One cohort's row: whether it was affected, when its impact started and when it was restored."""

    affected = BooleanField("Affected")
    impact_started_at = LocalDateTimeField("Impact start")
    restored_at = LocalDateTimeField("Restored")


class IncidentForm(ServiceErrorsMixin, FlaskForm):
    """An incident's recorded fields; build it with ``incident_form``."""

    # Shown once for the form's date-time fields, each of which shows only an example.
    date_time_hint = DATE_TIME_FORM_HINT

    reference = StringField("Reference")
    title = StringField("Title")
    category = SelectField("Category", validate_choice=False)
    status = SelectField("Status", validate_choice=False)
    started_at = LocalDateTimeField("Started")
    detected_at = LocalDateTimeField("Detected")
    resolved_at = LocalDateTimeField("Resolved")
    cohorts = FieldList(FormField(CohortForm))
    # A new incident's cause is rarely known when it is logged: "Not yet known" until someone says otherwise.
    cause_category = SelectField("Cause category", validate_choice=False, default="unknown")
    cause = TextAreaField("Cause")
    impact = TextAreaField("Impact")
    devices_affected = WholeNumberField(
        "Devices or users affected", description="Optional. A whole number, e.g. 120000.")
    dcc_responsible = BooleanField("DCC responsible for resolving", default=True)
    version = HiddenField()

    # The cohort rows are declared per request, which would otherwise sort them last.
    PAGE_ORDER = ("reference", "title", "category", "status", "started_at", "detected_at", "resolved_at",
                  "cohorts", "cause_category", "cause", "impact", "devices_affected", "dcc_responsible")
    cohort_names: list[str]

    def setup(self, cohort_names: Sequence[str]) -> None:
        """Fill choices, hints and cohort labels from the configuration in force."""
        config = current_app.config
        self.cohort_names = list(cohort_names)
        self._sent_rows: list[int] = []
        self.category.choices = [("", "Choose a Category")] + [
            (str(c), f"Category {c} (Target Resolution Time {rules_service.describe_target(c)})")
            for c in config["INCIDENT_CATEGORIES"]]
        self.status.choices = [("", "Set from the resolution time")] + [
            (s.value, labels.label(s)) for s in IncidentStatus]
        self.cause_category.choices = list(config["CAUSE_CATEGORIES"].items())
        self.reference.description = config["REFERENCE_HINT"]
        self.title.description = f"At most {config['MAX_TITLE_LENGTH']} characters."
        self.status.description = "Open, resolved or closed. Left unset, it follows the resolution time."
        for name in incident_service.REQUIRED_FIELDS:
            getattr(self, name).flags.required = True
        for name, row in self.cohort_rows():
            row.affected.label.text = f"{name} affected"
            row.impact_started_at.label.text = f"{name} impact start"
            row.restored_at.label.text = f"{name} restored"

    def cohort_rows(self) -> Iterator[tuple[str, Any]]:
        """Yield (cohort name, row) for each configured cohort."""
        yield from zip(self.cohort_names, self.cohorts.entries)

    def validate(self, extra_validators: Any = None) -> bool:
        """Parse every field; refuse times typed for a cohort not ticked as affected."""
        ok: bool = super().validate(extra_validators)
        for name, row in self.cohort_rows():
            typed = _was_typed(row.impact_started_at) or _was_typed(row.restored_at)
            if typed and not row.affected.data:
                row.affected.errors = [*row.affected.errors,
                                       f"Tick '{name} affected' to record its times, or clear them."]
                ok = False
        return ok

    def validate_category(self, field: Field) -> None:
        """Refuse a category that is not a number (the service checks it is a configured one)."""
        if (field.data or "").strip() and _small_whole(field.data) is None:
            raise FieldError(incident_service.category_message())

    def validate_status(self, field: Field) -> None:
        """Refuse a status that is not one of the incident statuses."""
        if field.data and not _member(field.data, IncidentStatus):
            raise FieldError(_choose_from("Status", IncidentStatus))

    def to_draft(self) -> IncidentDraft:
        """Return the typed values of a new incident for the service (after ``validate``)."""
        cohorts = []
        self._sent_rows = []
        for index, (name, row) in enumerate(self.cohort_rows()):
            if row.affected.data:
                self._sent_rows.append(index)
                cohorts.append(CohortDraft(name=name, impact_started_at=row.impact_started_at.data,
                                           restored_at=row.restored_at.data))
        return IncidentDraft(
            reference=self.reference.data or "",
            title=self.title.data or "",
            category=_small_whole(self.category.data),
            # Left unset, the status follows the resolution time (the service decides).
            status=IncidentStatus(self.status.data) if self.status.data else None,
            started_at=self.started_at.data,
            detected_at=self.detected_at.data,
            resolved_at=self.resolved_at.data,
            cohorts=cohorts,
            cause_category=self.cause_category.data or "",
            cause=self.cause.data or "",
            impact=self.impact.data or "",
            devices_affected=self.devices_affected.data,
            dcc_responsible=bool(self.dcc_responsible.data),
        )

    def to_changes(self) -> IncidentChanges:
        """Return every field as a change for the service (after ``validate``); an unset status follows."""
        draft = self.to_draft()
        return IncidentChanges(
            reference=draft.reference, title=draft.title, category=draft.category,
            status=draft.status if draft.status is not None else KEEP, started_at=draft.started_at,
            detected_at=draft.detected_at, resolved_at=draft.resolved_at, cohorts=draft.cohorts,
            cause_category=draft.cause_category, cause=draft.cause, impact=draft.impact,
            devices_affected=draft.devices_affected, dcc_responsible=draft.dcc_responsible)

    def expected_version(self) -> int | None:
        """Return the version the person was editing."""
        return parse_version(self.version.data)

    def field_for(self, key: str) -> Field | None:
        """Map ``cohorts[i].x`` (i counts only the cohorts sent) to the row's field."""
        match = _COHORT_KEY.match(key)
        if not match:
            return super().field_for(key)
        sent = int(match.group(1))
        if sent >= len(self._sent_rows):
            return None
        row = self.cohorts.entries[self._sent_rows[sent]]
        attribute = match.group(2)
        if attribute in ("impact_started_at", "restored_at"):
            field: Field = getattr(row, attribute)
            return field
        return row.affected

    def input_fields(self) -> Iterator[Field]:
        """Yield every field a person fills in, cohort rows included, in page order."""
        for name in self.PAGE_ORDER:
            if name == "cohorts":
                for _, row in self.cohort_rows():
                    yield row.affected
                    yield row.impact_started_at
                    yield row.restored_at
            else:
                yield getattr(self, name)


def _posted(from_request: bool) -> Any:
    """Return the posted form fields, or None to show saved or default values.

    Only form-encoded fields are read: these pages never take JSON.
    """
    return request.form if from_request and request.method == "POST" else None


def cohort_names_for(incident: Incident | None) -> list[str]:
    """Return the configured cohorts, plus any the incident records that are no longer configured."""
    names = list(current_app.config["COHORTS"])
    if incident is not None:
        names += [c.name for c in incident.cohorts if c.name not in names]
    return names


def incident_initial(incident: Incident, cohort_names: Sequence[str]) -> dict[str, Any]:
    """Return the form's initial values from a saved incident."""
    recorded = {c.name: c for c in incident.cohorts}
    rows = []
    for name in cohort_names:
        cohort = recorded.get(name)
        rows.append({"affected": cohort is not None,
                     "impact_started_at": cohort.impact_started_at if cohort else None,
                     "restored_at": cohort.restored_at if cohort else None})
    return {
        "reference": incident.reference, "title": incident.title, "category": str(incident.category),
        "status": incident.status.value, "started_at": incident.started_at,
        "detected_at": incident.detected_at, "resolved_at": incident.resolved_at,
        "cohorts": rows, "cause_category": incident.cause_category, "cause": incident.cause,
        "impact": incident.impact, "devices_affected": incident.devices_affected,
        "dcc_responsible": incident.dcc_responsible, "version": str(incident.version),
    }


def incident_form(*, incident: Incident | None = None, from_request: bool = True) -> IncidentForm:
    """Build the incident form with one row per cohort, from the request or from the saved incident."""
    names = cohort_names_for(incident)

    class BoundIncidentForm(IncidentForm):
        # The number of rows is configuration, so the list is sized per request.
        cohorts = FieldList(FormField(CohortForm), min_entries=len(names), max_entries=len(names) or None)

    formdata = _posted(from_request)
    data = incident_initial(incident, names) if incident is not None else None
    if data is not None and formdata is not None:
        # The version must come from what the person saw, never from the database.
        del data["version"]
    form = BoundIncidentForm(formdata=formdata, data=data)
    form.setup(names)
    return form


# --- Timeline -----------------------------------------------------------------

class TimelineEntryForm(ServiceErrorsMixin, FlaskForm):
    """A timeline entry: when, what kind, which cohort (optional) and what happened."""

    date_time_hint = DATE_TIME_FORM_HINT

    occurred_at = LocalDateTimeField("When")
    kind = SelectField("Kind", validate_choice=False)
    cohort = SelectField("Cohort", validate_choice=False,
                         description="Optional: one of the cohorts this incident affected.")
    text = TextAreaField("What happened")
    version = HiddenField()
    submission = form_keys.submission_field()  # a new entry sent twice is kept once

    def setup(self, incident: Incident) -> None:
        """Fill the kind choices and the incident's own cohorts."""
        self.kind.choices = [(k.value, labels.label(k)) for k in TimelineKind]
        self.cohort.choices = [("", "All or none")] + [(c.name, c.name) for c in incident.cohorts]
        for name in ("occurred_at", "kind", "text"):
            getattr(self, name).flags.required = True

    def validate_kind(self, field: Field) -> None:
        """Refuse a kind that is not one of the timeline kinds."""
        if not _member(field.data, TimelineKind):
            raise FieldError(_choose_from("Kind", TimelineKind))

    def to_draft(self) -> TimelineEntryDraft:
        """Return the typed values of the entry for the service (after ``validate``)."""
        return TimelineEntryDraft(occurred_at=self.occurred_at.data, kind=TimelineKind(self.kind.data),
                                  cohort=self.cohort.data or None, text=self.text.data or "")

    def to_changes(self) -> TimelineEntryChanges:
        """Return every field as a change for the service (after ``validate``)."""
        draft = self.to_draft()
        return TimelineEntryChanges(occurred_at=draft.occurred_at, kind=draft.kind, cohort=draft.cohort,
                                    text=draft.text)

    def expected_version(self) -> int | None:
        """Return the version the person was editing."""
        return parse_version(self.version.data)


def timeline_form(incident: Incident, *, entry: TimelineEntry | None = None,
                  from_request: bool = True) -> TimelineEntryForm:
    """Build the timeline entry form, from the request or from a saved entry."""
    data: dict[str, Any] = {"kind": TimelineKind.UPDATE.value}
    if entry is not None:
        data = {"occurred_at": entry.occurred_at, "kind": entry.kind.value, "cohort": entry.cohort or "",
                "text": entry.text, "version": str(entry.version)}
    formdata = _posted(from_request)
    if formdata is not None:
        # The version must come from what the person saw, never from the database.
        data.pop("version", None)
    form = TimelineEntryForm(formdata=formdata, data=data)
    form.setup(incident)
    return form


class DeleteEntryForm(FlaskForm):
    """The version of the timeline entry being deleted."""

    version = HiddenField()

    def expected_version(self) -> int | None:
        """Return the version the person saw."""
        return parse_version(self.version.data)


# --- List filters ---------------------------------------------------------------

class IncidentFilterForm(FlaskForm):
    """Filters for the incident list (a GET form)."""

    class Meta:
        # A GET form changes nothing, and a token would leak into URLs and logs.
        csrf = False

    q = SearchField("Reference or title contains")
    category = SelectField("Category", validate_choice=False)
    major = SelectField("Major Incident", validate_choice=False,
                        choices=[("", "Any"), ("true", "Major Incidents only")])
    status = SelectField("Status", validate_choice=False)
    pmr_month = StringField("PMR month", description="YYYY-MM, e.g. 2023-04")
    cohort = SelectField("Cohort affected", validate_choice=False)
    per_page = SelectField("Rows per page", validate_choice=False)

    def setup(self) -> None:
        """Fill the choices from the configuration in force."""
        config = current_app.config
        self.category.choices = [("", "Any")] + [(str(c), f"Category {c}") for c in config["INCIDENT_CATEGORIES"]]
        self.status.choices = [("", "Any")] + [(s.value, labels.label(s)) for s in IncidentStatus]
        self.cohort.choices = [("", "Any")] + [(name, name) for name in config["COHORTS"]]
        sizes = sorted({10, 25, 50, config["PER_PAGE"], config["MAX_PER_PAGE"]})
        per_page = [(str(n), str(n)) for n in sizes if n <= config["MAX_PER_PAGE"]]
        if not self.per_page.data:
            self.per_page.data = str(config["PER_PAGE"])
        elif self.per_page.data not in {value for value, _ in per_page}:
            # Keep an unusual value from the URL visible rather than silently showing another.
            per_page.append((self.per_page.data, self.per_page.data))
        self.per_page.choices = per_page

    def apply_errors(self, errors: dict[str, list[str]]) -> dict[str, list[str]]:
        """Put filter and paging errors next to their fields; return the rest keyed for the summary."""
        rest: dict[str, list[str]] = {}
        for key, messages in errors.items():
            field = getattr(self, key, None)
            if isinstance(field, Field):
                field.errors = [*field.errors, *messages]
            else:
                rest[key] = list(messages)
        return rest


def filter_form(args: Any) -> IncidentFilterForm:
    """Build the filter form from the query arguments."""
    form = IncidentFilterForm(formdata=args)
    form.setup()
    return form


class MajorForm(ServiceErrorsMixin, FlaskForm):
    """Declare or undeclare a Major Incident: the DCC's reason, and the incident version it saw."""

    reason = TextAreaField("Reason")
    version = HiddenField()

    def expected_version(self) -> int | None:
        """Return the incident version the person saw (None when the field was tampered with)."""
        raw = (self.version.data or "").strip()
        return int(raw) if _VERSION.match(raw) else None


# --- Stale edits --------------------------------------------------------------

@dataclass
class Difference:
    """One field as saved now and as the person submitted it."""

    label: str
    saved: str
    submitted: str
    differs: bool


def _shown(field: Field) -> str:
    if isinstance(field, BooleanField):
        return "Yes" if field.data else "No"
    if isinstance(field, SelectField):
        value = field.data or ""
        shown = {str(v): str(text) for v, text, _selected, _render_kw in field.iter_choices()}
        return shown.get(value, value) if value else ""
    if isinstance(field, LocalDateTimeField):
        return format_input(field.data) if field.data else field._value()
    # Every other input field is text; WTForms' stubs leave out _value, the text each one shows in its input.
    return str(field._value()).strip()  # type: ignore[attr-defined]


def _comparable(field: Field) -> Any:
    if isinstance(field, LocalDateTimeField):
        return field.data if field.data is not None or not field._value().strip() else field._value().strip()
    if isinstance(field, WholeNumberField):
        return field.data
    if isinstance(field, BooleanField):
        return bool(field.data)
    if isinstance(field, SelectField):
        return str(field.data or "")
    return (field.data or "").strip()


def compare(saved: ServiceErrorsMixin, submitted: ServiceErrorsMixin) -> list[Difference]:
    """Line up the saved values against the submitted ones, field by field."""
    rows = []
    for old, new in zip(saved.input_fields(), submitted.input_fields()):
        rows.append(Difference(label=str(new.label.text), saved=_shown(old), submitted=_shown(new),
                               differs=_comparable(old) != _comparable(new)))
    return rows
