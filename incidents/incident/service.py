"""Log, change and read major incidents; every rule on their fields lives here."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any, TypeVarTuple

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from incidents import permissions, validation
from incidents.audit import service as audit_service
from incidents.errors import (
    DuplicateError,
    NotFound,
    PermissionDenied,
    StaleError,
    ValidationError,
)
from incidents.extensions import db
from incidents.incident.models import (
    Incident,
    IncidentCohort,
    IncidentStatus,
    TimelineEntry,
    TimelineKind,
)
from incidents.reminder import service as reminder_service
from incidents.rules import service as rules_service
from incidents.timeutil import (
    UTC,
    format_minutes,
    local_date,
    minutes_between,
    month_bounds,
    utcnow,
)
from incidents.user.models import User

INCIDENT_FIELDS = (
    "reference", "title", "category", "status", "started_at", "detected_at", "resolved_at",
    "cohorts", "cause_category", "cause", "impact", "devices_affected", "dcc_responsible",
)
REQUIRED_FIELDS = ("reference", "title", "category", "started_at")
TEXT_FIELDS = ("cause", "impact")
DATETIME_FIELDS = ("started_at", "detected_at", "resolved_at")
MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
# A row key in page links: its start (UTC, to the microsecond) and its id, e.g. 20230404T051500.000000Z42.
CURSOR_RE = re.compile(r"^([0-9]{8}T[0-9]{6}\.[0-9]{6})Z([0-9]{1,12})$", re.ASCII)
MAX_DEVICES = 10**12
Row = TypeVarTuple("Row")
# Times outside these years are typing mistakes (and would overflow date arithmetic).
MIN_YEAR, MAX_YEAR = 1990, 2999


@dataclass
class Outcome:
    """What a service call produced, with any warnings worth showing."""

    incident: Incident
    warnings: list[str] = field(default_factory=list)


@dataclass
class Filters:
    """Filters for the incident list, shared by the page and the API."""

    category: int | None = None
    status: str | None = None
    pmr_month: str | None = None
    cohort: str | None = None
    q: str | None = None


@dataclass
class Page:
    """One page of a list."""

    items: list[Any]
    page: int
    per_page: int
    total: int
    # Keys of the first and last rows, for links to the pages either side that seek rather than count.
    first_key: str | None = None
    last_key: str | None = None

    @property
    def pages(self) -> int:
        """Return how many pages there are (at least one)."""
        return max(1, math.ceil(self.total / self.per_page))


@dataclass
class CohortRestoration:
    """A cohort's restoration, derived from its times."""

    name: str
    impact_started_at: datetime
    restored_at: datetime | None
    minutes: int | None


@dataclass
class Longest:
    """Which cohort took longest to restore, and by how much."""

    cohort: str
    restoration_minutes: int
    restored_at: datetime
    next_cohort: str | None
    next_restoration_minutes: int | None
    difference_minutes: int | None
    restored_after_others_minutes: int | None

    def describe(self) -> str:
        """Say it in one sentence for people."""
        text = f"{self.cohort} took longest: {format_minutes(self.restoration_minutes)}"
        if self.next_cohort is not None and self.difference_minutes is not None:
            text += f", {format_minutes(self.difference_minutes)} longer than {self.next_cohort}"
        if self.restored_after_others_minutes is not None and self.restored_after_others_minutes > 0:
            text += (f"; restored {format_minutes(self.restored_after_others_minutes)} "
                     "after the last other cohort")
        return text + "."

    def as_dict(self) -> dict[str, Any]:
        """Return the API form."""
        return {
            "cohort": self.cohort,
            "restoration_minutes": self.restoration_minutes,
            "next_cohort": self.next_cohort,
            "next_restoration_minutes": self.next_restoration_minutes,
            "difference_minutes": self.difference_minutes,
            "restored_after_others_minutes": self.restored_after_others_minutes,
            "description": self.describe(),
        }


@dataclass
class Derived:
    """What the tool computes from an incident's record."""

    duration_minutes: int | None
    target_resolution_minutes: int | None
    target_description: str
    target_deadline_at: datetime | None
    within_target_resolution_time: bool | None
    pmr_month: str | None
    summary_report_due_on: date | None
    review_report_due_on: date | None
    cohorts: list[CohortRestoration]
    longest_restoration: Longest | None
    detected_before_start: bool


@dataclass(frozen=True)
class Summary:
    """The derived values a list row shows, from stored columns alone."""

    duration_minutes: int | None
    within_target_resolution_time: bool | None
    pmr_month: str | None


@dataclass(frozen=True)
class Cursor:
    """Where a page starts: after (older than) or before (newer than) one row of the newest-first list."""

    direction: str  # "after" or "before"
    started_at: datetime
    id: int


# --- Reading ---------------------------------------------------------------

def get_incident(reference: str, *, viewer: Any, with_cohorts: bool = True) -> Incident:
    """Load an incident the viewer may see, or raise NotFound (its cohorts too, unless told not to)."""
    if not permissions.can_view_incidents(viewer) or not validation.is_lookup_key(reference, 40):
        raise NotFound(f"No incident {reference!r}.")
    query = sa.select(Incident).where(Incident.reference == reference)
    if not with_cohorts:
        query = query.options(sa.orm.lazyload(Incident.cohorts))  # loaded if and when something reads them
    incident = db.session.scalar(query)
    if incident is None or not permissions.can_view_incident(viewer, incident):
        raise NotFound(f"No incident {reference!r}.")
    return incident


def parse_filters(args: Any) -> Filters:
    """Read and check list filters from query arguments (page and API alike)."""
    errors: dict[str, list[str]] = {}
    filters = Filters()
    raw = (args.get("category") or "").strip()
    if raw:
        if raw.isascii() and raw.isdigit() and int(raw) in current_app.config["INCIDENT_CATEGORIES"]:
            filters.category = int(raw)
        else:
            errors["category"] = [f"Choose a category from {_category_list()}."]
    raw = (args.get("status") or "").strip()
    if raw:
        if raw in {s.value for s in IncidentStatus}:
            filters.status = raw
        else:
            errors["status"] = ["Choose a status: " + ", ".join(s.value for s in IncidentStatus) + "."]
    raw = (args.get("pmr_month") or "").strip()
    if raw:
        if MONTH_RE.match(raw) and MIN_YEAR <= int(raw[:4]) <= MAX_YEAR:
            filters.pmr_month = raw
        else:
            errors["pmr_month"] = ["Give the PMR month as YYYY-MM, e.g. 2023-04."]
    raw = (args.get("cohort") or "").strip()
    if raw:
        if raw in current_app.config["COHORTS"]:
            filters.cohort = raw
        else:
            errors["cohort"] = ["Choose a cohort from " + ", ".join(current_app.config["COHORTS"]) + "."]
    raw = (args.get("q") or "").strip()
    if raw:
        if len(raw) > 200:
            errors["q"] = ["Search text can be at most 200 characters."]
        elif validation.has_nul(raw):
            errors["q"] = ["Search text contains a null character; remove it."]
        else:
            filters.q = raw
    if errors:
        raise ValidationError(errors, "Some filters need fixing.")
    return filters


def parse_paging(args: Any) -> tuple[int, int]:
    """Read and check page and per_page from query arguments."""
    errors: dict[str, list[str]] = {}
    page, per_page = 1, current_app.config["PER_PAGE"]
    maximum = current_app.config["MAX_PER_PAGE"]
    raw = (args.get("page") or "").strip()
    if raw:
        if raw.isascii() and raw.isdigit() and 1 <= int(raw) <= 10**6:
            page = int(raw)
        else:
            errors["page"] = ["Page must be a whole number of 1 or more."]
    raw = (args.get("per_page") or "").strip()
    if raw:
        if raw.isascii() and raw.isdigit() and 1 <= int(raw) <= maximum:
            per_page = int(raw)
        else:
            errors["per_page"] = [f"per_page must be a whole number from 1 to {maximum}."]
    if errors:
        raise ValidationError(errors, "Paging needs fixing.")
    return page, per_page


def cursor_key(incident: Incident) -> str:
    """Return the key of a row in the newest-first list, as links carry it."""
    return f"{incident.started_at.astimezone(UTC):%Y%m%dT%H%M%S.%f}Z{incident.id}"


def parse_cursor(args: Any) -> Cursor | None:
    """Read ``after`` or ``before`` (a row key from a page link), or raise a ValidationError."""
    for direction in ("after", "before"):
        raw = (args.get(direction) or "").strip()
        if not raw:
            continue
        match = CURSOR_RE.match(raw)
        try:
            if not match:
                raise ValueError(raw)
            started = datetime.strptime(match.group(1), "%Y%m%dT%H%M%S.%f").replace(tzinfo=UTC)
        except ValueError:
            raise ValidationError({direction: ["This page link is damaged; start again from the first page."]},
                                  "Paging needs fixing.") from None
        return Cursor(direction, started, int(match.group(2)))
    return None


def summarize(incident: Incident) -> Summary:
    """Return duration, TRT met and PMR month from the stored record (the TRT deadline as last computed)."""
    resolved, deadline = incident.resolved_at, incident.target_deadline_at
    if resolved is None:
        return Summary(None, None, None)
    local = local_date(resolved)
    return Summary(minutes_between(incident.started_at, resolved),
                   resolved <= deadline if deadline is not None else None, f"{local.year:04d}-{local.month:02d}")


def filtered(query: sa.Select[*Row], filters: Filters) -> sa.Select[*Row]:
    """Narrow an incident query to the list's filters (the list page, the API list and the CSV export)."""
    if filters.category is not None:
        query = query.where(Incident.category == filters.category)
    if filters.status:
        query = query.where(Incident.status == IncidentStatus(filters.status))
    if filters.pmr_month:
        year, month = (int(p) for p in filters.pmr_month.split("-"))
        start, end = month_bounds(year, month)
        query = query.where(Incident.resolved_at >= start, Incident.resolved_at < end)
    if filters.cohort:
        query = query.where(sa.exists().where(IncidentCohort.incident_id == Incident.id,
                                              IncidentCohort.name == filters.cohort))
    if filters.q:
        pattern = "%" + filters.q.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(sa.or_(Incident.reference.ilike(pattern, escape="\\"),
                                   Incident.title.ilike(pattern, escape="\\")))
    return query


def list_incidents(*, filters: Filters, page: int, per_page: int, viewer: Any, cursor: Cursor | None = None,
                   with_cohorts: bool = True) -> Page:
    """Return one page of incidents the viewer may see, newest first.

    With a cursor the page is found by seeking from a row's key (constant cost however deep); without
    one, by counting ``page`` pages in (the cost grows with the depth).
    """
    if not permissions.can_view_incidents(viewer):
        raise NotFound("No incidents.")
    query = filtered(sa.select(Incident), filters)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())) or 0
    if not with_cohorts:
        query = query.options(sa.orm.lazyload(Incident.cohorts))  # a list row never shows them
    key = sa.tuple_(Incident.started_at, Incident.id)
    if cursor is None:
        items = list(db.session.scalars(query.order_by(Incident.started_at.desc(), Incident.id.desc())
                                        .limit(per_page).offset((page - 1) * per_page)))
    elif cursor.direction == "after":
        items = list(db.session.scalars(query.where(key < sa.tuple_(cursor.started_at, cursor.id))
                                        .order_by(Incident.started_at.desc(), Incident.id.desc()).limit(per_page)))
    else:
        items = list(db.session.scalars(query.where(key > sa.tuple_(cursor.started_at, cursor.id))
                                        .order_by(Incident.started_at, Incident.id).limit(per_page)))[::-1]
    return Page(items=items, page=page, per_page=per_page, total=total,
                first_key=cursor_key(items[0]) if items else None,
                last_key=cursor_key(items[-1]) if items else None)


def derive(incident: Incident) -> Derived:
    """Compute duration, TRT, PMR month, due dates and the cohort comparison."""
    duration = None
    if incident.resolved_at is not None:
        duration = minutes_between(incident.started_at, incident.resolved_at)
    start = clock_start(incident)
    deadline = rules_service.target_deadline(incident.category, start)
    target_minutes = minutes_between(start, deadline) if deadline else None
    within = None
    if deadline is not None and incident.resolved_at is not None:
        within = incident.resolved_at <= deadline
    pmr_month = summary_due = review_due = None
    if incident.resolved_at is not None:
        local = local_date(incident.resolved_at)
        pmr_month = f"{local.year:04d}-{local.month:02d}"
        summary_due, review_due = rules_service.report_due_dates(incident.resolved_at)
    cohorts = [
        CohortRestoration(c.name, c.impact_started_at, c.restored_at,
                          minutes_between(c.impact_started_at, c.restored_at) if c.restored_at else None)
        for c in incident.cohorts
    ]
    return Derived(
        duration_minutes=duration,
        target_resolution_minutes=target_minutes,
        target_description=rules_service.describe_target(incident.category),
        target_deadline_at=deadline,
        within_target_resolution_time=within,
        pmr_month=pmr_month,
        summary_report_due_on=summary_due,
        review_report_due_on=review_due,
        cohorts=cohorts,
        longest_restoration=longest_restoration(cohorts),
        detected_before_start=bool(incident.detected_at and incident.detected_at < incident.started_at),
    )


def report_due_dates(incident: Incident) -> tuple[date | None, date | None]:
    """Return the Summary and Review Report due dates (None until the incident is resolved)."""
    if incident.resolved_at is None:
        return None, None
    return rules_service.report_due_dates(incident.resolved_at)


def longest_restoration(cohorts: list[CohortRestoration]) -> Longest | None:
    """Find the cohort whose restoration took longest and compare it with the rest."""
    restored = [c for c in cohorts if c.minutes is not None and c.restored_at is not None]
    if not restored:
        return None
    ranked = sorted(restored, key=lambda c: (-(c.minutes or 0), c.name))
    top = ranked[0]
    assert top.minutes is not None and top.restored_at is not None
    runner = ranked[1] if len(ranked) > 1 else None
    others = [c.restored_at for c in restored if c is not top and c.restored_at is not None]
    after = minutes_between(max(others), top.restored_at) if others else None
    return Longest(
        cohort=top.name,
        restoration_minutes=top.minutes,
        restored_at=top.restored_at,
        next_cohort=runner.name if runner else None,
        next_restoration_minutes=runner.minutes if runner else None,
        difference_minutes=(top.minutes - (runner.minutes or 0)) if runner else None,
        restored_after_others_minutes=after,
    )


def snapshot(incident: Incident) -> dict[str, Any]:
    """Return the incident's recorded fields as plain values (for audit and forms)."""
    values: dict[str, Any] = {name: getattr(incident, name) for name in INCIDENT_FIELDS if name != "cohorts"}
    for cohort in incident.cohorts:
        values[f"cohort {cohort.name} impact_started_at"] = cohort.impact_started_at
        values[f"cohort {cohort.name} restored_at"] = cohort.restored_at
    return values


def etag(incident: Incident) -> str:
    """Return the incident's ETag value (changes with every save)."""
    return f'"incident-{incident.id}-v{incident.version}"'


# --- Writing ----------------------------------------------------------------

def create_incident(*, data: dict[str, Any], actor: User, now: datetime | None = None) -> Outcome:
    """Validate and log a new incident, with its audit entry."""
    _require_editor(actor)
    now = now or utcnow()
    unknown = set(data) - set(INCIDENT_FIELDS)
    if unknown:
        raise ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
    values: dict[str, Any] = {"cause_category": "unknown", "cause": "", "impact": "", "devices_affected": None,
                              "dcc_responsible": True, "detected_at": None, "resolved_at": None, "cohorts": [],
                              "status": None}
    values.update(data)
    if not values.get("status"):
        values["status"] = IncidentStatus.RESOLVED if values.get("resolved_at") else IncidentStatus.OPEN
    clean, warnings = _validate(values, now=now, current=None)
    incident = Incident(created_by_id=actor.id, created_at=now, updated_at=now)
    _apply(incident, clean)
    db.session.add(incident)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise _duplicate(clean["reference"]) from None
    audit_service.record(actor=actor, action="create", entity_type="incident", entity_id=incident.id,
                         incident_id=incident.id, changes=audit_service.diff({}, snapshot(incident)),
                         summary=f"Logged {incident.reference}", now=now)
    reminder_service.plan_incident(incident, now=now)
    return Outcome(incident, warnings)


def update_incident(*, incident: Incident, data: dict[str, Any], actor: User, expected_version: int | None,
                    now: datetime | None = None) -> Outcome:
    """Change an incident's recorded fields, refusing a stale edit, with its audit entry."""
    _require_editor(actor)
    now = now or utcnow()
    if expected_version is None or expected_version != incident.version:
        raise StaleError(
            f"{incident.reference} was changed by someone else since you opened it "
            f"(now version {incident.version}). Review their changes and apply yours again.",
            current=incident)
    unknown = set(data) - set(INCIDENT_FIELDS)
    if unknown:
        raise ValidationError({name: ["Unknown field."] for name in sorted(unknown)})
    before = snapshot(incident)
    values: dict[str, Any] = {name: getattr(incident, name) for name in INCIDENT_FIELDS if name != "cohorts"}
    values["cohorts"] = [{"name": c.name, "impact_started_at": c.impact_started_at, "restored_at": c.restored_at}
                         for c in incident.cohorts]
    values.update(data)
    # Setting a resolution time on an open incident resolves it, unless a status was given.
    if "status" not in data and values.get("resolved_at") and values["status"] == IncidentStatus.OPEN:
        values["status"] = IncidentStatus.RESOLVED
    if "status" not in data and not values.get("resolved_at") and values["status"] != IncidentStatus.OPEN:
        values["status"] = IncidentStatus.OPEN
    clean, warnings = _validate(values, now=now, current=incident)
    _apply(incident, clean)
    changes = audit_service.diff(before, snapshot(incident))
    if not changes:
        return Outcome(incident, warnings)
    incident.updated_at = now
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise _duplicate(clean["reference"]) from None
    except StaleDataError:
        db.session.rollback()
        raise StaleError(f"{clean['reference']} was changed by someone else while you saved. "
                         "Reload it and apply your changes again.") from None
    audit_service.record(actor=actor, action="update", entity_type="incident", entity_id=incident.id,
                         incident_id=incident.id, changes=changes,
                         summary=f"Changed {', '.join(sorted(changes))}"[:300], now=now)
    reminder_service.plan_incident(incident, now=now)
    return Outcome(incident, warnings)


def repeat_window_start(now: datetime) -> datetime:
    """Return the earliest time at which the same thing sent again counts as a double submission."""
    return now - timedelta(seconds=current_app.config["DUPLICATE_SUBMISSION_SECONDS"])


def add_timeline_entry(*, incident: Incident, data: dict[str, Any], actor: User,
                       now: datetime | None = None) -> TimelineEntry:
    """Add a timeline entry to an incident, with its audit entry; the same entry sent again at once is kept once."""
    _require_editor(actor)
    now = now or utcnow()
    clean = _validate_entry(data, incident=incident, now=now, partial=False)
    repeat = db.session.scalar(sa.select(TimelineEntry).where(
        TimelineEntry.incident_id == incident.id, TimelineEntry.created_by_id == actor.id,
        TimelineEntry.created_at >= repeat_window_start(now), TimelineEntry.occurred_at == clean["occurred_at"],
        TimelineEntry.kind == clean["kind"], TimelineEntry.cohort.is_(None) if clean["cohort"] is None
        else TimelineEntry.cohort == clean["cohort"], TimelineEntry.text == clean["text"]).limit(1))
    if repeat is not None:
        return repeat  # a double submission: the entry is already there
    entry = TimelineEntry(incident=incident, created_by_id=actor.id, created_at=now, **clean)
    db.session.add(entry)
    db.session.flush()
    audit_service.record(actor=actor, action="create", entity_type="timeline_entry", entity_id=entry.id,
                         incident_id=incident.id, changes=audit_service.diff({}, _entry_snapshot(entry)),
                         summary=f"Added timeline entry ({entry.kind.value})", now=now)
    return entry


def update_timeline_entry(*, entry: TimelineEntry, data: dict[str, Any], actor: User,
                          expected_version: int | None, now: datetime | None = None) -> TimelineEntry:
    """Change a timeline entry, refusing a stale edit, with its audit entry."""
    _require_editor(actor)
    now = now or utcnow()
    if expected_version is None or expected_version != entry.version:
        raise StaleError("This timeline entry was changed by someone else since you opened it. "
                         "Reload it and apply your changes again.", current=entry)
    clean = _validate_entry({**_entry_snapshot(entry), **data}, incident=entry.incident, now=now, partial=False)
    before = _entry_snapshot(entry)
    for key, value in clean.items():
        setattr(entry, key, value)
    changes = audit_service.diff(before, _entry_snapshot(entry))
    if changes:
        try:
            db.session.flush()
        except StaleDataError:
            db.session.rollback()
            raise StaleError("This timeline entry was changed by someone else while you saved. "
                             "Reload it and apply your changes again.") from None
        audit_service.record(actor=actor, action="update", entity_type="timeline_entry", entity_id=entry.id,
                             incident_id=entry.incident_id, changes=changes,
                             summary="Changed timeline entry", now=now)
    return entry


def delete_timeline_entry(*, entry: TimelineEntry, actor: User, expected_version: int | None,
                          now: datetime | None = None) -> None:
    """Delete a timeline entry, keeping what it said in the audit trail."""
    _require_editor(actor)
    if expected_version is None or expected_version != entry.version:
        raise StaleError("This timeline entry was changed by someone else since you opened it. "
                         "Reload it before deleting.", current=entry)
    audit_service.record(actor=actor, action="delete", entity_type="timeline_entry", entity_id=entry.id,
                         incident_id=entry.incident_id, changes=audit_service.diff(_entry_snapshot(entry), {}),
                         summary=f"Deleted timeline entry ({entry.kind.value})", now=now or utcnow())
    db.session.delete(entry)
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise StaleError("This timeline entry was changed or deleted by someone else. Reload the page.") from None


def get_timeline_entry(incident: Incident, entry_id: int) -> TimelineEntry:
    """Load one of the incident's timeline entries, or raise NotFound."""
    entry = db.session.get(TimelineEntry, entry_id) if 0 < entry_id <= 2**31 - 1 else None
    if entry is None or entry.incident_id != incident.id:
        raise NotFound(f"{incident.reference} has no timeline entry {entry_id}.")
    return entry


def timeline_etag(entry: TimelineEntry) -> str:
    """Return a timeline entry's ETag value."""
    return f'"timeline-{entry.id}-v{entry.version}"'


# --- Rules ------------------------------------------------------------------

def _require_editor(actor: User) -> None:
    if not permissions.can_edit_incidents(actor):
        raise PermissionDenied("Only the DCC and administrators can change incidents.")


def _duplicate(reference: str) -> DuplicateError:
    return DuplicateError(f"An incident with reference {reference} already exists.",
                          {"reference": [f"{reference} is already used by another incident."]})


def _category_list() -> str:
    return ", ".join(str(c) for c in current_app.config["INCIDENT_CATEGORIES"])


def _check_time(errors: dict[str, list[str]], name: str, value: Any, *, now: datetime,
                label: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, datetime) or value.tzinfo is None:
        errors.setdefault(name, []).append(f"{label} must be a date and time with a time zone.")
        return None
    if value.year < MIN_YEAR or value.year > MAX_YEAR:
        errors.setdefault(name, []).append(f"{label} must be between {MIN_YEAR} and {MAX_YEAR}.")
        return None
    if value > now:
        errors.setdefault(name, []).append(f"{label} is in the future; enter a time that has happened.")
    return value


def _validate(values: dict[str, Any], *, now: datetime, current: Incident | None) -> tuple[dict[str, Any], list[str]]:
    """Check every field and the rules between them; return clean values and warnings."""
    errors: dict[str, list[str]] = {}
    warnings: list[str] = []
    clean: dict[str, Any] = {}
    _check_required(errors, values)
    _check_reference(errors, clean, values.get("reference"), current=current)
    _check_classification(errors, clean, values)
    _check_status(errors, clean, values.get("status"))
    started, resolved = _check_times(errors, clean, warnings, values, now=now)
    _check_status_agrees(errors, clean, resolved=resolved)
    _check_description(errors, clean, values)
    clean["cohorts"] = _validate_cohorts(errors, values.get("cohorts") or [], now=now, started=started,
                                         resolved=resolved)
    if errors:
        if list(errors) == ["reference"] and any("already used" in m for m in errors["reference"]):
            raise _duplicate(clean["reference"])
        raise ValidationError(errors)
    return clean, warnings


def _check_required(errors: dict[str, list[str]], values: dict[str, Any]) -> None:
    for name in REQUIRED_FIELDS:
        if values.get(name) in (None, ""):
            validation.add(errors, name, f"{name.replace('_', ' ').capitalize()} is required.")


def _check_reference(errors: dict[str, list[str]], clean: dict[str, Any], reference: Any, *,
                     current: Incident | None) -> None:
    """Check the ITSM reference's format and that no other incident uses it."""
    if not isinstance(reference, str) or not reference.strip():
        if reference not in (None, ""):
            validation.add(errors, "reference", "Reference must be text.")
        return
    reference = reference.strip().upper()
    clean["reference"] = reference
    config = current_app.config
    if not re.fullmatch(config["REFERENCE_PATTERN"], reference, re.ASCII):
        validation.add(errors, "reference", f"Reference must match the ITSM format: {config['REFERENCE_HINT']}.")
        return
    clash = db.session.scalar(sa.select(Incident.id).where(Incident.reference == reference))
    if clash is not None and (current is None or clash != current.id):
        validation.add(errors, "reference", f"{reference} is already used by another incident.")


def _check_classification(errors: dict[str, list[str]], clean: dict[str, Any], values: dict[str, Any]) -> None:
    """Check the title and the category."""
    config = current_app.config
    clean["title"] = validation.check_text(errors, "title", values.get("title"), limit=config["MAX_TITLE_LENGTH"],
                                           required="title" not in errors)
    category = values.get("category")
    if category not in (None, ""):
        if isinstance(category, bool) or not isinstance(category, int) or category not in config["INCIDENT_CATEGORIES"]:
            validation.add(errors, "category", f"Category must be one of {_category_list()}.")
        clean["category"] = category


def _check_times(errors: dict[str, list[str]], clean: dict[str, Any], warnings: list[str], values: dict[str, Any],
                 *, now: datetime) -> tuple[datetime | None, datetime | None]:
    """Check start, detection and resolution times and their order; return start and resolution."""
    started = _check_time(errors, "started_at", values.get("started_at"), now=now, label="Start time")
    detected = _check_time(errors, "detected_at", values.get("detected_at"), now=now, label="Detection time")
    resolved = _check_time(errors, "resolved_at", values.get("resolved_at"), now=now, label="Resolution time")
    clean.update(started_at=started, detected_at=detected, resolved_at=resolved)
    if started and resolved and resolved < started:
        validation.add(errors, "resolved_at", "Resolution time is before the start time; it must be after it.")
    if started and detected and detected < started:
        warnings.append("The detection time is before the start time. Check both; the incident was saved.")
    return started, resolved


def _check_status(errors: dict[str, list[str]], clean: dict[str, Any], status: Any) -> None:
    """Check the status is one of the incident statuses."""
    try:
        clean["status"] = IncidentStatus(status)
    except ValueError:
        validation.add(errors, "status", "Status must be one of " + ", ".join(s.value for s in IncidentStatus) + ".")


def _check_status_agrees(errors: dict[str, list[str]], clean: dict[str, Any], *, resolved: datetime | None) -> None:
    """Check that an open incident has no resolution time and any other status has one."""
    if "status" not in clean or "resolved_at" in errors:
        return
    if clean["status"] == IncidentStatus.OPEN and resolved is not None:
        validation.add(errors, "status",
                       "An open incident has no resolution time: set status to resolved or clear the resolution time.")
    if clean["status"] != IncidentStatus.OPEN and resolved is None:
        validation.add(errors, "resolved_at", f"A {clean['status'].value} incident needs its resolution time.")


def _check_description(errors: dict[str, list[str]], clean: dict[str, Any], values: dict[str, Any]) -> None:
    """Check the cause category, cause, impact, devices affected and whether the DCC is responsible."""
    cause_category = values.get("cause_category") or "unknown"
    if cause_category not in current_app.config["CAUSE_CATEGORIES"]:
        validation.add(errors, "cause_category",
                       "Cause category must be one of " + ", ".join(current_app.config["CAUSE_CATEGORIES"]) + ".")
    clean["cause_category"] = cause_category
    for name in TEXT_FIELDS:
        clean[name] = validation.check_text(errors, name, values.get(name), limit=current_app.config["MAX_TEXT_LENGTH"])
    devices = values.get("devices_affected")
    if devices in (None, ""):
        clean["devices_affected"] = None
    elif isinstance(devices, bool) or not isinstance(devices, int) or not 0 <= devices <= MAX_DEVICES:
        validation.add(errors, "devices_affected", "Devices or users affected must be a whole number of 0 or more.")
    else:
        clean["devices_affected"] = devices
    responsible = values.get("dcc_responsible")
    if not isinstance(responsible, bool):
        validation.add(errors, "dcc_responsible",
                       "Say whether the DCC is responsible for resolving it (true or false).")
    clean["dcc_responsible"] = bool(responsible)


def _validate_cohorts(errors: dict[str, list[str]], cohorts: Any, *, now: datetime,
                      started: datetime | None, resolved: datetime | None) -> list[dict[str, Any]]:
    allowed: list[str] = current_app.config["COHORTS"]
    if not isinstance(cohorts, list):
        errors.setdefault("cohorts", []).append("Cohorts must be a list.")
        return []
    clean: list[dict[str, Any]] = []
    seen: set[str] = set()
    for index, item in enumerate(cohorts):
        key = f"cohorts[{index}]"
        if not isinstance(item, dict):
            errors.setdefault(key, []).append("Each cohort needs a name, impact start and restoration time.")
            continue
        name = item.get("name")
        if name not in allowed:
            errors.setdefault(f"{key}.name", []).append("Cohort must be one of " + ", ".join(allowed) + ".")
            continue
        if name in seen:
            errors.setdefault(f"{key}.name", []).append(f"{name} is listed twice; list each cohort once.")
            continue
        seen.add(name)
        impact = _check_time(errors, f"{key}.impact_started_at", item.get("impact_started_at"), now=now,
                             label=f"{name} impact start")
        restored = _check_time(errors, f"{key}.restored_at", item.get("restored_at"), now=now,
                               label=f"{name} restoration")
        if item.get("impact_started_at") is None:
            errors.setdefault(f"{key}.impact_started_at", []).append(f"{name} impact start is required.")
        if impact and restored and restored < impact:
            errors.setdefault(f"{key}.restored_at", []).append(
                f"{name} restoration is before its impact started; it must be after it.")
        clean.append({"name": name, "impact_started_at": impact, "restored_at": restored})
    return clean


def clock_start(incident: Incident) -> datetime:
    """Return the instant the resolution clock starts for this incident."""
    if current_app.config["RESOLUTION_CLOCK_START"] == "detected" and incident.detected_at is not None:
        return incident.detected_at
    return incident.started_at


def refresh_target(incident: Incident) -> None:
    """Store when the incident's TRT runs out (after an edit, or after the TRT rules change)."""
    incident.target_deadline_at = rules_service.target_deadline(incident.category, clock_start(incident))


def _apply(incident: Incident, clean: dict[str, Any]) -> None:
    cohorts = clean.pop("cohorts")
    for key, value in clean.items():
        setattr(incident, key, value)
    refresh_target(incident)
    existing = {c.name: c for c in incident.cohorts}
    wanted = {c["name"] for c in cohorts}
    for name, gone in list(existing.items()):
        if name not in wanted:
            incident.cohorts.remove(gone)
    for item in cohorts:
        cohort = existing.get(item["name"])
        if cohort is None:
            incident.cohorts.append(IncidentCohort(**item))
        else:
            cohort.impact_started_at = item["impact_started_at"]
            cohort.restored_at = item["restored_at"]
    incident.cohorts.sort(key=lambda c: c.name)


def _entry_snapshot(entry: TimelineEntry) -> dict[str, Any]:
    return {"occurred_at": entry.occurred_at, "kind": entry.kind, "cohort": entry.cohort, "text": entry.text}


def _validate_entry(data: dict[str, Any], *, incident: Incident, now: datetime, partial: bool) -> dict[str, Any]:
    errors: dict[str, list[str]] = {}
    unknown = set(data) - {"occurred_at", "kind", "cohort", "text"}
    for name in sorted(unknown):
        errors[name] = ["Unknown field."]
    clean: dict[str, Any] = {}
    occurred = data.get("occurred_at")
    if occurred is None:
        errors.setdefault("occurred_at", []).append("Time is required.")
    clean["occurred_at"] = _check_time(errors, "occurred_at", occurred, now=now, label="Time")
    try:
        clean["kind"] = TimelineKind(data.get("kind"))
    except ValueError:
        errors.setdefault("kind", []).append("Kind must be one of " + ", ".join(k.value for k in TimelineKind) + ".")
    cohort = data.get("cohort") or None
    names = [c.name for c in incident.cohorts]
    if cohort is not None and cohort not in names:
        errors.setdefault("cohort", []).append(
            "Cohort must be one this incident affected: " + (", ".join(names) or "none recorded yet") + ".")
    clean["cohort"] = cohort
    clean["text"] = validation.check_text(errors, "text", data.get("text"), limit=current_app.config["MAX_TEXT_LENGTH"],
                                required=True, label="Text")
    if errors:
        raise ValidationError(errors)
    return clean
