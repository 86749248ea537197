"""The menu: each person is offered exactly the menu pages their role may open, and the page they are on is marked."""
from __future__ import annotations

import re

import pytest

from incidents import navigation

EVERY_ITEM = (*navigation.MAIN, *navigation.ADMIN, *navigation.ACCOUNT, *navigation.FOOTER)
PATHS = {"incident.index": "/incidents/", "incident.create": "/incidents/new", "pmr.index": "/pmr/",
         "action.index": "/actions/", "meeting.index": "/meetings/", "principle.index": "/principles",
         "report.published": "/published", "search.index": "/search", "reminder.calendar": "/calendar",
         "user.index": "/admin/users/", "reminder.outbox": "/admin/outbox",
         "notification.webhooks": "/admin/webhooks", "notification.preferences": "/settings/notifications",
         "auth.sessions": "/sessions", "rules.settings": "/rules"}


@pytest.mark.parametrize("role", ["dcc", "secas", "opsg", "party", "admin"])
def test_the_menu_offers_every_page_the_role_may_open_and_no_other(client, auth, users, role):
    auth.login(users[role])
    home = client.get("/").get_data(as_text=True)
    menus = home.split("<main", 1)[0] + home.split("</main>", 1)[1]  # the header's menus and the footer's
    offered = set(re.findall(r'<a href="([^"]+)"', menus))
    for item in EVERY_ITEM:
        path = PATHS[item.endpoint]
        status = client.get(path).status_code
        if path in offered:
            # The PMR entry page sends on to the latest month.
            assert status == (302 if path == "/pmr/" else 200), f"{role} is offered {path} but gets {status}"
        else:
            assert status in (403, 404), f"{role} may open {path} ({status}) but the menu hides it"


@pytest.mark.parametrize("endpoint, key", [
    ("incident.index", "incidents"), ("review.show", "incidents"), ("report.edit_report", "incidents"),
    ("importer.upload", "incidents"), ("reminder.incident_reminders", "incidents"), ("incident.create", "log"),
    ("report.published", "published"), ("report.published_report", "published"), ("document.pack", "meetings"),
    ("meeting.index", "meetings"), ("reminder.calendar", "calendar"), ("reminder.outbox", "outbox"),
    ("notification.webhooks", "webhooks"), ("notification.preferences", "notifications"),
    ("auth.sessions", "sessions"), ("dashboard.home", None), ("auth.login", None), (None, None),
])
def test_each_page_belongs_to_one_menu_item(endpoint, key):
    assert navigation.section(endpoint) == key


def test_every_menu_endpoint_is_a_page_and_every_key_is_reachable(app):
    endpoints = {rule.endpoint for rule in app.url_map.iter_rules()}
    assert {item.endpoint for item in EVERY_ITEM} <= endpoints
    keys = {item.key for item in EVERY_ITEM}
    assert set(navigation.BY_ENDPOINT.values()) <= keys and set(navigation.BY_BLUEPRINT.values()) <= keys
