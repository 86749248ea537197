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
