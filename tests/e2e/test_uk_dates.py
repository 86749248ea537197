"""Dates as the UK writes them, typed in Chromium into every date field of the main forms, and seen saved.

The browser runs with the en-US locale on purpose: a native date picker would show mm/dd/yyyy there, so
this proves the fields are plain text boxes read day first whatever the browser's locale.
"""
from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from tests.e2e.conftest import PEOPLE, LiveServer, Person, seed_people, shot

pytestmark = pytest.mark.e2e

SUBMITTED = "INC000000000777"


def seed() -> dict[str, str]:
    """One person per role, and an incident whose Review Report waits for the Operations Group at OPSG_97."""
    from incidents.extensions import db
    from incidents.user.models import User
    from tests import factories
    from tests.document.builders import submitted

    emails = seed_people()
    users = {role: db.session.scalar(sa.select(User).where(User.email == email))
             for role, (email, _) in PEOPLE.items()}
    submitted(users, datetime(2023, 6, 1, 9, 0, tzinfo=UTC), reference=SUBMITTED)
    factories.meeting("OPSG_97", date(2023, 6, 26), actor=users["secas"])
    return emails


@pytest.fixture(scope="module")
def server(serve: Any) -> LiveServer:
    """The app with one user per role and one Review Report waiting for a decision."""
    return serve(seed)


@pytest.fixture()
def person(browser: Any, server: LiveServer) -> Any:
    """Open a person's browser context in the en-US locale (where a native date picker is month first)."""
    opened: list[Person] = []

    def open_as(role: str) -> Person:
        made = Person(browser, server, role)
        made.context.close()
        made.context = browser.new_context(base_url=server.url, viewport={"width": 1280, "height": 900},
                                           locale="en-US", timezone_id="Europe/London")
        made.context.set_default_timeout(15_000)
        made.page = made.new_page()
        made.login()
        opened.append(made)
        return made

    yield open_as
    for made in opened:
        made.close()


def _no_date_pickers(page: Any) -> None:
    assert page.locator("input[type=date], input[type=datetime-local]").count() == 0


def _submit(page: Any, button: str) -> None:
    with page.expect_navigation():
        page.get_by_role("button", name=button, exact=True).click()


def test_uk_dates_typed_in_every_date_field_of_the_main_forms_are_saved(server, person):
    dcc = person("dcc").page
    # The incident log form: three date-times and two cohorts' times, each written a different UK way.
    dcc.goto("/incidents/new")
    _no_date_pickers(dcc)
    assert dcc.locator(".date-time-hint").count() == 1
    assert "UK time (GMT/BST)" in dcc.locator(".date-time-hint").inner_text()
    dcc.fill("#reference", "INC000001001905")
    dcc.fill("#title", "Nationwide outage of a national telecoms carrier")
    dcc.select_option("#category", "1")
    dcc.fill("#started_at", "04/04/2023 05:55")
    dcc.fill("#detected_at", "4 Apr 2023 6:02")
    dcc.fill("#resolved_at", "4 April 2023 10:40")
    dcc.check("#cohorts-0-affected")
    dcc.fill("#cohorts-0-impact_started_at", "04-04-2023 05:55")
    dcc.fill("#cohorts-0-restored_at", "4/4/2023 10:40")
    dcc.check("#cohorts-1-affected")
    dcc.fill("#cohorts-1-impact_started_at", "2023-04-04T05:55")
    dcc.fill("#cohorts-1-restored_at", "04/04/2023 08:10")
    dcc.uncheck("#cohorts-2-affected") if dcc.is_checked("#cohorts-2-affected") else None
    dcc.fill("#cause", "Failure in a national carrier's core network.")
    dcc.fill("#impact", "Smart meter communications unavailable.")
    shot(dcc, "uk-dates-incident-form")
    _submit(dcc, "Log incident")
    body = dcc.locator("main").inner_text()
    assert "Tue 4 Apr 2023 05:55 BST" in body, body[:2000]
    assert "10:40 BST" in body and "4 h 45 min" in body

    # The edit form shows the saved times day first.
    dcc.goto("/incidents/INC000001001905/edit")
    _no_date_pickers(dcc)
    assert dcc.input_value("#started_at") == "04/04/2023 05:55 BST"
    assert dcc.input_value("#cohorts-1-restored_at") == "04/04/2023 08:10 BST"
    dcc.fill("#cohorts-1-restored_at", "4 Apr 2023 8:15")
    _submit(dcc, "Save changes")
    dcc.goto("/incidents/INC000001001905/edit")
    assert dcc.input_value("#cohorts-1-restored_at") == "04/04/2023 08:15 BST"

    # A timeline entry, added then edited.
    dcc.goto("/incidents/INC000001001905")
    dcc.fill("#occurred_at", "4 Apr 2023 9:30")
    dcc.select_option("#kind", "mitigation")
    dcc.fill("#text", "CSP N network terminating equipment stuck; reset requested.")
    _submit(dcc, "Add entry")
    timeline = dcc.locator("main").inner_text()
    assert "09:30 BST" in timeline and "reset requested" in timeline
    with dcc.expect_navigation():
        dcc.locator("a[href*='/timeline/'][href$='/edit']").last.click()
    assert dcc.input_value("#occurred_at") == "04/04/2023 09:30 BST"
    dcc.fill("#occurred_at", "04/04/2023 09:35")
    _submit(dcc, "Save entry")
    assert "09:35 BST" in dcc.locator("main").inner_text()

    # The Summary Report's time sent.
    dcc.goto("/incidents/INC000001001905/summary-report")
    _no_date_pickers(dcc)
    dcc.fill("#what_happened", "A nationwide outage of a national telecoms carrier.")
    dcc.fill("#recipients", "SECAS")
    dcc.fill("#sent_at", "4/4/2023 11:55")
    _submit(dcc, "Record as sent")
    assert "Tue 4 Apr 2023 11:55 BST" in dcc.locator("main").inner_text()
    shot(dcc, "uk-dates-summary-report")

    # The meeting register: a date only.
    secas = person("secas").page
    secas.goto("/meetings/")
    _no_date_pickers(secas)
    secas.fill("#reference", "OPSG_98")
    secas.fill("#held_on", "25/07/2023")
    _submit(secas, "Schedule meeting")
    assert "Tue 25 Jul 2023" in secas.locator("main").inner_text()

    # Actions: raised and target dates, then a revised target.
    opsg = person("opsg").page
    opsg.goto("/actions/new")
    _no_date_pickers(opsg)
    opsg.fill("#reference", "OPSG 97/09")
    opsg.fill("#text", "DCC to share its principles for third-party incidents.")
    opsg.select_option("#owner_org", "dcc")
    opsg.fill("#raised_on", "26/06/2023")
    opsg.fill("#target_on", "24 Jul 2099")
    shot(opsg, "uk-dates-action-form")
    _submit(opsg, "Raise action")
    detail = opsg.locator("main").inner_text()
    assert "Mon 26 Jun 2023" in detail and "Fri 24 Jul 2099" in detail, detail[:2000]
    opsg.goto("/actions/OPSG%2097-09/edit")
    assert opsg.input_value("#target_on") == "24/07/2099"
    opsg.fill("#target_on", "25/09/2099")
    opsg.fill("#revision_reason", "The DCC asked for more time.")
    _submit(opsg, "Save changes")
    assert "Fri 25 Sep 2099" in opsg.locator("main").inner_text()

    # An Operations Group decision with a minuted action's target date, day first.
    opsg.goto(f"/incidents/{SUBMITTED}/review")
    opsg.select_option("#decision-meeting", "OPSG_97")
    opsg.check("input[name='decision-outcome'][value='agreed']")
    opsg.check("input[name='decision-classification'][value='GREEN']")
    opsg.fill("#decision-minute", "The group agreed publication.")
    opsg.fill("#decision-actions_text", "OPSG 97/10 | dcc | 7/8/2099 | DCC to confirm its principles.")
    opsg.get_by_role("button", name="Record decision").click()
    # The confirmation names the action's target day first before anything is recorded.
    assert "7 Aug 2099" in opsg.locator("main").inner_text()
    opsg.get_by_role("button", name="Yes, record the decision").click()
    opsg.wait_for_load_state()
    opsg.goto("/actions/OPSG%2097-10")
    assert "Fri 7 Aug 2099" in opsg.locator("main").inner_text()
