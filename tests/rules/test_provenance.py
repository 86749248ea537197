"""The configuration page marks where each default comes from: the OPSG_97 minutes, public SEC material, or assumed."""
from __future__ import annotations

import html
import re
from typing import Any

from incidents.config import RULES, Provenance
from incidents.extensions import db
from incidents.principle import service as principle_service


def text_of(response: Any) -> str:
    """Return the page as plain text, tags removed."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))).split())


def provenance_marks(body: str) -> list[str]:
    """Return each data-provenance mark on the page, in order."""
    return re.findall(r'data-provenance="([a-z]+)"', body)


def test_each_rule_is_marked_and_the_marks_are_the_sources_named(client, auth, users):
    by_key = {rule.key: rule.provenance for rule in RULES}
    assert by_key["MEETING_PATTERN"] == by_key["ACTION_REFERENCE_PATTERN"] == Provenance.MINUTES
    assert by_key["INCIDENT_CATEGORIES"] == Provenance.SEC
    # A default only partly backed by a source is to be confirmed.
    assert by_key["TARGET_RESOLUTION"] == by_key["PMR_MEASURES"] == Provenance.ASSUMED
    auth.login(users["admin"])
    body = client.get("/rules/configuration").get_data(as_text=True)
    assert provenance_marks(body.split('<h2 id="principles">', 1)[0]) == [rule.provenance.value for rule in RULES]
    page = text_of(client.get("/rules/configuration"))
    assert "From the OPSG_97 minutes" in page and "From public SEC material" in page and "Assumed: to confirm" in page


def test_parties_read_the_rules_without_the_configuration_marks(client, auth, users):
    auth.login(users["party"])
    body = client.get("/rules").get_data(as_text=True)
    assert provenance_marks(body) == []
    assert "Exclusion principles" not in text_of(client.get("/rules"))  # SEC Parties do not read the principles


def test_the_principles_are_marked_until_an_administrator_rewords_them(client, auth, users, app):
    principle_service.seed_defaults()
    db.session.commit()
    auth.login(users["admin"])
    body = client.get("/rules/configuration").get_data(as_text=True)
    table = body.split('<h2 id="principles">', 1)[1]
    row = re.search(r'<tr id="principle-force-majeure">(.*?)</tr>', table, re.DOTALL).group(1)
    assert "Services Force Majeure (SEC Section M3)" in row and 'data-provenance="sec"' in row
    assert "<td>Force majeure <code>force-majeure</code>" in row  # by its title, the code beside it for admins
    assert 'data-provenance="minutes"' in re.search(
        r'<tr id="principle-third-party-infrastructure">(.*?)</tr>', table, re.DOTALL).group(1)
    principle_service.reword(principle=principle_service.get_principle("force-majeure"),
                             wording="Force majeure, as SEC Section M3 defines it.", actor=users["admin"])
    db.session.commit()
    table = client.get("/rules/configuration").get_data(as_text=True).split('<h2 id="principles">', 1)[1]
    row = re.search(r'<tr id="principle-force-majeure">(.*?)</tr>', table, re.DOTALL).group(1)
    assert "Reworded by an administrator" in row and "(default: From public SEC material)" in row
