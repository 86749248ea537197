"""Import from the ITSM: dry run and real run, idempotent, the tool's edits kept and reported, bad rows refused."""
from __future__ import annotations

import csv
import io
import json
import random
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from incidents.audit.models import AuditEntry
from incidents.extensions import db
from incidents.importer import service as import_service
from incidents.incident import service as incident_service
from incidents.incident.models import Incident, IncidentCohort, TimelineEntry

HEADER = ["record", "reference", "title", "category", "status", "started_at", "detected_at", "resolved_at",
          "cause_category", "cause", "impact", "devices_affected", "dcc_responsible", "cohort", "impact_started_at",
          "restored_at", "occurred_at", "kind", "text"]
START = datetime(2023, 4, 4, 5, 15, tzinfo=UTC)  # 06:15 BST


def ref(n: int) -> str:
    return f"INC{n:012d}"


def incident_rows(n: int, *, title: str | None = None, cause: str = "Carrier outage.",
                  start: datetime = START) -> list[dict[str, str]]:
    """One incident's rows: the incident, three cohorts, six timeline entries (times in UTC, Z)."""
    iso = lambda t: t.isoformat().replace("+00:00", "Z")
    rows = [{"record": "incident", "reference": ref(n), "title": title or f"Outage {n}", "category": "2",
             "started_at": iso(start), "detected_at": iso(start + timedelta(minutes=5)),
             "resolved_at": iso(start + timedelta(hours=3)), "cause_category": "third_party", "cause": cause,
             "impact": "Communications unavailable.", "devices_affected": "1000", "dcc_responsible": "true"}]
    for k, cohort in enumerate(("CSP C&S", "CSP N", "DSP")):
        rows.append({"record": "cohort", "reference": ref(n), "cohort": cohort, "impact_started_at": iso(start),
                     "restored_at": iso(start + timedelta(hours=1 + k))})
    for k in range(6):
        rows.append({"record": "timeline", "reference": ref(n), "occurred_at": iso(start + timedelta(minutes=20 * k)),
                     "kind": "update", "text": f"Update {k} on {ref(n)}."})
    return rows


def to_csv(rows: list[dict[str, str]], header: list[str] = HEADER) -> bytes:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def run(data: bytes, actor, *, dry_run: bool = False, name: str = "itsm.csv", mapping=None):
    rows, notes = import_service.read_file(data, name=name, mapping=mapping)
    report = import_service.run(rows, actor=actor, dry_run=dry_run, source=name, notes=notes)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    return report


def counts() -> tuple[int, int, int, int]:
    return tuple(db.session.scalar(sa.select(sa.func.count()).select_from(model)) or 0  # type: ignore[return-value]
                 for model in (Incident, IncidentCohort, TimelineEntry, AuditEntry))


def test_a_dry_run_says_what_the_real_run_then_does(app, users):
    data = to_csv(incident_rows(1) + incident_rows(2))
    before = counts()

    dry = run(data, users["dcc"], dry_run=True)

    assert counts() == before
    assert [(r.outcome, r.record) for r in dry.rows][:2] == [("created", "incident"), ("created", "cohort")]
    assert dry.count("created", "incident") == 2 and dry.count("added", "timeline") == 12

    real = run(data, users["dcc"])

    assert [(r.where, r.outcome) for r in real.rows] == [(r.where, r.outcome) for r in dry.rows]
    incidents, cohorts, entries, _ = counts()
    assert (incidents, cohorts, entries) == (2, 6, 12)
    trail = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "import")).all()
    assert {entry.entity_type for entry in trail} == {"incident", "import"}
    assert any("Import of itsm.csv" in entry.summary for entry in trail)


def test_running_it_twice_changes_nothing(app, users):
    data = to_csv(incident_rows(1) + incident_rows(2))
    run(data, users["dcc"])
    versions = dict(db.session.execute(sa.select(Incident.reference, Incident.version)).all())
    before = counts()

    again = run(data, users["dcc"])

    assert {r.outcome for r in again.rows} == {"unchanged"}
    assert dict(db.session.execute(sa.select(Incident.reference, Incident.version)).all()) == versions
    # Only the run's own audit entry is new: no incident, cohort or timeline entry changed.
    assert counts()[:3] == before[:3] and counts()[3] == before[3] + 1


def test_a_field_edited_in_the_tool_is_kept_and_reported(app, users):
    dcc = users["dcc"]
    run(to_csv(incident_rows(1)), dcc)
    incident = db.session.scalar(sa.select(Incident).where(Incident.reference == ref(1)))
    incident_service.update_incident(incident=incident, changes=incident_service.IncidentChanges(
        title="Outage 1 (title agreed with SECAS)"), actor=dcc, expected_version=incident.version)
    db.session.commit()

    report = run(to_csv(incident_rows(1, title="Outage one, ITSM wording", cause="Carrier core router failed.")), dcc)

    head = report.rows[0]
    assert head.outcome == "changed"
    assert any(reason.startswith("title kept: edited in the tool since the last import") for reason in head.reasons)
    db.session.expire_all()
    incident = db.session.scalar(sa.select(Incident).where(Incident.reference == ref(1)))
    assert incident.title == "Outage 1 (title agreed with SECAS)"
    assert incident.cause == "Carrier core router failed."


def test_an_incident_logged_in_the_tool_is_not_overwritten(app, users):
    dcc = users["dcc"]
    run(to_csv(incident_rows(1)), dcc)
    db.session.execute(sa.text("DELETE FROM import_record"))
    db.session.commit()

    report = run(to_csv(incident_rows(1, title="Different")), dcc)

    assert report.rows[0].outcome == "unchanged"
    assert "logged in the tool, not imported" in report.rows[0].reasons[0]


def test_malformed_duplicated_out_of_order_and_other_zone_rows(app, users):
    rows = incident_rows(1) + incident_rows(2)
    rows[0]["category"] = "one"  # incident 1: malformed
    rows[11]["started_at"] = "2023-04-04T07:15:00+02:00"  # incident 2 given in Central European Summer Time
    bad_time = dict(rows[15], occurred_at="04/04/23 10:40", text="Bad time.")
    future = dict(rows[15], occurred_at="2999-01-01T00:00Z", text="In the future.")
    ambiguous = dict(rows[15], occurred_at="2023-10-29 01:30", text="Twice that night.")
    data_rows = list(reversed(rows[10:])) + [rows[12], rows[15], bad_time, future, ambiguous] + rows[:10]
    data = to_csv(data_rows) + b"timeline,INC000000000002,only,three\n"

    report = run(data, users["dcc"])

    by_line = {r.where: r for r in report.rows}
    first = by_line["line 17"]  # incident 1's row, after incident 2's rows
    assert first.outcome == "refused" and first.reasons == ["category: give a whole number"]
    assert {r.outcome for r in report.rows if r.reference == ref(1) and r.where != "line 17"} == {"refused"}
    incident = db.session.scalar(sa.select(Incident).where(Incident.reference == ref(2)))
    assert incident.started_at == START  # 07:15 CEST is 05:15 UTC, 06:15 BST
    assert len(incident.timeline) == 6  # the reversed rows, entered in time order
    assert [e.text for e in incident.timeline] == [f"Update {k} on {ref(2)}." for k in range(6)]
    outcomes = [r.outcome for r in report.rows[10:]]
    assert outcomes[:2] == ["duplicate", "duplicate"]  # a cohort row and a timeline row given twice
    assert "Write the year in full" in by_line["line 14"].reasons[0]
    assert by_line["line 15"].outcome == "refused" and "occurred_at" in by_line["line 15"].reasons[0]
    assert "happens twice" in by_line["line 16"].reasons[0]
    assert report.rows[-1].outcome == "refused" and report.rows[-1].reasons[0].startswith("Malformed")


def test_json_with_a_mapping_for_another_export(app, users):
    mapping = import_service.read_mapping(json.dumps({"Number": "reference", "Short description": "title",
                                                      "Priority": "category", "Opened": "started_at"}))
    document = {"incidents": [{"Number": ref(7), "Short description": "Gateway outage", "Priority": 1,
                               "Opened": "2023-04-04 06:15", "resolved_at": "2023-04-04 09:00 BST",
                               "cohorts": [{"name": "DSP", "impact_started_at": "2023-04-04T05:15Z"}],
                               "timeline": [{"occurred_at": "2023-04-04T05:30Z", "kind": "detected",
                                             "text": "Alarm.", "cohort": "DSP"}],
                               "Assignment group": "Ops"}]}

    report = run(json.dumps(document).encode(), users["dcc"], name="export.json", mapping=mapping)

    assert [r.outcome for r in report.rows] == ["created", "created", "added"]
    incident = db.session.scalar(sa.select(Incident).where(Incident.reference == ref(7)))
    assert incident.started_at == START and incident.category == 1
    assert [c.name for c in incident.cohorts] == ["DSP"]


def test_a_file_that_cannot_be_read_is_refused_whole(app, users):
    for data, name, message in [(b"\xff\xfe", "x.csv", "not UTF-8"), (b"{", "x.json", "not valid JSON"),
                                (b"title\nx\n", "x.csv", "no reference column"), (b"", "x.csv", "no header")]:
        try:
            import_service.read_file(data, name=name)
        except import_service.ValidationError as exc:
            assert message in exc.errors["file"][0]
        else:
            raise AssertionError(name)


def test_ten_thousand_rows_shuffled_with_bad_duplicated_and_other_zone_rows(app, users):
    shuffle = random.Random(1905)
    rows: list[dict[str, str]] = []
    for n in range(1, 1001):
        rows += incident_rows(n, start=START + timedelta(hours=n))
    for k in range(0, 10_000, 500):
        rows[k + 4] = dict(rows[k + 4], occurred_at="not a time")  # malformed timeline rows
    for k in range(10, 10_000, 1000):
        rows[k] = dict(rows[k], started_at=rows[k]["started_at"].replace("Z", "+00:00"))  # same instant, +00:00
    duplicates = [dict(rows[k]) for k in range(7, 10_000, 1000)]
    shuffle.shuffle(rows)
    data = to_csv(rows + duplicates)
    assert data.count(b"\n") == 10_011

    report = run(data, users["dcc"])

    assert report.count("created", "incident") == 1000
    assert report.count("refused") == 20 and report.count("duplicate") == 10
    assert db.session.scalar(sa.select(sa.func.count()).select_from(TimelineEntry)) == 6000 - 20
    assert {r.outcome for r in run(data, users["dcc"]).rows} <= {"unchanged", "refused", "duplicate"}


def test_a_spreadsheet_with_uk_dates_is_read_day_first_like_the_forms(app, users):
    # A spreadsheet saved in a UK locale writes 04/04/2023 10:40; the importer reads it as the forms do.
    assert import_service.parse_time("04/04/2023 06:15") == START
    assert import_service.parse_time("4 Apr 2023 6:15") == START
    assert import_service.parse_time("2023-04-04T06:15") == START
    assert import_service.parse_time("2023-04-04T07:15:00+02:00") == START
    for month_first in ("04/30/2023 06:15", "4/4/23 06:15"):
        with pytest.raises(ValueError) as refused:
            import_service.parse_time(month_first)
        assert "e.g. 30/11/2026 09:12" in str(refused.value) and "ISO 8601 with its offset" in str(refused.value)
