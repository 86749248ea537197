"""With CSRF protection on (as in production), every form on the action, meeting and calendar pages carries a
token, and a post without one changes nothing."""
from __future__ import annotations

from datetime import date
from typing import Any

import pytest
import sqlalchemy as sa

from incidents.action import service as action_service
from incidents.action.models import Action
from incidents.extensions import db
from incidents.meeting.models import Meeting
from tests import factories


@pytest.fixture()
def app_config() -> dict[str, Any]:
    return {"WTF_CSRF_ENABLED": True}


@pytest.fixture()
def action(app, users):
    made = action_service.create_action(actor=users["secas"], draft=action_service.ActionDraft(
        reference="OPSG 97/04", text="Confirm the principles.", owner_org="dcc",
        raised_on=date(2023, 6, 26), target_on=date(2023, 7, 24)))
    db.session.commit()
    return made


def _login(client: Any, user: Any) -> None:
    login = client.get("/login").get_data(as_text=True)
    token = login.split('name="csrf_token" type="hidden" value="', 1)[1].split('"', 1)[0]
    client.post("/login", data={"email": user.email, "password": factories.PASSWORD, "csrf_token": token})


@pytest.mark.parametrize("url", ["/actions/new", "/actions/OPSG%2097-04/edit", "/meetings/", "/calendar"])
def test_each_form_carries_a_token(client, users, action, url):
    _login(client, users["secas"])
    assert 'name="csrf_token"' in client.get(url).get_data(as_text=True)


def test_posts_without_a_token_change_nothing(client, users, action):
    _login(client, users["secas"])
    for url, data in (("/actions/new", {"reference": "OPSG 97/05", "text": "x", "owner_org": "dcc",
                                        "raised_on": "2023-06-26", "target_on": "2023-07-24"}),
                      ("/actions/OPSG%2097-04/edit", {"text": "Changed", "version": "1"}),
                      ("/meetings/", {"reference": "OPSG_98", "held_on": "2023-07-25"}),
                      ("/calendar/token", {})):
        response = client.post(url, data=data)
        assert response.status_code == 400, url
        assert "The form expired" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Action)) == 1
    assert db.session.get(Action, action.id).text == "Confirm the principles."
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Meeting)) == 0
    assert users["secas"].calendar_token_hash is None
