"""Exclusion principle pages: who reads, who changes, and that proposals keep the wording they cited."""
from __future__ import annotations

import re

import pytest

from incidents.extensions import db
from incidents.principle import service as principle_service
from tests import factories

ORIGINAL = principle_service.DEFAULT_PRINCIPLES[0][1]
XSS = '<script>alert(1)</script><img src=x onerror="alert(2)">'


@pytest.fixture()
def seeded(app):
    """The default principles (the test schema is built without migrations)."""
    principle_service.seed_defaults()
    db.session.commit()


@pytest.fixture()
def as_role(auth, users):
    """Log the client in as the user of a role."""
    def login(role: str) -> None:
        auth.logout()
        assert auth.login(users[role]).status_code == 302
    return login


def test_readers_see_the_list_and_only_admins_see_the_controls(client, seeded, as_role):
    for role in ("dcc", "secas", "opsg"):
        as_role(role)
        page = client.get("/principles").text
        assert "third-party-infrastructure" in page and ORIGINAL in page
        assert "Add a principle" not in page and "/retire" not in page
        assert '<a href="/principles" aria-current="page">Principles</a>' in page  # in the menu of all who read them
    as_role("party")
    assert client.get("/principles").status_code == 403
    as_role("admin")
    page = client.get("/principles").text
    assert "Add a principle" in page and "/principles/force-majeure/retire" in page
    assert 'href="/principles"' in page


@pytest.mark.parametrize("role", ["dcc", "secas", "opsg", "party"])
def test_only_admins_change_principles(client, seeded, as_role, role):
    as_role(role)
    assert client.post("/principles", data={"add-code": "new-one", "add-wording": "W."}).status_code == 403
    assert client.get("/principles/force-majeure/reword").status_code == 403
    assert client.post("/principles/force-majeure/reword", data={"wording": "W."}).status_code == 403
    assert client.post("/principles/force-majeure/retire").status_code == 403
    assert client.post("/principles/force-majeure/reinstate").status_code == 403


def test_admin_adds_rewords_retires_and_reinstates(client, seeded, as_role):
    as_role("admin")
    response = client.post("/principles", data={"add-code": "Bad Code", "add-wording": ""})
    assert response.status_code == 422
    assert "Code must be 3-60 lower-case letters" in response.text and "Wording is required." in response.text
    response = client.post("/principles", data={"add-code": "force-majeure", "add-wording": "Again."})
    assert response.status_code == 422 and "already used" in response.text
    response = client.post("/principles", data={"add-code": "carrier-outage", "add-wording": "A carrier outage."},
                           follow_redirects=True)
    assert "Added carrier-outage." in response.text
    response = client.post("/principles/carrier-outage/reword", data={"wording": "A national carrier outage."},
                           follow_redirects=True)
    assert "Reworded carrier-outage (version 2)" in response.text
    assert "A carrier outage." in response.text and "A national carrier outage." in response.text
    response = client.post("/principles/carrier-outage/retire", follow_redirects=True)
    assert "Retired carrier-outage" in response.text
    assert re.search(r'id="principle-carrier-outage">.*?Retired', response.text, re.DOTALL)
    response = client.get("/principles/carrier-outage/reword", follow_redirects=True)
    assert "reinstate it before rewording it" in response.text
    response = client.post("/principles/carrier-outage/reinstate", follow_redirects=True)
    assert "Reinstated carrier-outage" in response.text
    assert client.get("/principles/no-such/reword").status_code == 404


def test_reword_keeps_the_old_wording_in_an_existing_proposal(client, seeded, as_role, users, now):
    incident = factories.incident(actor=users["dcc"], now=now)
    db.session.commit()
    review_page = f"/incidents/{incident.reference}/review"
    as_role("dcc")
    response = client.post(f"{review_page}/proposal", data={
        "propose-treatment": "exclude", "propose-principle": "third-party-infrastructure",
        "propose-rationale": "National carrier outage."})
    assert response.status_code == 302
    as_role("admin")
    new_wording = "Third-party national infrastructure failure (reworded)."
    client.post("/principles/third-party-infrastructure/reword", data={"wording": new_wording})
    client.post("/principles/third-party-infrastructure/retire")
    page = client.get("/principles").text
    assert ORIGINAL in page and new_wording in page
    page = client.get(review_page).text
    round_one = page[page.index('id="round-1"'):]
    assert ORIGINAL in round_one and new_wording not in round_one
    # A retired principle is no longer offered.
    assert 'value="third-party-infrastructure"' not in page


def test_wording_cannot_inject_script(client, seeded, as_role, users, now):
    as_role("admin")
    client.post("/principles", data={"add-code": "evil-one", "add-wording": XSS})
    page = client.get("/principles").text
    assert "<script" not in page.lower() and not re.search(r"<[^<>]*onerror\s*=", page)
    assert "&lt;script&gt;" in page
    incident = factories.incident(actor=users["dcc"], now=now)
    db.session.commit()
    page = client.get(f"/incidents/{incident.reference}/review").text  # the select lists the wording
    assert "<script" not in page.lower() and not re.search(r"<[^<>]*onerror\s*=", page)
    client.post(f"/incidents/{incident.reference}/review/proposal", data={
        "propose-treatment": "exclude", "propose-principle": "evil-one", "propose-rationale": "x"})
    page = client.get(f"/incidents/{incident.reference}/review").text
    assert "<script" not in page.lower() and not re.search(r"<[^<>]*onerror\s*=", page)
