"""Import incidents, their cohorts and timelines from an ITSM export (CSV or JSON), through the incident service.

Every row goes through ``incident_service`` exactly as a form's input does
(typed drafts; the service checks every rule), each incident in a savepoint
of its own, so one refused incident never stops the rest. A dry run does the
same work and rolls it all back: what it reports is what the real run would
do. An incident is found by its reference, so a second run of the same file
changes nothing. The values an import leaves an incident with are kept
(``ImportRecord``): a field whose value in the tool differs from them was
edited in the tool since, and the import keeps the tool's value and says so.
"""
from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from incidents import permissions
from incidents.audit import service as audit_service
from incidents.errors import PermissionDenied, ServiceError, ValidationError
from incidents.extensions import db
from incidents.importer.models import ImportRecord
from incidents.incident import service as incident_service
from incidents.incident.models import (
    Incident,
    IncidentStatus,
    TimelineEntry,
    TimelineKind,
)
from incidents.timeutil import UTC, parse_local, utcnow
from incidents.user.models import User

INCIDENT_COLUMNS = ("reference", "title", "category", "status", "started_at", "detected_at", "resolved_at",
                    "cause_category", "cause", "impact", "devices_affected", "dcc_responsible")
COHORT_COLUMNS = ("cohort", "impact_started_at", "restored_at")
TIMELINE_COLUMNS = ("occurred_at", "kind", "cohort", "text")
COLUMNS = ("record", *INCIDENT_COLUMNS, "impact_started_at", "restored_at", "occurred_at", "kind", "cohort", "text")
RECORDS = ("incident", "cohort", "timeline")
TIME_COLUMNS = ("started_at", "detected_at", "resolved_at", "impact_started_at", "restored_at", "occurred_at")
MAX_ROWS = 100_000
MAX_BYTES = 50 * 1024 * 1024
TRUE, FALSE = {"true", "yes", "y", "1"}, {"false", "no", "n", "0"}


@dataclass
class SourceRow:
    """One row of the file: where it is (line or item), what it records, its values by our column names."""

    where: str
    record: str
    values: dict[str, Any]


@dataclass
class RowOutcome:
    """What happened (or, in a dry run, would happen) to one row, and why."""

    where: str
    reference: str
    record: str
    outcome: str  # created, changed, unchanged, added, refused, duplicate
    reasons: list[str] = field(default_factory=list)


@dataclass
class ImportReport:
    """Every row's outcome, and the totals."""

    dry_run: bool
    rows: list[RowOutcome] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def count(self, outcome: str, record: str | None = None) -> int:
        """Count rows with this outcome (of this record kind)."""
        return sum(1 for r in self.rows if r.outcome == outcome and (record is None or r.record == record))

    def summary(self) -> str:
        """Say what the run did (or would do) in one line."""
        verb = "would be" if self.dry_run else "were"
        return (f"{len(self.rows)} rows: incidents {self.count('created', 'incident')} created, "
                f"{self.count('changed', 'incident')} changed, {self.count('unchanged', 'incident')} unchanged; "
                f"timeline entries {self.count('added', 'timeline')} added; {self.count('refused')} refused, "
                f"{self.count('duplicate')} duplicates ignored ({verb}); "
                f"{sum(1 for r in self.rows if any('kept' in x for x in r.reasons))} with fields kept as edited "
                "in the tool.")


def file_error(message: str) -> ValidationError:
    """Return the error for a file that cannot be read at all."""
    return ValidationError({"file": [message]}, "The file cannot be imported.")


# --- Reading the file ----------------------------------------------------------------------------------

def read_mapping(text: str) -> dict[str, str]:
    """Read a mapping file: a JSON object from the export's column names to ours."""
    try:
        mapping = json.loads(text)
    except ValueError as exc:
        raise ValidationError({"mapping": [f"The mapping is not JSON ({exc})."]}) from None
    if not isinstance(mapping, dict) or not all(isinstance(k, str) and isinstance(v, str)
                                                 for k, v in mapping.items()):
        raise ValidationError({"mapping": ['Give a JSON object of "their column": "our column" pairs.']})
    unknown = sorted(v for v in mapping.values() if v not in COLUMNS)
    if unknown:
        message = f"Unknown target column {', '.join(unknown)}; use {', '.join(COLUMNS)}."
        raise ValidationError({"mapping": [message]})
    return mapping


def read_file(data: bytes, *, name: str, mapping: dict[str, str] | None = None) -> tuple[list[SourceRow], list[str]]:
    """Read CSV or JSON (by its name, else its first character) into rows under our column names, with notes."""
    if len(data) > MAX_BYTES:
        raise file_error(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise file_error("The file is not UTF-8 text; export it as UTF-8.") from None
    if "\x00" in text:
        raise file_error("The file contains a null character; it is not a text export.")
    mapping = mapping or {}
    is_json = name.lower().endswith(".json") or (not name.lower().endswith(".csv") and text.lstrip()[:1] in "[{")
    rows, notes = (_read_json(text, mapping) if is_json else _read_csv(text, mapping))
    if not rows:
        raise file_error("The file holds no rows.")
    if len(rows) > MAX_ROWS:
        raise file_error(f"The file holds {len(rows)} rows; import at most {MAX_ROWS} at once.")
    return rows, notes


def _rename(keys: Iterable[str], mapping: dict[str, str]) -> tuple[dict[str, str], list[str]]:
    renamed, ignored = {}, []
    for key in keys:
        ours = mapping.get(key, key.strip())
        if ours in COLUMNS:
            renamed[key] = ours
        else:
            ignored.append(key)
    return renamed, ignored


def _read_csv(text: str, mapping: dict[str, str]) -> tuple[list[SourceRow], list[str]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except (StopIteration, csv.Error):
        raise file_error("The CSV file has no header row.") from None
    renamed, ignored = _rename(header, mapping)
    if "reference" not in renamed.values():
        raise file_error("The CSV file has no reference column; name it reference or map it in a mapping file.")
    notes = [f"Columns ignored (not in the documented set, nor mapped): {', '.join(ignored)}."] if ignored else []
    rows = []
    try:
        for values in reader:
            line = reader.line_num
            if not any(v.strip() for v in values):
                continue
            if len(values) != len(header):
                rows.append(SourceRow(f"line {line}", "malformed",
                                      {"error": f"has {len(values)} fields; the header has {len(header)}"}))
                continue
            mapped = {renamed[k]: v for k, v in zip(header, values) if k in renamed}
            rows.append(SourceRow(f"line {line}", (mapped.pop("record", "") or "incident").strip().lower(), mapped))
    except csv.Error as exc:
        raise file_error(f"The CSV file is malformed near line {reader.line_num}: {exc}.") from None
    return rows, notes


def _read_json(text: str, mapping: dict[str, str]) -> tuple[list[SourceRow], list[str]]:
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise file_error(f"The file is not valid JSON ({exc}).") from None
    items = document.get("incidents") if isinstance(document, dict) else document
    if not isinstance(items, list):
        raise file_error('Give a JSON list of incidents, or an object {"incidents": [...]}.')
    rows: list[SourceRow] = []
    for number, item in enumerate(items, 1):
        where = f"incident {number}"
        if not isinstance(item, dict):
            rows.append(SourceRow(where, "malformed", {"error": "is not a JSON object"}))
            continue
        renamed, _ = _rename(item.keys(), mapping)
        values = {renamed[k]: v for k, v in item.items() if k in renamed}
        rows.append(SourceRow(where, "incident", {k: v for k, v in values.items() if k in INCIDENT_COLUMNS}))
        for key, record, columns in (("cohorts", "cohort", COHORT_COLUMNS), ("timeline", "timeline",
                                                                             TIMELINE_COLUMNS)):
            nested = item.get(key) or []
            if not isinstance(nested, list):
                rows.append(SourceRow(f"{where} {key}", "malformed", {"error": "is not a JSON list"}))
                continue
            for index, sub in enumerate(nested, 1):
                if not isinstance(sub, dict):
                    rows.append(SourceRow(f"{where} {record} {index}", "malformed", {"error": "is not an object"}))
                    continue
                sub_renamed, _ = _rename(sub.keys(), {**mapping, "name": "cohort"})
                sub_values = {sub_renamed[k]: v for k, v in sub.items() if k in sub_renamed}
                sub_values["reference"] = values.get("reference", "")
                rows.append(SourceRow(f"{where} {record} {index}", record,
                                      {k: v for k, v in sub_values.items() if k in (*columns, "reference")}))
    return rows, []


# --- Converting values (types only; every rule is the incident service's) -------------------------------

def parse_time(value: Any) -> datetime | None:
    """Read a time: ISO 8601 with an offset or Z (any zone, converted to UTC), or UK local time without one."""
    text = str(value).strip() if value is not None else ""
    if not text:
        return None
    try:
        parsed = datetime.fromisoformat(text.replace(" Z", "Z"))
    except ValueError:
        parsed = None
    if parsed is not None and parsed.tzinfo is not None:
        return parsed.astimezone(UTC)
    try:
        return parse_local(text.replace("T", " ", 1) if parsed is not None else text)
    except ValueError as exc:
        raise ValueError(f"{exc} Or give ISO 8601 with its offset, e.g. 2023-04-04T10:40+01:00.") from None


def _text(values: dict[str, Any], name: str) -> str:
    value = values.get(name)
    return "" if value is None else str(value).strip()


def _convert(values: dict[str, Any], names: Iterable[str]) -> tuple[dict[str, Any], list[str]]:
    """Convert the columns present to the service's types; return them and what could not be read."""
    out: dict[str, Any] = {}
    problems: list[str] = []
    for name in names:
        if name not in values:
            continue
        raw = values[name]
        text = _text(values, name)
        try:
            if name in TIME_COLUMNS:
                out[name] = parse_time(raw)
            elif name in ("category", "devices_affected"):
                if isinstance(raw, bool) or (text and not text.lstrip("-").isdigit()):
                    raise ValueError("give a whole number")
                out[name] = int(text) if text else None
            elif name == "dcc_responsible":
                if isinstance(raw, bool):
                    out[name] = raw
                elif text.lower() in TRUE | FALSE:
                    out[name] = text.lower() in TRUE
                else:
                    raise ValueError("give true or false")
            elif name == "status":
                out[name] = IncidentStatus(text.lower()) if text else None
            elif name == "kind":
                out[name] = TimelineKind(text.lower())
            else:
                out[name] = text
        except ValueError as exc:
            message = str(exc)
            if name == "status":
                message = "use " + ", ".join(s.value for s in IncidentStatus)
            elif name == "kind":
                message = "use " + ", ".join(k.value for k in TimelineKind)
            problems.append(f"{name}: {message}")
    return out, problems


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat()
    return audit_service.plain(value)


def _cohorts_plain(cohorts: Iterable[Any]) -> list[list[Any]]:
    return sorted([c.name, _plain(c.impact_started_at), _plain(c.restored_at)] for c in cohorts)


def _current(incident: Incident) -> dict[str, Any]:
    values = {name: _plain(getattr(incident, name)) for name in INCIDENT_COLUMNS}
    values["cohorts"] = _cohorts_plain(incident.cohorts)
    return values


# --- Running it -----------------------------------------------------------------------------------------

def run(rows: list[SourceRow], *, actor: User, dry_run: bool, source: str, notes: list[str] | None = None,
        now: datetime | None = None) -> ImportReport:
    """Import the rows (or, in a dry run, find out what importing them would do); the caller commits or not."""
    if not permissions.can_edit_incidents(actor):
        raise PermissionDenied("Only the DCC and administrators can import incidents.")
    now = now or utcnow()
    report = ImportReport(dry_run=dry_run, notes=list(notes or []))
    outcomes: dict[int, RowOutcome] = {}
    groups: dict[str, list[tuple[int, SourceRow]]] = {}
    for index, row in enumerate(rows):
        reference = _text(row.values, "reference").upper()
        if row.record == "malformed":
            outcomes[index] = RowOutcome(row.where, reference, "row", "refused", [f"Malformed: {row.values['error']}."])
        elif row.record not in RECORDS:
            outcomes[index] = RowOutcome(row.where, reference, row.record, "refused",
                                         [f"Unknown record {row.record!r}; use {', '.join(RECORDS)}."])
        elif not reference:
            outcomes[index] = RowOutcome(row.where, "", row.record, "refused", ["No reference."])
        else:
            groups.setdefault(reference, []).append((index, row))
    outer = db.session.begin_nested()
    changed: list[str] = []
    for reference, members in groups.items():
        for index, outcome in _import_incident(reference, members, actor=actor, now=now).items():
            outcomes[index] = outcome
        if any(o.outcome in ("created", "changed", "added") for i, _ in members if (o := outcomes[i])):
            changed.append(reference)
    report.rows = [outcomes[i] for i in range(len(rows))]
    if dry_run:
        outer.rollback()
        return report
    outer.commit()
    audit_service.record(actor=actor, action="import", entity_type="import", entity_id=None, changes={
        "source": [None, source], "incidents": [None, changed]}, summary=f"Import of {source}: {report.summary()}",
        now=now)
    return report


def _import_incident(reference: str, members: list[tuple[int, SourceRow]], *, actor: User,
                     now: datetime) -> dict[int, RowOutcome]:
    """Import one incident's rows in a savepoint of their own; return each row's outcome."""
    outcomes: dict[int, RowOutcome] = {}
    incident_rows = [(i, r) for i, r in members if r.record == "incident"]
    if not incident_rows:
        return {i: RowOutcome(r.where, reference, r.record, "refused",
                              [f"No incident row for {reference} in the file."]) for i, r in members}
    first_index, first = incident_rows[0]
    values, problems = _convert(first.values, INCIDENT_COLUMNS)
    for index, row in incident_rows[1:]:
        again, _ = _convert(row.values, INCIDENT_COLUMNS)
        if again == values:
            outcomes[index] = RowOutcome(row.where, reference, "incident", "duplicate", [f"Same as {first.where}."])
        else:
            outcomes[index] = RowOutcome(row.where, reference, "incident", "refused",
                                         [f"{reference} is already given by {first.where} with other values."])
    cohorts: dict[str, tuple[str, incident_service.CohortDraft]] = {}
    cohort_indexes = []
    for index, row in members:
        if row.record != "cohort":
            continue
        converted, cohort_problems = _convert(row.values, COHORT_COLUMNS)
        draft = incident_service.CohortDraft(converted.get("cohort") or "", converted.get("impact_started_at"),
                                             converted.get("restored_at"))
        seen = cohorts.get(draft.name)
        if cohort_problems:
            outcomes[index] = RowOutcome(row.where, reference, "cohort", "refused", cohort_problems)
        elif seen is not None:
            same = seen[1] == draft
            outcomes[index] = RowOutcome(row.where, reference, "cohort", "duplicate" if same else "refused",
                                         [f"Same as {seen[0]}." if same else
                                          f"Cohort {draft.name} is already given by {seen[0]} with other times."])
        else:
            cohorts[draft.name] = (row.where, draft)
            cohort_indexes.append(index)
    if problems:
        refused = {first_index: RowOutcome(first.where, reference, "incident", "refused", problems)}
        for index in cohort_indexes:
            refused[index] = RowOutcome(members_where(members, index), reference, "cohort", "refused",
                                        ["Its incident was refused."])
        for index, row in members:
            if row.record == "timeline":
                refused[index] = RowOutcome(row.where, reference, "timeline", "refused", ["Its incident was refused."])
        return {**outcomes, **refused}
    if cohort_indexes or "cohorts" in values:
        values["cohorts"] = [draft for _, draft in cohorts.values()]
    savepoint = db.session.begin_nested()
    try:
        head = _write_incident(reference, values, actor=actor, now=now)
    except ServiceError as exc:
        savepoint.rollback()
        reasons = [f"{name}: {'; '.join(messages)}" for name, messages in exc.errors.items()] or [exc.detail]
        outcomes[first_index] = RowOutcome(first.where, reference, "incident", "refused", reasons)
        for index, row in members:
            if index not in outcomes:
                outcomes[index] = RowOutcome(row.where, reference, row.record, "refused", ["Its incident was refused."])
        return outcomes
    incident, outcome, reasons = head
    outcomes[first_index] = RowOutcome(first.where, reference, "incident", outcome, reasons)
    for index in cohort_indexes:
        outcomes[index] = RowOutcome(members_where(members, index), reference, "cohort", outcome,
                                     ["With its incident."])
    _write_timeline(incident, [(i, r) for i, r in members if r.record == "timeline"], outcomes, actor=actor, now=now)
    savepoint.commit()
    return outcomes


def members_where(members: list[tuple[int, SourceRow]], index: int) -> str:
    """Return where a member row is in the file."""
    return next(row.where for i, row in members if i == index)


def _write_incident(reference: str, values: dict[str, Any], *, actor: User,
                    now: datetime) -> tuple[Incident, str, list[str]]:
    """Create the incident, or change what the ITSM changed and the tool did not; say what and why."""
    incident = db.session.scalar(sa.select(Incident).where(Incident.reference == reference))
    if incident is None:
        draft = incident_service.IncidentDraft(
            reference=reference, title=values.get("title") or "", category=values.get("category"),
            started_at=values.get("started_at"), status=values.get("status"), detected_at=values.get("detected_at"),
            resolved_at=values.get("resolved_at"), cohorts=values.get("cohorts", []),
            cause_category=values.get("cause_category") or "unknown", cause=values.get("cause") or "",
            impact=values.get("impact") or "", devices_affected=values.get("devices_affected"),
            dcc_responsible=values.get("dcc_responsible", True))
        outcome = incident_service.create_incident(draft=draft, actor=actor, now=now)
        incident = outcome.incident
        _remember(incident, actor=actor, now=now)
        audit_service.record(actor=actor, action="import", entity_type="incident", entity_id=incident.id,
                             incident_id=incident.id, changes={}, summary=f"Imported {reference} (created)", now=now)
        return incident, "created", [f"Warning: {w}" for w in outcome.warnings]
    record = db.session.scalar(sa.select(ImportRecord).where(ImportRecord.incident_id == incident.id))
    base = record.values if record is not None else None
    tool = _current(incident)
    changes: dict[str, Any] = {}
    reasons: list[str] = []
    for name, value in values.items():
        if name == "reference":
            continue  # found by it
        theirs = _cohorts_plain(value) if name == "cohorts" else _plain(value)
        if name == "cohorts" and not value:
            continue  # no cohort rows: the import says nothing about cohorts
        if theirs == tool[name] or (name == "cause_category" and not value and tool[name] == "unknown"):
            continue
        if base is None:
            reasons.append(f"{name} kept: {reference} was logged in the tool, not imported (tool {tool[name]!r}, "
                           f"import {theirs!r}).")
        elif base.get(name) != tool[name]:
            reasons.append(f"{name} kept: edited in the tool since the last import (tool {tool[name]!r}, "
                           f"import {theirs!r}).")
        else:
            changes[name] = value
    if not changes:
        return incident, "unchanged", reasons
    before = incident.version
    incident_service.update_incident(incident=incident, changes=incident_service.IncidentChanges(**changes),
                                     actor=actor, expected_version=incident.version, now=now)
    if incident.version == before:
        return incident, "unchanged", reasons
    _remember(incident, actor=actor, now=now, record=record)
    audit_service.record(actor=actor, action="import", entity_type="incident", entity_id=incident.id,
                         incident_id=incident.id, changes={}, now=now,
                         summary=f"Imported {reference} (changed {', '.join(sorted(changes))})")
    return incident, "changed", [f"Changed {', '.join(sorted(changes))}.", *reasons]


def _remember(incident: Incident, *, actor: User, now: datetime, record: ImportRecord | None = None) -> None:
    """Keep the values this import left the incident with."""
    if record is None:
        record = ImportRecord(incident_id=incident.id)
        db.session.add(record)
    record.values = _current(incident)
    record.imported_at = now
    record.imported_by_name = actor.email


def _write_timeline(incident: Incident, rows: list[tuple[int, SourceRow]], outcomes: dict[int, RowOutcome], *,
                    actor: User, now: datetime) -> None:
    """Add each timeline row not already on the incident (in time order), refusing a bad one alone."""
    reference = incident.reference
    existing = {(e.occurred_at.astimezone(UTC), e.kind, e.cohort or None, e.text.strip())
                for e in db.session.scalars(sa.select(TimelineEntry).where(TimelineEntry.incident_id == incident.id))}
    seen: dict[tuple[Any, ...], str] = {}
    ready = []
    for index, row in rows:
        values, problems = _convert(row.values, TIMELINE_COLUMNS)
        if "kind" not in values and not problems:
            problems.append("kind: use " + ", ".join(k.value for k in TimelineKind))
        if problems:
            outcomes[index] = RowOutcome(row.where, reference, "timeline", "refused", problems)
            continue
        occurred = values.get("occurred_at")
        key = (occurred, values["kind"], values.get("cohort") or None, values.get("text", ""))
        if key in seen:
            outcomes[index] = RowOutcome(row.where, reference, "timeline", "duplicate", [f"Same as {seen[key]}."])
            continue
        seen[key] = row.where
        if key in existing:
            outcomes[index] = RowOutcome(row.where, reference, "timeline", "unchanged", ["Already on the timeline."])
            continue
        ready.append((index, row, values))
    # Rows may come in any order; the timeline is entered in time order, as people would have.
    ready.sort(key=lambda item: (item[2].get("occurred_at") or datetime.max.replace(tzinfo=UTC), item[0]))
    for index, row, values in ready:
        draft = incident_service.TimelineEntryDraft(occurred_at=values.get("occurred_at"), kind=values["kind"],
                                                    text=values.get("text", ""), cohort=values.get("cohort") or None)
        # No savepoint of its own: the service checks the entry before it writes anything, so a refused row has
        # left nothing to undo (a savepoint a row was a third of the import's time).
        try:
            # The service's own flush writes the entry (and the previous entry's audit row) in one go; its
            # look-up of a double submission needs no flush before it (the audit trail is not what it reads).
            with db.session.no_autoflush:
                incident_service.add_timeline_entry(incident=incident, draft=draft, actor=actor, now=now)
        except ServiceError as exc:
            reasons = [f"{name}: {'; '.join(messages)}" for name, messages in exc.errors.items()] or [exc.detail]
            outcomes[index] = RowOutcome(row.where, reference, "timeline", "refused", reasons)
            continue
        outcomes[index] = RowOutcome(row.where, reference, "timeline", "added")
