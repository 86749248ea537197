"""Choosing the PMR treatment: the principles as radios with their whole wording, in a part of the form that is
hidden while "Include" is chosen; the service's rules are unchanged."""
from __future__ import annotations

import html
import re

import pytest

from incidents.extensions import db
from incidents.principle import service as principle_service
from incidents.review import service as review_service
from incidents.review.models import ExclusionState
from tests import factories

LONG = ("Caused by a failure of third-party national infrastructure outside the control of the DCC and its "
        "Service Providers, where neither had commercial leverage over the third party to speed restoration.")


@pytest.fixture()
def case(app, users, now):
    principle_service.seed_defaults()
    incident = factories.incident(actor=users["dcc"], now=now)
    db.session.commit()
    return incident


def _form(page: str) -> str:
    match = re.search(r'<form[^>]*action="[^"]*/review/proposals?"[^>]*>(.*?)</form>', page, re.DOTALL)
    assert match, "no proposal form"
    return match.group(1)


def test_the_principles_are_radios_with_their_whole_wording_inside_the_exclusion_only_part(client, auth, users,
                                                                                          case):
    auth.login(users["dcc"])
    form = _form(client.get(f"/incidents/{case.reference}/review").text)
    assert '<input id="propose-treatment-0" name="propose-treatment" type="radio" value="include">' in form
    part = re.search(r'<div class="exclusion-only" id="exclusion-principles">(.*?)</fieldset>', form, re.DOTALL)
    assert part, "the principles are not in the part hidden while 'Include' is chosen"
    radios = re.findall(r'<input id="propose-principle-\d" name="propose-principle" type="radio" value="([^"]*)">',
                        part.group(1))
    assert radios == ["force-majeure", "planned-maintenance", "third-party-infrastructure", "user-action"]
    assert "<select" not in part.group(1)
    # The long wording in full, not cut.
    assert LONG in html.unescape(part.group(1))
    # The treatment radios are outside that part, so they stay visible.
    assert form.index('value="include"') < form.index('id="exclusion-principles"')


def test_a_principle_left_in_the_form_with_include_is_ignored_and_exclude_still_needs_one(client, auth, users,
                                                                                         case):
    auth.login(users["dcc"])
    page = client.get(f"/incidents/{case.reference}/review").text
    token = re.search(r'name="propose-csrf_token" type="hidden" value="([^"]*)"', page)
    etag = re.search(r'name="propose-etag" type="hidden" value="([^"]*)"', page)
    base = {"propose-csrf_token": token.group(1) if token else "", "propose-etag": etag.group(1) if etag else ""}
    refused = client.post(f"/incidents/{case.reference}/review/proposal",
                          data={**base, "propose-treatment": "exclude", "propose-rationale": "Carrier."})
    assert refused.status_code == 422
    assert "Choose the exclusion principle you rely on." in refused.text
    # Chosen, then "Include" picked instead: the principle the form kept is not cited.
    done = client.post(f"/incidents/{case.reference}/review/proposal",
                       data={**base, "propose-treatment": "include", "propose-principle": "force-majeure",
                             "propose-rationale": "Counted."})
    assert done.status_code == 302
    review = review_service.get_review(case)
    assert review is not None and review.exclusion_state == ExclusionState.INCLUDED
    assert review.proposals[-1].principle_code is None
