"""Exclusion principles API: read by readers of incidents, versioned rewording and retiring by administrators."""
from __future__ import annotations

from incidents.principle import service as principle_service
from tests.api.helpers import assert_problem

THIRD_PARTY = "third-party-infrastructure"


def test_principles_are_versioned_and_proposals_keep_the_wording_they_cited(api, tokens, principles):
    admin, party = api.as_(tokens["admin"]), api.as_(tokens["party"])
    listed = api.get("/exclusion-principles").get_json()["items"]
    assert [p["code"] for p in listed] == sorted(p.code for p in principle_service.DEFAULT_PRINCIPLES)
    original = next(p for p in listed if p["code"] == THIRD_PARTY)
    assert (original["version"], original["is_retired"], original["retired_at"]) == (1, False, None)
    assert [v["number"] for v in original["versions"]] == [1]
    assert original["wording"] == original["versions"][0]["wording"]

    ref = api.create().get_json()["reference"]
    api.request("PUT", f"/incidents/{ref}/exclusion", json={"exclude": True, "principle": THIRD_PARTY,
                                                             "rationale": "National carrier outage."})

    path = f"/exclusion-principles/{THIRD_PARTY}"
    reworded = admin.patch(path, json={"wording": "Third-party national infrastructure outside DCC control."})
    assert reworded.status_code == 200, reworded.get_json()
    body = reworded.get_json()
    assert body["version"] == 2 and body["wording"].startswith("Third-party national")
    assert [(v["number"], v["wording"]) for v in body["versions"]] == [
        (1, original["wording"]), (2, body["wording"])]
    assert admin.patch(path, json={"wording": body["wording"]}).get_json()["version"] == 2  # same words: no version
    # The proposal keeps the exact wording it cited.
    cited = api.get(f"/incidents/{ref}/exclusion").get_json()["current_proposal"]["principle_wording"]
    assert cited == original["wording"]

    retired = admin.patch(path, json={"retired": True}).get_json()
    assert retired["is_retired"] is True and retired["retired_at"].endswith("Z")
    assert api.get("/exclusion-principles").get_json()["items"][-1]["code"] == THIRD_PARTY  # retired last
    assert "reinstate it" in assert_problem(admin.patch(path, json={"wording": "New words."}), 409)["detail"]
    both = admin.patch(path, json={"retired": False, "wording": "Reinstated words."}).get_json()
    assert (both["is_retired"], both["version"]) == (False, 3)
    assert admin.patch(path, json={"retired": True, "wording": "Last words."}).get_json()["is_retired"] is True
    assert api.get(path).get_json()["version"] == 4
    # A retired principle cannot be cited.
    other = api.create().get_json()["reference"]
    response = api.request("PUT", f"/incidents/{other}/exclusion", json={
        "exclude": True, "principle": THIRD_PARTY, "rationale": "Carrier."})
    assert "retired" in assert_problem(response, 422, "principle")["errors"]["principle"][0]

    for role in ("dcc", "secas", "opsg", "party"):
        client = api.as_(tokens[role])
        assert_problem(client.post("/exclusion-principles", data="{junk", content_type="application/json"), 403)
        if role != "party":
            assert_problem(client.patch(path, json={"wording": "x"}), 403)
    assert_problem(party.patch(path, json={"wording": "x"}), 404)
    assert_problem(party.get("/exclusion-principles"), 404)


def test_add_principle_duplicates_and_bad_input(api, tokens, principles):
    admin = api.as_(tokens["admin"])
    added = admin.post("/exclusion-principles", json={"code": "carrier-strike", "wording": "Industrial action."})
    assert added.status_code == 201, added.get_json()
    assert added.headers["Location"] == "/api/v1/exclusion-principles/carrier-strike"
    assert added.get_json()["versions"][0]["number"] == 1
    assert api.get("/exclusion-principles/carrier-strike").get_json() == added.get_json()
    body = assert_problem(admin.post("/exclusion-principles", json={"code": " force-majeure ", "wording": "x"}),
                          409, "code")
    assert "already used" in body["errors"]["code"][0]
    assert_problem(admin.post("/exclusion-principles", json={"code": "Bad Code", "wording": " "}),
                   422, "code", "wording")
    assert_problem(admin.post("/exclusion-principles", json={"code": "ok-code", "wording": "a\x00b"}), 422, "wording")
    assert_problem(admin.post("/exclusion-principles", json={"code": "ok-code"}), 422, "wording")
    path = "/exclusion-principles/force-majeure"
    body = assert_problem(admin.patch(path, json={"retired": "yes", "code": "x", "versions": []}),
                          422, "retired", "code", "versions")
    assert "read-only" in body["errors"]["code"][0]
    assert_problem(admin.patch(path, json={"wording": ""}), 422, "wording")
    assert_problem(admin.patch("/exclusion-principles/no-such-principle", json={"wording": "x"}), 404)
    assert_problem(api.get("/exclusion-principles/%00"), 404)
