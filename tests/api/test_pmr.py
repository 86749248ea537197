"""PMR API: the demo April 2023 figures, the same as the service computes them."""
from __future__ import annotations

import json

from incidents.demo import service as demo_service
from incidents.extensions import db
from incidents.pmr import service as pmr_service
from tests.api.helpers import assert_problem


def test_demo_april_2023_agrees_with_the_service(api, tokens):
    demo_service.seed()
    db.session.commit()
    response = api.as_(tokens["opsg"]).get("/pmr/2023-04")
    assert response.status_code == 200, response.get_json()
    body = response.get_json()
    assert body["month"] == "2023-04" and set(body["measures"]) == {"CPM4", "CPM5"}
    cpm4 = body["measures"]["CPM4"]
    # The DCC's exclusion of INC000001001905 waits for SECAS; only agreed exclusions count here (66.67 % is the
    # figure with the DCC's exclusions: 2 of 3).
    assert (cpm4["percent_with_exclusions"], cpm4["percent_without_exclusions"]) == (50.0, 50.0)
    assert (cpm4["counted"], cpm4["within_target"], cpm4["excluded"]) == (4, 2, 0)
    assert (cpm4["target_percent"], cpm4["minimum_percent"], cpm4["status"]) == (100.0, 85.0, "below_minimum")
    treatments = {row["reference"]: row["treatment"] for row in cpm4["incidents"]}
    assert treatments["INC000001001905"] == "exclusion_pending"
    assert cpm4["pending_exclusion"] == sum(1 for t in treatments.values() if t == "exclusion_pending")
    # Exactly the service's figures, field for field.
    expected = json.loads(json.dumps(pmr_service.as_json("2023-04", pmr_service.measures("2023-04"))))
    assert body == expected


def test_roles_and_bad_months(api, tokens):
    for role in ("dcc", "secas", "opsg", "admin"):
        body = api.as_(tokens[role]).get("/pmr/2023-05").get_json()
        assert body["measures"]["CPM4"]["status"] == "no_incidents"
        assert body["measures"]["CPM4"]["percent_with_exclusions"] is None
    party = api.as_(tokens["party"])
    assert_problem(party.get("/pmr/2023-04"), 404)
    assert_problem(party.get("/pmr/April"), 404)  # the role is checked first: nothing leaks
    for month in ("2023-13", "April", "2023-4", "0000-01", "%00", "2023-04-01"):
        assert_problem(api.get(f"/pmr/{month}"), 422, "month")
    assert_problem(api.get("/pmr/2023/04"), 404)


def test_three_figures_and_the_recordings(api, tokens, users, now):
    from datetime import UTC, datetime, timedelta

    from incidents.principle import service as principle_service
    from incidents.review import service as review_service
    from tests import factories

    principle_service.seed_defaults()
    start = datetime(2023, 5, 10, 9, 0, tzinfo=UTC)
    made = [factories.incident(actor=users["dcc"], now=now, started_at=start, detected_at=start,
                               resolved_at=start + timedelta(hours=hours), cohorts=[]) for hours in (3, 6)]
    review_service.propose(incident=made[1], exclude=True, principle="force-majeure", rationale="Storm.",
                           actor=users["dcc"], now=now)
    db.session.commit()
    cpm4 = api.get("/pmr/2023-05").get_json()["measures"]["CPM4"]
    assert (cpm4["percent_without_exclusions"], cpm4["percent_with_dcc_exclusions"],
            cpm4["percent_with_exclusions"]) == (50.0, 100.0, 50.0)
    assert (cpm4["dcc_counted"], cpm4["dcc_within_target"], cpm4["dcc_excluded"]) == (1, 1, 1)
    assert cpm4["status_with_dcc_exclusions"] == "met" and cpm4["total_within_target"] == 1
    line = {row["reference"]: row for row in cpm4["incidents"]}[made[1].reference]
    assert (line["exclusion_state"], line["excluded_by_dcc"], line["treatment"]) == (
        "pending", True, "exclusion_pending")

    empty = api.as_(tokens["opsg"]).get("/pmr/2023-05/recordings")
    assert empty.status_code == 200 and empty.get_json() == {"month": "2023-05", "recordings": [],
                                                             "changes_since_latest": {}}
    pmr_service.record_month(month="2023-05", actor=users["dcc"], now=datetime(2023, 6, 5, 9, tzinfo=UTC))
    review_service.review_exclusion(incident=made[1], outcome="disagreed", comment="No.", actor=users["secas"],
                                    now=datetime(2023, 6, 9, 9, tzinfo=UTC))
    db.session.commit()
    body = api.as_(tokens["secas"]).get("/pmr/2023-05/recordings").get_json()
    assert [r["recorded_at"] for r in body["recordings"]] == ["2023-06-05T09:00:00Z"]
    assert body["recordings"][0]["recorded_by"] == users["dcc"].email
    kept = body["recordings"][0]["measures"]["CPM4"]
    assert (kept["percent_with_dcc_exclusions"], kept["incidents"][1]["exclusion_state"]) == (100.0, "pending")
    assert [c["kind"] for c in body["changes_since_latest"]["CPM4"]] == ["exclusion"]
    assert_problem(api.as_(tokens["party"]).get("/pmr/2023-05/recordings"), 404)
    assert_problem(api.get("/pmr/2023-13/recordings"), 422, "month")
