"""Layout in Chromium: no page of the main set scrolls sideways, from a phone to a desktop, for any role.

The server holds the demo data, so each page is measured with real content:
long references, timelines, tables of reminders. Each role has one browser
context; each page is loaded once at phone width and measured, then the same
page is widened to 1366 px (the most common laptop width) and measured again,
so a role's pages take a few seconds. A few pages are measured at 320 px too,
the narrowest width WCAG's reflow criterion (1.4.10) asks for.

A page overflows when ``document.scrollingElement.scrollWidth`` exceeds the
window's inner width: the reader would have to scroll sideways to read it.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from incidents.action import service as action_service
from incidents.demo import service as demo_service
from tests.e2e.conftest import LiveServer, Person, shot

pytestmark = pytest.mark.e2e

PHONE, LAPTOP, NARROWEST = 390, 1366, 320
HEIGHT = 844
REAL_CASE = "INC000001001905"  # agreed for publication, with a long timeline and the OPSG_97 decision
ASKED = "INC000001002404"  # SECAS asked the DCC for information: a review with rounds and comments
PUBLISHED = "INC000001002401"
ACTION = action_service.slug("OPSG 97/04")
STAFF = ("dcc", "secas", "opsg", "admin")
EVERYONE = (*STAFF, "party")
# (what, path, roles that may open it). Every role listed must get the page (200), and it must fit.
PAGES: list[tuple[str, str, tuple[str, ...]]] = [
    ("dashboard", "/", EVERYONE),
    ("incident list", "/incidents/", STAFF),
    ("incident", f"/incidents/{REAL_CASE}", STAFF),
    ("incident audit trail", f"/incidents/{REAL_CASE}/audit", STAFF),
    ("incident reminders", f"/incidents/{ASKED}/reminders", STAFF),
    ("review", f"/incidents/{ASKED}/review", STAFF),
    ("published review", f"/incidents/{REAL_CASE}/review", STAFF),
    ("report", f"/incidents/{REAL_CASE}/report", STAFF),
    ("report versions", f"/incidents/{REAL_CASE}/report/versions", STAFF),
    ("published list", "/published", EVERYONE),
    ("published report", f"/published/{PUBLISHED}", EVERYONE),
    ("PMR month", "/pmr/2023-04", STAFF),
    ("actions", "/actions/", STAFF),
    ("action", f"/actions/{ACTION}", STAFF),
    ("meetings", "/meetings/", STAFF),
    ("calendar", "/calendar", EVERYONE),
    ("principles", "/principles", STAFF),
    ("rules", "/rules", EVERYONE),
    ("search", "/search?q=outage", EVERYONE),
    ("notification preferences", "/settings/notifications", EVERYONE),
    ("sessions", "/sessions", EVERYONE),
    ("log incident", "/incidents/new", ("dcc", "admin")),
    ("report editor", f"/incidents/{ASKED}/report/edit", ("dcc", "admin")),
    ("outbox", "/admin/outbox", ("admin",)),
    ("users", "/admin/users/", ("admin",)),
    ("webhooks", "/admin/webhooks", ("admin",)),
]
# Measured at 320 px as well: the widest content (tables, timelines, the header with most items).
NARROWEST_PAGES = ("dashboard", "incident list", "incident", "review", "published report", "PMR month",
                   "outbox", "incident reminders")
# The menu item each page belongs to, for the current-page test: (role, path, menu link's text).
CURRENT: list[tuple[str, str, str]] = [
    ("dcc", "/incidents/", "Incidents"),
    ("dcc", f"/incidents/{REAL_CASE}/review", "Incidents"),
    ("dcc", "/pmr/2023-04", "PMR"),
    ("secas", "/meetings/", "Meetings"),
    ("opsg", "/calendar", "Calendar"),
    ("admin", "/principles", "Principles"),
    ("admin", "/admin/outbox", "Outbox"),
    ("party", "/published", "Published reports"),
]

MEASURE = """() => {
  const root = document.scrollingElement;
  const wide = [];
  if (root.scrollWidth > window.innerWidth) {
    // Name the elements that reach past the window's right edge, innermost first, to say what to fix.
    for (const el of document.querySelectorAll('body *')) {
      const box = el.getBoundingClientRect();
      if (box.width && box.right > window.innerWidth + 1) {
        const inner = [...el.children].some(c => c.getBoundingClientRect().right > window.innerWidth + 1);
        if (!inner) {
          wide.push(el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') +
                    (el.className && typeof el.className === 'string' ? '.' + el.className.trim().replace(/\\s+/g, '.') : '') +
                    ' (' + Math.round(box.right) + 'px) ' + (el.textContent || '').trim().slice(0, 40));
        }
      }
      if (wide.length >= 4) break;
    }
  }
  return {scrollWidth: root.scrollWidth, innerWidth: window.innerWidth, wide: wide};
}"""


def seed_demo() -> dict[str, str]:
    """Load the demo data; return {role: email} of the demo logins."""
    demo_service.seed()
    return {role: email for email, role, _ in demo_service.DEMO_USERS}


@pytest.fixture(scope="module")
def server(serve: Any) -> LiveServer:
    """The app on a fresh migrated database holding the demo data."""
    return serve(seed_demo, password=demo_service.DEMO_PASSWORD)


@pytest.fixture(scope="module")
def people(browser: Any, server: LiveServer) -> Iterator[dict[str, Person]]:
    """One logged-in browser context per role, shared by this module's tests."""
    made: dict[str, Person] = {}
    for role in EVERYONE:
        person = Person(browser, server, role)
        person.login()
        made[role] = person
    yield made
    for person in made.values():
        person.close()


def overflow(page: Any, width: int, what: str) -> str | None:
    """Set the window to ``width`` px and return what sticks out sideways, or None when the page fits."""
    page.set_viewport_size({"width": width, "height": HEIGHT})
    found = page.evaluate(MEASURE)
    if found["scrollWidth"] <= found["innerWidth"]:
        return None
    shot(page, f"overflow-{what}-{width}")
    return (f"{what} at {width} px is {found['scrollWidth']} px wide ({page.url}); "
            f"past the edge: {'; '.join(found['wide']) or 'nothing found'}")


@pytest.mark.parametrize("role", EVERYONE)
def test_no_page_scrolls_sideways(people: dict[str, Person], role: str) -> None:
    """Every page the role may open fits the window at 390 px and 1366 px (and the widest at 320 px)."""
    page = people[role].page
    problems: list[str] = []
    measured = 0
    for what, path, roles in PAGES:
        if role not in roles:
            continue
        page.set_viewport_size({"width": PHONE, "height": HEIGHT})
        response = page.goto(path)
        assert response is not None and response.status == 200, f"{what}: {path} answered {response and response.status}"
        widths = (PHONE, LAPTOP, NARROWEST) if what in NARROWEST_PAGES else (PHONE, LAPTOP)
        for width in widths:
            problem = overflow(page, width, f"{role} {what}")
            if problem:
                problems.append(problem)
        measured += 1
    assert measured >= 8
    assert not problems, "Pages that scroll sideways:\n" + "\n".join(problems)


@pytest.mark.parametrize("role", EVERYONE)
def test_header_fits_one_row_on_a_laptop(people: dict[str, Person], role: str) -> None:
    """At 1366 px the logo, the whole menu and the person's name and log-out share one row."""
    page = people[role].page
    page.set_viewport_size({"width": LAPTOP, "height": HEIGHT})
    page.goto("/")
    tops = page.evaluate("""() => [...document.querySelectorAll(
        '.site-header .brand, .site-header nav li, .site-header .who > *')]
        .filter(el => el.checkVisibility()).map(el => {
          const box = el.getBoundingClientRect(); return [el.textContent.trim().slice(0, 30), box.top, box.bottom]; })""")
    assert len(tops) >= 4, tops
    # One row: every item's vertical middle lies within every other item's top and bottom.
    middles = [(top + bottom) / 2 for _, top, bottom in tops]
    off_row = [name for name, top, bottom in tops if not all(top <= middle <= bottom for middle in middles)]
    assert not off_row, f"the header wraps for {role} at {LAPTOP} px: {off_row} sit on another row ({tops})"


def test_menu_marks_the_current_page(people: dict[str, Person]) -> None:
    """The menu link of the page you are on carries aria-current="page" and looks different from the others."""
    for role, path, label in CURRENT:
        page = people[role].page
        page.set_viewport_size({"width": LAPTOP, "height": HEIGHT})
        page.goto(path)
        current = page.locator('nav[aria-label="Main"] a[aria-current="page"]')
        assert current.count() == 1, f"{role} on {path}: {current.count()} menu links marked current"
        assert (current.text_content() or "").strip() == label, f"{role} on {path}: {current.text_content()!r} is marked"
        looks = page.evaluate("""() => {
            const style = el => { const s = getComputedStyle(el);
              return [s.fontWeight, s.textDecorationLine, s.borderBottomWidth, s.backgroundColor].join('|'); };
            const links = [...document.querySelectorAll('nav[aria-label="Main"] a')];
            const current = links.find(a => a.getAttribute('aria-current') === 'page');
            const other = links.find(a => a !== current);
            return [style(current), other ? style(other) : null]; }""")
        assert looks[1] is not None and looks[0] != looks[1], f"{role} on {path}: the current link looks like the rest"


def test_menu_offers_meetings_calendar_and_principles_to_those_who_use_them(people: dict[str, Person]) -> None:
    """Staff roles find Meetings, Calendar and Principles in the menu; a SEC Party finds only Calendar."""
    for role in EVERYONE:
        page = people[role].page
        page.goto("/")
        menu = [text.strip() for text in page.locator('nav[aria-label="Main"] a').all_inner_texts()]
        for label in ("Meetings", "Calendar", "Principles"):
            expected = role in STAFF or label == "Calendar"
            assert (label in menu) == expected, f"{role}'s menu {menu} {'lacks' if expected else 'has'} {label}"
