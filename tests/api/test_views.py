"""API views: the real case end to end, timeline, audit trail, list filters and paging."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests import factories
from tests.api.helpers import assert_problem, incident_json


def test_create_get_patch_get_round_trip_with_derived_values(api):
    sent = incident_json()
    # Times may be sent in any offset; 06:15 BST is 05:15 UTC.
    sent["started_at"] = "2023-04-04T06:15:00+01:00"
    created = api.post("/incidents", json=sent)
    assert created.status_code == 201, created.get_json()
    ref = sent["reference"]
    assert created.headers["Location"] == f"/api/v1/incidents/{ref}"
    body = created.get_json()
    assert created.headers["ETag"] == f'"incident-1-v{body["version"]}"'
    assert body["warnings"] == []
    assert body["started_at"] == "2023-04-04T05:15:00Z"
    assert body["resolved_at"] == "2023-04-04T09:40:00Z"
    assert body["status"] == "resolved"
    assert body["duration_minutes"] == 265
    assert body["target_resolution_minutes"] == 240
    assert body["within_target_resolution_time"] is False
    assert body["pmr_month"] == "2023-04"
    assert body["summary_report_due_on"] == "2023-04-06"
    assert body["review_report_due_on"] == "2023-05-05"
    longest = body["longest_restoration"]
    assert longest["cohort"] == "CSP N"
    assert longest["next_cohort"] == "DSP"
    assert longest["difference_minutes"] == 85
    assert "1 h 25 min" in longest["description"]
    assert [c["name"] for c in body["cohorts"]] == ["CSP C&S", "CSP N", "DSP"]
    assert body["cohorts"][1] == {"name": "CSP N", "impact_started_at": "2023-04-04T05:15:00Z",
                                  "restored_at": "2023-04-04T09:40:00Z"}

    read = api.get(created.headers["Location"].removeprefix("/api/v1"))
    assert read.status_code == 200
    assert read.headers["ETag"] == created.headers["ETag"]
    assert read.get_json() == {k: v for k, v in body.items() if k != "warnings"}

    # Resolved at 08:15 UTC instead: 180 minutes, within the 4 h TRT.
    changed = api.patch(f"/incidents/{ref}", etag=read.headers["ETag"],
                        json={"resolved_at": "2023-04-04T09:15:00+01:00", "title": "Carrier outage"})
    assert changed.status_code == 200, changed.get_json()
    assert changed.headers["ETag"] != read.headers["ETag"]
    after = changed.get_json()
    assert after["version"] == body["version"] + 1
    assert after["title"] == "Carrier outage"
    assert after["duration_minutes"] == 180
    assert after["within_target_resolution_time"] is True
    assert after["cause"] == sent["cause"]  # not sent, so unchanged

    again = api.get(f"/incidents/{ref}")
    assert again.headers["ETag"] == changed.headers["ETag"]
    assert again.get_json()["resolved_at"] == "2023-04-04T08:15:00Z"


def test_create_returns_service_warnings(api):
    sent = incident_json()
    sent["detected_at"] = "2023-04-04T05:00:00Z"  # before the start
    response = api.post("/incidents", json=sent)
    assert response.status_code == 201
    assert "detection time is before the start" in response.get_json()["warnings"][0]


def test_create_applies_service_defaults_for_fields_not_sent(api):
    response = api.post("/incidents", json={"reference": factories.reference(), "title": "Open one",
                                            "category": 2, "started_at": "2023-05-01T10:00:00Z"})
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["status"] == "open"
    assert body["cause_category"] == "unknown"
    assert body["dcc_responsible"] is True
    assert body["cohorts"] == [] and body["resolved_at"] is None
    assert body["duration_minutes"] is None and body["pmr_month"] is None
    assert body["longest_restoration"] is None


def test_patch_cohorts_replace_the_whole_list_and_null_clears(api):
    created = api.create()
    ref = created.get_json()["reference"]
    response = api.patch(f"/incidents/{ref}", etag=created.headers["ETag"], json={
        "cohorts": [{"name": "DSP", "impact_started_at": "2023-04-04T05:15:00Z"}],
        "devices_affected": None,
    })
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["cohorts"] == [{"name": "DSP", "impact_started_at": "2023-04-04T05:15:00Z", "restored_at": None}]
    assert body["devices_affected"] is None
    assert body["longest_restoration"] is None


def test_patch_with_nothing_changed_keeps_the_version(api):
    created = api.create()
    ref = created.get_json()["reference"]
    response = api.patch(f"/incidents/{ref}", etag=created.headers["ETag"],
                         json={"started_at": "2023-04-04T06:15:00+01:00"})
    assert response.status_code == 200
    assert response.headers["ETag"] == created.headers["ETag"]


def test_weak_etag_and_list_of_etags_match(api):
    created = api.create()
    ref, tag = created.get_json()["reference"], created.headers["ETag"]
    response = api.patch(f"/incidents/{ref}", etag=f'"other", W/{tag}', json={"title": "Weakly matched"})
    assert response.status_code == 200, response.get_json()


def test_get_answers_304_to_a_current_if_none_match(api):
    created = api.create()
    ref = created.get_json()["reference"]
    response = api.get(f"/incidents/{ref}", headers={"If-None-Match": created.headers["ETag"]})
    assert response.status_code == 304
    assert response.headers["ETag"] == created.headers["ETag"]


def test_if_none_match_compares_weakly_and_takes_lists_and_star(api):
    created = api.create()
    ref, tag = created.get_json()["reference"], created.headers["ETag"]
    for header in (f"W/{tag}", f'"incident-0-v9", {tag}', f'"other",W/{tag}', "*"):
        response = api.get(f"/incidents/{ref}", headers={"If-None-Match": header})
        assert response.status_code == 304 and response.data == b"", header
        assert response.headers["ETag"] == tag
    assert api.request("HEAD", f"/incidents/{ref}", headers={"If-None-Match": tag}).status_code == 304
    response = api.get(f"/incidents/{ref}", headers={"If-None-Match": '"other", W/"incident-0-v1"'})
    assert response.status_code == 200 and response.get_json()["reference"] == ref


def test_a_changed_incident_answers_200_with_a_new_etag(api):
    created = api.create()
    ref, tag = created.get_json()["reference"], created.headers["ETag"]
    assert api.patch(f"/incidents/{ref}", etag=tag, json={"title": "Retitled"}).status_code == 200
    response = api.get(f"/incidents/{ref}", headers={"If-None-Match": tag})
    assert response.status_code == 200 and response.headers["ETag"] != tag
    assert response.get_json()["title"] == "Retitled"
    assert api.get(f"/incidents/{ref}", headers={"If-None-Match": response.headers["ETag"]}).status_code == 304


def test_readers_can_read(api, tokens):
    ref = api.create().get_json()["reference"]
    for role in ("secas", "opsg", "admin"):
        assert api.as_(tokens[role]).get(f"/incidents/{ref}").status_code == 200
        assert api.as_(tokens[role]).get("/incidents").get_json()["total"] == 1


def test_admin_can_write(api, tokens):
    admin = api.as_(tokens["admin"])
    created = admin.create()
    ref = created.get_json()["reference"]
    assert admin.patch(f"/incidents/{ref}", etag=created.headers["ETag"], json={"title": "x"}).status_code == 200


def test_timeline_crud_with_etags(api, tokens):
    ref = api.create().get_json()["reference"]
    added = api.post(f"/incidents/{ref}/timeline", json={
        "occurred_at": "2023-04-04T10:40:00+01:00", "kind": "restored", "cohort": "CSP N",
        "text": "NTE reset; CSP N restored."})
    assert added.status_code == 201, added.get_json()
    entry = added.get_json()
    assert entry == {"id": entry["id"], "occurred_at": "2023-04-04T09:40:00Z", "kind": "restored",
                     "cohort": "CSP N", "text": "NTE reset; CSP N restored.", "version": 1}
    assert added.headers["ETag"] == f'"timeline-{entry["id"]}-v1"'
    assert added.headers["Location"] == f"/api/v1/incidents/{ref}/timeline/{entry['id']}"
    earlier = api.post(f"/incidents/{ref}/timeline", json={
        "occurred_at": "2023-04-04T05:20:00Z", "kind": "detected", "text": "Alarms from all CSPs."})
    assert earlier.status_code == 201

    listed = api.as_(tokens["opsg"]).get(f"/incidents/{ref}/timeline")
    assert listed.status_code == 200
    assert [e["kind"] for e in listed.get_json()["items"]] == ["detected", "restored"]

    path = f"/incidents/{ref}/timeline/{entry['id']}"
    read = api.get(path)
    assert read.status_code == 200 and read.headers["ETag"] == added.headers["ETag"]

    changed = api.patch(path, etag=read.headers["ETag"], json={"text": "NTE reset at 10:40 BST.", "cohort": None})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["version"] == 2 and changed.get_json()["cohort"] is None
    assert changed.headers["ETag"] == f'"timeline-{entry["id"]}-v2"'

    stale = api.delete(path, etag=read.headers["ETag"])
    assert_problem(stale, 412)
    assert_problem(api.delete(path), 428)
    assert_problem(api.as_(tokens["secas"]).delete(path, etag=changed.headers["ETag"]), 403)

    deleted = api.delete(path, etag=changed.headers["ETag"])
    assert deleted.status_code == 204 and deleted.data == b""
    assert_problem(api.get(path), 404)
    assert [e["kind"] for e in api.get(f"/incidents/{ref}/timeline").get_json()["items"]] == ["detected"]


def test_timeline_domain_rules_are_422(api):
    ref = api.create().get_json()["reference"]
    response = api.post(f"/incidents/{ref}/timeline", json={
        "occurred_at": "2023-04-04T05:20:00Z", "kind": "update", "cohort": "SMKI", "text": " "})
    assert_problem(response, 422, "cohort", "text")
    response = api.post(f"/incidents/{ref}/timeline", json={"occurred_at": "2023-04-04T05:20:00", "kind": "gossip"})
    assert_problem(response, 422, "occurred_at", "kind", "text")


def test_timeline_entry_of_another_incident_is_404(api):
    first = api.create().get_json()["reference"]
    second = api.create().get_json()["reference"]
    added = api.post(f"/incidents/{first}/timeline", json={
        "occurred_at": "2023-04-04T05:20:00Z", "kind": "detected", "text": "Alarms."})
    entry_id = added.get_json()["id"]
    assert_problem(api.get(f"/incidents/{second}/timeline/{entry_id}"), 404)
    assert_problem(api.patch(f"/incidents/{second}/timeline/{entry_id}", etag=added.headers["ETag"],
                             json={"text": "x"}), 404)
    assert_problem(api.get(f"/incidents/{first}/timeline/99999999999999999999"), 404)


def test_audit_shows_field_level_changes(api, users, tokens):
    created = api.create()
    ref = created.get_json()["reference"]
    api.patch(f"/incidents/{ref}", etag=created.headers["ETag"], json={"title": "Carrier outage (national)"})
    api.post(f"/incidents/{ref}/timeline", json={"occurred_at": "2023-04-04T05:20:00Z", "kind": "detected",
                                                  "text": "Alarms."})
    response = api.as_(tokens["secas"]).get(f"/incidents/{ref}/audit")
    assert response.status_code == 200
    items = response.get_json()["items"]
    assert [(i["entity_type"], i["action"]) for i in items] == [
        ("incident", "create"), ("incident", "update"), ("timeline_entry", "create")]
    update = items[1]
    assert update["actor"] == users["dcc"].email
    assert update["changes"] == {"title": ["National telecoms carrier outage", "Carrier outage (national)"]}
    assert set(update) == {"id", "at", "actor", "action", "entity_type", "entity_id", "summary", "changes"}
    assert items[0]["changes"]["reference"] == [None, ref]


def test_list_filters_and_paging(api):
    start = datetime(2023, 3, 1, 9, 0, tzinfo=UTC)
    march = api.create(title="March cellular fault", category=2, started_at=start, detected_at=start,
                       resolved_at=start + timedelta(hours=1),
                       cohorts=[{"name": "CSP C&S", "impact_started_at": start,
                                 "restored_at": start + timedelta(hours=1)}]).get_json()
    april = api.create().get_json()
    still_open = api.create(title="Open DSP issue", resolved_at=None, status="open",
                            started_at=datetime(2023, 5, 2, tzinfo=UTC), detected_at=None,
                            cohorts=[]).get_json()

    def refs(query: str) -> list[str]:
        response = api.get("/incidents" + query)
        assert response.status_code == 200, response.get_json()
        return [i["reference"] for i in response.get_json()["items"]]

    assert refs("") == [still_open["reference"], april["reference"], march["reference"]]
    assert refs("?category=2") == [march["reference"]]
    assert refs("?status=open") == [still_open["reference"]]
    assert refs("?pmr_month=2023-04") == [april["reference"]]
    assert refs("?cohort=CSP+N") == [april["reference"]]
    assert refs("?q=cellular") == [march["reference"]]
    assert refs(f"?q={april['reference'][-6:]}") == [april["reference"]]

    page = api.get("/incidents?per_page=2&page=2").get_json()
    assert page["page"] == 2 and page["per_page"] == 2 and page["total"] == 3
    assert [i["reference"] for i in page["items"]] == [march["reference"]]
    assert page["items"][0]["duration_minutes"] == 60
    assert set(page) == {"items", "page", "per_page", "total", "total_exact"}
    assert page["total_exact"] is True


def test_list_query_errors_are_422_naming_each_parameter(api):
    response = api.get("/incidents?category=9&status=gone&pmr_month=April&page=0&per_page=1000")
    assert_problem(response, 422, "category", "status", "pmr_month", "page", "per_page")
    assert_problem(api.get("/incidents?colour=red"), 422, "colour")
    assert_problem(api.get("/incidents?category=1&category=2"), 422, "category")
    assert_problem(api.get("/incidents?page=%C2%B2"), 422, "page")  # superscript two
    assert_problem(api.get("/incidents?q=%00"), 422, "q")
    assert_problem(api.get("/incidents?pmr_month=0000-01"), 422, "pmr_month")
    assert_problem(api.get("/incidents?pmr_month=9999-12"), 422, "pmr_month")
