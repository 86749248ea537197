"""The rules pages: the rules in plain words for every role, and for administrators every setting, its value, who
set it and where its default comes from; the next holidays."""
from __future__ import annotations

import re
from html import unescape
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import pytest

from incidents.config import RULES
from incidents.extensions import db
from incidents.principle import service as principle_service
from incidents.rules import views as rules_views
from tests.helpers import NOW

DEFAULT_VALUES = {
    "TIMEZONE": "Europe/London",
    "INCIDENT_CATEGORIES": "1, 2, 3, 4, 5",
    "TARGET_RESOLUTION": "Cat 1: 4 h, Cat 2: 8 h, Cat 3: 24 h, Cat 4: 3 Working Days, Cat 5: 5 Working Days",
    "RESOLUTION_CLOCK_START": "started",
    "SUMMARY_REPORT_WORKING_DAYS": "2",
    "REVIEW_REPORT_WORKING_DAYS": "20",
    "HOLIDAY_REGION": "ENG (England and Wales)",
    "EXTRA_HOLIDAYS": "none",
    "COHORTS": "CSP N, CSP C&S, DSP, S1SP, SMKI",
    "CAUSE_CATEGORIES": "DCC, DCC Service Provider, Third party outside DCC control, SEC Party / User, Not yet known",
    "REVIEW_CATEGORIES": "1, 2",
    "MEETING_PATTERN": r"[A-Z]{2,10}_\d{1,4}",
    "REFERENCE_PATTERN": r"INC\d{12}",
}


class _Page(HTMLParser):
    """Collect the text of each table row's cells and of each list item."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: list[list[str]] = []
        self.items: list[str] = []
        self._cell: list[str] | None = None
        self._item: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list) -> None:
        if tag == "tr":
            self.rows.append([])
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "li":
            self._item = []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None:
            self.rows[-1].append(" ".join("".join(self._cell).split()))
            self._cell = None
        elif tag == "li" and self._item is not None:
            self.items.append(" ".join("".join(self._item).split()))
            self._item = None

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell.append(data)
        if self._item is not None:
            self._item.append(data)


def _page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _rules_by_key(html: str) -> dict[str, dict[str, str]]:
    """Map each rule key to its label, value, source, origin and provenance as shown (the rules table only)."""
    table = {}
    for cells in _page(html.split('<h2 id="principles">', 1)[0]).rows[1:]:
        label, key, value, source, origin, provenance = cells
        table[key] = {"label": label, "value": value, "source": source, "origin": origin, "provenance": provenance}
    return table


def _text(html: str) -> str:
    """Return the main part of a page as plain text."""
    main = html.split("<main", 1)[-1].split("</main>", 1)[0]
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", "<" + main)).split())


def _holidays(html: str) -> list[str]:
    after = html.split("Next non-working days", 1)[1]
    return _page(after).items


@pytest.fixture()
def fixed_now(monkeypatch):
    """Make the page's 'today' 1 June 2023."""
    monkeypatch.setattr(rules_views, "utcnow", lambda: NOW)


def test_rules_page_requires_login(client):
    response = client.get("/rules")
    assert response.status_code == 302
    parts = urlsplit(response.location)
    assert parts.path == "/login"
    assert parse_qs(parts.query)["next"] == ["/rules"]


@pytest.mark.parametrize("role", ["dcc", "secas", "opsg", "party", "admin"])
def test_every_role_can_read_the_rules(client, auth, users, role):
    auth.login(users[role])
    assert client.get("/rules").status_code == 200


def test_each_rule_shows_its_default_value_source_and_origin(client, auth, users, fixed_now):
    auth.login(users["admin"])
    shown = _rules_by_key(client.get("/rules/configuration").text)
    assert set(shown) == {rule.key for rule in RULES}
    for rule in RULES:
        row = shown[rule.key]
        assert row["label"] == rule.label
        # Rules added later need no change here to be checked for a value, source and origin.
        if rule.key in DEFAULT_VALUES:
            assert row["value"] == DEFAULT_VALUES[rule.key], rule.key
        else:
            assert row["value"], rule.key
        assert row["source"] == "default", rule.key
        assert row["origin"] and row["origin"] == rule.origin
        assert row["provenance"] == rule.provenance.label, rule.key


@pytest.mark.parametrize("role", ["dcc", "secas", "opsg", "admin"])
def test_the_teams_read_when_reminders_go_in_words(client, auth, users, role):
    auth.login(users[role])
    page = _text(client.get("/rules").text)
    assert "Reminders are sent at 09:00 UK time, on working days only." in page
    assert ("Major Incident Review Report (DCC) 5 and 1 working days before it is due, and on the day; then every "
            "2 working days while it is overdue.") in page
    assert "SECAS review of a proposed exclusion (SECAS) When a proposed exclusion has waited 5 working days, " \
           "then every 5 working days until SECAS answers." in page
    assert "Operations Group decision on a submitted Review Report (Operations Group) 5 working days before the " \
           "group's next meeting." in page


def test_only_administrators_see_the_configuration_and_the_team_addresses(client, auth, users):
    auth.login(users["admin"])
    html = client.get("/rules/configuration").text
    assert {"REMINDER_RULES", "REMINDER_SEND_TIME", "REMINDER_ADDRESSES"} <= set(_rules_by_key(html))
    assert "secas-team@secas.example" in html and "instance/config.py" in html
    assert 'href="/rules/configuration"' in client.get("/rules").text
    for role in ("dcc", "secas", "opsg", "party"):
        auth.logout()
        auth.login(users[role])
        assert client.get("/rules/configuration").status_code == 403, role
        assert 'href="/rules/configuration"' not in client.get("/rules").text, role


# Configuration words a person should never have to read: setting keys, their parts, the config file.
_IDENTIFIER = re.compile(r"\b[A-Za-z]+_[A-Za-z_]+\b|instance/config|INCIDENTS_")


@pytest.mark.parametrize("role", ["dcc", "secas", "opsg", "party", "admin"])
def test_the_rules_page_is_plain_words_for_everyone(client, auth, users, app, role, fixed_now):
    principle_service.seed_defaults()
    db.session.commit()
    auth.login(users[role])
    page = _text(client.get("/rules").text)
    assert _IDENTIFIER.findall(page) == []
    assert "{" not in page and "PMR_MEASURES" not in page and "REMINDER_RULES" not in page
    # What a party reads a published report by, from the settings in force.
    assert "Incidents of Category 1 and 2 are treated as Major Incidents when they are logged" in page
    assert "Category 1 4 hours" in page and "Category 4 3 working days" in page
    assert "counted from when the incident started" in page
    assert "The Major Incident Summary Report is due 2 working days after the incident is resolved." in page
    assert "The Major Incident Review Report is due 20 working days after the incident is resolved." in page
    assert "bank holidays of England and Wales." in page
    assert ("CPM4 Category 1 and 2 incidents resolved within Target Resolution Time 1 and 2 100 % 85 %") in page
    assert "with only the exclusions SECAS agreed" in page
    assert ("classified GREEN (SEC Parties) or WHITE (SEC Parties and stakeholders at large; not for online "
            "publication); a RED report goes to named recipients only and is never published.") in page
    if role == "party":
        assert "Reminders" not in page and "Exclusion principles" not in page
        for address in app.config["REMINDER_ADDRESSES"].values():
            assert address.split("@")[0] not in page
        assert "@" not in page.replace(users["party"].email, "")
    else:
        assert "When reminders are sent" in page
        assert "Third party infrastructure" in page and "third-party-infrastructure" not in page


def test_next_bank_holidays_of_england_and_wales(client, auth, users, fixed_now):
    auth.login(users["dcc"])
    days = _holidays(client.get("/rules").text)
    assert len(days) == 8
    # Nothing between 1 June and the August bank holiday; Scotland's 7 August is not England's.
    assert days[0].startswith("Mon 28 Aug 2023: ")
    assert days[1] == "Mon 25 Dec 2023: Christmas Day"
    assert days[2].startswith("Tue 26 Dec 2023: ")
    assert days[3].startswith("Mon 1 Jan 2024: ")
    assert days[4] == "Fri 29 Mar 2024: Good Friday"
    assert days[5] == "Mon 1 Apr 2024: Easter Monday"
    assert not any("7 Aug 2023" in d or "30 Nov 2023" in d for d in days)


class TestOverriddenRules:
    """Rules changed by configuration show the new value and say who set it."""

    @pytest.fixture()
    def app_config(self):
        return {
            "TARGET_RESOLUTION": {"1": {"hours": 2}, "2": {"hours": 6}, "4": {"working_days": 1}},
            "REVIEW_REPORT_WORKING_DAYS": 15,
            "HOLIDAY_REGION": "SCT",
            "EXTRA_HOLIDAYS": ["2023-06-05"],
        }

    def test_the_rules_page_says_what_the_overrides_mean(self, client, auth, users, fixed_now):
        auth.login(users["party"])
        page = _text(client.get("/rules").text)
        assert "Category 1 2 hours" in page and "Category 2 6 hours" in page and "Category 4 1 working day" in page
        assert "Category 3 no target set" in page
        assert "The Major Incident Review Report is due 15 working days after the incident is resolved." in page
        assert "bank holidays of Scotland, and these extra days when the service is closed: Mon 5 Jun 2023." in page

    def test_overridden_rules_show_value_and_test_override(self, client, auth, users, fixed_now):
        auth.login(users["admin"])
        shown = _rules_by_key(client.get("/rules/configuration").text)
        assert shown["TARGET_RESOLUTION"]["value"] == "Cat 1: 2 h, Cat 2: 6 h, Cat 4: 1 Working Day"
        assert shown["REVIEW_REPORT_WORKING_DAYS"]["value"] == "15"
        assert shown["HOLIDAY_REGION"]["value"] == "SCT (Scotland)"
        assert shown["EXTRA_HOLIDAYS"]["value"] == "2023-06-05"
        for key in ("TARGET_RESOLUTION", "REVIEW_REPORT_WORKING_DAYS", "HOLIDAY_REGION", "EXTRA_HOLIDAYS"):
            assert shown[key]["source"] == "test override", key
            # Where the default comes from is still said, so the change can be judged.
            assert shown[key]["origin"] == next(r.origin for r in RULES if r.key == key)
        for key in ("TIMEZONE", "SUMMARY_REPORT_WORKING_DAYS", "COHORTS"):
            assert shown[key]["source"] == "default", key
            assert shown[key]["value"] == DEFAULT_VALUES[key]

    def test_holidays_follow_the_configured_region_and_extra_days(self, client, auth, users, fixed_now):
        auth.login(users["opsg"])
        days = _holidays(client.get("/rules").text)
        assert days[0] == "Mon 5 Jun 2023: Extra non-working day"
        assert days[1].startswith("Mon 7 Aug 2023: ")
        assert days[2].startswith("Thu 30 Nov 2023: ")
        assert not any("28 Aug 2023" in d for d in days)
