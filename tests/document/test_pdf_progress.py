"""Every PDF link says the PDF takes a few seconds and loads the script that shows it being prepared."""
from __future__ import annotations

import re
from datetime import date

import pytest

from incidents.extensions import db
from incidents.principle import service as principle_service
from tests import factories
from tests.document import builders

SCRIPT = '<script src="/static/pdf-download.js" defer></script>'


@pytest.fixture()
def published(app, users, now):
    principle_service.seed_defaults()
    incident = builders.published(users, now)
    factories.meeting("OPSG_97", date(2023, 6, 26), actor=users["secas"])
    db.session.commit()
    return incident


def _pdf_links(page: str) -> list[str]:
    return re.findall(r'<a [^>]*href="[^"]*\.pdf[^"]*"[^>]*>', page)


def test_each_pdf_link_is_marked_for_the_progress_script(client, auth, users, published):
    auth.login(users["secas"])
    pages = {
        "report": client.get(f"/incidents/{published.reference}/report/print?version=1").text,
        "pack": client.get("/meetings/OPSG_97/pack").text,
    }
    auth.logout()
    auth.login(users["party"])
    pages["published"] = client.get(f"/published/{published.reference}").text
    pages["party home"] = client.get("/").text
    for name, page in pages.items():
        links = _pdf_links(page)
        assert links, f"no PDF link on the {name} page"
        assert all("data-pdf-download" in link for link in links), name
        assert SCRIPT in page, name
    for name in ("report", "pack", "published"):
        assert "takes a few seconds to prepare" in pages[name], name


def test_the_script_is_served(client):
    response = client.get("/static/pdf-download.js")
    assert response.status_code == 200
    assert b"Preparing the PDF" in response.data and b'role", "status"' in response.data
