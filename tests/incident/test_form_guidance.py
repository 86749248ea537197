"""The incident form's guidance: a new incident's cause is "Not yet known", and changing an incident whose Review
Report is published says the published edition will not follow and how to correct it."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest

from incidents.extensions import db
from incidents.incident import service as incident_service
from incidents.principle import service as principle_service
from tests import factories
from tests.document import builders

WARNING = "Changes saved here do not change the published edition"


def _selected(page: str, name: str) -> list[str]:
    """Return the values of the selected options of a select."""
    select = re.search(rf'<select[^>]*name="{name}"[^>]*>(.*?)</select>', page, re.DOTALL)
    assert select, f"no select {name}"
    options = re.findall(r"<option([^>]*)>", select.group(1))
    return [re.search(r'value="([^"]*)"', o).group(1) for o in options if re.search(r"\bselected\b", o)]


def test_a_new_incident_starts_with_its_cause_not_yet_known(client, auth, users):
    auth.login(users["dcc"])
    page = client.get("/incidents/new").text
    assert _selected(page, "cause_category") == ["unknown"]
    assert ">Not yet known</option>" in page


def test_an_incident_keeps_its_saved_cause_when_edited(client, auth, users, now):
    incident = factories.incident(actor=users["dcc"], now=now)  # saved as third_party
    db.session.commit()
    auth.login(users["dcc"])
    page = client.get(f"/incidents/{incident.reference}/edit").text
    assert _selected(page, "cause_category") == ["third_party"]


@pytest.fixture()
def published(app, users, now):
    principle_service.seed_defaults()
    incident = builders.published(users, now)
    incident_service.add_timeline_entry(incident=incident, actor=users["dcc"], now=now, draft=factories.entry_draft(
        occurred_at=incident.started_at + timedelta(hours=1), text="Carrier confirmed a core network failure."))
    db.session.commit()
    return incident


def test_editing_an_incident_whose_report_is_published_warns_that_the_edition_stays_as_published(
        client, auth, users, published):
    auth.login(users["dcc"])
    form = client.get(f"/incidents/{published.reference}/edit").text
    notice = re.search(r'<div class="panel warning-panel" role="note" id="published-notice">(.*?)</div>', form,
                       re.DOTALL)
    assert notice, "no warning on the edit form"
    text = notice.group(1)
    assert "The published report will not change" in text
    assert "version 1, classified GREEN" in text and WARNING in text
    # What to do about it: a new version, the group's agreement, a new edition.
    assert "saves and submits a new version of the Review Report" in text
    assert "Operations Group agrees it at a meeting" in text and "supersedes this one" in text
    # The incident page says it too, to those who can change the incident, and so does a timeline entry's form.
    detail = client.get(f"/incidents/{published.reference}").text
    assert WARNING in detail
    entry = re.search(rf'href="(/incidents/{published.reference}/timeline/\d+/edit)"', detail)
    assert entry, "no timeline entry to edit"
    assert WARNING in client.get(entry.group(1)).text


def test_no_warning_before_publication_nor_for_those_who_cannot_edit(client, auth, users, now, published):
    unpublished = factories.incident(actor=users["dcc"], now=now)
    db.session.commit()
    auth.login(users["dcc"])
    assert WARNING not in client.get(f"/incidents/{unpublished.reference}/edit").text
    assert WARNING not in client.get(f"/incidents/{unpublished.reference}").text
    auth.logout()
    auth.login(users["opsg"])
    assert WARNING not in client.get(f"/incidents/{published.reference}").text
