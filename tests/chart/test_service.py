"""The restoration chart's data from a live incident and from a report's frozen sections."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from incidents.chart import service as chart_service
from incidents.extensions import db
from incidents.report import service as report_service
from tests import factories

START = datetime(2023, 4, 4, 5, 15, tzinfo=UTC)


def test_live_incident_calls_out_the_last_cohort_and_its_deadline(app, users, now):
    incident = factories.incident(actor=users["dcc"], now=now)
    db.session.commit()
    data = chart_service.from_incident(incident, now=now)
    assert data.longest_cohort == "CSP N"
    assert data.callout == "CSP N restored 1 h 25 min after the last other cohort (4 h 25 min in all)."
    assert data.deadline_at == START + timedelta(hours=4)  # Category 1: 4 h from the start
    assert (data.open_until, data.open_label) == (incident.resolved_at, "resolution")
    assert [c.name for c in data.cohorts] == ["CSP C&S", "CSP N", "DSP"]


def test_one_cohort_is_not_called_longest(app, users, now):
    incident = factories.incident(actor=users["dcc"], now=now, cohorts=[
        {"name": "DSP", "impact_started_at": START, "restored_at": START + timedelta(hours=3)}])
    data = chart_service.from_incident(incident, now=now)
    assert data.longest_cohort is None and data.callout == "DSP restored after 3 h."


def test_open_incident_runs_to_now(app, users, now):
    incident = factories.incident(actor=users["dcc"], now=now, resolved_at=None, status="open", cohorts=[
        {"name": "CSP N", "impact_started_at": START, "restored_at": None},
        {"name": "DSP", "impact_started_at": START, "restored_at": START + timedelta(hours=1)}])
    data = chart_service.from_incident(incident, now=now)
    assert (data.open_until, data.open_label) == (now, "now")
    assert data.callout == "CSP N was not restored by now (10:00 BST)."
    figure = chart_service.figure(data)
    assert "Not restored" in figure.svg and figure.callout == data.callout


def test_frozen_sections_keep_their_own_times(app, users, now):
    incident = factories.incident(actor=users["dcc"], now=now)
    generated = report_service.generate(incident, None)
    # What the report froze, whatever the record says now.
    generated["cohorts"] = [{"name": "DSP", "impact_started_at": START.isoformat(),
                             "restored_at": (START + timedelta(hours=2)).isoformat(), "minutes": 120}]
    generated["timeline"] = [{"occurred_at": (START + timedelta(minutes=5)).isoformat(), "kind": "detected",
                              "cohort": None, "text": "Alarms."}, {"occurred_at": "not a time", "kind": "x"}]
    data = chart_service.from_generated(incident, generated, now=now)
    assert [(c.name, c.restored_at) for c in data.cohorts] == [("DSP", START + timedelta(hours=2))]
    assert [e.text for e in data.events] == ["Alarms."]
    assert data.deadline_at == START + timedelta(hours=4)
    figure = chart_service.report_figure(incident, generated, now=now)
    assert 'data-cohort="DSP"' in figure.svg and 'data-cohort="CSP N"' not in figure.svg
