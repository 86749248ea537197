"""Notification pages: preferences, Follow / Unfollow checked by role, webhooks for administrators only."""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask.testing import FlaskClient

from incidents.extensions import db
from incidents.notification import service as notification_service
from incidents.notification.models import Delivery, EventKind, Webhook
from tests import factories
from tests.helpers import Auth


def test_follow_and_unfollow_from_the_incident_page(client: FlaskClient, auth: Auth, users: dict[str, Any]) -> None:
    incident = factories.incident(actor=users["dcc"])
    db.session.commit()
    auth.login(users["opsg"])
    page = client.get(f"/incidents/{incident.reference}")
    assert b">Follow</button>" in page.data
    answer = client.post(f"/incidents/{incident.reference}/follow")
    assert answer.status_code == 302
    assert notification_service.is_following(users["opsg"], incident)
    page = client.get(f"/incidents/{incident.reference}")
    assert b">Unfollow</button>" in page.data
    assert incident.reference.encode() in client.get("/settings/notifications").data
    client.post(f"/incidents/{incident.reference}/unfollow")
    assert not notification_service.is_following(users["opsg"], incident)


def test_a_party_cannot_follow_an_incident(client: FlaskClient, auth: Auth, users: dict[str, Any]) -> None:
    incident = factories.incident(actor=users["dcc"])
    db.session.commit()
    auth.login(users["party"])
    assert client.post(f"/incidents/{incident.reference}/follow").status_code == 404
    assert not notification_service.is_following(users["party"], incident)


def test_preferences_page_saves_choices_and_explains_mistakes(client: FlaskClient, auth: Auth,
                                                              users: dict[str, Any]) -> None:
    auth.login(users["secas"])
    page = client.get("/settings/notifications")
    assert page.status_code == 200 and b"Daily digest" in page.data
    choices = {kind.value: "immediate" for kind in EventKind}
    answer = client.post("/settings/notifications", data={**choices, "report_submitted": "digest",
                                                          "report_published": "none"})
    assert answer.status_code == 302
    chosen = notification_service.preferences(users["secas"])
    assert chosen[EventKind.REPORT_SUBMITTED] == Delivery.DIGEST and chosen[EventKind.REPORT_PUBLISHED] == Delivery.NONE
    answer = client.post("/settings/notifications", data={**choices, "report_submitted": "weekly"})
    assert answer.status_code == 422 and b"Choose immediate, digest or none." in answer.data


def test_a_party_chooses_only_publications(client: FlaskClient, auth: Auth, users: dict[str, Any]) -> None:
    auth.login(users["party"])
    page = client.get("/settings/notifications").get_data(as_text=True)
    assert "Report published to SEC Parties" in page and "Review Report submitted" not in page
    assert client.post("/settings/notifications", data={"report_published": "immediate"}).status_code == 302
    assert notification_service.preferences(users["party"]) == {EventKind.REPORT_PUBLISHED: Delivery.IMMEDIATE}


def test_an_administrator_registers_a_webhook_and_sees_its_secret_once(client: FlaskClient, auth: Auth,
                                                                      users: dict[str, Any]) -> None:
    auth.login(users["admin"])
    answer = client.post("/admin/webhooks", data={"url": "https://hooks.example.org/incidents",
                                                  "events": ["report_published", "report_submitted"],
                                                  "payload_format": "standard"})
    assert answer.status_code == 422 and b"mark it internal" in answer.data
    answer = client.post("/admin/webhooks", data={"url": "https://hooks.example.org/incidents",
                                                  "events": ["report_published", "report_submitted"],
                                                  "is_internal": "y", "payload_format": "chat"})
    assert answer.status_code == 302
    webhook = db.session.scalar(sa.select(Webhook))
    assert webhook is not None and webhook.secret.startswith("whsec_") and webhook.is_internal
    first = client.get(answer.location)
    assert webhook.secret.encode() in first.data and first.headers["Cache-Control"] == "no-store"
    assert webhook.secret.encode() not in client.get(answer.location).data


def test_only_administrators_see_webhooks(client: FlaskClient, auth: Auth, users: dict[str, Any]) -> None:
    for role in ("dcc", "secas", "opsg", "party"):
        auth.login(users[role])
        assert client.get("/admin/webhooks").status_code == 403, role
        assert client.post("/admin/webhooks", data={"url": "https://x.example.org/"}).status_code == 403, role
        auth.logout()
