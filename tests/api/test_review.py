"""Review workflow API: the real case from proposal to a SEC Party reading it, roles, order, preconditions."""
from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from incidents.extensions import db
from incidents.principle import service as principle_service
from tests import factories
from tests.api.helpers import Api, assert_problem

THIRD_PARTY = "third-party-infrastructure"
RATIONALE = "Restoration depended on a national carrier outside the control of the DCC and its Service Providers."
SECTIONS = {"summary": "Nationwide carrier outage; **CSP N took longest**.",
            "root_cause": "Carrier core failure; CSP N's NTE stuck and needed a reset at 10:40 BST.",
            "impact": "All cohorts.", "lessons_learned": "Keep NTE reset contacts.", "actions": "OPSG 97/04"}
DECISION = {"meeting": "OPSG_97", "report_version": 1, "outcome": "agreed", "classification": "GREEN",
            "minute": "The group noted the review and agreed the Review Report can be published to SEC Parties."}
ACTION_9704 = {"reference": "OPSG 97/04", "owner": "dcc", "target_on": "2023-07-24",
               "text": "DCC to confirm its principles for third-party Major Incidents."}
PROPOSAL = {"exclude": True, "principle": THIRD_PARTY, "rationale": RATIONALE,
            "evidence_links": ["https://example.org/carrier-incident-report"]}
SUMMARY = {"sections": {"what_happened": "A national carrier outage."}, "recipients": ["SECAS", "OPSG members"],
           "sent": True}
PUBLISHED_FIELDS = {"reference", "title", "classification", "published_at", "version", "edition", "supersedes",
                    "sections", "sections_html", "generated"}


@pytest.fixture()
def ref(api: Api, principles: None, users: dict[str, Any]) -> str:
    """The real case, logged through the API; OPSG_97 is in the meetings register."""
    factories.meeting("OPSG_97", date(2023, 6, 26), actor=users["secas"])
    db.session.commit()
    return api.create().get_json()["reference"]


def _ok(response: Any, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def _as(api: Api, tokens: dict[str, str], role: str) -> Api:
    return api.as_(tokens[role])


def _to_submitted(api: Api, tokens: dict[str, str], ref: str, *, exclude: bool = False) -> None:
    """Settle the PMR treatment (SECAS agrees an exclusion, or the DCC counts it) and submit the report."""
    _ok(api.request("PUT", f"/incidents/{ref}/exclusion", json=PROPOSAL if exclude else {"exclude": False}))
    if exclude:
        _ok(_as(api, tokens, "secas").post(f"/incidents/{ref}/exclusion/reviews",
                                          json={"outcome": "agreed", "comment": "Agreed."}), 201)
    _ok(api.request("PUT", f"/incidents/{ref}/report", json={"classification": "AMBER", "sections": SECTIONS}))
    _ok(api.post(f"/incidents/{ref}/report/submit"))


def _to_agreed(api: Api, tokens: dict[str, str], ref: str) -> None:
    _to_submitted(api, tokens, ref)
    _ok(_as(api, tokens, "opsg").post(f"/incidents/{ref}/decisions", json=DECISION), 201)


def test_real_case_from_proposal_to_a_party_reading_the_published_report(api, tokens, users, ref):
    secas, opsg, party = (_as(api, tokens, role) for role in ("secas", "opsg", "party"))
    wording = principle_service.get_principle(THIRD_PARTY).current.wording

    start = api.get(f"/incidents/{ref}/exclusion")
    assert _ok(start)["treatment"]["state"] == "not_proposed"
    assert start.headers["ETag"] == '"review-none"'
    assert [(s["who"], s["due_on"]) for s in start.get_json()["next_steps"]] == [
        ("DCC", "2023-04-06"), ("SECAS", "2023-04-06"),  # the Summary Report, 2 Working Days after resolution
        ("DCC", "2023-04-06"), ("DCC", "2023-05-05")]  # the PMR treatment, then the Review Report (20 WD)

    # The DCC excludes the incident citing the third-party principle; no review yet, so no If-Match needed.
    first = api.request("PUT", f"/incidents/{ref}/exclusion", json=PROPOSAL)
    body = _ok(first)
    assert body["treatment"] == {"state": "pending", "label": "Exclusion proposed, waiting for SECAS",
                                 "excluded": False, "exclusion_pending": True, "principle_code": THIRD_PARTY,
                                 "principle_wording": wording, "rationale": RATIONALE}
    assert body["current_proposal"]["round"] == 1
    assert body["current_proposal"]["evidence_links"] == PROPOSAL["evidence_links"]
    assert body["current_proposal"]["proposed_by"] == users["dcc"].email
    assert {"who": "SECAS", "what": "Review the proposed exclusion", "due_on": None} in body["next_steps"]
    assert api.get(f"/incidents/{ref}/exclusion").headers["ETag"] == first.headers["ETag"]

    # SECAS asks for the principles the DCC applies.
    asked = secas.post(f"/incidents/{ref}/exclusion/reviews", json={
        "outcome": "information_requested", "comment": "What principles does the DCC apply to third parties?"})
    body = _ok(asked, 201)
    assert asked.headers["Location"] == f"/api/v1/incidents/{ref}/exclusion"
    assert body["treatment"]["state"] == "information_requested"
    assert body["rounds"][0]["reviews"] == [{
        "outcome": "information_requested", "comment": "What principles does the DCC apply to third parties?",
        "reviewed_by": users["secas"].email, "reviewed_at": body["rounds"][0]["reviews"][0]["reviewed_at"]}]
    assert body["rounds"][0]["reviews"][0]["reviewed_at"].endswith("Z")

    # Now that the review exists the DCC must send the ETag it read; the one from before SECAS acted is stale.
    assert_problem(api.request("PUT", f"/incidents/{ref}/exclusion", json=PROPOSAL), 428)
    assert_problem(api.request("PUT", f"/incidents/{ref}/exclusion", json=PROPOSAL, etag=first.headers["ETag"]), 412)
    current = api.get(f"/incidents/{ref}/exclusion").headers["ETag"]
    body = assert_problem(api.request("PUT", f"/incidents/{ref}/exclusion", json=PROPOSAL, etag=current),
                          422, "response")
    assert "Answer SECAS" in body["errors"]["response"][0]
    answered = api.request("PUT", f"/incidents/{ref}/exclusion", etag=current, json={
        **PROPOSAL, "response": "We apply the third-party national infrastructure principle; see OPSG 97/04."})
    body = _ok(answered)
    assert [r["round"] for r in body["rounds"]] == [1, 2]
    assert body["current_proposal"]["response"].startswith("We apply")

    agreed = _ok(secas.post(f"/incidents/{ref}/exclusion/reviews",
                            json={"outcome": "agreed", "comment": "Agreed: excluded from the April 2023 PMR."}), 201)
    assert agreed["treatment"]["excluded"] is True and agreed["treatment"]["exclusion_pending"] is False
    assert [r["reviews"][0]["outcome"] for r in agreed["rounds"]] == ["information_requested", "agreed"]

    # The DCC writes the report (no version yet: no If-Match needed) and submits exactly what it read.
    saved = api.request("PUT", f"/incidents/{ref}/report", json={"classification": "AMBER", "sections": SECTIONS})
    report = _ok(saved)
    assert (report["number"], report["is_frozen"], report["state"]) == (1, False, "draft")
    assert saved.headers["ETag"].startswith('"report-') and saved.headers["ETag"].endswith('-v1"')
    assert report["sections"] == SECTIONS
    assert report["generated"]["longest"].startswith("CSP N took longest")
    assert report["generated"]["pmr"]["excluded"] is True
    assert report["generated"]["facts"]["resolved_at"] == "2023-04-04T09:40:00Z"
    read = api.get(f"/incidents/{ref}/report")
    assert _ok(read) == report and read.headers["ETag"] == saved.headers["ETag"]
    submitted = _ok(api.post(f"/incidents/{ref}/report/submit", etag=read.headers["ETag"]))
    assert (submitted["is_frozen"], submitted["state"], submitted["submitted_by"]) == (
        True, "submitted", users["dcc"].email)

    # OPSG_97 agrees publication; SECAS publishes it GREEN.
    decision = _ok(opsg.post(f"/incidents/{ref}/decisions", json={**DECISION, "actions": [ACTION_9704]}), 201)
    assert {k: decision[k] for k in ("meeting", "meeting_on", "outcome", "report_version", "classification")} == {
        "meeting": "OPSG_97", "meeting_on": "2023-06-26", "outcome": "agreed", "report_version": 1,
        "classification": "GREEN"}
    assert decision["actions"] == [ACTION_9704]
    assert _ok(secas.get(f"/incidents/{ref}/decisions"))["items"] == [decision]
    published = secas.post(f"/incidents/{ref}/publish", json={})
    body = _ok(published, 201)
    assert published.headers["Location"] == f"/api/v1/published/{ref}"
    assert (body["classification"], body["version"]) == ("GREEN", 1)
    # The DCC records the Summary Report it sent: it no longer waits on anyone.
    summary = _ok(api.post(f"/incidents/{ref}/summary-report",
                           json={**SUMMARY, "sent_at": "2023-04-05T16:00:00+01:00"}), 201)
    assert summary["sent_at"] == "2023-04-05T15:00:00Z" and summary["versions"][0]["recipients"] == SUMMARY[
        "recipients"]
    assert _ok(api.get(f"/incidents/{ref}/exclusion"))["next_steps"] == []

    # A SEC Party reads the published version, and nothing of the review behind it.
    listed = _ok(party.get("/published"))["items"]
    assert len(listed) == 1 and set(listed[0]) == PUBLISHED_FIELDS
    one = _ok(party.get(f"/published/{ref}"))
    assert one == listed[0]
    assert (one["reference"], one["classification"], one["version"]) == (ref, "GREEN", 1)
    assert one["title"] == "National telecoms carrier outage"
    assert one["sections"] == SECTIONS and one["generated"] == submitted["generated"]
    assert one["published_at"].endswith("Z")
    for path in ("exclusion", "report", "report/versions", "decisions"):
        assert_problem(party.get(f"/incidents/{ref}/{path}"), 404)


def test_every_role_on_every_step(api, tokens, ref):
    roles = {role: _as(api, tokens, role) for role in tokens}

    def refused(method: str, path: str, statuses: dict[str, int]) -> None:
        for role, status in statuses.items():
            # The role is checked before the body is read: junk from a refused role is still 403.
            assert_problem(roles[role].request(method, path, data="{junk", content_type="application/json"), status)

    writers_only = {"secas": 403, "opsg": 403, "party": 404}
    refused("PUT", f"/incidents/{ref}/exclusion", writers_only)
    refused("POST", f"/incidents/{ref}/summary-report", writers_only)
    refused("PUT", f"/incidents/{ref}/report", writers_only)
    refused("POST", f"/incidents/{ref}/report/submit", writers_only)
    refused("POST", f"/incidents/{ref}/exclusion/reviews", {"dcc": 403, "opsg": 403, "party": 404})
    refused("POST", f"/incidents/{ref}/decisions", {"dcc": 403, "party": 404})
    refused("POST", f"/incidents/{ref}/publish", {"dcc": 403, "opsg": 403, "party": 404})

    _ok(roles["admin"].post(f"/incidents/{ref}/summary-report", json=SUMMARY), 201)
    _ok(roles["dcc"].request("PUT", f"/incidents/{ref}/exclusion", json=PROPOSAL,
                             etag=roles["dcc"].get(f"/incidents/{ref}/exclusion").headers["ETag"]))
    _ok(roles["secas"].post(f"/incidents/{ref}/exclusion/reviews", json={"outcome": "agreed", "comment": "Ok."}),
        201)
    _ok(roles["dcc"].request("PUT", f"/incidents/{ref}/report", json={"classification": "GREEN",
                                                                      "sections": SECTIONS}))
    _ok(roles["dcc"].post(f"/incidents/{ref}/report/submit"))
    _ok(roles["secas"].post(f"/incidents/{ref}/decisions", json={**DECISION, "outcome": "deferred"}), 201)
    _ok(roles["opsg"].post(f"/incidents/{ref}/decisions", json={**DECISION, "classification": "WHITE"}), 201)
    _ok(roles["secas"].post(f"/incidents/{ref}/publish", json={"classification": "WHITE"}), 201)

    for role in ("dcc", "secas", "opsg", "admin"):
        for path in ("exclusion", "report", "report/versions", "report/versions/1", "decisions"):
            assert roles[role].get(f"/incidents/{ref}/{path}").status_code == 200, (role, path)
        assert roles[role].get("/exclusion-principles").status_code == 200
    for role in tokens:
        assert _ok(roles[role].get(f"/published/{ref}"))["classification"] == "WHITE"
        assert len(_ok(roles[role].get("/published"))["items"]) == 1
    assert_problem(api.as_(None).get("/published"), 401)


def test_steps_out_of_order_are_409_saying_what_must_happen_first(api, tokens, ref):
    secas, opsg = _as(api, tokens, "secas"), _as(api, tokens, "opsg")

    def conflict(response: Any, says: str) -> None:
        assert says in assert_problem(response, 409)["detail"]

    conflict(secas.post(f"/incidents/{ref}/exclusion/reviews", json={"outcome": "agreed", "comment": "ok"}),
             "the DCC must propose an exclusion first")
    conflict(api.post(f"/incidents/{ref}/report/submit"), "no draft to submit; write the report first")
    conflict(opsg.post(f"/incidents/{ref}/decisions", json=DECISION), "the DCC must submit the Review Report first")
    conflict(secas.post(f"/incidents/{ref}/publish", json={"classification": "GREEN"}),
             "record an 'agreed' decision first")

    _ok(api.request("PUT", f"/incidents/{ref}/report", json={"classification": "AMBER", "sections": SECTIONS}))
    _ok(api.post(f"/incidents/{ref}/report/submit"))
    conflict(api.post(f"/incidents/{ref}/report/submit"), "version 1 is waiting for the Operations Group's decision")
    conflict(opsg.post(f"/incidents/{ref}/decisions", json=DECISION), "The DCC has not stated the PMR treatment yet")
    _ok(api.request("PUT", f"/incidents/{ref}/exclusion", json=PROPOSAL,
                    etag=api.get(f"/incidents/{ref}/exclusion").headers["ETag"]))
    etag = api.get(f"/incidents/{ref}/exclusion").headers["ETag"]
    conflict(api.request("PUT", f"/incidents/{ref}/exclusion", json=PROPOSAL, etag=etag),
             "wait for its outcome before proposing again")

    _ok(api.post(f"/incidents/{ref}/summary-report", json=SUMMARY), 201)

    minor = api.create(category=3).get_json()["reference"]
    conflict(api.request("PUT", f"/incidents/{minor}/exclusion", json=PROPOSAL), "not declared a Major Incident")
    assert _ok(api.get(f"/incidents/{minor}/exclusion"))["next_steps"] == []
    unresolved = api.create(resolved_at=None, status="open", cohorts=[]).get_json()["reference"]
    conflict(api.post(f"/incidents/{unresolved}/summary-report", json=SUMMARY), "not resolved yet")


def test_frozen_agreed_and_published_versions_cannot_be_edited(api, tokens, ref):
    secas, opsg = _as(api, tokens, "secas"), _as(api, tokens, "opsg")
    _to_submitted(api, tokens, ref)
    etag = api.get(f"/incidents/{ref}/report").headers["ETag"]
    # Version 1 waits for the group: it can be neither edited nor replaced, only withdrawn.
    swap = {"classification": "AMBER", "sections": {**SECTIONS, "summary": "Revised."}}
    body = assert_problem(api.request("PUT", f"/incidents/{ref}/report", etag=etag, json=swap), 409)
    assert "version 1 is waiting for the Operations Group's decision. Withdraw it first" in body["detail"]
    assert_problem(opsg.post(f"/incidents/{ref}/decisions", json={
        k: v for k, v in DECISION.items() if k != "report_version"}), 422, "report_version")
    assert_problem(secas.post(f"/incidents/{ref}/report/withdraw"), 403)
    withdrawn = _ok(api.post(f"/incidents/{ref}/report/withdraw"))
    assert (withdrawn["number"], withdrawn["state"]) == (1, "draft")
    assert "nothing to withdraw" in assert_problem(api.post(f"/incidents/{ref}/report/withdraw"), 409)["detail"]
    etag = api.get(f"/incidents/{ref}/report").headers["ETag"]
    revised = _ok(api.request("PUT", f"/incidents/{ref}/report", etag=etag, json=swap))
    assert (revised["number"], revised["is_frozen"], revised["state"]) == (2, False, "draft")
    first = _ok(api.get(f"/incidents/{ref}/report/versions/1"))
    assert (first["is_frozen"], first["sections"]["summary"]) == (True, SECTIONS["summary"])
    _ok(api.post(f"/incidents/{ref}/report/submit"))
    # The pack circulated version 2: a decision naming version 1 is refused.
    body = assert_problem(opsg.post(f"/incidents/{ref}/decisions", json=DECISION), 409)
    assert "Version 1 is not the version waiting for the Operations Group: version 2 is." in body["detail"]
    _ok(opsg.post(f"/incidents/{ref}/decisions", json={**DECISION, "report_version": 2}), 201)

    etag = api.get(f"/incidents/{ref}/report").headers["ETag"]
    change = {"classification": "AMBER", "sections": {**SECTIONS, "summary": "Too late."}}
    body = assert_problem(api.request("PUT", f"/incidents/{ref}/report", etag=etag, json=change), 409)
    assert "SECAS must publish it" in body["detail"]
    # Published as the group agreed (GREEN): any other classification asked is a 409 naming the agreement.
    for level in ("WHITE", "AMBER"):
        body = assert_problem(secas.post(f"/incidents/{ref}/publish", json={"classification": level}), 409)
        assert f"agreed publication as GREEN at OPSG_97; the report is published as agreed, not as {level}" in (
            body["detail"])
    assert "A version classified RED is never agreed for publication nor published" in assert_problem(
        secas.post(f"/incidents/{ref}/publish", json={"classification": "RED"}), 409)["detail"]
    assert_problem(secas.post(f"/incidents/{ref}/publish", json={"classification": "PURPLE"}), 422, "classification")
    assert_problem(_as(api, tokens, "party").get(f"/published/{ref}"), 404)
    _ok(secas.post(f"/incidents/{ref}/publish", json={"classification": "GREEN"}), 201)

    # After publication a change is a correction: a new draft version; parties still read version 2.
    correction = _ok(api.request("PUT", f"/incidents/{ref}/report", etag=etag, json=change))
    assert (correction["number"], correction["is_frozen"], correction["state"]) == (3, False, "draft")
    assert "published" in assert_problem(api.request(
        "PUT", f"/incidents/{ref}/exclusion", json={"exclude": False},
        etag=api.get(f"/incidents/{ref}/exclusion").headers["ETag"]), 409)["detail"]
    versions = _ok(api.get(f"/incidents/{ref}/report/versions"))["items"]
    assert [(v["number"], v["is_frozen"]) for v in versions] == [(1, True), (2, True), (3, False)]
    assert set(versions[0]) == {"number", "is_frozen", "classification", "created_at", "created_by",
                                "submitted_at", "submitted_by"}
    assert _ok(_as(api, tokens, "party").get(f"/published/{ref}"))["version"] == 2
    for number in ("0", "4", "2147483648", "x"):
        assert_problem(api.get(f"/incidents/{ref}/report/versions/{number}"), 404)


def test_a_red_version_is_never_agreed_whatever_classification_is_asked(api, tokens, ref):
    opsg = _as(api, tokens, "opsg")
    _ok(api.request("PUT", f"/incidents/{ref}/exclusion", json={"exclude": False}))
    _ok(api.request("PUT", f"/incidents/{ref}/report", json={"classification": "RED", "sections": SECTIONS}))
    _ok(api.post(f"/incidents/{ref}/report/submit"))
    for level in ("GREEN", "WHITE", "AMBER", None):
        body = assert_problem(opsg.post(f"/incidents/{ref}/decisions", json={**DECISION, "classification": level}), 409)
        assert "A version classified RED is never agreed for publication nor published" in body["detail"]
    assert _ok(opsg.get(f"/incidents/{ref}/decisions"))["items"] == []


def test_a_decision_at_a_meeting_not_in_the_register_is_422_naming_meeting(api, tokens, ref):
    opsg = _as(api, tokens, "opsg")
    _to_submitted(api, tokens, ref)
    body = assert_problem(opsg.post(f"/incidents/{ref}/decisions", json={**DECISION, "meeting": "OPSG_139"}),
                          422, "meeting")
    assert "OPSG_139 is not in it" in body["errors"]["meeting"][0]
    _ok(opsg.post("/meetings", json={"reference": "OPSG_139", "held_on": "2099-12-29"}), 201)
    body = assert_problem(opsg.post(f"/incidents/{ref}/decisions", json={**DECISION, "meeting": "OPSG_139"}),
                          422, "meeting")
    assert "OPSG_139 is on 2099-12-29, which is still to come" in body["errors"]["meeting"][0]
    assert _ok(opsg.get(f"/incidents/{ref}/decisions"))["items"] == []


def test_the_meetings_register(api, tokens, ref):
    secas, opsg, dcc, party = (_as(api, tokens, r) for r in ("secas", "opsg", "dcc", "party"))
    made = secas.post("/meetings", json={"reference": "OPSG_98", "held_on": "2023-07-24", "kind": "reporting"})
    assert made.headers["Location"] == "/api/v1/meetings"
    assert _ok(made, 201) == {"reference": "OPSG_98", "group": "OPSG", "number": 98, "held_on": "2023-07-24",
                              "kind": "reporting", "pack_url": "/meetings/OPSG_98/pack"}
    assert [(m["reference"], m["kind"]) for m in _ok(dcc.get("/meetings"))["items"]] == [
        ("OPSG_98", "reporting"), ("OPSG_97", "main")]
    assert_problem(opsg.post("/meetings", json={"reference": "OPSG_98", "held_on": "2023-07-24"}), 409, "reference")
    assert_problem(opsg.post("/meetings", json={"reference": "OPSG_99", "held_on": "24/07/2023", "kind": "x"}),
                   422, "held_on", "kind")
    assert_problem(opsg.post("/meetings", json={"reference": "OPSG 99", "held_on": "2023-07-24"}), 422, "reference")
    assert_problem(dcc.post("/meetings", json={"reference": "OPSG_99", "held_on": "2023-07-24"}), 403)
    assert_problem(party.get("/meetings"), 404)


def test_decision_actions_are_on_the_actions_register_once(api, tokens, ref):
    opsg = _as(api, tokens, "opsg")
    _to_submitted(api, tokens, ref)
    second = {**ACTION_9704, "reference": "OPSG 97/05", "owner": "secas", "text": "SECAS to circulate it."}
    body = assert_problem(opsg.post(f"/incidents/{ref}/decisions", json={
        **DECISION, "outcome": "deferred", "actions": [ACTION_9704, {**second, "reference": "OPSG 96/05"}]}),
        422, "actions[1].reference")
    assert "numbered OPSG 97/NN" in body["errors"]["actions[1].reference"][0]
    assert _ok(opsg.get("/actions"))["items"] == []  # nothing of the refused decision was kept
    decision = _ok(opsg.post(f"/incidents/{ref}/decisions", json={
        **DECISION, "outcome": "deferred", "actions": [ACTION_9704, second]}), 201)
    listed = {a["reference"]: a for a in _ok(opsg.get("/actions"))["items"]}
    assert sorted(listed) == ["OPSG 97/04", "OPSG 97/05"]
    one = listed["OPSG 97/04"]
    assert (one["owner_org"], one["target_on"], one["raised_on"], one["decision_id"], one["incidents"]) == (
        "dcc", "2023-07-24", "2023-06-26", decision["id"], [ref])
    # Entered once: raising it again by hand is refused, as is minuting it again.
    assert_problem(opsg.post("/actions", json={"reference": "OPSG 97/04", "text": "Again.", "owner_org": "dcc",
                                               "target_on": "2023-07-24"}), 409, "reference")
    body = assert_problem(opsg.post(f"/incidents/{ref}/decisions", json={**DECISION, "actions": [ACTION_9704]}),
                          422, "actions[0].reference")
    assert "already on the register" in body["errors"]["actions[0].reference"][0]
    assert len(_ok(opsg.get("/actions"))["items"]) == 2


def test_report_preconditions(api, ref):
    assert "not saved a Review Report" in assert_problem(api.get(f"/incidents/{ref}/report"), 404)["detail"]
    put = {"classification": "AMBER", "sections": SECTIONS}
    # Before the first version an If-Match may be sent, and must then name the current (empty) state.
    assert_problem(api.request("PUT", f"/incidents/{ref}/report", json=put, etag='"report-1-v1"'), 412)
    first = api.request("PUT", f"/incidents/{ref}/report", json=put, etag="*")
    assert first.status_code == 200
    tag = first.headers["ETag"]
    same = api.request("PUT", f"/incidents/{ref}/report", json=put, etag=f"W/{tag}")
    assert same.status_code == 200 and same.headers["ETag"] == tag  # the same text adds no version

    assert_problem(api.request("PUT", f"/incidents/{ref}/report", json=put), 428)
    assert_problem(api.request("PUT", f"/incidents/{ref}/report", json=put, etag="*"), 428)
    # Preconditions come before the body.
    assert_problem(api.request("PUT", f"/incidents/{ref}/report", data="{", content_type="application/json"), 428)
    second = api.request("PUT", f"/incidents/{ref}/report", etag=tag,
                         json={"classification": "GREEN", "sections": {"summary": "Short."}})
    assert _ok(second)["number"] == 2 and second.get_json()["sections"]["root_cause"] == ""
    assert_problem(api.request("PUT", f"/incidents/{ref}/report", json=put, etag=tag), 412)
    assert_problem(api.post(f"/incidents/{ref}/report/submit", etag=tag), 412)
    # A submitted report needs its required sections.
    assert_problem(api.post(f"/incidents/{ref}/report/submit", etag=second.headers["ETag"]),
                   422, "sections.root_cause")
    assert api.get(f"/incidents/{ref}/report", headers={"If-None-Match": second.headers["ETag"]}).status_code == 304


def test_bodies_are_checked_for_shape_and_by_the_services(api, tokens, ref):
    secas, opsg = _as(api, tokens, "secas"), _as(api, tokens, "opsg")
    path = f"/incidents/{ref}/exclusion"
    assert_problem(api.request("PUT", path, json={"exclude": "yes", "colour": "red"}), 422, "exclude", "colour")
    assert_problem(api.request("PUT", path, json={"exclude": True, "evidence_links": ["ftp://x"]}),
                   422, "principle", "rationale", "evidence_links[0]")
    assert_problem(api.request("PUT", path, json={**PROPOSAL, "principle": "no-such-principle"}), 422, "principle")
    assert_problem(api.request("PUT", path, json={**PROPOSAL, "rationale": "a\x00b"}), 422, "rationale")
    assert_problem(api.request("PUT", path, json={**PROPOSAL, "principle": "a\x00b"}), 422, "principle")
    assert_problem(api.request("PUT", f"/incidents/{ref}/report", json={"classification": "PINK", "sections": {
        "summary": 1, "appendix": "x"}}), 422, "classification", "sections.summary", "sections.appendix")
    assert_problem(api.request("PUT", f"/incidents/{ref}/report", json={"sections": {}}), 422, "classification")
    _to_submitted(api, tokens, ref, exclude=True)
    assert_problem(secas.post(f"/incidents/{ref}/exclusion/reviews", json={"outcome": "maybe"}),
                   422, "outcome", "comment")
    body = assert_problem(opsg.post(f"/incidents/{ref}/decisions", json={
        **DECISION, "meeting": "OPSG 97", "meeting_on": "2023-06-26", "outcome": "yes"}), 422,
        "meeting_on", "outcome")
    assert body["errors"]["meeting_on"] == ["Unknown field."]  # the date comes from the register
    assert_problem(opsg.post(f"/incidents/{ref}/decisions", json={**DECISION, "meeting": "OPSG 97"}), 422, "meeting")
    assert_problem(opsg.post(f"/incidents/{ref}/decisions", json={**DECISION, "classification": "AMBER"}),
                   422, "classification")
    assert_problem(opsg.post(f"/incidents/{ref}/decisions", json={**DECISION, "actions": [
        {**ACTION_9704, "target_on": "24/07/2023", "owner": 4}]}), 422, "actions[0].target_on", "actions[0].owner")
    assert_problem(opsg.post(f"/incidents/{ref}/decisions", json={**DECISION, "minute": " "}), 422, "minute")
    assert _ok(opsg.get(f"/incidents/{ref}/decisions"))["items"] == []


def test_party_sees_nothing_unpublished_and_unknown_references_are_404(api, tokens, ref):
    party = _as(api, tokens, "party")
    missing = party.get("/published/INC999999999999")
    existing = party.get(f"/published/{ref}")
    assert_problem(existing, 404)
    # The same answer whether or not the incident exists.
    assert existing.get_json()["detail"] == missing.get_json()["detail"].replace("INC999999999999", ref)
    assert _ok(party.get("/published"))["items"] == []
    for path in ("exclusion", "report", "report/versions", "report/versions/1", "decisions"):
        assert_problem(party.get(f"/incidents/{ref}/{path}"), 404)
    assert_problem(party.request("PUT", f"/incidents/{ref}/exclusion", json=PROPOSAL), 404)
    assert_problem(party.get("/exclusion-principles"), 404)
    assert_problem(party.get(f"/exclusion-principles/{THIRD_PARTY}"), 404)
    for path in ("/published/INC%00", "/published/" + "X" * 300, "/incidents/INC999999999999/exclusion",
                 "/incidents/%00/report"):
        assert_problem(api.get(path), 404)
