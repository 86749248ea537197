"""Each irreversible step needs its confirmation, in Chromium on the demo data: the first press only shows what
will happen; "Cancel" changes nothing; the confirm button does the step. Withdraw is a red warning button.

The real-case story (test_real_case.py) confirms submit, the decision and publication along the way; this file
covers withdrawing, and submitting from the review page, on the demo's live reviews.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from incidents.demo import service as demo_service
from tests.e2e.conftest import LiveServer, Person, shot

pytestmark = pytest.mark.e2e

SUBMITTED = "INC000001002403"  # version 1 waiting for the Operations Group
DRAFT = "INC000001002404"  # version 1 in draft


def seed_demo() -> dict[str, str]:
    """Load the demo data; return {role: email} of the demo logins."""
    demo_service.seed()
    return {role: email for email, role, _ in demo_service.DEMO_USERS}


@pytest.fixture(scope="module")
def server(serve: Any) -> LiveServer:
    """The app on a fresh migrated database holding the demo data."""
    return serve(seed_demo, password=demo_service.DEMO_PASSWORD)


@pytest.fixture()
def dcc(browser: Any, server: LiveServer) -> Iterator[Person]:
    """The DCC, logged in."""
    person = Person(browser, server, "dcc")
    person.login()
    yield person
    person.close()


def colour(locator: Any) -> str:
    return str(locator.evaluate("el => getComputedStyle(el).backgroundColor"))


def test_withdraw_and_submit_each_wait_for_their_confirmation(dcc: Person) -> None:
    page = dcc.page
    page.goto(f"/incidents/{SUBMITTED}/review")
    with page.expect_navigation():
        page.click("button:has-text('Withdraw version 1')")
    what = page.locator("#what-happens").inner_text()
    assert "Version 1 will be taken out of the pack for" in what and "the Operations Group will not decide on it" in what
    confirm = page.locator("button[name=confirm][value=yes]")
    assert confirm.inner_text() == "Yes, withdraw version 1"
    cancel = page.locator(".confirm-form a.button.secondary")
    # Red for the step that takes something back, grey for going back.
    assert colour(confirm) == "rgb(177, 14, 30)" and colour(cancel) != colour(confirm)
    shot(page, "confirm-withdraw")
    with page.expect_navigation():
        cancel.click()
    assert "Version 1 is waiting for the Operations Group" in page.locator("#report").inner_text()
    with page.expect_navigation():
        page.click("button:has-text('Withdraw version 1')")
    with page.expect_navigation():
        page.click("text=Yes, withdraw version 1")
    assert "Withdrew version 1" in page.locator(".flashes").inner_text()

    page.goto(f"/incidents/{DRAFT}/review")
    with page.expect_navigation():
        page.click("button:has-text('Submit version 1')")
    assert "Version 1, classified GREEN, will be frozen and sent to the Operations Group" in (
        page.locator("#what-happens").inner_text())
    page.goto(f"/incidents/{DRAFT}/review")
    assert "Review Report in draft" in page.locator("main").inner_text()  # leaving the page submitted nothing
    with page.expect_navigation():
        page.click("button:has-text('Submit version 1')")
    with page.expect_navigation():
        page.click("text=Yes, submit version 1")
    assert "Submitted version 1; it is now frozen." in page.locator(".flashes").inner_text()


@pytest.mark.parametrize("width", [390, 1366])
def test_the_confirmation_pages_fit_the_screen(dcc: Person, width: int) -> None:
    """No confirmation page scrolls sideways, on a phone or a laptop."""
    page = dcc.page
    page.set_viewport_size({"width": width, "height": 800})
    for path in (f"/incidents/{DRAFT}/report/submit", f"/incidents/{SUBMITTED}/report/withdraw"):
        page.goto(path)
        assert page.locator("h1").count() == 1
        wide = page.evaluate("() => document.documentElement.scrollWidth - document.documentElement.clientWidth")
        blocks = page.evaluate("""() => [...document.querySelectorAll('.confirm-page *')]
            .filter(el => el.getBoundingClientRect().right > document.documentElement.clientWidth + 1)
            .map(el => el.tagName + '.' + el.className)""")
        assert blocks == [], f"{path} at {width} px: {blocks} run off the screen"
        if width >= 1366:
            assert wide <= 0, f"{path} at {width} px scrolls sideways by {wide} px"
