"""Incident service: rules on fields, derived values, audit and stale edits."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from incidents.audit import service as audit_service
from incidents.errors import PermissionDenied, StaleError, ValidationError
from incidents.extensions import db
from incidents.incident import service as incident_service
from incidents.incident.models import IncidentStatus
from incidents.incident.service import CohortDraft, IncidentChanges
from tests import factories


def test_real_case_derived_values(app, users, now):
    incident = factories.incident(actor=users["dcc"], now=now)
    derived = incident_service.derive(incident)
    assert derived.duration_minutes == 265
    assert derived.target_resolution_minutes == 240
    assert derived.within_target_resolution_time is False
    assert derived.pmr_month == "2023-04"
    # Resolved Tue 4 Apr 2023; Good Friday 7 Apr and Easter Monday 10 Apr are not Working Days.
    assert derived.summary_report_due_on == date(2023, 4, 6)
    # 20 Working Days skips Easter and the Early May bank holiday (1 May).
    assert derived.review_report_due_on == date(2023, 5, 5)
    longest = derived.longest_restoration
    assert longest.cohort == "CSP N"
    assert longest.next_cohort == "DSP"
    assert longest.difference_minutes == 85
    assert longest.restored_after_others_minutes == 85
    assert "1 h 25 min" in longest.describe()


def test_duration_across_clock_change(app, users, now):
    # Clocks went forward at 01:00 GMT on 26 March 2023: 00:30 GMT to 03:30 BST is 2 hours.
    start = datetime(2023, 3, 26, 0, 30, tzinfo=UTC)
    end = datetime(2023, 3, 26, 2, 30, tzinfo=UTC)
    incident = factories.incident(actor=users["dcc"], now=now, started_at=start, detected_at=start,
                                  resolved_at=end, cohorts=[])
    assert incident_service.derive(incident).duration_minutes == 120


def test_resolved_before_start_is_rejected(app, users, now):
    draft = factories.incident_draft(resolved_at=datetime(2023, 4, 3, tzinfo=UTC))
    with pytest.raises(ValidationError) as info:
        incident_service.create_incident(draft=draft, actor=users["dcc"], now=now)
    assert "resolved_at" in info.value.errors


def test_detection_before_start_warns_but_saves(app, users, now):
    start = factories.incident_data()["started_at"]
    draft = factories.incident_draft(started_at=start, detected_at=start - timedelta(minutes=5))
    outcome = incident_service.create_incident(draft=draft, actor=users["dcc"], now=now)
    assert outcome.incident.id is not None
    assert outcome.warnings and "detection time is before the start" in outcome.warnings[0]


def test_future_times_and_bad_cohorts_rejected(app, users, now):
    draft = factories.incident_draft(started_at=now + timedelta(days=1), resolved_at=None, status="open",
                                     cohorts=[{"name": "CSP N", "impact_started_at": now - timedelta(hours=1),
                                               "restored_at": now - timedelta(hours=2)},
                                              {"name": "Nowhere", "impact_started_at": now}])
    with pytest.raises(ValidationError) as info:
        incident_service.create_incident(draft=draft, actor=users["dcc"], now=now)
    errors = info.value.errors
    assert "started_at" in errors
    assert "cohorts[0].restored_at" in errors
    assert "cohorts[1].name" in errors


def test_reference_format_and_uniqueness(app, users, now):
    first = factories.incident(actor=users["dcc"], now=now)
    with pytest.raises(ValidationError) as info:
        incident_service.create_incident(draft=factories.incident_draft(reference="INC123"), actor=users["dcc"],
                                         now=now)
    assert "INC followed by 12 digits" in info.value.errors["reference"][0]
    with pytest.raises(ValidationError) as info:
        incident_service.create_incident(draft=factories.incident_draft(reference=first.reference),
                                         actor=users["dcc"], now=now)
    assert "already used" in info.value.errors["reference"][0]


def test_readers_cannot_create(app, users, now):
    for role in ("secas", "opsg", "party"):
        with pytest.raises(PermissionDenied):
            incident_service.create_incident(draft=factories.incident_draft(), actor=users[role], now=now)


def test_update_records_audit_field_by_field_and_refuses_stale(app, users, now):
    incident = factories.incident(actor=users["dcc"], now=now)
    db.session.commit()
    version = incident.version
    incident_service.update_incident(incident=incident, changes=incident_service.IncidentChanges(title="Carrier outage (national)"),
                                     actor=users["admin"], expected_version=version, now=now)
    db.session.commit()
    entries = audit_service.entries_for_incident(incident.id)
    assert [e.action for e in entries] == ["create", "update"]
    assert entries[1].changes == {"title": ["National telecoms carrier outage", "Carrier outage (national)"]}
    assert entries[1].actor_name == users["admin"].email
    with pytest.raises(StaleError):
        incident_service.update_incident(incident=incident, changes=IncidentChanges(title="x"), actor=users["dcc"],
                                         expected_version=version, now=now)


def test_setting_resolution_resolves_and_clearing_reopens(app, users, now):
    incident = factories.incident(actor=users["dcc"], now=now, resolved_at=None, status=None)
    assert incident.status == IncidentStatus.OPEN
    resolved = incident.started_at + timedelta(hours=1)
    incident_service.update_incident(incident=incident, changes=IncidentChanges(resolved_at=resolved),
                                     actor=users["dcc"], expected_version=incident.version, now=now)
    assert incident.status == IncidentStatus.RESOLVED
    incident_service.update_incident(incident=incident, changes=IncidentChanges(resolved_at=None),
                                     actor=users["dcc"], expected_version=incident.version, now=now)
    assert (incident.status, incident.resolved_at) == (IncidentStatus.OPEN, None)
    with pytest.raises(ValidationError) as info:
        incident_service.update_incident(incident=incident, changes=IncidentChanges(status=IncidentStatus.CLOSED),
                                         actor=users["dcc"], expected_version=incident.version, now=now)
    assert info.value.errors == {"resolved_at": ["A closed incident needs its resolution time."]}


def test_changes_left_keep_stay_as_they_are(app, users, now):
    incident = factories.incident(actor=users["dcc"], now=now)
    before = incident_service.snapshot(incident)
    incident_service.update_incident(incident=incident, changes=IncidentChanges(cause="Carrier fibre cut."),
                                     actor=users["dcc"], expected_version=incident.version, now=now)
    after = incident_service.snapshot(incident)
    assert after.pop("cause") == "Carrier fibre cut."
    before.pop("cause")
    assert after == before
    # Cleared on purpose (None), not kept.
    incident_service.update_incident(incident=incident, changes=IncidentChanges(detected_at=None, cohorts=[]),
                                     actor=users["dcc"], expected_version=incident.version, now=now)
    assert (incident.detected_at, incident.cohorts, incident.title) == (None, [], before["title"])


def test_rules_hold_for_every_caller_of_the_service(app, users, now):
    # Nothing but the service stands between a caller (CLI, seed, bench) and the database.
    incident = factories.incident(actor=users["dcc"], now=now)
    with pytest.raises(ValidationError) as info:
        incident_service.update_incident(
            incident=incident, actor=users["dcc"], expected_version=incident.version, now=now,
            changes=IncidentChanges(reference="  ", title="bad\x00title", category=9, devices_affected=-1,
                                    cause_category="", cohorts=[CohortDraft("DSP", None), CohortDraft("DSP", now)]))
    assert info.value.errors == {
        "reference": ["Reference is required."],
        "title": ["Title contains a null character; remove it."],
        "category": ["Category must be one of 1, 2, 3, 4, 5."],
        "devices_affected": ["Devices or users affected must be a whole number of 0 or more."],
        "cohorts[0].impact_started_at": ["DSP impact start is required."],
        "cohorts[1].name": ["DSP is listed twice; list each cohort once."],
    }


def test_audit_trail_is_append_only(app, users, now):
    factories.incident(actor=users["dcc"], now=now)
    db.session.commit()
    entry = audit_service.entries_for_entity("incident")[0]
    entry.summary = "tampered"
    with pytest.raises(RuntimeError):
        db.session.flush()
    db.session.rollback()
    import sqlalchemy as sa
    with pytest.raises(sa.exc.DatabaseError):
        db.session.execute(sa.text("DELETE FROM audit_entry"))
    db.session.rollback()


def test_audit_trail_refuses_truncate_on_postgresql(app, users, now):
    """TRUNCATE fires no row trigger: a statement trigger refuses it, so the trail cannot be emptied at once."""
    import sqlalchemy as sa

    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has no TRUNCATE; DELETE without WHERE is refused above")
    factories.incident(actor=users["dcc"], now=now)
    db.session.commit()
    kept = db.session.scalar(sa.text("SELECT COUNT(*) FROM audit_entry"))
    assert kept > 0
    for statement in ("TRUNCATE audit_entry", "TRUNCATE audit_entry CASCADE", "TRUNCATE incident CASCADE"):
        with pytest.raises(sa.exc.DatabaseError, match="append-only"):
            db.session.execute(sa.text(statement))
        db.session.rollback()
    assert db.session.scalar(sa.text("SELECT COUNT(*) FROM audit_entry")) == kept


def test_timeline_entries_ordered_and_audited(app, users, now):
    incident = factories.incident(actor=users["dcc"], now=now)
    later = incident_service.add_timeline_entry(
        incident=incident, actor=users["dcc"], now=now,
        draft=factories.entry_draft(occurred_at=incident.started_at + timedelta(hours=4), kind="restored",
                                    cohort="CSP N", text="NTE reset; CSP N restored."))
    incident_service.add_timeline_entry(
        incident=incident, actor=users["dcc"], now=now,
        draft=factories.entry_draft(occurred_at=incident.started_at, kind="detected", text="Alarms from all CSPs."))
    db.session.commit()
    db.session.refresh(incident)
    assert [e.kind.value for e in incident.timeline] == ["detected", "restored"]
    with pytest.raises(ValidationError) as info:
        incident_service.add_timeline_entry(incident=incident, actor=users["dcc"], now=now,
                                            draft=factories.entry_draft(occurred_at=now, kind="restored",
                                                                        cohort="SMKI", text=""))
    assert set(info.value.errors) == {"cohort", "text"}
    incident_service.delete_timeline_entry(entry=later, actor=users["dcc"], expected_version=later.version, now=now)
    db.session.commit()
    actions = [(e.entity_type, e.action) for e in audit_service.entries_for_incident(incident.id)]
    assert actions[-1] == ("timeline_entry", "delete")


def test_list_counts_up_to_a_bound_and_says_more(app, users, now, monkeypatch):
    monkeypatch.setattr(incident_service, "COUNT_UP_TO", 3)
    start = datetime(2023, 4, 4, 5, 15, tzinfo=UTC)
    for hours in range(6):
        factories.incident(actor=users["dcc"], now=now, started_at=start + timedelta(hours=hours),
                           detected_at=start + timedelta(hours=hours), resolved_at=None, cohorts=[])
    filters = incident_service.Filters()
    first = incident_service.list_incidents(filters=filters, page=1, per_page=2, viewer=users["dcc"])
    assert (first.total, first.total_exact, len(first.items)) == (3, False, 2)

    # Following the links, each page counts from its own first row: the last pages know the exact total.
    cursor = incident_service.parse_cursor({"after": first.last_key})
    second = incident_service.list_incidents(filters=filters, page=2, per_page=2, viewer=users["dcc"], cursor=cursor)
    assert (second.total, second.total_exact) == (5, False)
    cursor = incident_service.parse_cursor({"after": second.last_key})
    third = incident_service.list_incidents(filters=filters, page=3, per_page=2, viewer=users["dcc"], cursor=cursor)
    assert (third.total, third.total_exact, third.pages) == (6, True, 3)

    # A page number without a key counts from the start up to the bound past that page's start.
    assert not incident_service.list_incidents(filters=filters, page=2, per_page=2, viewer=users["dcc"]).total_exact
    assert incident_service.list_incidents(filters=filters, page=3, per_page=2, viewer=users["dcc"]).total == 6
