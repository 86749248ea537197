"""Streaming CSV exports: incidents, actions, an incident's audit trail."""
from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest

from incidents.action import service as action_service
from incidents.export import service as export_service
from incidents.export import writer
from incidents.extensions import db
from tests import factories

FORMULA = "=HYPERLINK(\"http://evil.example\",\"click\")"


def read_csv(response) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(response.data.decode("utf-8-sig"))))


@pytest.fixture()
def log(app, users, now):
    """Three incidents: two Category 1 in April 2023 (one titled like a formula), one Category 3 in May."""
    start = datetime(2023, 4, 4, 5, 15, tzinfo=UTC)
    made = {
        "formula": factories.incident(actor=users["dcc"], now=now, title=FORMULA),
        "plain": factories.incident(actor=users["dcc"], now=now, title="-Carrier outage", started_at=start
                                    + timedelta(days=1), detected_at=None, resolved_at=start + timedelta(days=1, hours=2),
                                    cohorts=[]),
        "may": factories.incident(actor=users["dcc"], now=now, category=3, title="+Firmware downloads @slow",
                                  started_at=datetime(2023, 5, 2, 8, tzinfo=UTC), detected_at=None,
                                  resolved_at=datetime(2023, 5, 2, 20, tzinfo=UTC), cohorts=[]),
    }
    db.session.commit()
    return made


def test_safe_cell_neutralises_formulas_only_in_text():
    assert [writer.safe_cell(v) for v in ("=1+1", "+1", "-1", "@SUM(A1)", "\tx", "ok", -5, None, "a=b")] == [
        "'=1+1", "'+1", "'-1", "'@SUM(A1)", "'\tx", "ok", -5, None, "a=b"]
    text = "".join(writer.lines([["a", "=b"], ["c", 1]], chunk=1))
    assert text == "\ufeffa,'=b\r\nc,1\r\n"


def test_incident_export_streams_every_incident(client, auth, users, log):
    auth.login(users["secas"])
    response = client.get("/incidents/export.csv")
    assert response.status_code == 200
    assert response.is_streamed
    assert response.mimetype == "text/csv"
    assert response.headers["Content-Disposition"].startswith('attachment; filename="incidents-')
    rows = read_csv(response)
    assert list(rows[0]) == export_service.INCIDENT_HEADER
    assert {r["reference"] for r in rows} == {i.reference for i in log.values()}
    formula = next(r for r in rows if r["reference"] == log["formula"].reference)
    assert formula["title"] == "'" + FORMULA
    assert formula["cohorts"] == "CSP C&S; CSP N; DSP"
    assert (formula["started_at_uk"], formula["within_trt"], formula["pmr_month"]) == (
        "2023-04-04T06:15+01:00", "no", "2023-04")
    assert (formula["pmr_treatment"], formula["report_state"]) == ("Not proposed", "Not started")
    titles = {r["reference"]: r["title"] for r in rows}
    assert titles[log["plain"].reference] == "'-Carrier outage"
    assert titles[log["may"].reference] == "'+Firmware downloads @slow"


def test_incident_export_respects_the_list_filters(client, auth, users, log):
    auth.login(users["dcc"])
    rows = read_csv(client.get("/incidents/export.csv?category=1&pmr_month=2023-04"))
    assert {r["reference"] for r in rows} == {log["formula"].reference, log["plain"].reference}
    rows = read_csv(client.get("/incidents/export.csv?q=firmware"))
    assert [r["reference"] for r in rows] == [log["may"].reference]
    rows = read_csv(client.get("/incidents/export.csv?cohort=CSP%20N"))
    assert [r["reference"] for r in rows] == [log["formula"].reference]
    assert read_csv(client.get("/incidents/export.csv?status=open")) == []
    bad = client.get("/incidents/export.csv?category=9&pmr_month=April")
    assert bad.status_code == 422
    assert "Give the PMR month as YYYY-MM" in bad.text


def test_incident_export_reads_in_batches(app, users, log, monkeypatch):
    # Smaller batches than rows: every row still comes out, in the list's order (newest first).
    monkeypatch.setattr(export_service, "BATCH", 1)
    rows = list(export_service.incident_rows({}, viewer=users["dcc"]))
    assert [r[0] for r in rows[1:]] == [log["may"].reference, log["plain"].reference, log["formula"].reference]


def test_action_export_respects_filters_and_formulas(client, auth, users, log, now):
    # Overdue is judged against the real today: one target long past, two far ahead.
    for ref, owner, target, text in [("OPSG 96/01", "dcc", date(2023, 5, 1), "=cmd|' /C calc'!A0"),
                                     ("OPSG 96/02", "secas", date(2099, 7, 1), "Circulate the template."),
                                     ("OPSG 97/01", "dcc", date(2099, 8, 1), "Report NTE reset times.")]:
        action_service.create_action(actor=users["secas"], now=now, draft=action_service.ActionDraft(
            reference=ref, text=text, owner_org=owner, owner_user=users["dcc"].email if owner == "dcc"
            else None, raised_on=date(2023, 4, 20), target_on=target,
            incidents=[log["formula"].reference] if ref.endswith("01") else []))
    db.session.commit()
    auth.login(users["opsg"])
    response = client.get("/actions/export.csv")
    assert response.status_code == 200 and response.is_streamed
    rows = read_csv(response)
    assert [r["reference"] for r in rows] == ["OPSG 96/01", "OPSG 96/02", "OPSG 97/01"]
    first = rows[0]
    assert first["text"] == "'=cmd|' /C calc'!A0"
    assert (first["owner"], first["owner_user"], first["overdue"], first["incidents"]) == (
        "DCC", users["dcc"].person, "yes", log["formula"].reference)
    assert first["status"] == "Open"
    assert [r["reference"] for r in read_csv(client.get("/actions/export.csv?overdue=true"))] == ["OPSG 96/01"]
    assert [r["reference"] for r in read_csv(client.get("/actions/export.csv?owner=secas"))] == ["OPSG 96/02"]
    assert [r["reference"] for r in read_csv(client.get("/actions/export.csv?meeting=OPSG_97"))] == ["OPSG 97/01"]
    assert client.get("/actions/export.csv?owner=nobody").status_code == 422


def test_audit_export_lists_the_trail(client, auth, users, log, now):
    incident = log["formula"]
    from incidents.incident import service as incident_service
    incident_service.update_incident(incident=incident, changes=incident_service.IncidentChanges(title="@Renamed"),
                                     actor=users["dcc"],
                                     expected_version=incident.version, now=now)
    db.session.commit()
    auth.login(users["admin"])
    response = client.get(f"/incidents/{incident.reference}/audit.csv")
    assert response.status_code == 200 and response.is_streamed
    assert response.headers["Content-Disposition"] == f'attachment; filename="{incident.reference}-audit.csv"'
    rows = read_csv(response)
    # People by name and organisation, what happened in words (the API keeps the recorded values).
    assert [(r["entity_type"], r["action"]) for r in rows] == [("Incident", "created"), ("Incident", "updated")]
    assert rows[1]["actor"] == "DCC (DCC)" == users["dcc"].person and rows[1]["at_uk"] == "2023-06-01T10:00+01:00"
    assert rows[1]["description"] == f"Incident {incident.reference} updated: changed: title"
    assert rows[1]["changes"] == f"Title: {FORMULA} → @Renamed"
    assert "Status: (empty) → Resolved" in rows[0]["changes"].splitlines()
    assert users["dcc"].email not in response.text and "_" not in rows[0]["changes"]


def test_exports_are_for_readers_only(client, auth, users, log):
    auth.login(users["party"])
    for path in ("/incidents/export.csv", "/actions/export.csv", f"/incidents/{log['formula'].reference}/audit.csv",
                 "/incidents/export.csv?category=99"):
        assert client.get(path).status_code == 404, path
    auth.logout()
    auth.login(users["dcc"])
    assert client.get("/incidents/INC999999999999/audit.csv").status_code == 404
    assert client.get("/incidents/INC%00/audit.csv").status_code == 404
    # The static export rule wins over the incident page's /incidents/<reference>.
    assert client.get("/incidents/export.csv").mimetype == "text/csv"
