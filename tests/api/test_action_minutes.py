"""The actions API takes the minutes as written: references as minuted, TBC targets, meeting kinds."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest

from tests.api.helpers import Api, assert_problem

TODAY = date.today()  # the API plans reminders from the real clock, as the register page does
TARGET = TODAY + timedelta(days=40)
WORDING = ("Provide the principles for excluding Major Incidents \"caused by 3rd Party Service Providers that are out "
           "of the DCC's control, and therefore causing exclusion from the PMR\".")


def _action(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {"reference": "OPSG 97/04", "text": WORDING, "owner_org": "dcc",
                            "raised_on": "2023-06-26", "target_on": "TBC"}
    data.update(overrides)
    return data


@pytest.fixture()
def secas(api: Api, tokens: dict[str, str]) -> Api:
    """An API client acting as SECAS, which keeps the register."""
    return api.as_(tokens["secas"])


@pytest.mark.parametrize(("reference", "slug"), [("OPSG 75/ CONF01", "OPSG%2075-%20CONF01"),
                                                 ("OPSG 38x/02", "OPSG%2038x-02")])
def test_minuted_references_and_a_tbc_target_are_taken(secas, reference, slug):
    created = secas.post("/actions", json=_action(reference=reference))
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert (body["reference"], body["text"]) == (reference, WORDING)
    assert (body["target_on"], body["original_target_on"], body["needs_date"]) == (None, None, True)
    assert body["reminders"] == [] and body["is_overdue"] is False
    assert created.headers["Location"] == f"/api/v1/actions/{slug}"
    # The same action whatever the case or the space after the slash.
    assert_problem(secas.post("/actions", json=_action(reference=reference.upper().replace("/ ", "/"))), 409,
                   "reference")
    listed = secas.get("/actions?needs_date=true").get_json()
    assert [a["reference"] for a in listed["items"]] == [reference]

    revised = secas.patch(f"/actions/{slug}", etag=created.headers["ETag"],
                          json={"target_on": TARGET.isoformat(), "revision_reason": "Agreed at the next meeting."})
    assert revised.status_code == 200, revised.get_json()
    body = revised.get_json()
    assert (body["target_on"], body["needs_date"]) == (TARGET.isoformat(), False)
    assert body["reminders"], "a date plans reminders"
    assert [(r["previous_on"], r["target_on"]) for r in body["revisions"]] == [(None, TARGET.isoformat())]
    assert secas.get("/actions?needs_date=true").get_json()["items"] == []

    back = secas.patch(f"/actions/{slug}", etag=revised.headers["ETag"],
                       json={"target_on": None, "revision_reason": "Moved to TBC by the group."})
    assert back.status_code == 200, back.get_json()
    assert (back.get_json()["target_on"], back.get_json()["reminders"]) == (None, [])


def test_null_is_tbc_and_a_bad_target_or_reference_says_what_to_send(secas):
    created = secas.post("/actions", json=_action(target_on=None))
    assert created.status_code == 201 and created.get_json()["target_on"] is None
    body = assert_problem(secas.post("/actions", json=_action(reference="OPSG 97/05", target_on="tbd")), 422,
                          "target_on")
    assert body["errors"]["target_on"] == ["Give a date, YYYY-MM-DD (e.g. 2023-06-26)."]
    body = assert_problem(secas.post("/actions", json=_action(reference="OPSG-97-05")), 422, "reference")
    assert body["errors"]["reference"][0].startswith("Reference must look like OPSG 97/04: group, space")


def test_the_openapi_document_describes_tbc_and_the_needs_date_filter(api):
    document = api.get("/openapi.json").get_json()
    create = document["components"]["schemas"]["ActionCreate"]["properties"]
    assert {"const": "TBC"} in create["target_on"]["anyOf"]
    assert "OPSG 75/ CONF01" in create["reference"]["examples"]
    names = {p["name"] for p in document["components"]["parameters"].values()}
    assert "needs_date" in names


def test_meeting_kinds_are_shown_and_checked(secas):
    created = secas.post("/meetings", json={"reference": "OPSG_98", "held_on": "2023-07-24", "kind": "reporting"})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["kind"] == "reporting"
    assert_problem(secas.post("/meetings", json={"reference": "OPSG_99", "held_on": "2023-07-11",
                                                 "kind": "weekly"}), 422, "kind")
    kinds = {m["reference"]: m["kind"] for m in secas.get("/meetings").get_json()["items"]}
    assert kinds == {"OPSG_98": "reporting"}


def test_a_principle_carries_its_basis_versioned_with_its_wording(api, tokens, principles):
    admin = api.as_(tokens["admin"])
    listed = {p["code"]: p for p in api.get("/exclusion-principles").get_json()["items"]}
    assert listed["force-majeure"]["basis"].startswith("Services Force Majeure (SEC Section M3)")
    created = admin.post("/exclusion-principles", json={
        "code": "exceptional-event", "wording": "An OPR Exceptional Event the SEC Panel granted relief for.",
        "basis": "SECMP0043 (2019)"})
    assert created.status_code == 201, created.get_json()
    assert created.get_json()["basis"] == "SECMP0043 (2019)"
    changed = admin.patch("/exclusion-principles/exceptional-event", json={"basis": "SECMP0043 (2019), Section M3"})
    assert changed.status_code == 200, changed.get_json()
    body = changed.get_json()
    assert body["version"] == 2 and body["wording"] == created.get_json()["wording"]
    assert [(v["number"], v["basis"]) for v in body["versions"]] == [
        (1, "SECMP0043 (2019)"), (2, "SECMP0043 (2019), Section M3")]
