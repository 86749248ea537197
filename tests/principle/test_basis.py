"""A principle says what it rests on; the basis is versioned with the wording, and defaults say their source."""
from __future__ import annotations

import html
import re
from typing import Any

import pytest

from incidents.config import Provenance
from incidents.extensions import db
from incidents.principle import service as principle_service

FORCE_MAJEURE = "Services Force Majeure (SEC Section M3)"


def text_of(response: Any) -> str:
    """Return the page as plain text, tags removed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


@pytest.fixture()
def seeded(app):
    """The default principles."""
    principle_service.seed_defaults()
    db.session.commit()


def test_every_default_names_what_it_rests_on(app, seeded):
    defaults = {d.code: d for d in principle_service.DEFAULT_PRINCIPLES}
    assert defaults["force-majeure"].basis.startswith(FORCE_MAJEURE)
    assert defaults["force-majeure"].provenance == Provenance.SEC
    assert "OPSG_97" in defaults["third-party-infrastructure"].basis
    assert defaults["third-party-infrastructure"].provenance == Provenance.MINUTES
    assert {defaults[c].provenance for c in ("planned-maintenance", "user-action")} == {Provenance.ASSUMED}
    for principle in principle_service.list_principles():
        assert principle.current.basis == defaults[principle.code].basis


def test_the_page_shows_the_basis_and_rewording_it_makes_a_version(client, auth, users, seeded):
    auth.login(users["dcc"])
    assert f"Rests on: {FORCE_MAJEURE}" in text_of(client.get("/principles"))
    auth.logout()
    auth.login(users["admin"])
    principle = principle_service.get_principle("force-majeure")
    wording, old_basis = principle.current.wording, principle.current.basis
    response = client.post("/principles/force-majeure/reword", data={"wording": wording,
                                                                      "basis": "SEC Section M3, as modified."})
    assert response.status_code == 302
    db.session.expire_all()
    principle = principle_service.get_principle("force-majeure")
    assert [(v.number, v.wording, v.basis) for v in principle.versions] == [
        (1, wording, old_basis), (2, wording, "SEC Section M3, as modified.")]
    page = text_of(client.get("/principles"))
    assert "Rests on: SEC Section M3, as modified." in page and f"Rests on: {old_basis}" in page
    # The same wording and basis again is no new version.
    client.post("/principles/force-majeure/reword", data={"wording": wording, "basis": "SEC Section M3, as modified."})
    db.session.expire_all()
    assert len(principle_service.get_principle("force-majeure").versions) == 2


def test_a_principle_added_with_its_basis(client, auth, users, seeded):
    auth.login(users["admin"])
    response = client.post("/principles", data={"add-code": "exceptional-event",
                                                "add-wording": "An OPR Exceptional Event granted relief.",
                                                "add-basis": "SECMP0043 (2019)"})
    assert response.status_code == 302
    assert principle_service.get_principle("exceptional-event").current.basis == "SECMP0043 (2019)"
    response = client.post("/principles", data={"add-code": "too-long", "add-wording": "x",
                                                "add-basis": "y" * 2001})
    assert response.status_code == 422
    assert "Basis can be at most 2000 characters" in text_of(response)
