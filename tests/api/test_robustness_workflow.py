"""The review, register and PMR endpoints survive random input: a success or a 4xx problem, never a 500."""
from __future__ import annotations

import json
import random
from typing import Any

from tests.api.test_robustness import STRINGS, _check, _value

BASES: dict[tuple[str, str], dict[str, Any]] = {
    ("PUT", "/incidents/{ref}/exclusion"): {
        "exclude": True, "principle": "third-party-infrastructure", "rationale": "Carrier.",
        "evidence_links": ["https://example.org/x"], "response": ""},
    ("POST", "/incidents/{ref}/exclusion/reviews"): {"outcome": "information_requested", "comment": "Why?"},
    ("PUT", "/incidents/{ref}/report"): {"classification": "AMBER", "sections": {"summary": "S", "root_cause": "R"}},
    ("POST", "/incidents/{ref}/report/submit"): {},
    ("POST", "/incidents/{ref}/decisions"): {"meeting": "OPSG_97", "meeting_on": "2023-06-26", "outcome": "agreed",
                                             "minute": "Agreed."},
    ("POST", "/incidents/{ref}/publish"): {"classification": "GREEN"},
    ("POST", "/incidents/{ref}/summary-report"): {},
    ("POST", "/exclusion-principles"): {"code": "carrier-strike", "wording": "Industrial action."},
    ("PATCH", "/exclusion-principles/force-majeure"): {"wording": "Force majeure.", "retired": False},
    ("POST", "/actions"): {"reference": "OPSG 97/04", "text": "Confirm principles.", "owner_org": "dcc",
                           "target_on": "2030-01-31", "incidents": [], "owner_user": None, "decision_id": None},
    ("PATCH", "/actions/OPSG%2097-04"): {"target_on": "2030-02-28", "revision_reason": "Later.", "status": "open",
                                         "closing_note": "", "incidents": []},
}
EXTRA = ["sections", "incidents", "evidence_links", "meeting_on", "target_on", "decision_id", "version", "zzz"]


def _mutated(rng: random.Random, base: dict[str, Any]) -> Any:
    body = json.loads(json.dumps(base))
    for _ in range(rng.randrange(1, 4)):
        key = rng.choice([*base, *EXTRA]) if base else rng.choice(EXTRA)
        if key == "sections" and isinstance(body.get(key), dict) and rng.random() < 0.5:
            body[key][rng.choice(["summary", "root_cause", "appendix"])] = _value(rng)
        elif isinstance(body.get(key), list) and rng.random() < 0.5:
            body[key].append(rng.choice(STRINGS))
        else:
            body[key] = _value(rng)
    return body


def test_random_bodies_and_headers_never_fail_the_server(api, tokens, principles):
    rng = random.Random(9704)
    ref = api.create().get_json()["reference"]
    clients = [api.as_(tokens[role]) for role in ("dcc", "secas", "opsg", "admin")]
    headers = [None, "*", '"review-none"', '"report-none"', 'W/"review-1-v2"', '"action-1-v1"', '"x"', "\x7f"]
    for _ in range(150):
        (method, path), base = rng.choice(list(BASES.items()))
        body = _mutated(rng, base) if rng.random() < 0.8 else _value(rng)
        if_match = rng.choice(headers)
        _check(rng.choice(clients).request(method, path.format(ref=ref), json=body,
                                           headers={"If-Match": if_match} if if_match else {}))
    for path in ("/incidents/{ref}/exclusion", "/incidents/{ref}/report", "/incidents/{ref}/report/versions",
                 "/incidents/{ref}/decisions", "/published", "/published/{ref}", "/exclusion-principles",
                 "/actions", "/actions/OPSG%2097%2F04", "/pmr/2023-04"):
        _check(api.get(path.format(ref=ref)))


def test_random_paths_and_queries_never_fail_the_server(api):
    rng = random.Random(97)
    segments = ["", "%00", "%FF", "%20", "x" * 300, "OPSG%2097%2F04", "OPSG%2097-04", "-", "%2F", "2023-04",
                "9999-12", "2147483648", "-1", "0", "INC000001001905"]
    templates = ["/incidents/{}/exclusion", "/incidents/{}/report/versions/{}", "/published/{}", "/actions/{}",
                 "/actions/{}/{}", "/exclusion-principles/{}", "/pmr/{}", "/incidents/{}/decisions"]
    for _ in range(120):
        template = rng.choice(templates)
        path = template.format(*(rng.choice(segments) for _ in range(template.count("{}"))))
        _check(api.request(rng.choice(["GET", "PUT", "PATCH", "POST", "DELETE"]), path, json={},
                           headers={"If-Match": '"x"'}))
    params = ["status", "overdue", "owner", "meeting", "page", "per_page", "other"]
    raw = ["", "1", "0", "true", "maybe", "open", "closed", "dcc", "OPSG_97", "%00", "99999999999999999999", "x" * 300]
    for _ in range(60):
        query = "&".join(f"{rng.choice(params)}={rng.choice(raw)}" for _ in range(rng.randrange(4)))
        _check(api.get(f"/actions?{query}"))
