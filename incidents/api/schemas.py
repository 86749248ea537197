"""Request and response bodies of the JSON API.

Pydantic checks shapes and types only; every domain rule stays in the
services. The OpenAPI document (``openapi.py``) is generated from these same
classes, so the document cannot drift from what the API accepts and answers.

Request bodies are strict (a category is an integer, never "1"; a boolean is
true or false) and forbid unknown fields. Optional request fields default to
"not sent": each request body converts itself into the service's typed input
(``to_draft``, ``to_changes``), where a field not sent is left to the service's
defaults or, in a change, KEEP.
"""
from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import TYPE_CHECKING, Annotated, Any, ClassVar

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    WithJsonSchema,
)

from incidents import validation
from incidents.audit.models import AuditEntry as AuditRow
from incidents.incident import service as incident_service
from incidents.incident.models import Incident as IncidentRow
from incidents.incident.models import IncidentStatus, TimelineKind
from incidents.incident.models import TimelineEntry as TimelineRow

TIME_HINT = "ISO 8601 with a UTC offset, e.g. 2023-04-04T06:15:00+01:00 or 2023-04-04T05:15:00Z"


# A day inside Python's range, so that converting to any zone (UK time for derived values) cannot overflow.
EARLIEST = datetime(1, 1, 2, tzinfo=UTC)
LATEST = datetime(9999, 12, 30, tzinfo=UTC)


def _to_utc(value: datetime) -> datetime:
    """Normalise an aware datetime to UTC (stored and answered in UTC)."""
    try:
        return value.astimezone(UTC)
    except OverflowError:
        raise ValueError("the time is out of range once converted to UTC") from None


def _in_range(value: datetime) -> datetime:
    """Refuse an instant at the very edge of the calendar, which no later conversion could handle."""
    if not EARLIEST <= value <= LATEST:
        raise ValueError(f"the time is out of range: give one from {EARLIEST:%Y-%m-%d} to {LATEST:%Y-%m-%d}")
    return value


_DESCRIPTION = Field(description=f"An instant, {TIME_HINT}; answered in UTC.")
# Sent by a client: must carry an offset; normalised to UTC.
Instant = Annotated[AwareDatetime, AfterValidator(_to_utc), AfterValidator(_in_range), _DESCRIPTION]
# Answered by the API: always UTC ("...Z"), whatever is stored.
UtcInstant = Annotated[AwareDatetime, AfterValidator(_to_utc), _DESCRIPTION]


# Text a client sends (free text or a key to look up): never a NUL character.
Text = Annotated[str, AfterValidator(validation.refuse_nul)]

FIRST_DAY, LAST_DAY = date(1900, 1, 1), date(2999, 12, 31)


def _plausible_day(value: date) -> date:
    """Refuse a date no meeting or action could have, which later date arithmetic would overflow on."""
    if not FIRST_DAY <= value <= LAST_DAY:
        raise ValueError(f"the date is out of range: give one from {FIRST_DAY} to {LAST_DAY}")
    return value


# A calendar date a client sends, YYYY-MM-DD.
Day = Annotated[date, AfterValidator(_plausible_day), Field(description="A date, YYYY-MM-DD.")]


def _tbc_as_none(value: Any) -> Any:
    """Read "TBC" as no date yet, and a YYYY-MM-DD text as its date; leave anything else for the date check."""
    if value == "TBC":
        return None
    if isinstance(value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", value, re.ASCII):
        try:
            # Read here: after a before-validator, a strict date field no longer reads JSON text itself.
            return date.fromisoformat(value)
        except ValueError:
            return value
    return value


# A target date as sent: a date, or "TBC" (or null) when it is still to be confirmed; the service receives None,
# which is also all the type checker needs to know of it.
if TYPE_CHECKING:
    TargetDay = date | None
else:
    TargetDay = Annotated[
        Day | None, BeforeValidator(_tbc_as_none),
        WithJsonSchema({"anyOf": [{"type": "string", "format": "date"}, {"const": "TBC"}, {"type": "null"}]}),
        Field(description='A date (YYYY-MM-DD), or "TBC" or null when it is still to be confirmed: no date '
                          "reminders go, and the action is listed as needing a date.")]


def drop_defaults(*names: str) -> Any:
    """Build a json_schema_extra hook that hides 'default' for fields whose absence means 'not sent'."""

    def hook(schema: dict[str, Any]) -> None:
        for name, prop in schema.get("properties", {}).items():
            if not names or name in names:
                prop.pop("default", None)

    return hook


class RequestBody(BaseModel):
    """Base of request bodies: strict types, unknown fields refused."""

    model_config = ConfigDict(extra="forbid", strict=True)
    # Fields of the matching response that a client may not send (named in the 422).
    read_only: ClassVar[frozenset[str]] = frozenset()


class Representation(BaseModel):
    """Base of response bodies: exactly the documented fields."""

    model_config = ConfigDict(extra="forbid")


def omittable(**kwargs: Any) -> Any:
    """Declare a request field that may be left out (not sent) yet, when sent, must match its type.

    The default None is never validated, so an explicit null is still refused
    unless the type allows it; ``exclude_unset`` keeps the field out of what the
    service receives. (Typed Any so that ``title: str = omittable()`` type-checks.)
    """
    return Field(default=None, **kwargs)


def _read_only(description: str) -> Any:
    return Field(description=f"Read-only, derived. {description}", json_schema_extra={"readOnly": True})


# --- Incidents ---------------------------------------------------------------

class CohortInput(RequestBody):
    """A cohort affected by the incident: when its impact started and when it was restored."""

    name: str = Field(description="A configured cohort, e.g. 'CSP N'.", examples=["CSP N"])
    impact_started_at: Instant
    restored_at: Instant | None = None

    def to_draft(self) -> incident_service.CohortDraft:
        """Return the cohort as the incident service takes it."""
        return incident_service.CohortDraft(name=self.name, impact_started_at=self.impact_started_at,
                                            restored_at=self.restored_at)


class Cohort(Representation):
    """A cohort affected by the incident: when its impact started and when it was restored."""

    name: str
    impact_started_at: UtcInstant
    restored_at: UtcInstant | None


class IncidentCreate(RequestBody):
    """Fields to log a new incident; the service checks the domain rules."""

    model_config = ConfigDict(json_schema_extra=drop_defaults("status"))

    reference: str = Field(description="ITSM reference, e.g. INC000001001905.", examples=["INC000001001905"])
    title: str
    category: int = Field(description="Incident Category, 1 (most severe) to 5 (least) by default.")
    status: IncidentStatus = omittable(description="Defaults to 'resolved' when resolved_at is given, else 'open'.")
    started_at: Instant
    detected_at: Instant | None = None
    resolved_at: Instant | None = None
    cohorts: list[CohortInput] = Field(default_factory=list)
    cause_category: str = Field(default="unknown", description="A configured cause category, e.g. 'third_party'.")
    cause: str = ""
    impact: str = ""
    devices_affected: int | None = None
    dcc_responsible: bool = Field(default=True, description="Whether the DCC is responsible for resolving it.")

    def to_draft(self) -> incident_service.IncidentDraft:
        """Return the incident as the service takes it (status None when not sent: it follows resolved_at)."""
        return incident_service.IncidentDraft(
            reference=self.reference, title=self.title, category=self.category,
            status=self.status if "status" in self.model_fields_set else None,
            started_at=self.started_at, detected_at=self.detected_at, resolved_at=self.resolved_at,
            cohorts=[cohort.to_draft() for cohort in self.cohorts], cause_category=self.cause_category,
            cause=self.cause, impact=self.impact, devices_affected=self.devices_affected,
            dcc_responsible=self.dcc_responsible)


class IncidentPatch(RequestBody):
    """Fields to change; only those sent change. ``cohorts`` replaces the whole list."""

    model_config = ConfigDict(json_schema_extra=drop_defaults())

    reference: str = omittable()
    title: str = omittable()
    category: int = omittable()
    status: IncidentStatus = omittable()
    started_at: Instant = omittable()
    detected_at: Instant | None = omittable(description="null clears it.")
    resolved_at: Instant | None = omittable(
        description="Setting it resolves an open incident; null reopens it (unless status is sent).")
    cohorts: list[CohortInput] = omittable(description="Replaces the whole list.")
    cause_category: str = omittable()
    cause: str = omittable()
    impact: str = omittable()
    devices_affected: int | None = omittable(description="null clears it.")
    dcc_responsible: bool = omittable()

    def to_changes(self) -> incident_service.IncidentChanges:
        """Return the fields sent as changes for the service; the rest stay KEEP."""
        sent: dict[str, Any] = {name: getattr(self, name) for name in self.model_fields_set}
        if "cohorts" in sent:
            sent["cohorts"] = [cohort.to_draft() for cohort in self.cohorts]
        return incident_service.IncidentChanges(**sent)


class LongestRestoration(Representation):
    """Which cohort took longest to restore, and by how much."""

    cohort: str
    restoration_minutes: int
    next_cohort: str | None
    next_restoration_minutes: int | None
    difference_minutes: int | None
    restored_after_others_minutes: int | None
    description: str


class Incident(Representation):
    """A major incident with the values the tool derives from it."""

    reference: str
    title: str
    category: int
    status: IncidentStatus
    started_at: UtcInstant
    detected_at: UtcInstant | None
    resolved_at: UtcInstant | None
    cohorts: list[Cohort]
    cause_category: str
    cause: str
    impact: str
    devices_affected: int | None
    dcc_responsible: bool
    is_major: bool = _read_only("Declared a Major Incident: its review and Summary and Review Reports are asked for "
                                "(the PMR measures count by Category). Change it with POST .../major.")
    major_declared_at: UtcInstant | None = _read_only("When it was declared a Major Incident.")
    major_reason: str = _read_only("The DCC's reason for its latest declaration or undeclaration; empty while the "
                                   "default by Category stands.")
    duration_minutes: int | None = _read_only("Minutes from start to resolution.")
    target_resolution_minutes: int | None = _read_only("The Target Resolution Time of its Category, in minutes.")
    within_target_resolution_time: bool | None = _read_only("Whether it was resolved within its TRT.")
    pmr_month: str | None = _read_only("The PMR month (UK month of resolution), YYYY-MM.")
    summary_report_due_on: date | None = _read_only("When the Major Incident Summary Report is due.")
    review_report_due_on: date | None = _read_only("When the Major Incident Review Report is due.")
    longest_restoration: LongestRestoration | None = _read_only("The cohort that took longest to restore.")
    version: int = _read_only("Changes with every save; the ETag carries it.")


class MajorInput(RequestBody):
    """The DCC declares the incident a Major Incident, or undeclares it, with its reason."""

    is_major: bool = Field(description="true: declare a Major Incident; false: undeclare it.")
    reason: Text = Field(description="Why; required, kept in the audit trail.")


class IncidentSaved(Incident):
    """An incident just created or changed, with any warnings worth showing."""

    warnings: list[str] = _read_only("Things to check; the incident was saved anyway.")


class IncidentPage(Representation):
    """One page of incidents, newest first."""

    items: list[Incident]
    page: int
    per_page: int
    total: int = Field(description="How many incidents match; a lower bound when total_exact is false.")
    total_exact: bool = Field(True, description="False when counting stopped at a bound: more than total match.")


_INCIDENT_READ_ONLY = frozenset(IncidentSaved.model_fields) - frozenset(IncidentCreate.model_fields)
IncidentCreate.read_only = _INCIDENT_READ_ONLY
IncidentPatch.read_only = _INCIDENT_READ_ONLY


# --- Timeline ----------------------------------------------------------------

class TimelineEntryCreate(RequestBody):
    """A timestamped event in the incident's life, optionally for one cohort."""

    read_only = frozenset({"id", "version"})

    occurred_at: Instant
    kind: TimelineKind
    text: str
    cohort: str | None = Field(default=None, description="One of the incident's cohorts, or null.")

    def to_draft(self) -> incident_service.TimelineEntryDraft:
        """Return the entry as the incident service takes it."""
        return incident_service.TimelineEntryDraft(occurred_at=self.occurred_at, kind=self.kind, text=self.text,
                                                   cohort=self.cohort)


class TimelineEntryPatch(RequestBody):
    """Fields of a timeline entry to change; only those sent change."""

    model_config = ConfigDict(json_schema_extra=drop_defaults())
    read_only = frozenset({"id", "version"})

    occurred_at: Instant = omittable()
    kind: TimelineKind = omittable()
    text: str = omittable()
    cohort: str | None = omittable(description="null clears it.")

    def to_changes(self) -> incident_service.TimelineEntryChanges:
        """Return the fields sent as changes for the service; the rest stay KEEP."""
        return incident_service.TimelineEntryChanges(**{name: getattr(self, name) for name in self.model_fields_set})


class TimelineEntry(Representation):
    """A timestamped event in the incident's life."""

    id: int
    occurred_at: UtcInstant
    kind: TimelineKind
    cohort: str | None
    text: str
    version: int


class TimelineEntryList(Representation):
    """An incident's timeline, in time order."""

    items: list[TimelineEntry]


# --- Audit -------------------------------------------------------------------

class AuditEntry(Representation):
    """One create, change or delete, field by field."""

    id: int
    at: UtcInstant
    actor: str = Field(description="Email of who did it (as it was then), or 'system'.")
    action: str = Field(examples=["create", "update", "delete"])
    entity_type: str = Field(examples=["incident", "timeline_entry"])
    entity_id: int | None
    summary: str
    changes: dict[str, tuple[Any, Any]] = Field(description="{field: [old, new]} for each field that changed.")


class AuditEntryList(Representation):
    """An incident's audit trail, oldest first."""

    items: list[AuditEntry]


# --- Errors ------------------------------------------------------------------

class Problem(BaseModel):
    """RFC 9457 problem details; ``errors`` maps each bad field to messages."""

    model_config = ConfigDict(extra="allow", json_schema_extra=drop_defaults("detail", "errors"))

    type: str = "about:blank"
    title: str
    status: int
    detail: str = omittable()
    errors: dict[str, list[str]] = omittable(description="Field key (e.g. 'cohorts[0].restored_at') to messages.")


# --- From rows to representations -------------------------------------------

def incident_fields(incident: IncidentRow) -> dict[str, Any]:
    """Return an incident's recorded and derived fields as the API shows them."""
    derived = incident_service.derive(incident)
    longest = derived.longest_restoration
    return {
        "reference": incident.reference,
        "title": incident.title,
        "category": incident.category,
        "status": incident.status,
        "started_at": incident.started_at,
        "detected_at": incident.detected_at,
        "resolved_at": incident.resolved_at,
        "cohorts": [{"name": c.name, "impact_started_at": c.impact_started_at, "restored_at": c.restored_at}
                    for c in incident.cohorts],
        "cause_category": incident.cause_category,
        "cause": incident.cause,
        "impact": incident.impact,
        "devices_affected": incident.devices_affected,
        "dcc_responsible": incident.dcc_responsible,
        "is_major": incident.is_major,
        "major_declared_at": incident.major_declared_at,
        "major_reason": incident.major_reason,
        "duration_minutes": derived.duration_minutes,
        "target_resolution_minutes": derived.target_resolution_minutes,
        "within_target_resolution_time": derived.within_target_resolution_time,
        "pmr_month": derived.pmr_month,
        "summary_report_due_on": derived.summary_report_due_on,
        "review_report_due_on": derived.review_report_due_on,
        "longest_restoration": longest.as_dict() if longest else None,
        "version": incident.version,
    }


def present_incident(incident: IncidentRow) -> Incident:
    """Represent an incident."""
    return Incident.model_validate(incident_fields(incident))


def present_saved_incident(incident: IncidentRow, warnings: list[str]) -> IncidentSaved:
    """Represent an incident just saved, with the service's warnings."""
    return IncidentSaved.model_validate({**incident_fields(incident), "warnings": list(warnings)})


def present_entry(entry: TimelineRow) -> TimelineEntry:
    """Represent a timeline entry."""
    return TimelineEntry.model_validate({
        "id": entry.id, "occurred_at": entry.occurred_at, "kind": entry.kind, "cohort": entry.cohort,
        "text": entry.text, "version": entry.version,
    })


def present_audit(entry: AuditRow) -> AuditEntry:
    """Represent an audit entry."""
    return AuditEntry.model_validate({
        "id": entry.id, "at": entry.at, "actor": entry.actor_name, "action": entry.action,
        "entity_type": entry.entity_type, "entity_id": entry.entity_id, "summary": entry.summary,
        "changes": entry.changes or {},
    })
