"""Forms and downloads in Chromium: the principles hide while "Include" is chosen and keep their choice, radios
are large enough to hit, long wordings wrap, and a PDF link says it is being prepared until the file arrives."""
from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa

from incidents.extensions import db
from incidents.principle import service as principle_service
from incidents.user.models import User
from tests import factories
from tests.document import builders
from tests.e2e.conftest import LiveServer, Person, seed_people, shot

pytestmark = pytest.mark.e2e

NOW = datetime(2023, 6, 1, 9, 0, tzinfo=UTC)
REFERENCES = {"open": "INC000000000101", "published": "INC000000000102"}


def seed() -> dict[str, str]:
    """The people, the default principles, an incident to propose on and one published to SEC Parties."""
    emails = seed_people()
    principle_service.seed_defaults()
    users = {role: db.session.scalar(sa.select(User).where(User.email == email)) for role, email in emails.items()}
    factories.incident(actor=users["dcc"], now=NOW, reference=REFERENCES["open"])
    builders.published(users, NOW, reference=REFERENCES["published"])
    return emails


@pytest.fixture(scope="module")
def server(serve: Any) -> LiveServer:
    """The app on a fresh migrated database with the two incidents."""
    return serve(seed)


@pytest.fixture()
def dcc(browser: Any, server: LiveServer) -> Iterator[Person]:
    person = Person(browser, server, "dcc")
    person.login()
    yield person
    person.close()


@pytest.fixture()
def party(browser: Any, server: LiveServer) -> Iterator[Person]:
    person = Person(browser, server, "party")
    person.login()
    yield person
    person.close()


def test_the_principles_hide_while_include_is_chosen_and_keep_the_choice(dcc: Person) -> None:
    page = dcc.page
    page.goto(f"/incidents/{REFERENCES['open']}/review")
    principles = page.locator("#exclusion-principles")
    assert principles.is_visible()  # nothing chosen yet: everything is shown

    page.check("#propose-treatment-1")  # Exclude
    page.check("label[for=propose-principle-2]")  # clicking the wording chooses it
    assert page.is_checked("#propose-principle-2")
    page.check("#propose-treatment-0")  # Include
    assert not principles.is_visible()
    page.check("#propose-treatment-1")  # Exclude again: the principle chosen is still chosen
    assert principles.is_visible() and page.is_checked("#propose-principle-2")

    # Radios are 24 px boxes in rows at least 40 px tall; the longest wording wraps inside its row.
    box = page.locator("#propose-principle-2").bounding_box()
    assert box and box["width"] >= 23 and box["height"] >= 23
    row = page.locator("#propose-principle-2 >> xpath=..").bounding_box()
    assert row and row["height"] >= 40
    label = page.locator("label[for=propose-principle-2]")
    assert label.evaluate("el => el.scrollWidth <= el.clientWidth && el.getClientRects().length > 0")
    assert "where neither had commercial leverage over the third party to speed restoration" in label.inner_text()
    assert label.bounding_box()["height"] > 30  # type: ignore[index]  (wrapped over lines, not cut)
    shot(page, "principles-exclude")
    assert not dcc.csp_errors


def test_a_pdf_link_says_it_is_preparing_until_the_pdf_arrives(party: Person) -> None:
    page = party.page
    page.goto(f"/published/{REFERENCES['published']}")
    link = page.locator("a[data-pdf-download]")
    status = page.locator(".pdf-status")
    assert status.get_attribute("role") == "status"
    started = time.monotonic()
    with page.expect_download(timeout=30_000) as download_info:
        link.click()
        # At once, before the PDF arrives: the link and the status say it is being prepared.
        assert "Preparing the PDF" in link.inner_text()
        assert link.get_attribute("aria-busy") == "true"
        assert "Preparing the PDF" in status.inner_text()
        shot(page, "pdf-preparing")
    download = download_info.value
    seconds = time.monotonic() - started
    assert download.suggested_filename.endswith(".pdf")
    with open(download.path(), "rb") as handle:
        assert handle.read(5) == b"%PDF-"
    page.wait_for_function("() => !document.querySelector('a[data-pdf-download]').hasAttribute('aria-busy')")
    assert link.inner_text() == "Download this report as a PDF"
    assert "The PDF is ready" in status.inner_text() and "saved as" in status.inner_text()
    print(f"PDF prepared and saved in {seconds:.1f} s")
    assert not party.csp_errors
