"""Every API endpoint survives hostile bodies, queries and headers: a success or a 4xx problem, never a 500.

This extends the seeded random tests in tests/api/test_robustness*.py with
Hypothesis: besides mutated bodies it sends the bytes a careless client
does (a key twice, a lone surrogate escape, a BOM, text cut short, bytes
that are not UTF-8, nesting past any sane depth), the wrong Content-Type,
every kind of If-Match, and runs as every role over the demo data. Whatever
an endpoint accepts must then read back through the API and the pages.
"""
from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote

import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st

from incidents.action import service as action_service
from incidents.action.models import Action
from incidents.extensions import db
from incidents.incident.models import TimelineEntry
from tests.api.test_robustness_workflow import BASES as WORKFLOW_BASES
from tests.fuzz.readback import read_back
from tests.fuzz.strategies import FUZZ, assert_api_answer, json_body, raw_json, text

INCIDENT = {
    "reference": "INC000000000001", "title": "Carrier outage", "category": 1, "started_at": "2023-04-04T05:15:00Z",
    "detected_at": "2023-04-04T05:25:00Z", "resolved_at": "2023-04-04T09:40:00+00:00",
    "cohorts": [{"name": "CSP N", "impact_started_at": "2023-04-04T05:15:00Z",
                 "restored_at": "2023-04-04T10:40:00+01:00"}],
    "cause_category": "third_party", "cause": "Carrier.", "impact": "Meters.", "devices_affected": 120000,
    "dcc_responsible": True,
}
ENTRY = {"occurred_at": "2023-04-04T10:40:00+01:00", "kind": "restored", "cohort": "CSP N", "text": "NTE reset."}
# Who normally calls each endpoint (the DCC unless named here); any role is tried half the time.
NATURAL_ROLE = {"/exclusion/reviews": "secas", "/decisions": "secas", "/publish": "secas",
                "/exclusion-principles": "admin", "/actions": "secas"}
CONTENT_TYPES = ["application/json", "application/json; charset=utf-8", "application/json; charset=latin-1",
                 "application/merge-patch+json", "text/plain", "application/x-www-form-urlencoded", None]


def _endpoints() -> dict[tuple[str, str], dict[str, Any]]:
    """Every writing endpoint with a plausible body (the review workflow's from the seeded random tests)."""
    bases: dict[tuple[str, str], dict[str, Any]] = {
        ("POST", "/incidents"): INCIDENT,
        ("PATCH", "/incidents/{ref}"): {"title": "Carrier outage (revised)", "category": 2},
        ("POST", "/incidents/{ref}/timeline"): ENTRY,
        ("PATCH", "/incidents/{ref}/timeline/{entry}"): ENTRY,
        ("DELETE", "/incidents/{ref}/timeline/{entry}"): {},
    }
    bases.update(WORKFLOW_BASES)
    return bases


def _etag(client: Any, path: str, headers: dict[str, str]) -> str | None:
    response = client.get("/api/v1" + path, headers=headers)
    return response.headers.get("ETag") if response.status_code == 200 else None


def test_hostile_bodies_and_headers_at_every_writing_endpoint(app, browsers, demo, demo_tokens):
    endpoints = _endpoints()
    client = browsers["admin"]

    @FUZZ
    @given(endpoint=st.sampled_from(sorted(endpoints)), ref=st.sampled_from(demo), data=st.data(),
           role=st.one_of(st.just("natural"), st.sampled_from(["dcc", "secas", "opsg", "admin", "party"])),
           content_type=st.one_of(st.just("application/json"), st.sampled_from(CONTENT_TYPES)),
           if_match=st.sampled_from(["current", "current", None, "*", 'W/"x"', '"incident-1-v999999999999"', "\x7f"]))
    def attempt(endpoint: tuple[str, str], ref: str, data: Any, role: str, content_type: str | None,
                if_match: str | None) -> None:
        method, template = endpoint
        if role == "natural":
            role = next((who for part, who in NATURAL_ROLE.items() if part in template), "dcc")
        db.session.rollback()
        entry = db.session.scalar(sa.select(TimelineEntry.id).order_by(TimelineEntry.id.desc())) or 1
        path = template.format(ref=ref, entry=entry)
        headers = {"Authorization": f"Bearer {demo_tokens[role]}"}
        body = data.draw(json_body(endpoints[endpoint], extra_keys=("cohorts", "occurred_at", "status")))
        raw = data.draw(raw_json(body))
        if if_match == "current":
            if_match = _etag(client, path.removesuffix("/submit"), headers)
        if if_match is not None:
            headers["If-Match"] = if_match
        if content_type is not None:
            headers["Content-Type"] = content_type
        response = client.open("/api/v1" + path, method=method, data=raw, headers=headers)
        what = f"{method} {path} {headers.get('If-Match')!r} {content_type} {raw[:300]!r}"
        assert_api_answer(response, what=what)
        location = response.headers.get("Location")
        if response.status_code in (200, 201) and location:
            assert_api_answer(client.get(location, headers=headers), what=f"GET {location} after {what}")

    attempt()
    read_back(browsers["admin"], demo_tokens["admin"])


def test_hostile_queries_and_paths(browsers, demo, demo_tokens):
    client = browsers["dcc"]
    headers = {"Authorization": f"Bearer {demo_tokens['dcc']}"}
    names = ["category", "status", "pmr_month", "cohort", "q", "page", "per_page", "overdue", "owner", "meeting",
             "zzz", ""]
    slugs = [action_service.slug(r) for r in db.session.scalars(sa.select(Action.reference))]
    templates = ["/incidents/{}", "/incidents/{}/timeline", "/incidents/{}/timeline/{}", "/incidents/{}/exclusion",
                 "/incidents/{}/report/versions/{}", "/published/{}", "/actions/{}", "/exclusion-principles/{}",
                 "/pmr/{}", "/incidents/{}/audit"]

    def encode(value: str) -> str:
        return quote(value.encode("utf-8", "surrogatepass"), safe="")

    @FUZZ
    @given(listing=st.sampled_from(["/incidents", "/actions"]),
           query=st.lists(st.tuples(st.sampled_from(names), text(surrogates=True)), max_size=5),
           template=st.sampled_from(templates),
           segments=st.lists(st.one_of(text(surrogates=True), st.sampled_from([*demo, *slugs, "1", "2023-04"])),
                             min_size=2, max_size=2),
           method=st.sampled_from(["GET", "HEAD", "OPTIONS", "PATCH", "DELETE"]))
    def attempt(listing: str, query: list[tuple[str, str]], template: str, segments: list[str], method: str) -> None:
        encoded = "&".join(f"{encode(name)}={encode(value)}" for name, value in query)
        assert_api_answer(client.get(f"/api/v1{listing}?{encoded}", headers=headers), what=f"{listing}?{encoded}")
        path = template.format(*(encode(s) for s in segments[: template.count("{}")]))
        response = client.open("/api/v1" + path, method=method, headers={**headers, "If-Match": '"x"'},
                               data=b"{}", content_type="application/json")
        if method != "HEAD":
            assert_api_answer(response, what=f"{method} {path}")
        assert response.status_code < 500

    attempt()


def test_hostile_authorization_headers(browsers, demo, demo_tokens):
    client = browsers["dcc"]

    @FUZZ
    @given(scheme=st.sampled_from(["Bearer", "bearer", "Basic", "Token", "", "Bearer Bearer"]),
           token=st.one_of(st.sampled_from([demo_tokens["dcc"], demo_tokens["dcc"] + "x", "", " " * 10]),
                           text().filter(lambda t: t.isascii() and "\n" not in t and "\r" not in t)))
    def attempt(scheme: str, token: str) -> None:
        response = client.get("/api/v1/incidents", headers={"Authorization": f"{scheme} {token}"})
        assert_api_answer(response, what=f"{scheme!r} {token[:80]!r}")
        if response.status_code == 401:
            assert response.headers["WWW-Authenticate"].startswith('Bearer realm="incidents"')

    attempt()


def test_a_key_sent_twice_takes_the_last_value(browsers, demo, demo_tokens):
    """Duplicated keys are read as JSON parsers usually read them (the last wins), and checked like any value."""
    headers = {"Authorization": f"Bearer {demo_tokens['dcc']}", "Content-Type": "application/json"}
    raw = json.dumps({"occurred_at": "2023-04-04T05:20:00Z", "kind": "update", "text": "first"})
    path = "/api/v1/incidents/INC000001001905/timeline"
    response = browsers["dcc"].post(path, data=raw[:-1] + ', "text": "second"}', headers=headers)
    assert response.status_code == 201 and response.get_json()["text"] == "second"
    response = browsers["dcc"].post(path, data=raw[:-1] + ', "text": "\\u0000"}', headers=headers)
    assert response.status_code == 422 and "text" in response.get_json()["errors"]
