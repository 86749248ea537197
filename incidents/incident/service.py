"""Log, change and read major incidents; every rule on their fields lives here."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, timedelta
from typing import Any, TypeVarTuple

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from incidents import labels, permissions, validation
from incidents.audit import service as audit_service
from incidents.errors import (
    ConflictError,
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
from incidents.validation import KEEP, Errors, Keep

INCIDENT_FIELDS = (
    "reference", "title", "category", "status", "started_at", "detected_at", "resolved_at",
    "cohorts", "cause_category", "cause", "impact", "devices_affected", "dcc_responsible",
)
REQUIRED_FIELDS = ("reference", "title", "category", "started_at")
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
    major: bool = False  # declared Major Incidents only


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
    # False when counting stopped at a bound: ``total`` rows at least, more beyond.
    total_exact: bool = True

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


# --- Inputs -------------------------------------------------------------------
# Forms and API request models convert what they receive into these; the
# service checks every domain rule on them, never their types again.

@dataclass(frozen=True)
class CohortDraft:
    """A cohort the incident affected: when its impact started and when it was restored."""

    name: str
    impact_started_at: datetime | None  # required: None only when a form row left it blank
    restored_at: datetime | None = None


@dataclass(frozen=True)
class IncidentDraft:
    """A new incident's recorded fields, as a form or the API sends them (times aware)."""

    reference: str
    title: str
    category: int | None  # required: None only when a form left it blank
    started_at: datetime | None  # required: None only when a form left it blank
    status: IncidentStatus | None = None  # None: resolved when resolved_at is given, else open
    detected_at: datetime | None = None
    resolved_at: datetime | None = None
    cohorts: list[CohortDraft] = field(default_factory=list)
    cause_category: str = "unknown"  # blank means unknown
    cause: str = ""
    impact: str = ""
    devices_affected: int | None = None
    dcc_responsible: bool = True


@dataclass(frozen=True)
class IncidentChanges:
    """Changes to an incident's recorded fields; a field left KEEP stays as it is.

    Left KEEP, the status follows the resolution time: setting one resolves an
    open incident, clearing it reopens a resolved or closed one.
    """

    reference: str | Keep = KEEP
    title: str | Keep = KEEP
    category: int | None | Keep = KEEP
    status: IncidentStatus | Keep = KEEP
    started_at: datetime | None | Keep = KEEP
    detected_at: datetime | None | Keep = KEEP  # None clears it
    resolved_at: datetime | None | Keep = KEEP  # None clears it (and reopens, unless a status is given)
    cohorts: list[CohortDraft] | Keep = KEEP  # replaces the whole list
    cause_category: str | Keep = KEEP
    cause: str | Keep = KEEP
    impact: str | Keep = KEEP
    devices_affected: int | None | Keep = KEEP  # None clears it
    dcc_responsible: bool | Keep = KEEP


@dataclass(frozen=True)
class TimelineEntryDraft:
    """A timeline entry as a form or the API sends it."""

    occurred_at: datetime | None  # required: None only when a form left it blank
    kind: TimelineKind
    text: str
    cohort: str | None = None  # one of the incident's cohorts; None (or blank) for all or none


@dataclass(frozen=True)
class TimelineEntryChanges:
    """Changes to a timeline entry; a field left KEEP stays as it is."""

    occurred_at: datetime | None | Keep = KEEP
    kind: TimelineKind | Keep = KEEP
    text: str | Keep = KEEP
    cohort: str | None | Keep = KEEP  # None clears it


@dataclass(frozen=True)
class _CheckedEntry:
    """A timeline entry's values once every rule has passed."""

    occurred_at: datetime
    kind: TimelineKind
    cohort: str | None
    text: str


def _sent(changes: IncidentChanges | TimelineEntryChanges) -> dict[str, Any]:
    """Return the fields a change sets (those not left KEEP)."""
    return {f.name: getattr(changes, f.name) for f in fields(changes)
            if not isinstance(getattr(changes, f.name), Keep)}


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
    raw = (args.get("major") or "").strip().lower()
    if raw:
        if raw in ("1", "true", "yes", "on"):
            filters.major = True
        elif raw not in ("0", "false", "no", "off"):
            errors["major"] = ["Major Incidents only takes true or false."]
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
    if filters.major:
        query = query.where(Incident.is_major.is_(True))
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
    before = (page - 1) * per_page
    if cursor is not None and items:
        # The rows before this page are the pages the links came through; from this page on, count by seeking
        # from its first row's key, up to a bound.
        first = items[0]
        remaining = count_up_to(query.where(key <= sa.tuple_(first.started_at, first.id)), COUNT_UP_TO)
        total, exact = before + min(remaining, COUNT_UP_TO), remaining <= COUNT_UP_TO
    else:
        counted = count_up_to(query, before + COUNT_UP_TO)
        total, exact = min(counted, before + COUNT_UP_TO), counted <= before + COUNT_UP_TO
    return Page(items=items, page=page, per_page=per_page, total=total, total_exact=exact,
                first_key=cursor_key(items[0]) if items else None,
                last_key=cursor_key(items[-1]) if items else None)


# A list counts its matching rows up to this many past the current page's start, and says "more than" beyond:
# an exact count of a hundred thousand rows on every page would cost more than the page itself.
COUNT_UP_TO = 1000


def count_up_to(query: sa.Select[Any], bound: int) -> int:
    """Count the rows ``query`` matches, stopping at ``bound + 1`` (so more than ``bound`` means "more")."""
    limited = query.order_by(None).with_only_columns(Incident.id).limit(bound + 1).subquery()
    return int(db.session.scalar(sa.select(sa.func.count()).select_from(limited)) or 0)


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

def create_incident(*, draft: IncidentDraft, actor: User, now: datetime | None = None) -> Outcome:
    """Validate and log a new incident, with its audit entry."""
    _require_editor(actor)
    now = now or utcnow()
    clean, warnings = _validate(draft, now=now, current=None)
    incident = Incident(created_by_id=actor.id, created_at=now, updated_at=now)
    _apply(incident, clean)
    _follow_category(incident, now=now)
    db.session.add(incident)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise _duplicate(clean.reference) from None
    audit_service.record(actor=actor, action="create", entity_type="incident", entity_id=incident.id,
                         incident_id=incident.id, changes=audit_service.diff({}, snapshot(incident)),
                         summary=f"Logged {incident.reference}", now=now)
    reminder_service.plan_incident(incident, now=now)
    return Outcome(incident, warnings)


def update_incident(*, incident: Incident, changes: IncidentChanges, actor: User, expected_version: int | None,
                    now: datetime | None = None) -> Outcome:
    """Change an incident's recorded fields, refusing a stale edit, with its audit entry."""
    _require_editor(actor)
    now = now or utcnow()
    if expected_version is None or expected_version != incident.version:
        raise StaleError(
            f"{incident.reference} was changed by someone else since you opened it "
            f"(now version {incident.version}). Review their changes and apply yours again.",
            current=incident)
    before = snapshot(incident)
    clean, warnings = _validate(_merged(incident, changes), now=now, current=incident)
    _apply(incident, clean)
    _follow_category(incident, now=now)
    audited = audit_service.diff(before, snapshot(incident))
    if not audited:
        return Outcome(incident, warnings)
    incident.updated_at = now
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        raise _duplicate(clean.reference) from None
    except StaleDataError:
        db.session.rollback()
        raise StaleError(f"{clean.reference} was changed by someone else while you saved. "
                         "Reload it and apply your changes again.") from None
    audit_service.record(actor=actor, action="update", entity_type="incident", entity_id=incident.id,
                         incident_id=incident.id, changes=audited,
                         summary=("Changed " + ", ".join(labels.field_label(f).lower() for f in sorted(audited)))[:300],
                         now=now)
    reminder_service.plan_incident(incident, now=now)
    return Outcome(incident, warnings)


def _merged(incident: Incident, changes: IncidentChanges) -> IncidentDraft:
    """Return the incident's record with the changes laid over it, for checking as a whole."""
    record = IncidentDraft(
        reference=incident.reference, title=incident.title, category=incident.category,
        started_at=incident.started_at, status=incident.status, detected_at=incident.detected_at,
        resolved_at=incident.resolved_at,
        cohorts=[CohortDraft(c.name, c.impact_started_at, c.restored_at) for c in incident.cohorts],
        cause_category=incident.cause_category, cause=incident.cause, impact=incident.impact,
        devices_affected=incident.devices_affected, dcc_responsible=incident.dcc_responsible)
    merged = replace(record, **_sent(changes))
    if isinstance(changes.status, Keep):
        # Setting a resolution time on an open incident resolves it; clearing it reopens the incident.
        if merged.resolved_at and merged.status == IncidentStatus.OPEN:
            merged = replace(merged, status=IncidentStatus.RESOLVED)
        elif not merged.resolved_at and merged.status != IncidentStatus.OPEN:
            merged = replace(merged, status=IncidentStatus.OPEN)
    return merged


def repeat_window_start(now: datetime) -> datetime:
    """Return the earliest time at which the same thing sent again counts as a double submission."""
    return now - timedelta(seconds=current_app.config["DUPLICATE_SUBMISSION_SECONDS"])


def add_timeline_entry(*, incident: Incident, draft: TimelineEntryDraft, actor: User,
                       now: datetime | None = None) -> TimelineEntry:
    """Add a timeline entry to an incident, with its audit entry; the same entry sent again at once is kept once."""
    _require_editor(actor)
    now = now or utcnow()
    clean = _check_entry(draft, incident=incident, now=now)
    repeat = db.session.scalar(sa.select(TimelineEntry).where(
        TimelineEntry.incident_id == incident.id, TimelineEntry.created_by_id == actor.id,
        TimelineEntry.created_at >= repeat_window_start(now), TimelineEntry.occurred_at == clean.occurred_at,
        TimelineEntry.kind == clean.kind, TimelineEntry.cohort.is_(None) if clean.cohort is None
        else TimelineEntry.cohort == clean.cohort, TimelineEntry.text == clean.text).limit(1))
    if repeat is not None:
        return repeat  # a double submission: the entry is already there
    entry = TimelineEntry(incident=incident, created_by_id=actor.id, created_at=now, occurred_at=clean.occurred_at,
                          kind=clean.kind, cohort=clean.cohort, text=clean.text)
    db.session.add(entry)
    db.session.flush()
    audit_service.record(actor=actor, action="create", entity_type="timeline_entry", entity_id=entry.id,
                         incident_id=incident.id, changes=audit_service.diff({}, _entry_snapshot(entry)),
                         summary=f"Added timeline entry ({labels.label(entry.kind).lower()})", now=now)
    return entry


def update_timeline_entry(*, entry: TimelineEntry, changes: TimelineEntryChanges, actor: User,
                          expected_version: int | None, now: datetime | None = None) -> TimelineEntry:
    """Change a timeline entry, refusing a stale edit, with its audit entry."""
    _require_editor(actor)
    now = now or utcnow()
    if expected_version is None or expected_version != entry.version:
        raise StaleError("This timeline entry was changed by someone else since you opened it. "
                         "Reload it and apply your changes again.", current=entry)
    current = TimelineEntryDraft(occurred_at=entry.occurred_at, kind=entry.kind, text=entry.text, cohort=entry.cohort)
    clean = _check_entry(replace(current, **_sent(changes)), incident=entry.incident, now=now)
    before = _entry_snapshot(entry)
    entry.occurred_at, entry.kind, entry.cohort, entry.text = clean.occurred_at, clean.kind, clean.cohort, clean.text
    audited = audit_service.diff(before, _entry_snapshot(entry))
    if audited:
        try:
            db.session.flush()
        except StaleDataError:
            db.session.rollback()
            raise StaleError("This timeline entry was changed by someone else while you saved. "
                             "Reload it and apply your changes again.") from None
        audit_service.record(actor=actor, action="update", entity_type="timeline_entry", entity_id=entry.id,
                             incident_id=entry.incident_id, changes=audited,
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
                         summary=f"Deleted timeline entry ({labels.label(entry.kind).lower()})", now=now or utcnow())
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


def category_message() -> str:
    """Return the message for a category that is not one of the configured ones (forms say it too)."""
    return f"Category must be one of {_category_list()}."


def _check_time(errors: Errors, name: str, value: datetime | None, *, now: datetime,
                label: str) -> datetime | None:
    """Return an aware time if it is plausible (None when it is not), adding a message when it is in the future."""
    if value is None:
        return None
    if value.year < MIN_YEAR or value.year > MAX_YEAR:
        validation.add(errors, name, f"{label} must be between {MIN_YEAR} and {MAX_YEAR}.")
        return None
    if value > now:
        validation.add(errors, name, f"{label} is in the future; enter a time that has happened.")
    return value


def _validate(draft: IncidentDraft, *, now: datetime, current: Incident | None) -> tuple[IncidentDraft, list[str]]:
    """Check every field and the rules between them; return the clean record and any warnings."""
    errors: Errors = {}
    warnings: list[str] = []
    reference = _check_reference(errors, draft.reference, current=current)
    title = validation.check_text(errors, "title", draft.title, limit=current_app.config["MAX_TITLE_LENGTH"],
                                  required=True)
    _check_category(errors, draft.category)
    started, detected, resolved = _check_times(errors, warnings, draft, now=now)
    status = draft.status
    if status is None:
        status = IncidentStatus.RESOLVED if draft.resolved_at else IncidentStatus.OPEN
    if "resolved_at" not in errors:
        _check_status_agrees(errors, status, resolved=resolved)
    cause_category, cause, impact = _check_description(errors, draft)
    cohorts = _check_cohorts(errors, draft.cohorts, now=now)
    if errors:
        if list(errors) == ["reference"] and any("already used" in m for m in errors["reference"]):
            raise _duplicate(reference)
        raise ValidationError(errors)
    return replace(draft, reference=reference, title=title, status=status, started_at=started, detected_at=detected,
                   resolved_at=resolved, cohorts=cohorts, cause_category=cause_category, cause=cause,
                   impact=impact), warnings


def _check_reference(errors: Errors, reference: str, *, current: Incident | None) -> str:
    """Check the ITSM reference's format and that no other incident uses it; return it as stored."""
    reference = reference.strip().upper()
    if not reference:
        validation.add(errors, "reference", "Reference is required.")
        return reference
    config = current_app.config
    if not re.fullmatch(config["REFERENCE_PATTERN"], reference, re.ASCII):
        validation.add(errors, "reference", f"Reference must match the ITSM format: {config['REFERENCE_HINT']}.")
        return reference
    clash = db.session.scalar(sa.select(Incident.id).where(Incident.reference == reference))
    if clash is not None and (current is None or clash != current.id):
        validation.add(errors, "reference", f"{reference} is already used by another incident.")
    return reference


def _check_category(errors: Errors, category: int | None) -> None:
    """Check the category is given and is one of the configured ones."""
    if category is None:
        validation.add(errors, "category", "Category is required.")
    elif category not in current_app.config["INCIDENT_CATEGORIES"]:
        validation.add(errors, "category", category_message())


def _check_times(errors: Errors, warnings: list[str], draft: IncidentDraft,
                 *, now: datetime) -> tuple[datetime | None, datetime | None, datetime | None]:
    """Check start, detection and resolution times and their order; return them (None where unusable)."""
    if draft.started_at is None:
        validation.add(errors, "started_at", "Started at is required.")
    started = _check_time(errors, "started_at", draft.started_at, now=now, label="Start time")
    detected = _check_time(errors, "detected_at", draft.detected_at, now=now, label="Detection time")
    resolved = _check_time(errors, "resolved_at", draft.resolved_at, now=now, label="Resolution time")
    if started and resolved and resolved < started:
        validation.add(errors, "resolved_at", "Resolution time is before the start time; it must be after it.")
    if started and detected and detected < started:
        warnings.append("The detection time is before the start time. Check both; the incident was saved.")
    return started, detected, resolved


def _check_status_agrees(errors: Errors, status: IncidentStatus, *, resolved: datetime | None) -> None:
    """Check that an open incident has no resolution time and any other status has one."""
    if status == IncidentStatus.OPEN and resolved is not None:
        validation.add(errors, "status",
                       "An open incident has no resolution time: set status to resolved or clear the resolution time.")
    if status != IncidentStatus.OPEN and resolved is None:
        validation.add(errors, "resolved_at", f"A {status.value} incident needs its resolution time.")


def _check_description(errors: Errors, draft: IncidentDraft) -> tuple[str, str, str]:
    """Check the cause category, cause, impact and devices affected; return the first three as stored."""
    config = current_app.config
    cause_category = draft.cause_category or "unknown"
    if cause_category not in config["CAUSE_CATEGORIES"]:
        validation.add(errors, "cause_category",
                       "Cause category must be one of " + ", ".join(config["CAUSE_CATEGORIES"]) + ".")
    cause = validation.check_text(errors, "cause", draft.cause, limit=config["MAX_TEXT_LENGTH"])
    impact = validation.check_text(errors, "impact", draft.impact, limit=config["MAX_TEXT_LENGTH"])
    devices = draft.devices_affected
    if devices is not None and not 0 <= devices <= MAX_DEVICES:
        validation.add(errors, "devices_affected", "Devices or users affected must be a whole number of 0 or more.")
    return cause_category, cause, impact


def _check_cohorts(errors: Errors, cohorts: list[CohortDraft], *, now: datetime) -> list[CohortDraft]:
    """Check each cohort is configured, listed once, and restored after its impact started."""
    allowed = current_app.config["COHORTS"]
    clean: list[CohortDraft] = []
    seen: set[str] = set()
    for index, cohort in enumerate(cohorts):
        key, name = f"cohorts[{index}]", cohort.name
        if name not in allowed:
            validation.add(errors, f"{key}.name", "Cohort must be one of " + ", ".join(allowed) + ".")
            continue
        if name in seen:
            validation.add(errors, f"{key}.name", f"{name} is listed twice; list each cohort once.")
            continue
        seen.add(name)
        impact = _check_time(errors, f"{key}.impact_started_at", cohort.impact_started_at, now=now,
                             label=f"{name} impact start")
        restored = _check_time(errors, f"{key}.restored_at", cohort.restored_at, now=now,
                               label=f"{name} restoration")
        if cohort.impact_started_at is None:
            validation.add(errors, f"{key}.impact_started_at", f"{name} impact start is required.")
        if impact and restored and restored < impact:
            validation.add(errors, f"{key}.restored_at",
                           f"{name} restoration is before its impact started; it must be after it.")
        clean.append(CohortDraft(name, impact, restored))
    return clean


def clock_start(incident: Incident) -> datetime:
    """Return the instant the resolution clock starts for this incident."""
    if current_app.config["RESOLUTION_CLOCK_START"] == "detected" and incident.detected_at is not None:
        return incident.detected_at
    return incident.started_at


def refresh_target(incident: Incident) -> None:
    """Store when the incident's TRT runs out (after an edit, or after the TRT rules change)."""
    incident.target_deadline_at = rules_service.target_deadline(incident.category, clock_start(incident))


def set_category(incident: Incident, category: int) -> None:
    """Set the incident's category, and the copy its review keeps (in the same transaction)."""
    from incidents.review.models import Review

    if incident.id is not None and incident.category != category:
        db.session.execute(sa.update(Review).where(Review.incident_id == incident.id)
                           .values(incident_category=category))
    incident.category = category


def is_major_by_default(category: int) -> bool:
    """Tell whether an incident logged at this Category is declared a Major Incident unless the DCC decides."""
    return category in current_app.config["REVIEW_CATEGORIES"]


def _mark_major(incident: Incident, is_major: bool, *, now: datetime) -> None:
    """Set the declaration, its time, and the copy the incident's review keeps (in the same transaction)."""
    from incidents.review.models import Review

    if incident.is_major == is_major and (incident.major_declared_at is not None) == is_major:
        return
    incident.is_major = is_major
    incident.major_declared_at = now if is_major else None
    if incident.id is not None:
        db.session.execute(sa.update(Review).where(Review.incident_id == incident.id)
                           .values(incident_is_major=is_major))


def _follow_category(incident: Incident, *, now: datetime) -> None:
    """Declare or undeclare by the Category, while no decision of the DCC stands (it has given no reason)."""
    if not incident.major_reason:
        _mark_major(incident, is_major_by_default(incident.category), now=now)


def set_major(*, incident: Incident, is_major: bool, reason: str, actor: User, now: datetime | None = None,
              expected_version: int | None = None) -> Incident:
    """Declare the incident a Major Incident, or undeclare it, with the DCC's reason and its audit entry.

    The review, the Summary and Review Reports and their reminders follow the declaration; the PMR measures
    still count by Category.
    """
    from incidents.review.models import ReportState, Review

    if not permissions.can_declare_major(actor):
        raise PermissionDenied("Only the DCC declares or undeclares a Major Incident.")
    now = now or utcnow()
    if expected_version is not None and expected_version != incident.version:
        raise StaleError(f"{incident.reference} was changed by someone else since you opened it "
                         f"(now version {incident.version}). Reload it and decide again.", current=incident)
    errors: Errors = {}
    clean = validation.check_text(errors, "reason", reason, limit=current_app.config["MAX_TEXT_LENGTH"],
                                  required=True, label="Reason")
    if errors:
        raise ValidationError(errors, "Give the reason for the decision.")
    if incident.is_major == is_major:
        state = "already declared" if is_major else "not declared"
        raise ConflictError(f"{incident.reference} is {state} a Major Incident; nothing to change.")
    published = db.session.scalar(sa.select(Review.id).where(Review.incident_id == incident.id,
                                                             Review.report_state == ReportState.PUBLISHED))
    if not is_major and published is not None:
        raise ConflictError(f"The Review Report of {incident.reference} is published to SEC Parties; "
                            "a published Major Incident cannot be undeclared.")
    before = {"is_major": incident.is_major, "major_declared_at": incident.major_declared_at,
              "major_reason": incident.major_reason}
    _mark_major(incident, is_major, now=now)
    incident.major_reason = clean
    incident.updated_at = now
    try:
        db.session.flush()
    except StaleDataError:
        db.session.rollback()
        raise StaleError(f"{incident.reference} was changed by someone else while you saved. "
                         "Reload it and decide again.") from None
    after = {"is_major": incident.is_major, "major_declared_at": incident.major_declared_at,
             "major_reason": incident.major_reason}
    audit_service.record(actor=actor, action="update", entity_type="incident", entity_id=incident.id,
                         incident_id=incident.id, changes=audit_service.diff(before, after),
                         summary=("Declared a Major Incident" if is_major else "Undeclared as a Major Incident"),
                         now=now)
    reminder_service.plan_incident(incident, now=now)
    return incident


def _apply(incident: Incident, clean: IncidentDraft) -> None:
    """Write a checked record onto the incident, its cohorts included."""
    assert clean.category is not None and clean.started_at is not None and clean.status is not None
    set_category(incident, clean.category)
    incident.reference, incident.title = clean.reference, clean.title
    incident.status, incident.started_at = clean.status, clean.started_at
    incident.detected_at, incident.resolved_at = clean.detected_at, clean.resolved_at
    incident.cause_category, incident.cause, incident.impact = clean.cause_category, clean.cause, clean.impact
    incident.devices_affected, incident.dcc_responsible = clean.devices_affected, clean.dcc_responsible
    refresh_target(incident)
    existing = {c.name: c for c in incident.cohorts}
    wanted = {c.name for c in clean.cohorts}
    for name, row in list(existing.items()):
        if name not in wanted:
            incident.cohorts.remove(row)
    for cohort in clean.cohorts:
        assert cohort.impact_started_at is not None
        kept = existing.get(cohort.name)
        if kept is None:
            incident.cohorts.append(IncidentCohort(name=cohort.name, impact_started_at=cohort.impact_started_at,
                                                   restored_at=cohort.restored_at))
        else:
            kept.impact_started_at = cohort.impact_started_at
            kept.restored_at = cohort.restored_at
    incident.cohorts.sort(key=lambda c: c.name)


def _entry_snapshot(entry: TimelineEntry) -> dict[str, Any]:
    return {"occurred_at": entry.occurred_at, "kind": entry.kind, "cohort": entry.cohort, "text": entry.text}


def _check_entry(draft: TimelineEntryDraft, *, incident: Incident, now: datetime) -> _CheckedEntry:
    """Check a timeline entry's time, cohort and text; return its values as stored."""
    errors: Errors = {}
    if draft.occurred_at is None:
        validation.add(errors, "occurred_at", "Time is required.")
    occurred = _check_time(errors, "occurred_at", draft.occurred_at, now=now, label="Time")
    cohort = draft.cohort or None
    names = [c.name for c in incident.cohorts]
    if cohort is not None and cohort not in names:
        validation.add(errors, "cohort",
                       "Cohort must be one this incident affected: " + (", ".join(names) or "none recorded yet") + ".")
    text = validation.check_text(errors, "text", draft.text, limit=current_app.config["MAX_TEXT_LENGTH"],
                                 required=True, label="Text")
    if errors:
        raise ValidationError(errors)
    assert occurred is not None
    return _CheckedEntry(occurred_at=occurred, kind=draft.kind, cohort=cohort, text=text)
