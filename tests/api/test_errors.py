"""The API's error contract: RFC 9457 problem details with an errors object, and the right status."""
from __future__ import annotations

from tests.api.helpers import PROBLEM, assert_problem, incident_json


def test_unknown_route_and_method_are_problem_json(api):
    body = assert_problem(api.get("/nothing-here"), 404)
    assert body["type"] == "about:blank"
    assert_problem(api.as_(None).get("/incidents/INC000000000001/nothing"), 404)
    not_allowed = api.request("PUT", "/incidents")
    assert_problem(not_allowed, 405)
    assert set(not_allowed.headers["Allow"].split(", ")) >= {"GET", "POST"}
    assert_problem(api.request("DELETE", "/openapi.json"), 405)


def test_unknown_incident_is_404(api):
    assert_problem(api.get("/incidents/INC999999999999"), 404)
    assert_problem(api.get("/incidents/" + "X" * 500), 404)
    assert_problem(api.get("/incidents/INC%00"), 404)
    assert_problem(api.patch("/incidents/INC999999999999", etag='"x"', json={}), 404)


def test_duplicate_reference_is_409_on_create_and_patch(api):
    first = api.create().get_json()["reference"]
    body = assert_problem(api.post("/incidents", json=incident_json(reference=first)), 409, "reference")
    assert "already" in body["errors"]["reference"][0]
    # The service stores references in capitals: a lower-case duplicate is still a duplicate.
    assert_problem(api.post("/incidents", json=incident_json(reference=f" {first.lower()} ")), 409, "reference")
    second = api.create()
    response = api.patch(f"/incidents/{second.get_json()['reference']}", etag=second.headers["ETag"],
                         json={"reference": first})
    assert_problem(response, 409, "reference")
    # Its own reference is no clash.
    same = api.patch(f"/incidents/{first}", etag=api.get(f"/incidents/{first}").headers["ETag"],
                     json={"reference": first})
    assert same.status_code == 200


def test_if_match_missing_is_428_and_stale_is_412(api):
    created = api.create()
    ref, tag = created.get_json()["reference"], created.headers["ETag"]
    assert_problem(api.patch(f"/incidents/{ref}", json={"title": "x"}), 428)
    assert_problem(api.patch(f"/incidents/{ref}", etag="*", json={"title": "x"}), 428)
    assert api.patch(f"/incidents/{ref}", etag=tag, json={"title": "First"}).status_code == 200
    # The ETag read before that change is now stale.
    assert_problem(api.patch(f"/incidents/{ref}", etag=tag, json={"title": "Second"}), 412)
    assert_problem(api.patch(f"/incidents/{ref}", etag='"something-else"', json={"title": "Second"}), 412)
    assert_problem(api.patch(f"/incidents/{ref}", etag='"incident-999-v1"', json={"title": "Second"}), 412)
    # Preconditions are checked before the body.
    assert_problem(api.patch(f"/incidents/{ref}", data="{", content_type="application/json"), 428)
    assert api.get(f"/incidents/{ref}").get_json()["title"] == "First"


def test_empty_and_malformed_if_match_are_problems_not_500(api):
    created = api.create()
    ref, tag = created.get_json()["reference"], created.headers["ETag"]
    entry = api.post(f"/incidents/{ref}/timeline", json={
        "occurred_at": "2023-04-04T10:40:00+01:00", "kind": "restored", "cohort": "CSP N", "text": "NTE reset."})
    entry_path = entry.headers["Location"].split("/api/v1", 1)[1]
    # An empty quoted tag is an ETag no resource has: 412, on PATCH and on DELETE.
    for send in ('""', 'W/""', f'"", {tag[:-1]}x"'):
        assert_problem(api.patch(f"/incidents/{ref}", etag=send, json={"title": "x"}), 412)
        assert_problem(api.request("DELETE", entry_path, etag=send), 412)
    # Anything that is not "*" or a list of quoted ETags is a 400 naming If-Match.
    for send in ("", "W/", '"', "abc", "a, b", f'{tag}, *', "W/incident-1-v1", '"a"b"', "\x7f", " , "):
        body = assert_problem(api.patch(f"/incidents/{ref}", etag=send, json={"title": "x"}), 400, "If-Match")
        assert "double quotes" in body["errors"]["If-Match"][0]
        assert_problem(api.request("DELETE", entry_path, etag=send), 400, "If-Match")
    assert api.get(f"/incidents/{ref}").get_json()["title"] != "x"
    assert api.patch(f"/incidents/{ref}", etag=f' , W/{tag} ,', json={"title": "Weak"}).status_code == 200


def test_malformed_json_non_object_and_wrong_content_type_are_422(api):
    body = assert_problem(api.post("/incidents", data='{"title": ', content_type="application/json"), 422, "body")
    assert "not valid JSON" in body["errors"]["body"][0]
    assert_problem(api.post("/incidents", data="", content_type="application/json"), 422, "body")
    for raw in ("[]", '"text"', "null", "42"):
        body = assert_problem(api.post("/incidents", data=raw, content_type="application/json"), 422, "body")
        assert body["errors"]["body"] == ["The body must be a JSON object."]
    assert_problem(api.post("/incidents", data="title=x", content_type="application/x-www-form-urlencoded"),
                   422, "Content-Type")
    assert_problem(api.post("/incidents", data=b"\xff\xfe", content_type="application/json"), 422, "body")


def test_naive_datetime_is_422_with_a_message(api):
    sent = incident_json(started_at="2023-04-04T06:15:00")
    body = assert_problem(api.post("/incidents", json=sent), 422, "started_at")
    assert "offset" in body["errors"]["started_at"][0]
    sent = incident_json()
    sent["cohorts"][1]["restored_at"] = "2023-04-04T10:40:00"
    assert_problem(api.post("/incidents", json=sent), 422, "cohorts[1].restored_at")
    assert_problem(api.post("/incidents", json=incident_json(started_at=1680585300)), 422, "started_at")
    assert_problem(api.post("/incidents", json=incident_json(started_at="4 April 2023")), 422, "started_at")
    assert_problem(api.post("/incidents", json=incident_json(started_at="0001-01-01T00:00:00+05:00")),
                   422, "started_at")


def test_wrong_types_are_422_naming_each_field(api):
    sent = incident_json(category="1", dcc_responsible="yes", devices_affected=1.5, title=7, cohorts={"name": "DSP"})
    body = assert_problem(api.post("/incidents", json=sent), 422,
                          "category", "dcc_responsible", "devices_affected", "title", "cohorts")
    assert "whole number" in body["errors"]["category"][0]
    assert body["errors"]["dcc_responsible"] == ["Give true or false."]
    assert_problem(api.post("/incidents", json=incident_json(category=True)), 422, "category")
    assert_problem(api.post("/incidents", json=incident_json(status="pending")), 422, "status")
    sent = incident_json()
    sent["cohorts"][0] = "CSP N"
    assert_problem(api.post("/incidents", json=sent), 422, "cohorts[0]")
    assert_problem(api.post("/incidents", json={"title": "x"}), 422, "reference", "category", "started_at")


def test_null_for_a_field_that_cannot_be_cleared_is_422(api):
    created = api.create()
    ref = created.get_json()["reference"]
    response = api.patch(f"/incidents/{ref}", etag=created.headers["ETag"], json={"title": None, "status": None})
    assert_problem(response, 422, "title", "status")


def test_unknown_and_read_only_fields_are_422_naming_the_field(api):
    body = assert_problem(api.post("/incidents", json=incident_json(colour="red")), 422, "colour")
    assert body["errors"]["colour"] == ["Unknown field."]
    body = assert_problem(api.post("/incidents", json=incident_json(duration_minutes=1, version=3)),
                          422, "duration_minutes", "version")
    assert "read-only" in body["errors"]["duration_minutes"][0]
    assert "If-Match" in body["errors"]["version"][0]
    sent = incident_json()
    sent["cohorts"][0]["minutes"] = 5
    assert_problem(api.post("/incidents", json=sent), 422, "cohorts[0].minutes")
    created = api.create()
    ref = created.get_json()["reference"]
    response = api.patch(f"/incidents/{ref}", etag=created.headers["ETag"], json={"pmr_month": "2023-05"})
    assert_problem(response, 422, "pmr_month")
    response = api.post(f"/incidents/{ref}/timeline", json={"occurred_at": "2023-04-04T05:20:00Z",
                                                            "kind": "update", "text": "x", "id": 4})
    assert "read-only" in assert_problem(response, 422, "id")["errors"]["id"][0]


def test_domain_rules_are_422_from_the_service(api):
    body = assert_problem(api.post("/incidents", json=incident_json(resolved_at="2023-04-03T00:00:00Z")),
                          422, "resolved_at")
    assert "before the start" in body["errors"]["resolved_at"][0]
    sent = incident_json()
    sent["cohorts"][0]["restored_at"] = "2023-04-04T05:00:00Z"
    assert_problem(api.post("/incidents", json=sent), 422, "cohorts[0].restored_at")
    assert_problem(api.post("/incidents", json=incident_json(reference="INC123", category=9)),
                   422, "reference", "category")
    assert_problem(api.post("/incidents", json=incident_json(started_at="2999-01-01T00:00:00Z")), 422, "started_at")
    created = api.create()
    response = api.patch(f"/incidents/{created.get_json()['reference']}", etag=created.headers["ETag"],
                         json={"status": "open"})
    assert_problem(response, 422, "status")


def test_problem_bodies_are_problem_json_everywhere(api):
    response = api.as_(None).get("/incidents")
    assert response.headers["Content-Type"].startswith(PROBLEM)
    body = response.get_json(force=True)
    assert set(body) >= {"type", "title", "status", "detail"}


def test_duplicate_found_by_the_service_after_the_api_looked_is_still_409(api, users, monkeypatch):
    # Another request logs the same reference between the API's look and the service's own check:
    # the service answers ValidationError (as the pages want it); the API looks again and answers 409.
    from incidents.incident import service as incident_service
    from tests import factories

    real = incident_service.create_incident

    def racing(*, draft, actor, now=None):
        real(draft=factories.incident_draft(reference=draft.reference), actor=users["admin"])
        return real(draft=draft, actor=actor, now=now)

    monkeypatch.setattr(incident_service, "create_incident", racing)
    body = assert_problem(api.post("/incidents", json=incident_json()), 409, "reference")
    assert "already" in body["errors"]["reference"][0]
    monkeypatch.undo()
    assert api.get("/incidents").get_json()["total"] == 0  # the whole unit of work was rolled back


def test_duplicate_error_from_the_service_is_409(api, monkeypatch):
    from incidents.errors import DuplicateError
    from incidents.incident import service as incident_service

    def clash(**kwargs):
        raise DuplicateError("An incident with reference INC000000000001 already exists.",
                             {"reference": ["INC000000000001 is already used by another incident."]})

    monkeypatch.setattr(incident_service, "create_incident", clash)
    assert_problem(api.post("/incidents", json=incident_json()), 409, "reference")
