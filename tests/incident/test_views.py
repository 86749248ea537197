"""Incident pages: list, detail, log and edit, timeline, audit trail, roles, and hostile input."""
from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from incidents.audit import service as audit_service
from incidents.extensions import db
from incidents.incident import service as incident_service
from incidents.incident.models import (
    Incident,
    IncidentCohort,
    IncidentStatus,
    TimelineEntry,
)
from incidents.incident.service import IncidentChanges, TimelineEntryChanges
from incidents.timeutil import format_input
from tests import factories

# --- Helpers --------------------------------------------------------------------

def page(response: Any) -> str:
    """Return the response body as text."""
    return response.get_data(as_text=True)


def error_for(body: str, field_id: str) -> str:
    """Return the text of the error list rendered next to a field ('' when none)."""
    match = re.search(rf'<ul class="errors" id="{re.escape(field_id)}-error">(.*?)</ul>', body, re.DOTALL)
    return html.unescape(re.sub(r"<[^>]+>", " ", match.group(1))) if match else ""


def input_value(body: str, field_id: str) -> str:
    """Return the value attribute of the input with this id."""
    tag = re.search(rf'<input[^>]*\bid="{re.escape(field_id)}"[^>]*>', body)
    assert tag, f"no input {field_id}"
    value = re.search(r'\bvalue="([^"]*)"', tag.group(0))
    return html.unescape(value.group(1)) if value else ""


def positions(body: str, *needles: str) -> list[int]:
    """Return where each text first appears, failing if one is missing."""
    found = [body.find(n) for n in needles]
    assert -1 not in found, dict(zip(needles, found))
    return found


def form_post(**overrides: Any) -> dict[str, Any]:
    """Return the incident form as a browser would post it: the real case, typed in UK time."""
    data: dict[str, Any] = {
        "reference": factories.reference(),
        "title": "National telecoms carrier outage",
        "category": "1",
        "status": "",
        "started_at": "2023-04-04 06:15",
        "detected_at": "2023-04-04 06:25",
        "resolved_at": "2023-04-04 10:40",
        # Rows follow the configured cohorts: CSP N, CSP C&S, DSP, S1SP, SMKI.
        "cohorts-0-affected": "y", "cohorts-0-impact_started_at": "2023-04-04 06:15",
        "cohorts-0-restored_at": "2023-04-04 10:40",
        "cohorts-1-affected": "y", "cohorts-1-impact_started_at": "2023-04-04 06:15",
        "cohorts-1-restored_at": "2023-04-04 08:50",
        "cohorts-2-affected": "y", "cohorts-2-impact_started_at": "2023-04-04 06:15",
        "cohorts-2-restored_at": "2023-04-04 09:15",
        "cohorts-3-impact_started_at": "", "cohorts-3-restored_at": "",
        "cohorts-4-impact_started_at": "", "cohorts-4-restored_at": "",
        "cause_category": "third_party",
        "cause": "Nationwide outage of a national telecoms carrier.",
        "impact": "Smart meter communications unavailable.",
        "devices_affected": "120,000",
        "dcc_responsible": "y",
    }
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def edit_post(incident: Incident, **overrides: Any) -> dict[str, Any]:
    """Return the edit form as the browser would post it unchanged, with overrides."""
    rows: dict[str, Any] = {}
    names = ["CSP N", "CSP C&S", "DSP", "S1SP", "SMKI"]
    saved = {c.name: c for c in incident.cohorts}
    for index, name in enumerate(names):
        cohort = saved.get(name)
        if cohort:
            rows[f"cohorts-{index}-affected"] = "y"
        rows[f"cohorts-{index}-impact_started_at"] = fmt(cohort.impact_started_at) if cohort else ""
        rows[f"cohorts-{index}-restored_at"] = fmt(cohort.restored_at) if cohort and cohort.restored_at else ""
    data = form_post(
        reference=incident.reference, title=incident.title, category=str(incident.category),
        status=incident.status.value, started_at=fmt(incident.started_at),
        detected_at=fmt(incident.detected_at) if incident.detected_at else "",
        resolved_at=fmt(incident.resolved_at) if incident.resolved_at else "",
        cause_category=incident.cause_category, cause=incident.cause, impact=incident.impact,
        devices_affected=str(incident.devices_affected or ""),
        dcc_responsible="y" if incident.dcc_responsible else None,
        version=str(incident.version), **rows)
    for key in [k for k in data if k.startswith("cohorts-") and k.endswith("-affected") and k not in rows]:
        del data[key]
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


def fmt(value: datetime) -> str:
    """Format an instant as the form shows it."""
    return format_input(value)


def count_incidents() -> int:
    """Count incidents in the database."""
    return db.session.scalar(sa.select(sa.func.count()).select_from(Incident)) or 0


def reload(reference: str) -> Incident:
    """Read an incident fresh from the database."""
    db.session.expire_all()
    incident = db.session.scalar(sa.select(Incident).where(Incident.reference == reference))
    assert incident is not None
    return incident


@pytest.fixture()
def real_case(app, users, now) -> Incident:
    """The INC000001001905 shape, logged by the DCC and committed."""
    incident = factories.incident(actor=users["dcc"], now=now)
    db.session.commit()
    return incident


def add_entry(incident: Incident, user: Any, now: datetime, **data: Any) -> TimelineEntry:
    """Add a timeline entry through the service and commit."""
    entry = incident_service.add_timeline_entry(incident=incident, draft=factories.entry_draft(**data), actor=user,
                                                now=now)
    db.session.commit()
    return entry


# --- Access -----------------------------------------------------------------------

def test_anonymous_is_sent_to_login(client, real_case):
    ref = real_case.reference
    for url in ["/incidents/", f"/incidents/{ref}", "/incidents/new", f"/incidents/{ref}/edit",
                f"/incidents/{ref}/audit", f"/incidents/{ref}/timeline/1/edit"]:
        response = client.get(url)
        assert response.status_code == 302, url
        assert "/login" in response.headers["Location"]
    response = client.post("/incidents/new", data=form_post())
    assert response.status_code == 302 and "/login" in response.headers["Location"]
    assert count_incidents() == 1


def test_party_gets_404_on_every_incident_page(client, auth, users, real_case, now):
    entry = add_entry(real_case, users["dcc"], now, occurred_at=real_case.started_at, kind="detected", text="x")
    ref = real_case.reference
    auth.login(users["party"])
    for url in ["/incidents/", "/incidents/?category=abc", f"/incidents/{ref}", "/incidents/new",
                f"/incidents/{ref}/edit", f"/incidents/{ref}/audit", f"/incidents/{ref}/timeline/{entry.id}/edit",
                "/incidents/INC999999999999"]:
        assert client.get(url).status_code == 404, url
    for url in ["/incidents/new", f"/incidents/{ref}/edit", f"/incidents/{ref}/timeline",
                f"/incidents/{ref}/timeline/{entry.id}/edit", f"/incidents/{ref}/timeline/{entry.id}/delete"]:
        assert client.post(url, data={"title": "x", "version": "1"}).status_code == 404, url
    # The same answer whether or not the incident exists: nothing leaks.
    assert client.get(f"/incidents/{ref}").status_code == client.get("/incidents/INC000000000000").status_code
    assert reload(ref).title == "National telecoms carrier outage"


@pytest.mark.parametrize("role", ["secas", "opsg"])
def test_readers_can_view_but_not_change(client, auth, users, real_case, now, role):
    entry = add_entry(real_case, users["dcc"], now, occurred_at=real_case.started_at, kind="detected",
                      text="Alarms from all CSPs.")
    ref = real_case.reference
    auth.login(users[role])
    listing = client.get("/incidents/")
    assert listing.status_code == 200 and ref in page(listing)
    assert "Log incident" not in page(listing)
    detail = client.get(f"/incidents/{ref}")
    assert detail.status_code == 200
    body = page(detail)
    assert "Alarms from all CSPs." in body
    assert "Edit incident" not in body
    assert "Add a timeline entry" not in body
    assert f"/timeline/{entry.id}/delete" not in body
    assert client.get(f"/incidents/{ref}/audit").status_code == 200

    assert client.get("/incidents/new").status_code == 403
    assert client.get(f"/incidents/{ref}/edit").status_code == 403
    assert client.post("/incidents/new", data=form_post()).status_code == 403
    assert client.post(f"/incidents/{ref}/edit",
                       data=edit_post(real_case, title="Changed by a reader")).status_code == 403
    assert client.post(f"/incidents/{ref}/timeline",
                       data={"occurred_at": "2023-04-04 07:00", "kind": "update", "text": "x"}).status_code == 403
    assert client.post(f"/incidents/{ref}/timeline/{entry.id}/edit",
                       data={"occurred_at": "2023-04-04 07:00", "kind": "update", "text": "x",
                             "version": str(entry.version)}).status_code == 403
    assert client.post(f"/incidents/{ref}/timeline/{entry.id}/delete",
                       data={"version": str(entry.version)}).status_code == 403
    assert count_incidents() == 1
    incident = reload(ref)
    assert incident.title == "National telecoms carrier outage"
    assert [e.text for e in incident.timeline] == ["Alarms from all CSPs."]


# --- List -------------------------------------------------------------------------

@pytest.fixture()
def three_incidents(app, users, now) -> dict[str, Incident]:
    """The real case (April, Cat 1), an open Cat 2 on DSP (May), a resolved Cat 3 on SMKI (May)."""
    dcc = users["dcc"]
    made = {
        "real": factories.incident(actor=dcc, now=now, reference="INC000001001905"),
        "open": factories.incident(
            actor=dcc, now=now, title="DSP batch delay", category=2, status="open", resolved_at=None,
            started_at=datetime(2023, 5, 10, 8, 0, tzinfo=UTC), detected_at=None,
            cohorts=[{"name": "DSP", "impact_started_at": datetime(2023, 5, 10, 8, 0, tzinfo=UTC)}]),
        "smki": factories.incident(
            actor=dcc, now=now, title="SMKI certificate service slow", category=3,
            started_at=datetime(2023, 5, 2, 9, 0, tzinfo=UTC), detected_at=None,
            resolved_at=datetime(2023, 5, 2, 12, 0, tzinfo=UTC),
            cohorts=[{"name": "SMKI", "impact_started_at": datetime(2023, 5, 2, 9, 0, tzinfo=UTC),
                      "restored_at": datetime(2023, 5, 2, 12, 0, tzinfo=UTC)}]),
    }
    db.session.commit()
    return made


def listed(body: str) -> list[str]:
    """Return the references listed in the incident table, in order."""
    return re.findall(r'<th scope="row"[^>]*><a href="/incidents/(INC\d+)">', body)


def test_list_newest_first_with_derived_columns(client, auth, users, three_incidents):
    auth.login(users["dcc"])
    response = client.get("/incidents/")
    body = page(response)
    assert response.status_code == 200
    assert listed(body) == [three_incidents["open"].reference, three_incidents["smki"].reference,
                            "INC000001001905"]
    real_row = body[body.index("INC000001001905</a>"):]
    real_row = real_row[:real_row.index("</tr>")]
    # Each date and time in two unbreakable parts, so a narrow column shows them on at most two lines.
    assert '<span class="nowrap">4 Apr 2023</span> <span class="nowrap">06:15 BST</span>' in real_row
    assert '<span class="nowrap">4 Apr 2023</span> <span class="nowrap">10:40 BST</span>' in real_row
    assert "4 h 25 min" in real_row
    assert '<span class="tag bad">No</span>' in real_row
    assert "2023-04" in real_row
    assert '<th scope="col">Within TRT</th>' in body


@pytest.mark.parametrize("query, expected", [
    ("category=2", ["open"]),
    ("status=open", ["open"]),
    ("status=resolved", ["smki", "real"]),
    ("pmr_month=2023-04", ["real"]),
    ("pmr_month=2023-05", ["smki"]),
    ("cohort=SMKI", ["smki"]),
    ("cohort=CSP+N", ["real"]),
    ("cohort=DSP", ["open", "real"]),
    ("q=batch", ["open"]),
    ("q=smki+CERTIFICATE", ["smki"]),
    ("q=INC000001001905", ["real"]),
    ("q=0010019", ["real"]),
    ("q=%25", []),
    ("category=1&status=resolved&pmr_month=2023-04&cohort=CSP+N&q=carrier", ["real"]),
])
def test_list_filters_and_search(client, auth, users, three_incidents, query, expected):
    auth.login(users["secas"])
    response = client.get(f"/incidents/?{query}")
    assert response.status_code == 200
    assert listed(page(response)) == [three_incidents[name].reference for name in expected]
    if not expected:
        assert "No incidents match these filters." in page(response)


def test_list_says_more_than_when_counting_stops_at_its_bound(client, auth, users, three_incidents, monkeypatch):
    monkeypatch.setattr(incident_service, "COUNT_UP_TO", 1)
    auth.login(users["opsg"])
    first = page(client.get("/incidents/?per_page=1"))
    assert "Page 1 of more than 1 (more than 1 in all)" in first
    older = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    last = page(client.get(re.search(r'rel="next" href="([^"]+)"', page(client.get(older))).group(1)
                           .replace("&amp;", "&")))
    assert listed(last) == ["INC000001001905"]
    assert "Page 3 of 3 (3 in all)" in last and 'rel="next"' not in last


def test_list_pages(client, auth, users, three_incidents):
    auth.login(users["opsg"])
    first = page(client.get("/incidents/?per_page=2"))
    assert listed(first) == [three_incidents["open"].reference, three_incidents["smki"].reference]
    assert "Page 1 of 2 (3 in all)" in first
    older = re.search(r'rel="next" href="([^"]+)"', first).group(1).replace("&amp;", "&")
    assert older.startswith("/incidents/?page=2&after=") and "per_page=2" in older
    second = page(client.get(older))
    assert listed(second) == ["INC000001001905"]
    assert "Page 2 of 2 (3 in all)" in second
    assert listed(page(client.get("/incidents/?per_page=2&page=2"))) == ["INC000001001905"]  # a typed page number
    filtered = page(client.get("/incidents/?status=resolved&per_page=1&page=2"))
    assert listed(filtered) == ["INC000001001905"]
    assert "status=resolved" in filtered.split("rel=\"prev\"")[1].split(">")[0]
    beyond = client.get("/incidents/?page=999999")
    assert beyond.status_code == 200
    assert listed(page(beyond)) == []
    assert "There is no page 999999" in page(beyond)


@pytest.mark.parametrize("query, field_id, message", [
    ("category=abc", "category", "Choose a category from 1, 2, 3, 4, 5."),
    ("category=9", "category", "Choose a category from"),
    ("status=lost", "status", "Choose a status: open, resolved, closed."),
    ("pmr_month=2023-13", "pmr_month", "Give the PMR month as YYYY-MM"),
    ("pmr_month=April", "pmr_month", "Give the PMR month as YYYY-MM"),
    ("cohort=Nowhere", "cohort", "Choose a cohort from CSP N"),
    ("q=" + "x" * 201, "q", "at most 200 characters"),
    ("q=a%00b", "q", "null character"),
    ("per_page=1000", "per_page", "per_page must be a whole number from 1 to 100"),
    ("per_page=-1", "per_page", "per_page must be a whole number"),
])
def test_bad_filter_shows_message_next_to_it(client, auth, users, three_incidents, query, field_id, message):
    auth.login(users["dcc"])
    response = client.get(f"/incidents/?{query}")
    assert response.status_code == 400
    body = page(response)
    assert message in error_for(body, field_id)
    assert f'href="#field-{field_id}"' in body
    assert 'aria-invalid="true"' in body
    assert listed(body) == []


def test_bad_page_number_is_reported(client, auth, users, three_incidents):
    auth.login(users["dcc"])
    for value in ("0", "abc", "99999999999999999999"):
        response = client.get(f"/incidents/?page={value}")
        assert response.status_code == 400
        assert "Page must be a whole number of 1 or more." in page(response)
    # Every problem is reported at once, each next to its filter where it has one.
    body = page(client.get("/incidents/?category=abc&pmr_month=x&page=0"))
    assert "Choose a category" in error_for(body, "category")
    assert "YYYY-MM" in error_for(body, "pmr_month")
    assert "Page must be a whole number" in body


# --- Detail -----------------------------------------------------------------------

def test_detail_shows_the_real_case_derived_facts(client, auth, users, real_case, now):
    add_entry(real_case, users["dcc"], now, occurred_at=real_case.started_at + timedelta(hours=4, minutes=25),
              kind="restored", cohort="CSP N", text="NTE reset completed; CSP N restored.")
    add_entry(real_case, users["dcc"], now, occurred_at=real_case.started_at + timedelta(minutes=10),
              kind="detected", text="Alarms from all Service Providers.")
    auth.login(users["opsg"])
    response = client.get(f"/incidents/{real_case.reference}")
    assert response.status_code == 200
    body = page(response)
    assert "4 h 25 min" in body
    assert "CSP N took longest: 4 h 25 min, 1 h 25 min longer than DSP" in body
    assert '<p class="highlight"><strong>CSP N took longest' in body
    assert "Thu 6 Apr 2023" in body and "Fri 5 May 2023" in body
    assert "counted in UK Working Days from resolution, England and Wales bank holidays" in body
    assert "Not met" in body
    assert "Tue 4 Apr 2023 10:15 BST" in body  # TRT deadline: 4 h after 06:15 BST
    assert "2023-04" in body
    assert "Third party outside DCC control" in body
    assert "120,000" in body
    # Cohort table: restoration times, the longest marked.
    assert re.search(r'<tr class="longest">\s*<th scope="row"[^>]*>CSP N', body)
    assert "2 h 35 min" in body and "3 h" in body
    # Timeline in time order, with date, UK time and zone, kind and cohort.
    detected, restored = positions(body, "Alarms from all Service Providers.", "NTE reset completed")
    assert detected < restored
    assert re.search(r"<td[^>]*>Tue 4 Apr 2023</td>\s*<td[^>]*><time[^>]*>10:40 BST</time></td>\s*"
                     r"<td[^>]*>Restored</td>\s*<td[^>]*>CSP N</td>", body)
    assert f'href="/incidents/{real_case.reference}/audit"' in body
    assert "Detection is before the start" not in body


def test_detail_warns_when_detection_is_before_start(client, auth, users, now):
    start = datetime(2023, 4, 4, 5, 15, tzinfo=UTC)
    incident = factories.incident(actor=users["dcc"], now=now, detected_at=start - timedelta(minutes=5))
    db.session.commit()
    auth.login(users["dcc"])
    body = page(client.get(f"/incidents/{incident.reference}"))
    assert "Detection is before the start" in body
    assert "Tue 4 Apr 2023 06:10 BST" in body


def test_detail_of_open_incident_without_cohorts(client, auth, users, now):
    incident = factories.incident(actor=users["dcc"], now=now, resolved_at=None, status="open", cohorts=[],
                                  devices_affected=None)
    db.session.commit()
    auth.login(users["dcc"])
    response = client.get(f"/incidents/{incident.reference}")
    assert response.status_code == 200
    body = page(response)
    assert "Not yet resolved" in body and "No cohorts recorded." in body and "took longest" not in body


def test_unknown_incident_is_404(client, auth, users):
    auth.login(users["dcc"])
    assert client.get("/incidents/INC000000000404").status_code == 404
    assert client.get("/incidents/INC%00").status_code == 404
    assert client.get("/incidents/" + "X" * 5000).status_code == 404


# --- Create -----------------------------------------------------------------------

def test_create_stores_utc_and_shows_uk_time(client, auth, users):
    auth.login(users["dcc"])
    assert "Log an incident" in page(client.get("/incidents/new"))
    data = form_post(reference="inc000001001905")
    response = client.post("/incidents/new", data=data)
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/incidents/INC000001001905")
    incident = reload("INC000001001905")
    # 06:15 BST on 4 April 2023 is 05:15 UTC.
    assert incident.started_at == datetime(2023, 4, 4, 5, 15, tzinfo=UTC)
    assert incident.resolved_at == datetime(2023, 4, 4, 9, 40, tzinfo=UTC)
    assert incident.status == IncidentStatus.RESOLVED
    assert incident.devices_affected == 120000
    assert incident.dcc_responsible is True
    assert {c.name: c.restored_at for c in incident.cohorts} == {
        "CSP N": datetime(2023, 4, 4, 9, 40, tzinfo=UTC),
        "CSP C&S": datetime(2023, 4, 4, 7, 50, tzinfo=UTC),
        "DSP": datetime(2023, 4, 4, 8, 15, tzinfo=UTC),
    }
    body = page(client.get(response.headers["Location"]))
    assert "Logged INC000001001905." in body
    assert "Tue 4 Apr 2023 06:15 BST" in body
    edit = page(client.get("/incidents/INC000001001905/edit"))
    assert input_value(edit, "started_at") == "04/04/2023 06:15 BST"
    assert input_value(edit, "cohorts-0-restored_at") == "04/04/2023 10:40 BST"


def test_create_in_winter_shows_gmt(client, auth, users):
    auth.login(users["admin"])
    data = form_post(started_at="2023-01-10 09:00 gmt", detected_at="", resolved_at="2023-01-10 11:30",
                     **{"cohorts-0-impact_started_at": "2023-01-10 09:00", "cohorts-0-restored_at": "",
                        "cohorts-1-affected": None, "cohorts-1-impact_started_at": "", "cohorts-1-restored_at": "",
                        "cohorts-2-affected": None, "cohorts-2-impact_started_at": "", "cohorts-2-restored_at": "",
                        "dcc_responsible": None, "devices_affected": ""})
    response = client.post("/incidents/new", data=data)
    assert response.status_code == 302
    incident = reload(data["reference"])
    assert incident.started_at == datetime(2023, 1, 10, 9, 0, tzinfo=UTC)
    assert incident.dcc_responsible is False
    assert incident.devices_affected is None
    assert [c.name for c in incident.cohorts] == ["CSP N"]
    body = page(client.get(response.headers["Location"]))
    assert "Tue 10 Jan 2023 09:00 GMT" in body


def test_clock_change_times(client, auth, users):
    auth.login(users["dcc"])
    base = {"detected_at": "", "resolved_at": "", "status": "open",
            "cohorts-0-affected": None, "cohorts-0-impact_started_at": "", "cohorts-0-restored_at": "",
            "cohorts-1-affected": None, "cohorts-1-impact_started_at": "", "cohorts-1-restored_at": "",
            "cohorts-2-affected": None, "cohorts-2-impact_started_at": "", "cohorts-2-restored_at": ""}
    # 01:30 on 29 October 2023 happened twice: first in BST, then in GMT.
    ambiguous = client.post("/incidents/new", data=form_post(started_at="2023-10-29 01:30", **base))
    assert ambiguous.status_code == 422
    assert "happens twice (the clocks go back); add BST for the first or GMT for the second" in \
        error_for(page(ambiguous), "started_at")
    assert input_value(page(ambiguous), "started_at") == "2023-10-29 01:30"
    # 01:30 on 26 March 2023 never happened.
    missing = client.post("/incidents/new", data=form_post(started_at="2023-03-26 01:30", **base))
    assert "does not exist in UK time" in error_for(page(missing), "started_at")
    assert count_incidents() == 0
    for suffix, utc_hour in (("BST", 0), ("GMT", 1)):
        data = form_post(started_at=f"2023-10-29 01:30 {suffix}", **base)
        assert client.post("/incidents/new", data=data).status_code == 302
        stored = reload(data["reference"]).started_at
        assert stored == datetime(2023, 10, 29, utc_hour, 30, tzinfo=UTC)
        assert f"Sun 29 Oct 2023 01:30 {suffix}" in page(client.get(f"/incidents/{data['reference']}"))


@pytest.mark.parametrize("overrides, field_id, message", [
    ({"title": ""}, "title", "Title is required."),
    ({"title": "x" * 201}, "title", "Title can be at most 200 characters (it has 201)."),
    ({"reference": "INC123"}, "reference", "INC followed by 12 digits"),
    ({"reference": ""}, "reference", "Reference is required."),
    ({"category": ""}, "category", "Category is required."),
    ({"category": "abc"}, "category", "Category must be one of 1, 2, 3, 4, 5."),
    ({"category": "9"}, "category", "Category must be one of 1, 2, 3, 4, 5."),
    ({"category": "9" * 400}, "category", "Category must be one of"),
    ({"status": "lost"}, "status", "Status must be one of open, resolved, closed."),
    ({"status": "open"}, "status", "An open incident has no resolution time"),
    ({"status": "closed", "resolved_at": ""}, "resolved_at", "A closed incident needs its resolution time."),
    ({"started_at": ""}, "started_at", "Started at is required."),
    ({"started_at": "yesterday"}, "started_at", "Enter the date and time as day/month/year then the time, e.g. 30/11/2026 09:12"),
    ({"started_at": "2023-02-30 10:00"}, "started_at", "February 2023 has 28 days: check the day"),
    ({"started_at": "2099-01-01 10:00", "resolved_at": "", "status": "open"}, "started_at",
     "Start time is in the future"),
    ({"detected_at": "4/4/2023"}, "detected_at", "Add the time, in UK time on the 24-hour clock, e.g. 30/11/2026 09:12."),
    ({"resolved_at": "2023-04-04 05:00"}, "resolved_at", "Resolution time is before the start time"),
    ({"cause_category": "aliens"}, "cause_category", "Cause category must be one of dcc"),
    ({"cause": "x" * 20001}, "cause", "Cause can be at most 20000 characters"),
    ({"impact": "bad\x00byte"}, "impact", "null character"),
    ({"devices_affected": "lots"}, "devices_affected", "Enter a whole number using digits only"),
    ({"devices_affected": "9" * 50}, "devices_affected", "Enter a whole number using digits only"),
    ({"devices_affected": "-5"}, "devices_affected", "whole number of 0 or more"),
    ({"devices_affected": "9" * 20}, "devices_affected", "whole number of 0 or more"),
    ({"cohorts-0-impact_started_at": ""}, "cohorts-0-impact_started_at", "CSP N impact start is required."),
    ({"cohorts-0-restored_at": "soon"}, "cohorts-0-restored_at", "Enter the date and time as day/month/year"),
    ({"cohorts-3-restored_at": "2023-04-04 09:00"}, "cohorts-3-affected", "Tick 'S1SP affected'"),
])
def test_create_validation_message_next_to_its_field(client, auth, users, overrides, field_id, message):
    auth.login(users["dcc"])
    data = form_post(**overrides)
    response = client.post("/incidents/new", data=data)
    assert response.status_code == 422
    body = page(response)
    assert message in error_for(body, field_id), body[body.find("error-summary"):][:800]
    assert f'href="#field-{field_id}"' in body  # the summary at the top links to it
    assert f'aria-describedby="{field_id}' in body or f'-hint {field_id}-error"' in body
    assert count_incidents() == 0
    # The person's input is kept.
    assert input_value(body, "title") == data["title"]
    assert input_value(body, "cohorts-0-restored_at") == data["cohorts-0-restored_at"]


def test_cohort_error_lands_on_its_row_when_earlier_rows_are_not_sent(client, auth, users):
    auth.login(users["dcc"])
    # CSP C&S (row 1) is not affected, so DSP (row 2) is the second cohort sent to the service.
    data = form_post(**{"cohorts-1-affected": None, "cohorts-1-impact_started_at": "", "cohorts-1-restored_at": "",
                        "cohorts-2-restored_at": "2023-04-04 06:00"})
    body = page(client.post("/incidents/new", data=data))
    assert "DSP restoration is before its impact started" in error_for(body, "cohorts-2-restored_at")
    assert error_for(body, "cohorts-1-restored_at") == ""


def test_duplicate_reference(client, auth, users, real_case):
    auth.login(users["dcc"])
    response = client.post("/incidents/new", data=form_post(reference=real_case.reference))
    assert response.status_code == 422
    assert "is already used by another incident" in error_for(page(response), "reference")


def test_detection_before_start_saves_with_a_warning(client, auth, users):
    auth.login(users["dcc"])
    data = form_post(detected_at="2023-04-04 06:00")
    response = client.post("/incidents/new", data=data, follow_redirects=True)
    body = page(response)
    assert response.status_code == 200
    assert 'class="flash flash-warning"' in body
    assert "The detection time is before the start time" in body
    assert "Detection is before the start" in body
    assert count_incidents() == 1


def test_hostile_form_input_never_breaks_the_page(client, auth, users):
    auth.login(users["dcc"])
    data = form_post(**{"cohorts-99-affected": "y", "cohorts-99-impact_started_at": "2023-04-04 06:15",
                        "cohorts-x-affected": "y", "unknown_field": "x", "category": "１",
                        "started_at": "2023-04-04 06:15" + " " * 10000, "version": "not-a-number"})
    response = client.post("/incidents/new", data=data)
    assert response.status_code in (302, 422)
    for hostile in ({"category": "1.5"}, {"status": "\x00"}, {"reference": "INC\x00" + "1" * 12},
                    {"started_at": "9999-12-31 23:59"}, {"started_at": "0001-01-01 00:00"},
                    {"devices_affected": "1e9"}, {"cohorts-0-affected": "maybe"}):
        response = client.post("/incidents/new", data=form_post(**hostile))
        assert response.status_code in (302, 422), hostile


# --- Edit and stale edits -------------------------------------------------------------

def test_edit_saves_and_redirects(client, auth, users, real_case):
    auth.login(users["dcc"])
    page_html = page(client.get(f"/incidents/{real_case.reference}/edit"))
    assert input_value(page_html, "version") == str(real_case.version)
    assert input_value(page_html, "started_at") == "04/04/2023 06:15 BST"
    data = edit_post(real_case, title="Carrier outage (national)", **{"cohorts-4-affected": "y",
                     "cohorts-4-impact_started_at": "2023-04-04 06:30", "cohorts-4-restored_at": "2023-04-04 07:00"})
    response = client.post(f"/incidents/{real_case.reference}/edit", data=data)
    assert response.status_code == 302
    assert f"Saved {real_case.reference}." in page(client.get(response.headers["Location"]))
    incident = reload(real_case.reference)
    assert incident.title == "Carrier outage (national)"
    assert [c.name for c in incident.cohorts] == ["CSP C&S", "CSP N", "DSP", "SMKI"]
    assert incident.cohorts[3].restored_at == datetime(2023, 4, 4, 6, 0, tzinfo=UTC)
    assert incident.started_at == datetime(2023, 4, 4, 5, 15, tzinfo=UTC)


def test_edit_validation_error_is_shown_and_nothing_saved(client, auth, users, real_case):
    auth.login(users["dcc"])
    response = client.post(f"/incidents/{real_case.reference}/edit",
                           data=edit_post(real_case, title="New title", resolved_at="2023-04-04 05:00"))
    assert response.status_code == 422
    body = page(response)
    assert "before the start time" in error_for(body, "resolved_at")
    assert input_value(body, "title") == "New title"
    assert reload(real_case.reference).title == "National telecoms carrier outage"


def test_stale_edit_shows_both_versions_and_keeps_input(client, auth, users, real_case, now):
    ref = real_case.reference
    auth.login(users["dcc"])
    opened = edit_post(real_case)
    # Someone else saves first.
    incident_service.update_incident(incident=real_case, changes=IncidentChanges(title="Changed by a colleague"),
                                     actor=users["admin"], expected_version=real_case.version, now=now)
    db.session.commit()
    fresh_version = reload(ref).version
    assert fresh_version != int(opened["version"])

    mine = {**opened, "title": "My careful title", "cause": "My longer account of the cause."}
    response = client.post(f"/incidents/{ref}/edit", data=mine)
    assert response.status_code == 409
    body = page(response)
    assert "Someone else saved this incident while you were editing" in body
    assert "Changed by a colleague" in body  # saved now
    assert input_value(body, "title") == "My careful title"  # the person's input kept
    assert "My longer account of the cause." in body
    assert input_value(body, "version") == str(fresh_version)
    title_row = re.search(r'<tr class="diff-changed">\s*<th scope="row">Title</th>\s*'
                          r'<td class="compare-value">Changed by a colleague</td>\s*'
                          r'<td class="compare-value">My careful title</td>', body)
    assert title_row
    assert re.search(r'<tr>\s*<th scope="row">Started</th>', body)  # unchanged fields not highlighted
    assert reload(ref).title == "Changed by a colleague"

    # Saving again on purpose, with the fresh version, overwrites.
    response = client.post(f"/incidents/{ref}/edit", data={**mine, "version": str(fresh_version)})
    assert response.status_code == 302
    incident = reload(ref)
    assert incident.title == "My careful title"
    assert incident.cause == "My longer account of the cause."


def test_edit_without_version_is_treated_as_stale(client, auth, users, real_case):
    auth.login(users["dcc"])
    data = edit_post(real_case, title="Blind write")
    del data["version"]
    response = client.post(f"/incidents/{real_case.reference}/edit", data=data)
    assert response.status_code == 409
    assert reload(real_case.reference).title == "National telecoms carrier outage"


@pytest.mark.parametrize("app_config", [{"COHORTS": ["CSP N", "CSP C&S", "DSP", "S1SP"]}])
def test_edit_keeps_a_cohort_no_longer_configured_visible(client, auth, users, now):
    incident = factories.incident(actor=users["dcc"], now=now)
    start = incident.started_at
    db.session.add(IncidentCohort(incident=incident, name="SMKI", impact_started_at=start,
                                  restored_at=start + timedelta(hours=1)))
    db.session.commit()
    auth.login(users["dcc"])
    form_html = page(client.get(f"/incidents/{incident.reference}/edit"))
    # The configured rows, then the recorded SMKI row, ticked: nothing vanishes silently.
    assert '<th scope="row">SMKI</th>' in form_html
    assert re.search(r'<input checked id="cohorts-4-affected"', form_html)
    data = edit_post(incident, **{"cohorts-4-affected": "y", "cohorts-4-impact_started_at": fmt(start),
                                  "cohorts-4-restored_at": fmt(start + timedelta(hours=1))})
    response = client.post(f"/incidents/{incident.reference}/edit", data=data)
    assert response.status_code == 422
    assert "Cohort must be one of CSP N, CSP C&S, DSP, S1SP." in error_for(page(response), "cohorts-4-affected")
    del data["cohorts-4-affected"]
    data["cohorts-4-impact_started_at"] = data["cohorts-4-restored_at"] = ""
    assert client.post(f"/incidents/{incident.reference}/edit", data=data).status_code == 302
    assert [c.name for c in reload(incident.reference).cohorts] == ["CSP C&S", "CSP N", "DSP"]


# --- Timeline -----------------------------------------------------------------------

def test_timeline_add_edit_delete(client, auth, users, real_case):
    ref = real_case.reference
    auth.login(users["dcc"])
    added = client.post(f"/incidents/{ref}/timeline", data={
        "occurred_at": "2023-04-04 10:40", "kind": "restored", "cohort": "CSP N", "text": "NTE reset; CSP N restored."})
    assert added.status_code == 302 and added.headers["Location"].endswith("#timeline")
    client.post(f"/incidents/{ref}/timeline", data={
        "occurred_at": "2023-04-04 06:25 BST", "kind": "detected", "cohort": "", "text": "Alarms from all CSPs."})
    incident = reload(ref)
    assert [(e.kind.value, e.cohort) for e in incident.timeline] == [("detected", None), ("restored", "CSP N")]
    restored = incident.timeline[1]
    assert restored.occurred_at == datetime(2023, 4, 4, 9, 40, tzinfo=UTC)
    body = page(client.get(f"/incidents/{ref}"))
    first, second = positions(body, "Alarms from all CSPs.", "NTE reset; CSP N restored.")
    assert first < second

    # Edit: the form shows the saved values, and a save keeps time order.
    edit_url = f"/incidents/{ref}/timeline/{restored.id}/edit"
    form_html = page(client.get(edit_url))
    assert input_value(form_html, "occurred_at") == "04/04/2023 10:40 BST"
    assert input_value(form_html, "version") == str(restored.version)
    response = client.post(edit_url, data={"occurred_at": "2023-04-04 06:00", "kind": "restored", "cohort": "CSP N",
                                           "text": "Moved earlier.", "version": str(restored.version)})
    assert response.status_code == 302
    incident = reload(ref)
    assert [e.text for e in incident.timeline] == ["Moved earlier.", "Alarms from all CSPs."]

    # Delete with the entry's version.
    entry = incident.timeline[0]
    response = client.post(f"/incidents/{ref}/timeline/{entry.id}/delete", data={"version": str(entry.version)})
    assert response.status_code == 302
    assert "Deleted the timeline entry" in page(client.get(response.headers["Location"]))
    assert [e.text for e in reload(ref).timeline] == ["Alarms from all CSPs."]


@pytest.mark.parametrize("data, field_id, message", [
    ({"occurred_at": "", "kind": "update", "text": "x"}, "occurred_at", "Time is required."),
    ({"occurred_at": "tea time", "kind": "update", "text": "x"}, "occurred_at", "e.g. 30/11/2026 09:12"),
    ({"occurred_at": "2023-10-29 01:30", "kind": "update", "text": "x"}, "occurred_at", "happens twice"),
    ({"occurred_at": "2023-04-04 07:00", "kind": "gossip", "text": "x"}, "kind", "Kind must be one of detected"),
    ({"occurred_at": "2023-04-04 07:00", "kind": "update", "cohort": "SMKI", "text": "x"}, "cohort",
     "Cohort must be one this incident affected: CSP C&S, CSP N, DSP."),
    ({"occurred_at": "2023-04-04 07:00", "kind": "update", "text": "  "}, "text", "Text is required."),
    ({"occurred_at": "2023-04-04 07:00", "kind": "update", "text": "x" * 20001}, "text", "at most 20000"),
])
def test_timeline_entry_errors_next_to_fields(client, auth, users, real_case, data, field_id, message):
    auth.login(users["dcc"])
    response = client.post(f"/incidents/{real_case.reference}/timeline", data=data)
    assert response.status_code == 422
    body = page(response)
    assert message in error_for(body, field_id)
    assert f'href="#field-{field_id}"' in body
    assert "CSP N took longest" in body  # the detail page around the form
    assert reload(real_case.reference).timeline == []


def test_stale_timeline_edit_and_delete_lose_nothing(client, auth, users, real_case, now):
    ref = real_case.reference
    entry = add_entry(real_case, users["dcc"], now, occurred_at=real_case.started_at, kind="detected",
                      text="Original text.")
    old_version = entry.version
    incident_service.update_timeline_entry(entry=entry, changes=TimelineEntryChanges(text="A colleague's text."),
                                           actor=users["admin"], expected_version=old_version, now=now)
    db.session.commit()
    new_version = entry.version
    assert new_version != old_version
    auth.login(users["dcc"])
    edit_url = f"/incidents/{ref}/timeline/{entry.id}/edit"
    mine = {"occurred_at": "2023-04-04 06:15 BST", "kind": "detected", "cohort": "", "text": "My text.",
            "version": str(old_version)}
    response = client.post(edit_url, data=mine)
    assert response.status_code == 409
    body = page(response)
    assert "Someone else saved this entry while you were editing" in body
    assert "A colleague&#39;s text." in body
    assert re.search(r"<textarea[^>]*>\s*My text\.</textarea>", body)
    assert input_value(body, "version") == str(new_version)
    assert '<tr class="diff-changed">\n        <th scope="row">What happened</th>' in body

    gone = client.post(f"/incidents/{ref}/timeline/{entry.id}/delete", data={"version": str(old_version)},
                       follow_redirects=True)
    assert "changed by someone else" in page(gone)
    assert [e.text for e in reload(ref).timeline] == ["A colleague's text."]

    assert client.post(edit_url, data={**mine, "version": str(new_version)}).status_code == 302
    assert [e.text for e in reload(ref).timeline] == ["My text."]


def test_timeline_entry_of_another_incident_is_404(client, auth, users, real_case, now):
    other = factories.incident(actor=users["dcc"], now=now)
    db.session.commit()
    entry = add_entry(other, users["dcc"], now, occurred_at=other.started_at, kind="update", text="x")
    auth.login(users["dcc"])
    ref = real_case.reference
    assert client.get(f"/incidents/{ref}/timeline/{entry.id}/edit").status_code == 404
    assert client.post(f"/incidents/{ref}/timeline/{entry.id}/delete",
                       data={"version": str(entry.version)}).status_code == 404
    assert client.get(f"/incidents/{ref}/timeline/{10**30}/edit").status_code == 404
    assert client.get(f"/incidents/{ref}/timeline/{2**63}/edit").status_code == 404


# --- Audit trail ---------------------------------------------------------------------

def test_audit_page_shows_field_level_changes(client, auth, users, real_case):
    ref = real_case.reference
    auth.login(users["admin"])
    client.post(f"/incidents/{ref}/edit", data=edit_post(real_case, title="Carrier outage (national)",
                                                         resolved_at="2023-04-04 10:45"))
    client.post(f"/incidents/{ref}/timeline", data={"occurred_at": "2023-04-04 06:25", "kind": "detected",
                                                    "text": "Alarms."})
    response = client.get(f"/incidents/{ref}/audit")
    assert response.status_code == 200
    body = page(response)
    assert [e.action for e in audit_service.entries_for_incident(real_case.id)] == ["create", "update", "create"]
    # People by name and organisation, not by email; what happened in words.
    assert "<dd>DCC (DCC)</dd>" in body and "<dd>ADMIN (Administrator)</dd>" in body
    assert users["dcc"].email not in body and users["admin"].email not in body
    assert f"Incident {ref} created" in body and f"Incident {ref} updated: changed: resolved, title" in body
    assert f"Timeline entry of {ref} created" in body
    assert re.search(r'<th scope="row">Kind</th><td class="text-block">\(empty\)</td>'
                     r'<td class="text-block">Detected</td>', body)
    assert re.search(r'<th scope="row">Title</th><td class="text-block">National telecoms carrier outage</td>'
                     r'<td class="text-block">Carrier outage \(national\)</td>', body)
    assert re.search(r'<th scope="row">Resolved</th><td class="text-block">Tue 4 Apr 2023 10:40 BST</td>'
                     r'<td class="text-block">Tue 4 Apr 2023 10:45 BST</td>', body)
    assert re.search(r'<th scope="row">CSP N restored</th><td class="text-block">\(empty\)</td>', body)
    assert re.search(r'<th scope="row">What happened</th><td class="text-block">\(empty\)</td>'
                     r'<td class="text-block">Alarms.</td>', body)
    # Read-only: no form on the page but logging out, and nothing accepts a POST.
    assert body.count('method="post"') == 1
    assert client.post(f"/incidents/{ref}/audit").status_code == 405


# --- Escaping, CSRF and CSP -------------------------------------------------------------

def test_user_text_is_escaped_everywhere(client, auth, users, now):
    script = "<script>alert(1)</script>"
    incident = factories.incident(actor=users["dcc"], now=now, title=script, cause=script)
    db.session.commit()
    add_entry(incident, users["dcc"], now, occurred_at=incident.started_at, kind="update", text=script)
    auth.login(users["dcc"])
    for url in ("/incidents/", f"/incidents/{incident.reference}", f"/incidents/{incident.reference}/audit",
                f"/incidents/{incident.reference}/edit"):
        body = page(client.get(url))
        assert script not in body, url
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body, url
    rejected = page(client.post("/incidents/new", data=form_post(title=script, reference="INC1")))
    assert script not in rejected
    assert 'value="&lt;script&gt;alert(1)&lt;/script&gt;"' in rejected


def test_pages_need_no_inline_script_or_style(client, auth, users, real_case):
    auth.login(users["dcc"])
    ref = real_case.reference
    for url in ("/incidents/", f"/incidents/{ref}", "/incidents/new", f"/incidents/{ref}/edit",
                f"/incidents/{ref}/audit"):
        response = client.get(url)
        body = page(response)
        assert "script-src 'self'" in response.headers["Content-Security-Policy"]
        assert "<script" not in body and " style=" not in body and "<style" not in body, url
        assert not re.search(r"\son[a-z]+=", body), url


@pytest.mark.parametrize("app_config", [{"WTF_CSRF_ENABLED": True}])
def test_every_post_form_carries_a_csrf_token(client, users, real_case, now):
    add_entry(real_case, users["dcc"], now, occurred_at=real_case.started_at, kind="update", text="x")
    login_page = page(client.get("/login"))
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', login_page).group(1)
    client.post("/login", data={"email": users["dcc"].email, "password": factories.PASSWORD, "csrf_token": token})
    ref = real_case.reference
    entry_id = real_case.timeline[0].id
    for url in (f"/incidents/{ref}", "/incidents/new", f"/incidents/{ref}/edit",
                f"/incidents/{ref}/timeline/{entry_id}/edit"):
        body = page(client.get(url))
        forms = re.findall(r'<form method="post".*?</form>', body, re.DOTALL)
        assert forms, url
        for form in forms:
            assert 'name="csrf_token"' in form, (url, form[:200])
    # Without the token nothing changes.
    response = client.post(f"/incidents/{ref}/timeline", data={"occurred_at": "2023-04-04 07:00", "kind": "update",
                                                               "text": "forged"})
    assert response.status_code == 400
    assert len(reload(ref).timeline) == 1


def test_list_pages_by_key_both_ways(client, auth, users, three_incidents):
    """Older and Newer links seek from a row's key, so each page holds the rows next to the last one seen."""
    auth.login(users["opsg"])
    newest_first = [three_incidents[name].reference for name in ("open", "smki")] + ["INC000001001905"]
    seen, path = [], "/incidents/?per_page=1"
    for _ in range(3):
        shown = page(client.get(path))
        seen += listed(shown)
        following = re.search(r'rel="next" href="([^"]+)"', shown)
        path = following.group(1).replace("&amp;", "&") if following else ""
    assert seen == newest_first and path == ""
    back = re.search(r'rel="prev" href="([^"]+)"', shown).group(1).replace("&amp;", "&")
    assert "before=" in back
    assert listed(page(client.get(back))) == [newest_first[1]]


@pytest.mark.parametrize("query", ["after=yesterday", "before=20230404T051500Z1", "after=20231304T051500.000000Z1",
                                   "after=20230404T051500.000000Z" + "9" * 13])
def test_a_damaged_page_link_is_explained(client, auth, users, query):
    auth.login(users["opsg"])
    response = client.get(f"/incidents/?page=2&{query}")
    assert response.status_code == 400
    assert "This page link is damaged; start again from the first page." in page(response)


def test_the_incident_page_carries_each_sessions_own_csrf_token(app, users, real_case):
    """The timeline table and entry form carry the token of the session that asked for the page."""
    from tests.helpers import Auth

    tokens = []
    for role in ("dcc", "admin"):
        client = app.test_client()
        Auth(client).login(users[role])
        body = page(client.get(f"/incidents/{real_case.reference}"))
        found = set(re.findall(r'name="csrf_token"[^>]*value="([^"]+)"', body))
        assert len(found) == 1, found  # logout, delete and add forms agree
        tokens.append(found.pop())
    assert tokens[0] != tokens[1]
