"""The API survives random input: every answer is a success or a 4xx problem, never a 500."""
from __future__ import annotations

import json
import random
from typing import Any

import pytest

from tests.api.helpers import PROBLEM, incident_json

STRINGS = [
    "", " ", "\x00", "a\x00b", "é✓😀", "x" * 5000, "INC000001001905", "inc000001001905", "CSP N", "open",
    "restored", "third_party", "2023-04-04T05:15:00Z", "2023-04-04T06:15:00+01:00", "2023-04-04T06:15:00",
    "0001-01-01T00:00:00Z", "0001-01-01T00:30:00+01:00", "9999-12-31T23:59:59-12:00", "9999-12-31T23:59:59Z",
    "1900-02-29T00:00:00Z", "2023-02-30T00:00:00Z", "2023-04-04T25:00:00Z", "2023-04-04", "now", "null",
]
NUMBERS = [0, 1, 2, 5, 6, -1, 2**31, 2**63, 10**30, -(10**30), 1.5, 1e308, -0.0]


def _value(rng: random.Random, depth: int = 0) -> Any:
    choice = rng.randrange(8 if depth < 3 else 5)
    if choice == 0:
        return None
    if choice == 1:
        return rng.choice([True, False])
    if choice == 2:
        return rng.choice(NUMBERS)
    if choice in (3, 4):
        return rng.choice(STRINGS)
    if choice == 5:
        return [_value(rng, depth + 1) for _ in range(rng.randrange(4))]
    keys = ["name", "impact_started_at", "restored_at", "kind", "text", "x", ""]
    return {rng.choice(keys): _value(rng, depth + 1) for _ in range(rng.randrange(4))}


def _mutated(rng: random.Random, base: dict[str, Any]) -> Any:
    body = json.loads(json.dumps(base))
    for _ in range(rng.randrange(1, 4)):
        if isinstance(body.get("cohorts"), list) and body["cohorts"] and rng.random() < 0.3:
            cohort = rng.choice(body["cohorts"])
            if isinstance(cohort, dict):
                cohort[rng.choice(["name", "impact_started_at", "restored_at", "extra"])] = _value(rng)
        else:
            body[rng.choice([*base, "version", "pmr_month", "zzz"])] = _value(rng)
    return body


def _check(response: Any) -> None:
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400:
        assert response.mimetype == PROBLEM
        assert response.get_json(force=True)["status"] == response.status_code


def test_random_bodies_never_fail_the_server(api):
    rng = random.Random(20230404)
    created = api.create()
    ref = created.get_json()["reference"]
    entry = api.post(f"/incidents/{ref}/timeline", json={"occurred_at": "2023-04-04T05:20:00Z",
                                                          "kind": "detected", "text": "Alarms."}).get_json()
    entry_path = f"/incidents/{ref}/timeline/{entry['id']}"
    timeline_base = {"occurred_at": "2023-04-04T05:20:00Z", "kind": "update", "cohort": "CSP N", "text": "x"}
    for _ in range(100):
        base = incident_json()
        body = _mutated(rng, base) if rng.random() < 0.7 else _value(rng)
        _check(api.post("/incidents", json=body))
        current = api.get(f"/incidents/{ref}")
        _check(current)
        patch = _mutated(rng, {k: v for k, v in base.items() if k != "reference"}) if rng.random() < 0.7 \
            else _value(rng)
        _check(api.patch(f"/incidents/{ref}", etag=current.headers["ETag"], json=patch))
        _check(api.post(f"/incidents/{ref}/timeline", json=_mutated(rng, timeline_base)))
        read = api.get(entry_path)
        _check(read)
        if read.status_code == 200:
            _check(api.patch(entry_path, etag=read.headers["ETag"], json=_mutated(rng, timeline_base)))
    _check(api.get(f"/incidents/{ref}/audit"))
    _check(api.get("/incidents?per_page=100"))


def test_random_queries_headers_and_paths_never_fail_the_server(api):
    rng = random.Random(97)
    created = api.create()
    ref = created.get_json()["reference"]
    params = ["category", "status", "pmr_month", "cohort", "q", "page", "per_page", "other"]
    raw = ["", "1", "0", "-1", "99999999999999999999", "%00", "%C2%B2", "%D9%A2", "2023-04", "0000-01",
           "9999-12", "%E0%A5%A8%E0%A5%A6%E0%A5%A8%E0%A5%A9-04", "open", "CSP+N", "%25", "_", "%5C", "x" * 300]
    for _ in range(120):
        query = "&".join(f"{rng.choice(params)}={rng.choice(raw)}" for _ in range(rng.randrange(4)))
        _check(api.get(f"/incidents?{query}"))
    for header in ["", "*", "W/", '"', 'W/"incident-1-v1"', '"incident-1-v99999999999999999999"', "\x7f", "a, b",
                   '"incident-1-v1", *', created.headers["ETag"] + "x"]:
        _check(api.patch(f"/incidents/{ref}", headers={"If-Match": header}, json={"title": "t"}))
    for path in [f"/incidents/{ref}/timeline/0", f"/incidents/{ref}/timeline/-1", "/incidents/%FF",
                 "/incidents/%00/timeline", f"/incidents/{ref}/timeline/2147483648", "/incidents/%20",
                 f"/incidents/{ref.lower()}", "/", ""]:
        for method in ("GET", "PATCH", "DELETE", "POST", "PUT"):
            _check(api.request(method, path, json={}, headers={"If-Match": '"x"'}))


@pytest.mark.parametrize("overrides", [
    # At the calendar's edge: converting to UK time for the derived values would overflow.
    {"started_at": "0001-01-01T00:00:00Z", "detected_at": None, "resolved_at": None, "status": "open", "category": 5,
         "cohorts": []},
    {"started_at": "0001-01-01T00:00:00-01:00", "detected_at": None, "resolved_at": "0001-01-01T02:00:00Z",
         "cohorts": []},
    {"started_at": "0001-01-02T00:00:00Z", "detected_at": None, "resolved_at": "0001-01-03T00:00:00Z", "category": 4,
         "cohorts": []},
    {"started_at": "1970-01-01T00:00:00Z", "detected_at": None, "resolved_at": "2023-05-31T00:00:00Z", "category": 5,
         "cohorts": []},
    {"devices_affected": 10**12, "category": 3, "title": "é✓😀" * 50},
    {"devices_affected": 10**12 + 1},
    {"cohorts": [{"name": "DSP", "impact_started_at": "9999-12-31T00:00:00Z"}]},
])
def test_extreme_values_are_saved_and_readable_or_refused(api, overrides):
    response = api.post("/incidents", json=incident_json(**overrides))
    _check(response)
    if response.status_code == 201:
        assert api.get(response.headers["Location"].removeprefix("/api/v1")).status_code == 200
    _check(api.get("/incidents?per_page=100"))


def test_time_at_the_calendar_edge_is_refused_and_nothing_is_saved(api):
    response = api.post("/incidents", json=incident_json(started_at="0001-01-01T00:00:00Z", resolved_at=None,
                                                         detected_at=None, status="open", cohorts=[]))
    body = response.get_json()
    assert response.status_code == 422 and "out of range" in body["errors"]["started_at"][0]
    assert api.get("/incidents").get_json()["total"] == 0
