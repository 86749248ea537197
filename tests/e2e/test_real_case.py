"""The real case INC000001001905, end to end in Chromium: four people, four browser contexts.

DCC logs the incident through the form (keyboard only), SECAS asks for
information, the DCC answers, SECAS agrees the exclusion, the DCC writes and
submits the Review Report, the Operations Group agrees publication at OPSG_97,
SECAS publishes it GREEN and a SEC Party reads it and downloads the PDF.

The whole workflow, played on the real case's reference on an empty database:
beyond what the OPSG_97 minutes state (the demo data keeps only that), the
DCC's answer, SECAS's agreement, the times and the action's target date are
the walkthrough's own.
"""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.conftest import LiveServer, Person, seed_people, shot

pytestmark = pytest.mark.e2e

REFERENCE = "INC000001001905"
TITLE = "Nationwide outage of a national telecoms carrier"
# (cohort, affected, impact start, restored), UK time (BST) on 4 April 2023.
COHORTS = [
    ("CSP N", True, "2023-04-04 05:55", "2023-04-04 10:40"),
    ("CSP C&S", True, "2023-04-04 05:55", "2023-04-04 08:10"),
    ("DSP", True, "2023-04-04 05:58", "2023-04-04 07:40"),
    ("S1SP", True, "2023-04-04 06:00", "2023-04-04 09:15"),
    ("SMKI", False, "", ""),
]
TIMELINE = [
    ("2023-04-04 06:02", "detected", "", "Monitoring alarms from all Service Providers: loss of connectivity."),
    ("2023-04-04 09:30", "mitigation", "CSP N", "CSP N network terminating equipment stuck; reset requested."),
    ("2023-04-04 10:40", "restored", "CSP N", "NTE reset completed; CSP N service restored."),
]


@pytest.fixture(scope="module")
def server(serve: Any) -> LiveServer:
    """The app on a fresh migrated database with one user per role and nothing else."""
    return serve(seed_people)


@pytest.fixture()
def people(browser: Any, server: LiveServer) -> Iterator[dict[str, Person]]:
    """The DCC, SECAS, an OPSG member and a SEC Party, each in their own browser context."""
    made = {role: Person(browser, server, role) for role in ("dcc", "secas", "opsg", "party")}
    yield made
    for person in made.values():
        person.close()


# --- Keyboard helpers ------------------------------------------------------------------

def focused(page: Any) -> dict[str, str]:
    """Describe the focused element: tag, id, name, text, href, and whether a focus outline shows."""
    return page.evaluate("""() => {
        const el = document.activeElement;
        const style = getComputedStyle(el);
        return {tag: el.tagName.toLowerCase(), id: el.id || '', name: el.getAttribute('name') || '',
                text: (el.innerText || '').trim(), href: el.getAttribute('href') || '',
                outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0 ? 'yes' : 'no'};
    }""")


def tab_to(page: Any, matches: Any, limit: int = 25) -> list[dict[str, str]]:
    """Press Tab until the focused element ``matches``; return every element focused on the way."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        now = focused(page)
        seen.append(now)
        assert now["outline"] == "yes", f"no visible focus outline on {now}"
        if matches(now):
            return seen
    raise AssertionError(f"Tab never reached the element; focus went through {seen}")


def tab_once_to(page: Any, element_id: str) -> None:
    """Press Tab once and check focus lands on ``element_id`` (the tab order follows the page)."""
    page.keyboard.press("Tab")
    now = focused(page)
    assert now["id"] == element_id, f"Tab went to {now}, expected #{element_id}"
    assert now["outline"] == "yes", f"no visible focus outline on #{element_id}"


def skip_to_content(page: Any) -> None:
    """Use the skip link: the first Tab stop on every page."""
    first = tab_to(page, lambda el: True, limit=1)[0]
    assert first["text"] == "Skip to content", first
    page.keyboard.press("Enter")


# --- The story, step by step ---------------------------------------------------------

def dcc_logs_in_by_keyboard(dcc: Person) -> None:
    """Log in with Tab, typing and Enter only."""
    page = dcc.page
    page.goto("/")
    assert "/login" in page.url
    shot(page, "01-login")
    tab_to(page, lambda el: el["id"] == "email", limit=5)
    page.keyboard.type(dcc.email)
    tab_once_to(page, "password")
    page.keyboard.type(dcc.server.password)
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("h1").inner_text().startswith("Welcome, Dana Clarke")
    assert page.locator(".role-badge").get_attribute("data-role") == "dcc"
    shot(page, "02-dashboard-dcc")


def type_time(page: Any, element_id: str, text: str) -> None:
    """Tab to a time field and type into it."""
    tab_once_to(page, element_id)
    page.keyboard.type(text)


def dcc_logs_the_incident_by_keyboard(dcc: Person) -> None:
    """Fill the incident form with the keyboard; the first try has resolution before the start."""
    page = dcc.page
    tab_to(page, lambda el: el["text"] == "Log incident")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.locator("h1").inner_text() == "Log an incident"
    skip_to_content(page)

    tab_once_to(page, "reference")
    page.keyboard.type(REFERENCE)
    tab_once_to(page, "title")
    page.keyboard.type(TITLE)
    tab_once_to(page, "category")
    page.keyboard.press("ArrowDown")  # from "Choose a Category" to Category 1
    assert page.eval_on_selector("#category", "el => el.value") == "1"
    tab_once_to(page, "status")  # left unset: it follows the resolution time
    type_time(page, "started_at", "2023-04-04 05:55")
    type_time(page, "detected_at", "2023-04-04 06:02")
    type_time(page, "resolved_at", "2023-04-04 05:40")  # a slip: before the start
    for index, (name, affected, impact_start, restored) in enumerate(COHORTS):
        tab_once_to(page, f"cohorts-{index}-affected")
        if affected:
            page.keyboard.press("Space")
            assert page.is_checked(f"#cohorts-{index}-affected"), name
        tab_once_to(page, f"cohorts-{index}-impact_started_at")
        page.keyboard.type(impact_start)
        tab_once_to(page, f"cohorts-{index}-restored_at")
        page.keyboard.type(restored)
    tab_once_to(page, "cause_category")
    page.keyboard.type("Third party")
    assert page.eval_on_selector("#cause_category", "el => el.value") == "third_party"
    tab_once_to(page, "cause")
    page.keyboard.type("Nationwide outage of a national telecoms carrier; CSP N's network terminating "
                       "equipment stuck and needed a reset.")
    tab_once_to(page, "impact")
    page.keyboard.type("Smart meter communications unavailable across Great Britain.")
    tab_once_to(page, "devices_affected")
    with page.expect_navigation():
        page.keyboard.press("Enter")  # implicit submission from a text field

    # Refused: the message sits in the resolved field's own container and is announced with it.
    assert page.locator("h1").inner_text() == "Log an incident"
    message = "Resolution time is before the start time"
    assert message in page.locator("#field-resolved_at .errors").inner_text()
    described = page.get_attribute("#resolved_at", "aria-describedby") or ""
    assert "resolved_at-error" in described.split()
    assert message in page.locator("#resolved_at-error").inner_text()
    assert page.get_attribute("#resolved_at", "aria-invalid") == "true"
    assert page.locator("#field-started_at .errors").count() == 0
    assert page.locator(".error-summary a[href='#field-resolved_at']").inner_text().startswith(message)
    # What was typed is still there.
    assert page.input_value("#cohorts-0-restored_at") == "2023-04-04 10:40"
    assert page.is_checked("#cohorts-3-affected") and not page.is_checked("#cohorts-4-affected")
    shot(page, "03-incident-form-error")

    # Fix it by keyboard: the error summary's link leads to the field.
    skip_to_content(page)
    tab_to(page, lambda el: el["href"] == "#field-resolved_at", limit=5)
    page.keyboard.press("Enter")
    tab_once_to(page, "resolved_at")
    page.keyboard.press("Control+A")
    page.keyboard.type("2023-04-04 10:40")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    assert page.url.endswith(f"/incidents/{REFERENCE}")
    assert f"Logged {REFERENCE}." in page.locator(".flashes").inner_text()
    facts = page.locator("dl.facts").first.inner_text()
    assert "Tue 4 Apr 2023 10:40 BST" in facts or "10:40 BST" in facts
    assert "CSP N took longest" in page.locator(".highlight").inner_text()
    assert "restored 1 h 25 min after the last other cohort" in page.locator(".highlight").inner_text()


def dcc_adds_timeline_entries(dcc: Person) -> None:
    """Add the timeline entries through the form on the incident page."""
    page = dcc.page
    for when, kind, cohort, text in TIMELINE:
        page.fill("#occurred_at", when)
        page.select_option("#kind", kind)
        page.select_option("#cohort", cohort)
        page.fill("#text", text)
        with page.expect_navigation():
            page.click("text=Add entry")
        assert "Added a timeline entry" in page.locator(".flashes").inner_text()
    rows = page.locator(".timeline-table tbody tr")
    assert rows.count() == len(TIMELINE)
    assert "10:40 BST" in rows.nth(2).inner_text()
    shot(page, "04-incident-detail")


def stale_edit_is_caught(dcc: Person) -> None:
    """Two tabs edit the incident; the second save shows both versions and loses nothing."""
    first, second = dcc.page, dcc.new_page()
    first.goto(f"/incidents/{REFERENCE}/edit")
    second.goto(f"/incidents/{REFERENCE}/edit")

    first.fill("#devices_affected", "4200000")
    with first.expect_navigation():
        first.click("button:has-text('Save changes')")
    assert f"Saved {REFERENCE}." in first.locator(".flashes").inner_text()

    later_impact = "Smart meter communications unavailable across Great Britain; service requests queued."
    second.fill("#impact", later_impact)
    with second.expect_navigation():
        second.click("button:has-text('Save changes')")
    panel = second.locator(".stale-panel")
    assert "Someone else saved this incident" in panel.inner_text()
    devices = panel.locator("tr", has_text="Devices or users affected")
    assert "4200000" in devices.inner_text() and "Differs" in devices.inner_text()
    impact = panel.locator("tr").filter(has=second.locator("th", has_text=re.compile(r"^Impact$")))
    assert later_impact in impact.inner_text()
    assert second.input_value("#impact") == later_impact  # the typed text is kept in the form
    shot(second, "05-stale-edit")

    # Take the other tab's change into the form, then save on purpose.
    second.fill("#devices_affected", "4200000")
    with second.expect_navigation():
        second.click("button:has-text('Save my version')")
    assert f"Saved {REFERENCE}." in second.locator(".flashes").inner_text()
    record = second.locator("dl.facts").first.inner_text()
    assert "4,200,000" in record and "service requests queued" in record
    second.close()
    dcc.page.goto(f"/incidents/{REFERENCE}")


def dcc_proposes_exclusion(dcc: Person) -> None:
    """Open the review from the incident page and propose excluding it from the PMR."""
    page = dcc.page
    with page.expect_navigation():
        page.click("text=Review, PMR treatment and report")
    assert page.locator("h1").inner_text().startswith(f"Review of {REFERENCE}")
    page.check("input[name='propose-treatment'][value='exclude']")
    page.check("input[name='propose-principle'][value='third-party-infrastructure']")
    page.fill("#propose-rationale", "Restoration depended on a national carrier outside the control of the DCC "
                                    "and its Service Providers, with no commercial leverage to speed it up.")
    page.fill("#propose-evidence_links", "https://status.example.net/incidents/2023-04-04")
    with page.expect_navigation():
        page.click("text=Send proposal")
    assert "Proposed exclusion citing “Third party infrastructure” (round 1)" in page.locator(".flashes").inner_text()
    assert "Waiting for SECAS" in page.locator("#round-1").inner_text()
    shot(page, "06-review-proposed")


def secas_reviews(secas: Person, outcome: str, comment: str, done: str) -> None:
    """Record SECAS's outcome on the pending exclusion."""
    page = secas.page
    page.goto(f"/incidents/{REFERENCE}/review")
    page.check(f"input[name='secas-outcome'][value='{outcome}']")
    page.fill("#secas-comment", comment)
    with page.expect_navigation():
        page.click("text=Record outcome")
    assert done in page.locator(".flashes").inner_text()


def secas_review_form_needs_a_comment(secas: Person) -> None:
    """Sending the review without a comment puts the message next to the comment field."""
    page = secas.page
    page.goto(f"/incidents/{REFERENCE}/review")
    page.check("input[name='secas-outcome'][value='information_requested']")
    with page.expect_navigation():
        page.click("text=Record outcome")
    assert page.locator("#field-secas-comment .errors").count() == 1
    assert "secas-comment-error" in (page.get_attribute("#secas-comment", "aria-describedby") or "")
    assert page.locator("#field-secas-outcome .errors").count() == 0


def dcc_answers_and_resubmits(dcc: Person) -> None:
    """Answer SECAS's request; the earlier proposal is offered again."""
    page = dcc.page
    page.goto(f"/incidents/{REFERENCE}/review")
    assert "SECAS: Information requested" in page.locator("#round-1").inner_text()
    assert page.is_checked("input[name='propose-treatment'][value='exclude']")
    assert page.is_checked("input[name='propose-principle'][value='third-party-infrastructure']")
    page.fill("#propose-response", "The carrier's outage was national; neither the DCC nor CSP N had a contract "
                                   "with it. The NTE reset was arranged as soon as an engineer could reach site.")
    with page.expect_navigation():
        page.click("text=Send proposal")
    assert "(round 2)" in page.locator(".flashes").inner_text()


def dcc_writes_and_submits_report(dcc: Person) -> None:
    """Write the report sections, save them as version 1 and submit it (after its confirmation)."""
    page = dcc.page
    page.goto(f"/incidents/{REFERENCE}/review")
    with page.expect_navigation():
        page.click("text=Start writing the report")
    page.select_option("#classification", "GREEN")
    page.fill("#summary", "On Tuesday 4 April 2023 a nationwide outage of a national telecoms carrier interrupted "
                          "DCC services for all cohorts. **CSP N took longest**: its NTE needed a reset, "
                          "completed at 10:40 BST.")
    page.fill("#root_cause", "Failure in the national carrier's core network, outside the control of the DCC.")
    page.fill("#impact", "Communications with smart meters unavailable nationally for up to 4 h 45 min.")
    page.fill("#lessons_learned", "- Agree a remote reset route for CSP N NTE.")
    page.fill("#actions", "- OPSG 97/04: the DCC to share its principles for excluding third-party incidents.")
    with page.expect_navigation():
        page.click("button:has-text('Save version')")
    assert "Saved draft version 1." in page.locator(".flashes").inner_text()
    shot(page, "07-report-editor")
    with page.expect_navigation():
        page.click("text=Submit the saved version")
    # Nothing is sent yet: the page says what submitting does, and only its button does it.
    what = page.locator("#what-happens").inner_text()
    assert "Version 1, classified GREEN, will be frozen and sent to the Operations Group" in what
    assert "You will not be able to edit it" in what
    shot(page, "07b-submit-confirmation")
    with page.expect_navigation():
        page.click("text=Yes, submit version 1")
    assert "Submitted version 1" in page.locator(".flashes").inner_text()
    with page.expect_navigation():
        page.click("text=Read the report")
    assert page.locator(".classification").first.inner_text().startswith("GREEN")
    body = page.locator("article.report").inner_text()
    assert "CSP N took longest" in body and "Third party infrastructure" in body
    shot(page, "08-report")


def opsg_enters_the_meeting(opsg: Person) -> None:
    """Enter OPSG_97 (a main meeting on 26 June 2023) in the meetings register; the list links its pack."""
    page = opsg.page
    page.goto("/meetings/")
    page.fill("#reference", "OPSG_97")
    page.fill("#held_on", "2023-06-26")
    page.select_option("#kind", "main")
    with page.expect_navigation():
        page.click("text=Schedule meeting")
    row = page.locator("#meeting-OPSG_97")
    assert "Main" in row.inner_text() and row.locator("a", has_text="OPSG_97 pack").count() == 1


def opsg_agrees_publication(opsg: Person) -> None:
    """Record OPSG_97 (26 June 2023): publication of version 1 agreed as GREEN, with its action."""
    page = opsg.page
    page.goto(f"/incidents/{REFERENCE}/review")
    assert "Record a decision on version 1" in page.locator("#decisions").inner_text()
    page.select_option("#decision-meeting", "OPSG_97")
    page.check("input[name='decision-outcome'][value='agreed']")
    page.check("input[name='decision-classification'][value='GREEN']")
    page.fill("#decision-minute", "The group noted the review and agreed the Review Report can be published to "
                                  "SEC Parties.")
    page.fill("#decision-actions_text", "OPSG 97/04 | dcc | 2023-07-24 | DCC to provide the principles it uses to "
                                        "exclude Major Incidents caused by third parties.")
    with page.expect_navigation():
        page.click("text=Record decision")
    # The confirmation names the meeting, the version, the classification and the action; going back keeps
    # everything typed.
    what = page.locator("#what-happens").inner_text()
    assert "decision at OPSG_97 on Mon 26 Jun 2023 on version 1 will be recorded: agreed" in what
    assert "Publication is agreed as GREEN" in what and "OPSG 97/04 (DCC, target Mon 24 Jul 2023)" in what
    with page.expect_navigation():
        page.click("text=Go back and change the decision")
    assert page.input_value("#decision-minute").startswith("The group noted the review")
    assert page.input_value("#decision-meeting") == "OPSG_97"
    assert page.is_checked("input[name='decision-classification'][value='GREEN']")
    assert "Record a decision on version 1" in page.locator("#decisions").inner_text()  # nothing recorded
    with page.expect_navigation():
        page.click("text=Record decision")
    shot(page, "08b-decision-confirmation")
    with page.expect_navigation():
        page.click("text=Yes, record the decision")
    assert "Recorded the OPSG_97 decision: agreed." in page.locator(".flashes").inner_text()
    decisions = page.locator("#decisions").inner_text()
    assert "Mon 26 Jun 2023" in decisions and "publication agreed as GREEN" in decisions
    assert page.locator("#decisions a", has_text="OPSG 97/04").count() == 1


def secas_publishes(secas: Person) -> None:
    """Publish the agreed version to SEC Parties, as GREEN: the classification the group agreed."""
    page = secas.page
    page.goto(f"/incidents/{REFERENCE}/review")
    assert "is published as GREEN, the classification the group agreed" in page.locator("#publications").inner_text()
    with page.expect_navigation():
        page.click("form button:has-text('Publish')")
    # Published only once SECAS has read who receives it, as which classification and version.
    what = page.locator("#what-happens").inner_text()
    assert (f"The report on {REFERENCE}, version 1, classified GREEN, will be published to the one SEC Party "
            "user, as the Operations Group agreed at OPSG_97 on Mon 26 Jun 2023.") in what
    assert "No passage is withheld" in what
    primary, cancel = page.locator(".confirm-form .button").first, page.locator(".confirm-form a.button.secondary")
    assert primary.evaluate("el => getComputedStyle(el).backgroundColor") != \
        cancel.evaluate("el => getComputedStyle(el).backgroundColor")
    shot(page, "09a-publish-confirmation")
    with page.expect_navigation():
        cancel.click()
    assert "Not published." in page.locator("#publications").inner_text()
    with page.expect_navigation():
        page.click("form button:has-text('Publish')")
    with page.expect_navigation():
        page.click("text=Yes, publish version 1 to SEC Parties")
    assert "Published version 1 to SEC Parties as GREEN." in page.locator(".flashes").inner_text()
    shot(page, "09-review-published")


def party_logs_in(party: Person) -> None:
    """A wrong password is refused next to the password field; the right one lets the party in."""
    party.login(password="not-the-password")
    page = party.page
    assert "Email or password is not right" in page.locator("#field-password .errors").inner_text()
    assert "password-error" in (page.get_attribute("#password", "aria-describedby") or "")
    assert page.locator("#field-email .errors").count() == 0
    party.login()


def party_sees_nothing_unpublished(party: Person) -> None:
    """A SEC Party gets 404 on the incident log and on an unpublished incident's pages."""
    page = party.page
    for path in ("/incidents/", f"/incidents/{REFERENCE}", f"/incidents/{REFERENCE}/review",
                 f"/incidents/{REFERENCE}/report", f"/published/{REFERENCE}", f"/published/{REFERENCE}.pdf",
                 "/incidents/new"):
        response = page.goto(path)
        assert response is not None and response.status == 404, path
    page.goto("/published")
    assert REFERENCE not in page.locator("main").inner_text()


def party_reads_the_published_report(party: Person) -> None:
    """List the published reports, read this one and download its PDF."""
    page = party.page
    page.goto("/")
    with page.expect_navigation():
        page.click("nav >> text=Published reports")
    shot(page, "10-published-list")
    row = page.locator("tbody tr", has_text=REFERENCE)
    assert "GREEN" in row.inner_text()
    with page.expect_navigation():
        row.locator("a").click()
    assert page.url.endswith(f"/published/{REFERENCE}")
    assert page.locator(".classification").first.inner_text().startswith("GREEN")
    assert "CSP N took longest" in page.locator("article.report").inner_text()
    assert "Round" not in page.locator("main").inner_text()  # nothing of the internal review
    shot(page, "11-published-report")

    link = page.locator("a", has_text="Download this report as a PDF")
    response = page.request.get(link.get_attribute("href"))  # the party's own cookies
    assert response.status == 200
    assert response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")
    # Still nothing of the incident log.
    for path in ("/incidents/", f"/incidents/{REFERENCE}"):
        again = page.goto(path)
        assert again is not None and again.status == 404, path


def opsg_reads_the_pmr(opsg: Person) -> None:
    """The April 2023 PMR counts the incident as excluded once SECAS agreed."""
    page = opsg.page
    page.goto("/pmr/2023-04")
    row = page.locator("table.pmr-incidents tr", has_text=REFERENCE)
    assert "Excluded" in row.inner_text() and "Third party infrastructure" in row.inner_text(), row.inner_text()
    shot(page, "12-pmr-2023-04")


def test_the_real_case_end_to_end(people: dict[str, Person]) -> None:
    """INC000001001905 from logging to a SEC Party reading the published report."""
    dcc, secas, opsg, party = (people[role] for role in ("dcc", "secas", "opsg", "party"))
    dcc_logs_in_by_keyboard(dcc)
    dcc_logs_the_incident_by_keyboard(dcc)
    dcc_adds_timeline_entries(dcc)
    stale_edit_is_caught(dcc)
    dcc_proposes_exclusion(dcc)

    secas.login()
    secas_review_form_needs_a_comment(secas)
    secas_reviews(secas, "information_requested",
                  "Please explain why the DCC had no leverage over the carrier and why CSP N's reset took longer.",
                  "Asked the DCC for more information (round 1)")
    dcc_answers_and_resubmits(dcc)
    secas_reviews(secas, "agreed", "Agreed: restoration depended on third-party national infrastructure.",
                  "Recorded that SECAS agrees the exclusion (round 2)")

    party_logs_in(party)
    party_sees_nothing_unpublished(party)

    dcc_writes_and_submits_report(dcc)
    opsg.login()
    opsg_enters_the_meeting(opsg)
    opsg_agrees_publication(opsg)
    secas_publishes(secas)
    party_reads_the_published_report(party)
    opsg_reads_the_pmr(opsg)

    for person in people.values():
        assert person.csp_errors == [], f"{person.role}: the Content Security Policy refused {person.csp_errors}"

