"""The Review Report editor in Chromium: typing through many autosaves leaves one working draft and no version.

The server holds the demo data; INC000001002404's report is the DCC's to write. Autosave runs every second here
(``REPORT_AUTOSAVE_SECONDS``, 30 s by default), so typing for about twelve seconds spans as many autosave cycles
as six minutes would at the default: the "minute of typing" of the issue, several times over.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import sqlalchemy as sa

from incidents.demo import service as demo_service
from incidents.extensions import db
from incidents.incident.models import Incident
from incidents.report.models import ReportDraft, ReportVersion
from incidents.review.models import Review
from tests.e2e.conftest import LiveServer, Person, shot
from tests.e2e.test_accessibility import BLOCKING, describe, run_axe, seed_demo

pytestmark = pytest.mark.e2e

REFERENCE = "INC000001002404"
EDITOR = f"/incidents/{REFERENCE}/report/edit"
AUTOSAVE_SECONDS = 1.0
TYPING_SECONDS = 12.0


@pytest.fixture(scope="module")
def server(serve: Any) -> LiveServer:
    """The app on a fresh migrated database holding the demo data, autosaving every second."""
    live = serve(seed_demo, password=demo_service.DEMO_PASSWORD)
    # Read per request, so setting it after start is as good as configuring it.
    live.app.config["REPORT_AUTOSAVE_SECONDS"] = AUTOSAVE_SECONDS
    return live


@pytest.fixture()
def dcc(browser: Any, server: LiveServer) -> Iterator[Person]:
    """The DCC, logged in, with the Content Security Policy on."""
    person = Person(browser, server, "dcc")
    person.login()
    yield person
    person.close()


def stored(server: LiveServer) -> tuple[list[dict[str, Any]], list[int]]:
    """Return the report's working drafts (their sections) and version numbers, as the database holds them."""
    with server.app.app_context():
        review_id = db.session.scalar(sa.select(Review.id).join(Incident, Incident.id == Review.incident_id)
                                      .where(Incident.reference == REFERENCE))
        drafts = [dict(d.sections) for d in db.session.scalars(
            sa.select(ReportDraft).where(ReportDraft.review_id == review_id))]
        numbers = list(db.session.scalars(sa.select(ReportVersion.number).where(ReportVersion.review_id == review_id)
                                          .order_by(ReportVersion.number)))
        db.session.remove()
    return drafts, numbers


def test_typing_through_many_autosaves_keeps_one_working_draft(dcc: Person, server: LiveServer,
                                                              browser: Any) -> None:
    # Imported here: without Playwright, conftest fails the test saying how to install it.
    from playwright.sync_api import expect

    page = dcc.page
    assert page.goto(EDITOR).status == 200
    assert page.get_attribute("#report-form", "data-autosave-ms") == "1000"
    drafts, versions_before = stored(server)
    assert drafts == []
    # Each section shows its prompt; the generated timeline and restoration chart sit beside the fields.
    assert "Category" in page.locator("#summary-hint").inner_text()
    aside = page.locator(".editor-aside")
    assert aside.locator("svg").count() >= 1 and aside.locator(".editor-timeline li").count() >= 1

    autosaves: list[int] = []
    page.on("response", lambda r: autosaves.append(r.status) if r.url.endswith("/report/autosave") else None)
    # A second tab opened now, before any working draft exists: it must not overwrite the first tab's draft.
    other = dcc.new_page()
    other.goto(EDITOR)

    page.click("#impact")
    page.keyboard.press("Control+End")
    typed = ""
    started = time.monotonic()
    burst = 0
    while time.monotonic() - started < TYPING_SECONDS:
        words = f" **burst {burst}** typed."
        page.keyboard.type(words, delay=15)
        typed += words
        burst += 1
        page.wait_for_timeout(300)
    # Let the last change reach the server (one interval, and the answer).
    expect(page.locator("#autosave-status")).to_contain_text("working draft kept")
    page.wait_for_timeout(int(AUTOSAVE_SECONDS * 1000) + 500)

    assert len(autosaves) >= 8 and set(autosaves) == {200}, autosaves
    drafts, versions = stored(server)
    assert len(drafts) == 1, drafts
    assert versions == versions_before, "autosave made a version"
    assert drafts[0]["impact"].endswith(typed.strip()) or drafts[0]["impact"].endswith(typed)
    status = page.locator("#autosave-status").inner_text()
    assert "Unsaved working draft kept" in status and "Save version" in status

    # The stale tab's autosave is refused and stops; the draft keeps the first tab's text.
    other.fill("#impact", "Text from an older tab.")
    # (Playwright's expect, not wait_for_function: the page's Content Security Policy forbids evaluating strings.)
    expect(other.locator("#autosave-status")).to_contain_text("Autosave has stopped")
    assert "changed the unsaved working draft" in other.locator("#autosave-status").inner_text()
    drafts, versions = stored(server)
    assert len(drafts) == 1 and drafts[0]["impact"].endswith(f"burst {burst - 1}** typed.")
    assert versions == versions_before
    other.close()

    # The versions list shows the draft as unsaved, not as a version.
    page.goto(f"/incidents/{REFERENCE}/report/versions")
    assert "Unsaved working draft, saved at" in page.locator("#working-draft").inner_text()
    assert page.locator("tbody tr").count() == len(versions_before)

    # Opening the editor again restores the working draft.
    page.goto(EDITOR)
    assert page.input_value("#impact").endswith(f"burst {burst - 1}** typed.")
    assert page.locator("#working-draft").is_visible()

    # Preview: the server's rendering, beside the fields; nothing saved.
    page.click("#preview-button")
    page.locator("#preview").wait_for(state="visible")
    assert page.locator("#preview-impact strong").first.inner_text() == "burst 0"
    shot(page, "report-editor-draft-and-preview")
    assert stored(server)[1] == versions_before
    assert dcc.csp_errors == []

    # axe finds nothing serious with the draft notice and the preview showing (its own context: axe needs CSP off).
    checker = Person(browser, server, "dcc", bypass_csp=True)
    try:
        checker.login()
        checker.page.goto(EDITOR)
        checker.page.click("#preview-button")
        checker.page.locator("#preview").wait_for(state="visible")
        blocking = [describe("report editor with preview", v) for v in run_axe(checker.page)
                    if v["impact"] in BLOCKING]
        assert not blocking, "\n".join(blocking)
        # On a phone the preview and the generated sections go under the fields: nothing sticks out sideways.
        checker.page.set_viewport_size({"width": 390, "height": 800})
        widths = checker.page.evaluate("""() => [...document.querySelectorAll('.editor-layout, .editor-layout *')]
            .filter(e => e.getBoundingClientRect().width > 0)
            .map(e => Math.ceil(e.getBoundingClientRect().right))""")
        assert max(widths) <= 390, f"the editor is {max(widths)} px wide at 390 px"
    finally:
        checker.close()

    # Submitting would freeze the saved version without the draft: the page says to save a version first.
    page.click("button:has-text('Submit the saved version')")
    expect(page.locator("#autosave-status")).to_contain_text("Press Save version first")
    assert page.url.endswith(EDITOR) and stored(server)[1] == versions_before

    # Save version: one new version; the working draft is gone.
    with page.expect_navigation():
        page.click("button:has-text('Save version')")
    assert "Saved draft version" in page.locator(".flashes").inner_text()
    drafts, versions = stored(server)
    assert drafts == [] and len(versions) == len(versions_before) + 1
