"""Actions register API: raise, read by reference or slug, revise with history, close, filter, preconditions."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from tests.api.helpers import Api, assert_problem

TODAY = date.today()  # reminders and "overdue" follow the real clock, as the register page does
TARGET = TODAY + timedelta(days=40)
ENCODED, SLUG = "/actions/OPSG%2097%2F04", "/actions/OPSG%2097-04"
ACTION_FIELDS = {"reference", "slug", "text", "owner_org", "owner_user", "raised_on", "target_on",
                 "original_target_on", "status", "closing_note", "closed_at", "incidents", "decision_id",
                 "is_overdue", "needs_date", "revisions", "reminders", "version"}


def _action(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "reference": "OPSG 97/04",
        "text": "The DCC to confirm the principles it uses to exclude Major Incidents caused by third parties.",
        "owner_org": "dcc", "raised_on": "2023-06-26", "target_on": TARGET.isoformat(), "incidents": []}
    data.update(overrides)
    return data


@pytest.fixture()
def secas(api: Api, tokens: dict[str, str]) -> Api:
    """An API client acting as SECAS, which keeps the register."""
    return api.as_(tokens["secas"])


def test_raise_read_revise_and_close_an_action(api, secas, users):
    ref = api.create().get_json()["reference"]
    created = secas.post("/actions", json=_action(owner_user=users["dcc"].email, incidents=[ref]))
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert set(body) == ACTION_FIELDS
    assert created.headers["Location"] == "/api/v1/actions/OPSG%2097-04"
    assert created.headers["ETag"] == f'"action-1-v{body["version"]}"'
    assert (body["reference"], body["slug"], body["status"], body["is_overdue"]) == (
        "OPSG 97/04", "OPSG 97-04", "open", False)
    assert (body["owner_user"], body["incidents"], body["revisions"]) == (users["dcc"].email, [ref], [])
    assert body["target_on"] == body["original_target_on"] == TARGET.isoformat()
    assert body["reminders"], "an open action has reminders planned before its target date"
    assert all(r["state"] == "pending" and "OPSG 97/04" in r["subject"] for r in body["reminders"])

    # The reference URL-encoded and its slug name the same action; any reader may read it.
    encoded, slug = api.get(ENCODED), api.get(SLUG)
    assert encoded.status_code == slug.status_code == 200
    assert encoded.get_json() == slug.get_json() == body
    assert encoded.headers["ETag"] == created.headers["ETag"]
    assert api.get(SLUG, headers={"If-None-Match": created.headers["ETag"]}).status_code == 304

    # A revised target date needs a reason and is kept in the history.
    later = TARGET + timedelta(days=30)
    assert_problem(secas.patch(ENCODED, etag=created.headers["ETag"], json={"target_on": later.isoformat()}),
                   422, "revision_reason")
    revised = secas.patch(SLUG, etag=created.headers["ETag"], json={
        "target_on": later.isoformat(), "revision_reason": "The DCC asked to agree the principles first."})
    assert revised.status_code == 200, revised.get_json()
    after = revised.get_json()
    assert after["version"] == body["version"] + 1 and revised.headers["ETag"] != created.headers["ETag"]
    assert (after["target_on"], after["original_target_on"]) == (later.isoformat(), TARGET.isoformat())
    assert [{k: v for k, v in r.items() if k != "revised_at"} for r in after["revisions"]] == [{
        "previous_on": TARGET.isoformat(), "target_on": later.isoformat(),
        "reason": "The DCC asked to agree the principles first.", "revised_by": users["secas"].email}]
    assert after["reminders"] and after["reminders"] != body["reminders"]  # re-planned for the new date
    assert api.get(SLUG).get_json() == after

    # Stale and missing If-Match; read-only fields.
    assert_problem(secas.patch(SLUG, etag=created.headers["ETag"], json={"text": "x"}), 412)
    assert_problem(secas.patch(SLUG, json={"text": "x"}), 428)
    body = assert_problem(secas.patch(SLUG, etag=revised.headers["ETag"],
                                      json={"reference": "OPSG 97/05", "revisions": []}), 422, "reference", "revisions")
    assert "read-only" in body["errors"]["reference"][0]

    assert_problem(secas.patch(SLUG, etag=revised.headers["ETag"], json={"status": "closed"}), 422, "closing_note")
    closed = secas.patch(SLUG, etag=revised.headers["ETag"], json={
        "status": "closed", "closing_note": "Principles presented at OPSG_100; noted.", "incidents": []})
    assert closed.status_code == 200, closed.get_json()
    done = closed.get_json()
    assert (done["status"], done["incidents"], done["reminders"]) == ("closed", [], [])
    assert done["closed_at"].endswith("Z") and len(done["revisions"]) == 1


def test_roles_duplicates_and_domain_rules(api, secas, tokens):
    dcc, opsg, admin, party = (api.as_(tokens[role]) for role in ("dcc", "opsg", "admin", "party"))
    for client in (dcc, party):
        assert_problem(client.post("/actions", data="{junk", content_type="application/json"), 403)
    created = opsg.post("/actions", json=_action())
    assert created.status_code == 201
    body = assert_problem(admin.post("/actions", json=_action()), 409, "reference")
    assert "already on the register" in body["errors"]["reference"][0]
    assert_problem(admin.post("/actions", json=_action(reference=" OPSG 97/04 ")), 409, "reference")
    assert_problem(dcc.patch(SLUG, etag=created.headers["ETag"], json={"text": "x"}), 403)
    for path in (SLUG, ENCODED, "/actions"):
        assert_problem(party.get(path), 404)
    assert_problem(party.patch(SLUG, etag=created.headers["ETag"], json={"text": "x"}), 404)
    for path in ("/actions/OPSG%2097-05", "/actions/OPSG%2097%2F04%2Fx", "/actions/%00", "/actions/" + "X" * 300):
        assert_problem(api.get(path), 404)

    response = secas.post("/actions", json=_action(
        reference="OPSG 97-4", owner_org="ofgem", owner_user="nobody@example.org", target_on="2023-06-01",
        incidents=["INC999999999999"]))
    assert_problem(response, 422, "reference", "owner_org", "owner_user", "target_on", "incidents")
    assert_problem(secas.post("/actions", json=_action(reference="OPSG 97/05", decision_id=12345)), 422, "decision_id")
    assert_problem(secas.post("/actions", json=_action(decision_id=2**40, target_on="31/12/2030", text=None)),
                   422, "decision_id", "target_on", "text")
    assert_problem(secas.post("/actions", json=_action(target_on="9999-12-31")), 422, "target_on")
    assert_problem(secas.post("/actions", json=_action(status="closed")), 422, "status")


def test_list_filters_and_paging(api, secas):
    overdue = _action(reference="OPSG 98/01", owner_org="secas", raised_on="2023-07-31", target_on="2023-08-14",
                      text="SECAS to circulate the revised reporting template.")
    for data in (_action(), overdue, _action(reference="OPSG 98/02", target_on=(TARGET + timedelta(1)).isoformat())):
        assert secas.post("/actions", json=data).status_code == 201
    closing = secas.get("/actions/OPSG%2098-02")
    assert secas.patch("/actions/OPSG%2098-02", etag=closing.headers["ETag"],
                       json={"status": "closed", "closing_note": "Done."}).status_code == 200

    def refs(query: str) -> list[str]:
        response = api.get("/actions" + query)
        assert response.status_code == 200, response.get_json()
        return [item["reference"] for item in response.get_json()["items"]]

    assert sorted(refs("")) == ["OPSG 97/04", "OPSG 98/01", "OPSG 98/02"]
    assert refs("?status=open") == ["OPSG 98/01", "OPSG 97/04"]  # by target date: the overdue one first
    assert refs("?overdue=true") == ["OPSG 98/01"]
    assert api.get("/actions?overdue=true").get_json()["items"][0]["is_overdue"] is True
    assert refs("?status=closed") == ["OPSG 98/02"]
    assert refs("?status=open&owner=dcc") == ["OPSG 97/04"]
    assert sorted(refs("?meeting=OPSG_98")) == ["OPSG 98/01", "OPSG 98/02"]
    page = api.get("/actions?per_page=2&page=2").get_json()
    assert (page["page"], page["per_page"], page["total"]) == (2, 2, 3)
    assert [i["reference"] for i in page["items"]] == refs("")[2:]
    assert_problem(api.get("/actions?status=done&overdue=maybe&owner=ofgem&meeting=97&page=0"),
                   422, "status", "overdue", "owner", "meeting", "page")
    assert_problem(api.get("/actions?colour=red&status=open&status=closed"), 422, "colour", "status")
