"""The month as reported: recording a frozen copy, and what changed since (service, page, CLI, API)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa

from incidents.audit.models import AuditEntry
from incidents.errors import PermissionDenied, ValidationError
from incidents.extensions import db
from incidents.pmr import service as pmr_service
from incidents.pmr.models import RecordedMonth
from incidents.principle import service as principle_service
from incidents.review import service as review_service
from tests import factories

MAY = datetime(2023, 5, 10, 9, 0, tzinfo=UTC)
REPORTED = datetime(2023, 6, 5, 9, 0, tzinfo=UTC)  # the DCC publishes May's PMR
LATER = datetime(2023, 6, 20, 9, 0, tzinfo=UTC)


def _incident(users, now, *, hours: float, category: int = 1, start=MAY):
    return factories.incident(actor=users["dcc"], now=now, category=category, started_at=start, detected_at=start,
                              resolved_at=start + timedelta(hours=hours), cohorts=[])


def _exclude(incident, users, now, outcome: str | None = None):
    review_service.propose(incident=incident, exclude=True, principle="force-majeure", rationale="Storm.",
                           actor=users["dcc"], now=now)
    if outcome:
        review_service.review_exclusion(incident=incident, outcome=outcome, comment=f"SECAS says {outcome}.",
                                        actor=users["secas"], now=now)


@pytest.fixture()
def may(app, users, now):
    """May 2023: met (within), agreed (outside, agreed), pending (outside, SECAS reviewing).

    As reported: without 1/3 = 33.33 %, the DCC's 1/1 = 100 %, agreed 1/2 = 50 %.
    """
    principle_service.seed_defaults()
    made = {"met": _incident(users, now, hours=3), "agreed": _incident(users, now, hours=6),
            "pending": _incident(users, now, hours=5)}
    _exclude(made["agreed"], users, now, "agreed")
    _exclude(made["pending"], users, now)
    db.session.commit()
    return made


def _later_changes(may, users, *, logged_at=LATER):
    """After the recording: SECAS disagrees with the pending exclusion, and a May incident is logged late."""
    review_service.review_exclusion(incident=may["pending"], outcome="disagreed", comment="Within control.",
                                    actor=users["secas"], now=logged_at)
    late = _incident(users, logged_at, hours=2, category=2)
    db.session.commit()
    return late


def test_a_recorded_month_beside_a_later_change(may, users):
    recorded = pmr_service.record_month(month="2023-05", actor=users["dcc"], now=REPORTED)
    db.session.commit()
    late = _later_changes(may, users)
    # Today: without 2/4 = 50 %, the DCC's 2/3 = 66.67 % (the disagreed one counts again), agreed 2/3 = 66.67 %.
    shown = pmr_service.as_reported("2023-05")
    assert shown is not None and shown.recorded.id == recorded.id and shown.recordings == 1
    cpm4 = {m.code: m for m in shown.measures}["CPM4"]
    kept = cpm4.reported
    assert (kept["percent_without_exclusions"], kept["percent_with_dcc_exclusions"],
            kept["percent_with_exclusions"]) == (33.33, 100.0, 50.0)
    assert (kept["dcc_counted"], kept["dcc_excluded"], kept["counted"], kept["excluded"]) == (1, 2, 2, 1)
    assert (cpm4.today.percent_without_exclusions, cpm4.today.percent_with_dcc_exclusions,
            cpm4.today.percent_with_exclusions) == (50.0, 66.67, 66.67)
    assert cpm4.moved("percent_with_dcc_exclusions") == -33.33
    changes = {c.reference: (c.kind, c.text) for c in cpm4.changes}
    assert set(changes) == {may["pending"].reference, late.reference}
    assert changes[may["pending"].reference] == (
        "exclusion", "SECAS disagreed with the DCC's exclusion: now counted in every figure.")
    kind, text = changes[late.reference]
    assert kind == "logged_late" and text.startswith("Logged on Tue 20 Jun 2023") and "after the figures" in text
    # The frozen copy itself never moves.
    assert db.session.get(RecordedMonth, recorded.id).figures["measures"]["CPM4"]["percent_with_dcc_exclusions"] == 100.0


def test_recording_twice_keeps_both_and_shows_the_latest(may, users):
    first = pmr_service.record_month(month="2023-05", actor=users["dcc"], now=REPORTED)
    db.session.commit()
    _later_changes(may, users)
    second = pmr_service.record_month(month="2023-05", actor=users["admin"], now=LATER + timedelta(hours=1))
    db.session.commit()
    assert [r.id for r in pmr_service.recordings("2023-05")] == [second.id, first.id]
    shown = pmr_service.as_reported("2023-05")
    assert shown is not None and shown.recorded.id == second.id and shown.recordings == 2
    assert all(not m.changes for m in shown.measures)
    assert pmr_service.as_reported("2023-04") is None


def test_recording_is_audited_role_checked_and_only_for_a_month_that_ended(may, users):
    recorded = pmr_service.record_month(month="2023-05", actor=users["dcc"], now=REPORTED)
    db.session.commit()
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.entity_type == "pmr_recorded_month"))
    assert entry is not None and entry.entity_id == recorded.id and entry.actor_id == users["dcc"].id
    assert "May 2023" in entry.summary and "CPM4 100.00 % with the DCC's exclusions" in entry.summary
    for role in ("secas", "opsg", "party"):
        with pytest.raises(PermissionDenied):
            pmr_service.record_month(month="2023-05", actor=users[role], now=REPORTED)
    with pytest.raises(ValidationError) as refused:
        pmr_service.record_month(month="2023-06", actor=users["dcc"], now=REPORTED)
    assert "June 2023 is not over yet" in refused.value.errors["month"][0]
    with pytest.raises(ValidationError):
        pmr_service.record_month(month="2023-13", actor=users["dcc"], now=REPORTED)
    assert len(pmr_service.recordings("2023-05")) == 1


# --- The page and its button -----------------------------------------------------------------------

def test_the_dcc_records_from_the_page_and_every_reader_sees_it(client, auth, users, may):
    auth.login(users["dcc"])
    page = client.get("/pmr/2023-05").text
    assert "have not been recorded as reported" in page and "Record the figures as reported now" in page
    response = client.post("/pmr/2023-05/record")
    assert response.status_code == 302 and response.headers["Location"].endswith("/pmr/2023-05#as-reported")
    flashed = client.get("/pmr/2023-05").text
    assert "as reported (recorded on" in flashed and " by DCC (DCC))." in flashed and users["dcc"].email not in flashed
    assert len(pmr_service.recordings("2023-05")) == 1
    # The page records at the clock's time: the late incident is logged after it.
    _later_changes(may, users, logged_at=datetime.now(UTC) + timedelta(minutes=5))
    for role in ("secas", "opsg", "admin"):
        auth.logout()
        auth.login(users[role])
        page = client.get("/pmr/2023-05").text
        assert "The figures as the DCC reported them were recorded on" in page
        assert 'data-measure="CPM4" data-reported="percent_with_dcc_exclusions">100.00 %<' in page
        assert 'data-measure="CPM4" data-kind="dcc">66.67 %<' in page
        assert "SECAS disagreed with the DCC&#39;s exclusion: now counted in every figure." in page
        assert "after the figures were recorded" in page
        assert ("Record the figures as reported now" in page) == (role == "admin")


def test_only_the_dcc_and_administrators_record(client, auth, users, may):
    for role, code in (("secas", 403), ("opsg", 403), ("party", 404)):
        auth.login(users[role])
        assert client.post("/pmr/2023-05/record").status_code == code, role
        auth.logout()
    assert client.post("/pmr/2023-05/record").status_code == 302  # to the login page
    assert pmr_service.recordings("2023-05") == []
    auth.login(users["dcc"])
    # A month not over yet: refused with a message, nothing recorded, no button.
    this_month = pmr_service.current_month(datetime.now(UTC))
    response = client.post(f"/pmr/{this_month}/record", follow_redirects=True)
    assert "is not over yet" in response.text and "Record the figures as reported now" not in response.text
    assert pmr_service.recordings(this_month) == []
    assert client.post("/pmr/2023-13/record").status_code == 404


# --- The CLI and the API carry the three figures and the recordings ------------------------------

def test_cli_reports_three_figures_and_records(runner, may):
    result = runner.invoke(args=["pmr", "report", "2023-05"])
    assert result.exit_code == 0, result.output
    assert "without exclusions:       33.33 % (1 of 3 within TRT)" in result.output
    assert "with the DCC's exclusions: 100.00 % (1 of 1 counted within TRT; 2 excluded by the DCC)" in result.output
    assert "with agreed exclusions:   50.00 % (1 of 2 counted within TRT; 1 agreed)" in result.output
    assert "Excluded by the DCC, SECAS reviewing" in result.output
    csv_out = runner.invoke(args=["pmr", "report", "2023-05", "--format", "csv"]).output.splitlines()
    assert csv_out[0].endswith("treatment,exclusion_state,excluded_by_dcc")
    assert any(line.endswith("exclusion_pending,pending,yes") for line in csv_out)
    recorded = runner.invoke(args=["pmr", "record", "2023-05"])
    assert recorded.exit_code == 0, recorded.output
    assert "Recorded the figures for May 2023 as reported" in recorded.output
    assert "CPM4: 100.00 % with the DCC's exclusions, 50.00 % with agreed exclusions, 33.33 % without" in (
        recorded.output)
    again = runner.invoke(args=["pmr", "record", "2023-05"])
    assert again.exit_code == 0 and "recording 2 of the month" in again.output
    refused = runner.invoke(args=["pmr", "record", "2999-01"])
    assert refused.exit_code != 0 and "January 2999 is not over yet" in refused.output
    assert runner.invoke(args=["pmr", "record", "May"]).exit_code != 0
    entries = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.entity_type == "pmr_recorded_month")).all()
    assert [e.actor_name for e in entries] == ["system", "system"]
