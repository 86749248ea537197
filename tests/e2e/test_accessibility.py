"""axe-core finds no serious or critical accessibility problem on the main pages.

The server holds the demo data (April 2023, reviews in every state), so each
page is checked as people see it, forms and error messages included. axe is
injected from tests/e2e/node_modules; the app's Content Security Policy allows
only its own scripts, so these browser contexts bypass CSP (the story test
keeps it on).
"""
from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

from incidents.demo import service as demo_service
from tests.e2e.conftest import ARTIFACTS, AXE_SCRIPT, LiveServer, Person, shot

pytestmark = pytest.mark.e2e

BLOCKING = ("serious", "critical")
# (role, what, path, form to send empty first or None). None as role: not logged in.
PAGES: list[tuple[str | None, str, str, str | None]] = [
    (None, "login", "/login", None),
    (None, "login with errors", "/login", "form button[type=submit]"),
    ("dcc", "dashboard (DCC)", "/", None),
    ("dcc", "incident list", "/incidents/", None),
    ("dcc", "incident detail", "/incidents/INC000001001905", None),
    ("dcc", "incident form", "/incidents/new", None),
    ("dcc", "incident form with errors", "/incidents/new", "#field-form button[type=submit]"),
    ("dcc", "incident edit form", "/incidents/INC000001001905/edit", None),
    ("dcc", "review page (DCC answers SECAS)", "/incidents/INC000001002404/review", None),
    ("dcc", "review page with errors", "/incidents/INC000001002404/review", "text=Send proposal"),
    ("dcc", "report page", "/incidents/INC000001001905/report", None),
    ("dcc", "report editor", "/incidents/INC000001002404/report/edit", None),
    ("dcc", "report versions", "/incidents/INC000001001905/report/versions", None),
    ("dcc", "PMR page", "/pmr/2023-04", None),
    ("secas", "dashboard (SECAS)", "/", None),
    ("secas", "review page (SECAS reviews)", "/incidents/INC000001002405/review", None),
    ("opsg", "dashboard (OPSG)", "/", None),
    ("opsg", "review page (OPSG decides)", "/incidents/INC000001002403/review", None),
    # The confirmation pages of the irreversible steps (the decision's is reached through its form, below).
    ("dcc", "submit confirmation", "/incidents/INC000001002404/report/submit", None),
    ("dcc", "withdraw confirmation", "/incidents/INC000001002403/report/withdraw", None),
    ("dcc", "submit refused (nothing to submit)", "/incidents/INC000001002401/report/submit", None),
    ("secas", "publish confirmation", "/incidents/INC000001002402/review/publication", None),
    ("party", "dashboard (SEC Party)", "/", None),
    ("party", "published list", "/published", None),
    ("party", "published report", "/published/INC000001002401", None),
    ("party", "sessions", "/sessions", None),
    ("party", "rules page (SEC Party)", "/rules", None),
    ("dcc", "rules page (DCC)", "/rules", None),
    ("dcc", "incident audit trail", "/incidents/INC000001001905/audit", None),
    ("dcc", "attachments", "/incidents/INC000001001905/attachments", None),
    ("dcc", "Summary Report", "/incidents/INC000001001905/summary-report", None),
    ("dcc", "incident reminders", "/incidents/INC000001001905/reminders", None),
    ("dcc", "import from the ITSM", "/incidents/import", None),
    ("dcc", "search (DCC)", "/search?q=carrier", None),
    ("dcc", "notification settings", "/settings/notifications", None),
    ("dcc", "calendar", "/calendar", None),
    ("secas", "actions register", "/actions/", None),
    ("secas", "action", "/actions/OPSG%2097-04", None),
    ("secas", "meetings register", "/meetings/", None),
    ("secas", "meeting pack", "/meetings/OPSG_97/pack", None),
    ("secas", "principles", "/principles", None),
    ("party", "search (SEC Party)", "/search?q=carrier", None),
    ("admin", "users", "/admin/users/", None),
    ("admin", "outbox", "/admin/outbox", None),
    ("admin", "webhooks", "/admin/webhooks", None),
    ("admin", "configuration", "/rules/configuration", None),
]


def seed_demo() -> dict[str, str]:
    """Load the demo data; return {role: email} of the demo logins."""
    demo_service.seed()
    return {role: email for email, role, _ in demo_service.DEMO_USERS}


@pytest.fixture(scope="module")
def server(serve: Any) -> LiveServer:
    """The app on a fresh migrated database holding the demo data."""
    return serve(seed_demo, password=demo_service.DEMO_PASSWORD)


@pytest.fixture()
def people(browser: Any, server: LiveServer) -> Iterator[dict[str | None, Person]]:
    """Everyone, logged in (None: a visitor who is not), in contexts that let axe be injected."""
    made: dict[str | None, Person] = {}
    for role in (None, "dcc", "secas", "opsg", "party", "admin"):
        person = Person(browser, server, role, bypass_csp=True)
        if role is not None:
            person.login()
        made[role] = person
    yield made
    for person in made.values():
        person.close()


def run_axe(page: Any) -> list[dict[str, Any]]:
    """Inject axe-core into the page and return its violations."""
    page.add_script_tag(path=str(AXE_SCRIPT))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    # A page axe could not read would pass no rule either; an empty result must not look clean.
    assert result["passes"], f"axe checked nothing on {page.url}"
    violations: list[dict[str, Any]] = result["violations"]
    return violations


def describe(what: str, violation: dict[str, Any]) -> str:
    """One line per problem: page, rule, impact, what to do and where."""
    targets = ["; ".join(node["target"]) for node in violation["nodes"]][:5]
    return f"{what}: [{violation['impact']}] {violation['id']}: {violation['help']} at {targets}"


def test_main_pages_have_no_serious_accessibility_problems(people: dict[str | None, Person]) -> None:
    """Run axe on each main page as the role that uses it."""
    blocking: list[str] = []
    report: dict[str, list[dict[str, Any]]] = {}
    for role, what, path, send in PAGES:
        page = people[role].page
        response = page.goto(path)
        assert response is not None and response.status == 200, f"{what}: {path} answered {response and response.status}"
        if send:
            with page.expect_navigation():
                page.click(send)
            assert page.locator(".errors, .error-summary").count() > 0, f"{what}: no error shown"
        violations = run_axe(page)
        report[what] = [{"id": v["id"], "impact": v["impact"], "help": v["help"],
                         "targets": [node["target"] for node in v["nodes"]]} for v in violations]
        blocking += [describe(what, v) for v in violations if v["impact"] in BLOCKING]
        if what in ("dashboard (OPSG)", "review page (SECAS reviews)", "incident form with errors"):
            shot(page, f"axe-{what}")
    (ARTIFACTS / "axe-violations.json").write_text(json.dumps(report, indent=2))
    assert not blocking, "axe-core found serious or critical problems:\n" + "\n".join(blocking)


def test_the_decision_confirmation_has_no_serious_accessibility_problems(people: dict[str | None, Person]) -> None:
    """Fill the Operations Group's decision form and run axe on the confirmation it leads to (nothing is recorded)."""
    page = people["opsg"].page
    page.goto("/incidents/INC000001002403/review")
    page.select_option("#decision-meeting", index=1)
    page.check("input[name='decision-outcome'][value='agreed']")
    page.fill("#decision-minute", "The group agreed publication.")
    with page.expect_navigation():
        page.click("text=Record decision")
    assert "will be recorded: agreed" in page.locator("#what-happens").inner_text()
    blocking = [describe("decision confirmation", v) for v in run_axe(page) if v["impact"] in BLOCKING]
    assert not blocking, "axe-core found serious or critical problems:\n" + "\n".join(blocking)
