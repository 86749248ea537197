"""The main menu: which pages each person may open from it, and which item the page they are on belongs to.

Each item asks the same permission function its pages' routes ask, so the menu
never offers a page that would refuse the person, nor hides one they may use.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from incidents import permissions


@dataclass(frozen=True)
class Item:
    """One menu entry: its key, its words, the page it opens and who may open it."""

    key: str
    label: str
    endpoint: str
    allowed: Callable[[Any], bool]


@dataclass(frozen=True)
class Link:
    """A menu entry as one person sees it on one page."""

    label: str
    endpoint: str
    is_current: bool


@dataclass(frozen=True)
class Menu:
    """The person's menu: the main links, the administration links, their own account's links, the footer's."""

    main: list[Link]
    admin: list[Link]
    account: list[Link]
    footer: list[Link]

    @property
    def admin_is_current(self) -> bool:
        """Tell whether the page is one of the administration pages (folded under one menu entry)."""
        return any(link.is_current for link in self.admin)

    @property
    def account_is_current(self) -> bool:
        """Tell whether the page is one of the person's own account pages."""
        return any(link.is_current for link in self.account)


MAIN = (
    Item("incidents", "Incidents", "incident.index", permissions.can_view_incidents),
    Item("log", "Log incident", "incident.create", permissions.can_edit_incidents),
    Item("pmr", "PMR", "pmr.index", permissions.can_view_incidents),
    Item("actions", "Actions", "action.index", permissions.can_view_actions),
    Item("meetings", "Meetings", "meeting.index", permissions.can_view_meetings),
    Item("principles", "Principles", "principle.index", permissions.can_view_principles),
    Item("published", "Published reports", "report.published", permissions.can_read_published),
    Item("search", "Search", "search.index", permissions.can_read_published),
    Item("calendar", "Calendar", "reminder.calendar", permissions.can_use_calendar),
)
# Folded under "Admin". Importing incidents is done from the incident list, which links to it.
ADMIN = (
    Item("users", "Users", "user.index", permissions.can_manage_users),
    Item("outbox", "Outbox", "reminder.outbox", permissions.can_manage_users),
    Item("webhooks", "Webhooks", "notification.webhooks", permissions.can_manage_users),
)
# Under the person's name.
ACCOUNT = (
    Item("notifications", "Notifications", "notification.preferences", permissions.can_read_published),
    Item("sessions", "Sessions", "auth.sessions", permissions.can_read_published),
)
# In the footer of every page: how the rules work is reference, not a place people go to do something.
FOOTER = (
    Item("rules", "Rules: deadlines, measures and reminders", "rules.settings", permissions.can_view_settings),
)
# The menu item a page belongs to: by endpoint first, then by blueprint. Pages not named (the dashboard, the
# login page) mark no item.
BY_ENDPOINT = {
    "incident.create": "log",
    "report.published": "published",
    "report.published_report": "published",
    "document.published_pdf": "published",
    "document.pack": "meetings",
    "document.pack_pdf": "meetings",
    "export.actions": "actions",
    "reminder.calendar": "calendar",
    "reminder.outbox": "outbox",
    "notification.preferences": "notifications",
    "auth.sessions": "sessions",
}
BY_BLUEPRINT = {
    "incident": "incidents",
    "review": "incidents",
    "report": "incidents",
    "attachment": "incidents",
    "redaction": "incidents",
    "document": "incidents",
    "export": "incidents",
    "chart": "incidents",
    "reminder": "incidents",  # an incident's reminders
    "importer": "incidents",
    "pmr": "pmr",
    "action": "actions",
    "meeting": "meetings",
    "principle": "principles",
    "search": "search",
    "rules": "rules",
    "user": "users",
    "notification": "webhooks",
}


def section(endpoint: str | None) -> str | None:
    """Return the key of the menu item the page at ``endpoint`` belongs to (None: none)."""
    if not endpoint:
        return None
    if endpoint in BY_ENDPOINT:
        return BY_ENDPOINT[endpoint]
    return BY_BLUEPRINT.get(endpoint.partition(".")[0])


def _links(items: tuple[Item, ...], user: Any, current: str | None) -> list[Link]:
    return [Link(item.label, item.endpoint, item.key == current) for item in items if item.allowed(user)]


def menu(user: Any, endpoint: str | None) -> Menu:
    """Build the menu this person sees on the page at ``endpoint``."""
    current = section(endpoint)
    return Menu(main=_links(MAIN, user, current), admin=_links(ADMIN, user, current),
                account=_links(ACCOUNT, user, current), footer=_links(FOOTER, user, current))
