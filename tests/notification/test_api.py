"""The notification API: the caller's preferences and follows, webhooks for administrators, in the OpenAPI document."""
from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from incidents.notification import jobs
from tests.api.helpers import Api
from tests.notification.receiver import Receiver
from tests.notification.test_service import PROPOSAL
from tests.reminder.helpers import SmtpServer


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.get_json()


def test_preferences_read_and_changed_through_the_api(client: FlaskClient, tokens: dict[str, str]) -> None:
    secas = Api(client, tokens["secas"])
    settings = _ok(secas.get("/me/notifications"))
    assert settings["preferences"]["report_submitted"] == "immediate" and settings["following"] == []
    settings = _ok(secas.request("PUT", "/me/notifications", json={"preferences": {"report_submitted": "digest"}}))
    assert settings["preferences"]["report_submitted"] == "digest"
    problem = _ok(secas.request("PUT", "/me/notifications", json={"preferences": {"report_submitted": "weekly"}}),
                  422)
    assert problem["errors"] == {"report_submitted": ["Choose immediate, digest or none."]}
    party = Api(client, tokens["party"])
    assert _ok(party.get("/me/notifications"))["preferences"] == {"report_published": "none"}
    problem = _ok(party.request("PUT", "/me/notifications", json={"preferences": {"report_submitted": "immediate"}}),
                  422)
    assert "report_submitted" in problem["errors"]
    assert _ok(party.request("PUT", "/me/notifications", json={"preferences": {"report_published": "digest"}}))[
        "preferences"] == {"report_published": "digest"}


def test_follow_and_unfollow_through_the_api(client: FlaskClient, tokens: dict[str, str]) -> None:
    dcc = Api(client, tokens["dcc"])
    reference = dcc.create().get_json()["reference"]
    opsg = Api(client, tokens["opsg"])
    assert opsg.request("PUT", f"/incidents/{reference}/follow").status_code == 204
    assert opsg.request("PUT", f"/incidents/{reference}/follow").status_code == 204
    assert _ok(opsg.get("/me/notifications"))["following"] == [reference]
    assert opsg.request("DELETE", f"/incidents/{reference}/follow").status_code == 204
    assert _ok(opsg.get("/me/notifications"))["following"] == []
    party = Api(client, tokens["party"])
    assert party.request("PUT", f"/incidents/{reference}/follow").status_code == 404


def test_a_step_through_the_api_reaches_an_endpoint_registered_through_the_api(
        client: FlaskClient, tokens: dict[str, str], users: dict[str, Any], principles: None, smtp: SmtpServer,
        receiver: Receiver) -> None:
    admin = Api(client, tokens["admin"])
    assert Api(client, tokens["secas"]).post("/webhooks", json={"url": receiver.url}).status_code == 403
    problem = _ok(admin.post("/webhooks", json={"url": "gopher://127.0.0.1/", "events": ["report_submitted"]}), 422)
    assert set(problem["errors"]) == {"url", "events"}
    created = _ok(admin.post("/webhooks", json={"url": receiver.url, "is_internal": True,
                                                "events": ["exclusion_proposed", "report_published"]}), 201)
    assert created["secret"].startswith("whsec_")
    receiver.secret = created["secret"]
    listed = _ok(admin.get("/webhooks"))["items"]
    assert [item["id"] for item in listed] == [created["id"]] and "secret" not in listed[0]

    dcc = Api(client, tokens["dcc"])
    reference = dcc.create().get_json()["reference"]
    _ok(dcc.request("PUT", f"/incidents/{reference}/exclusion", json=PROPOSAL))
    for _ in range(2):
        jobs.sweep()
        jobs.deliver_webhooks()
    # SECAS must review the exclusion: one email, to SECAS only (nobody follows; the DCC acted itself).
    assert [str(m["To"]) for m in smtp.messages] == [users["secas"].email]
    [delivery] = receiver.requests
    assert delivery.is_valid and delivery.json["type"] == "review.exclusion_proposed"

    log = _ok(admin.get(f"/webhooks/{created['id']}/deliveries"))["items"]
    assert [(item["state"], item["attempts"], item["last_status"]) for item in log] == [("sent", 1, 204)]
    assert log[0]["message_id"] == delivery.headers["webhook-id"]
    again = _ok(admin.post(f"/webhooks/{created['id']}/deliveries/{log[0]['id']}/resend"))
    assert again["state"] == "pending"
    jobs.deliver_webhooks()
    assert len(receiver.accepted()) == 2
    assert {r.headers["webhook-id"] for r in receiver.requests} == {log[0]["message_id"]}

    assert admin.request("DELETE", f"/webhooks/{created['id']}").status_code == 428
    etag = admin.get(f"/webhooks/{created['id']}").headers["ETag"]
    assert admin.request("DELETE", f"/webhooks/{created['id']}", etag=etag).status_code == 204
    assert admin.get(f"/webhooks/{created['id']}").status_code == 404
    assert _ok(admin.get("/webhooks"))["items"] == []
