"""Review notifications end to end: a real step, a real SMTP server and a real webhook receiver on loopback."""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from flask.testing import FlaskClient

from incidents.errors import PermissionDenied, ValidationError
from incidents.extensions import db
from incidents.incident.models import Incident
from incidents.notification import jobs
from incidents.notification import service as notification_service
from incidents.notification.models import (
    Event,
    EventKind,
    Notification,
    SendState,
    WebhookDelivery,
)
from incidents.report import service as report_service
from incidents.review import service as review_service
from tests import factories
from tests.api.helpers import Api
from tests.notification.receiver import Receiver
from tests.reminder.helpers import SmtpServer, uk

THIRD_PARTY = "third-party-infrastructure"
PROPOSAL = {"exclude": True, "principle": THIRD_PARTY,
            "rationale": "Restoration depended on a national carrier outside the control of the DCC."}
SECTIONS = {"summary": "Nationwide carrier outage.", "root_cause": "Carrier core failure."}


def _recipients(smtp: SmtpServer) -> list[str]:
    return sorted(str(message["To"]) for message in smtp.messages)


def _webhook(users: dict[str, Any], receiver: Receiver, *, internal: bool = True,
             events: list[str] | None = None) -> int:
    webhook = notification_service.create_webhook(notification_service.WebhookDraft(
        url=receiver.url, events=events or [kind.value for kind in EventKind], is_internal=internal),
        actor=users["admin"])
    db.session.commit()
    receiver.secret = webhook.secret
    return webhook.id


def _propose(incident: Incident, users: dict[str, Any], now: datetime) -> None:
    review_service.propose(incident=incident, exclude=True, principle=THIRD_PARTY, rationale=PROPOSAL["rationale"],
                           actor=users["dcc"], now=now)
    db.session.commit()


def test_a_step_through_the_api_sends_one_email_per_recipient_and_one_signed_webhook(
        client: FlaskClient, users: dict[str, Any], tokens: dict[str, str], principles: None, smtp: SmtpServer,
        receiver: Receiver) -> None:
    _webhook(users, receiver)
    api = Api(client, tokens["dcc"])
    reference = api.create().get_json()["reference"]
    incident = db.session.scalar(sa.select(Incident).where(Incident.reference == reference))
    notification_service.follow(users["admin"], incident)
    db.session.commit()

    response = api.request("PUT", f"/incidents/{reference}/exclusion", json=PROPOSAL)
    assert response.status_code == 200, response.get_json()
    # Sent after the commit, by the sweeps; run twice (and the second finds nothing).
    for _ in range(2):
        jobs.sweep()
        jobs.deliver_webhooks()

    # SECAS acts next (the exclusion) and the administrator follows; the DCC made the change itself, and
    # neither the Operations Group nor a SEC Party has anything to do with it.
    assert _recipients(smtp) == sorted([users["secas"].email, users["admin"].email])
    assert all(str(m["Subject"]) == f"[{reference}] PMR treatment proposed" for m in smtp.messages)
    body = smtp.messages[0].get_body().get_content()
    assert "SECAS: Review the proposed exclusion" in body
    [delivery] = receiver.requests
    assert delivery.is_valid and delivery.status == 204
    assert delivery.json["type"] == "review.exclusion_proposed"
    assert delivery.json["data"]["reference"] == reference
    assert delivery.json["data"]["exclusion_state"] == "pending"


def test_a_receiver_that_fails_three_times_gets_the_event_once_with_the_attempts_logged(
        app: Any, users: dict[str, Any], principles: None, now: datetime, receiver: Receiver) -> None:
    webhook_id = _webhook(users, receiver)
    incident = factories.incident(actor=users["dcc"])
    _propose(incident, users, now)
    receiver.fail_next = 3
    at = now
    for attempt in range(1, 5):
        result = jobs.deliver_webhooks(now=at)
        assert len(result.sent) == (1 if attempt == 4 else 0)
        delivery = db.session.scalar(sa.select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook_id))
        assert delivery is not None
        db.session.refresh(delivery)
        assert delivery.attempts == attempt
        if attempt < 4:
            assert delivery.state == SendState.PENDING and delivery.last_status == 500
            assert delivery.last_error == "HTTP 500:"
            # Not yet due again: nothing goes before the pause is over.
            assert jobs.deliver_webhooks(now=delivery.next_attempt_at - timedelta(seconds=1)).sent == []
            at = delivery.next_attempt_at
    assert delivery.state == SendState.SENT and delivery.last_error is None and delivery.delivered_at == at
    assert len(receiver.accepted()) == 1 and len(receiver.requests) == 4
    # The same message every time, so a receiver can recognise a repeat; each signed afresh and valid.
    assert {r.headers["webhook-id"] for r in receiver.requests} == {delivery.message_id}
    assert all(r.is_valid for r in receiver.requests)
    assert jobs.deliver_webhooks(now=at + timedelta(days=2)).sent == []


def test_a_delivery_that_keeps_failing_is_given_up_after_a_day_and_can_be_sent_again(
        app: Any, users: dict[str, Any], principles: None, now: datetime, receiver: Receiver) -> None:
    webhook_id = _webhook(users, receiver)
    _propose(factories.incident(actor=users["dcc"]), users, now)
    receiver.fail_next = 1000
    at = now
    while True:
        jobs.deliver_webhooks(now=at)
        delivery = db.session.scalar(sa.select(WebhookDelivery))
        assert delivery is not None
        db.session.refresh(delivery)
        if delivery.state == SendState.FAILED:
            break
        at = delivery.next_attempt_at
    assert at == now + timedelta(days=1)
    assert 5 < delivery.attempts < 20
    receiver.fail_next = 0
    webhook = notification_service.get_webhook(webhook_id, actor=users["admin"])
    notification_service.send_again(webhook, delivery.id, actor=users["admin"], now=at + timedelta(hours=1))
    db.session.commit()
    assert len(jobs.deliver_webhooks(now=at + timedelta(hours=1)).sent) == 1
    assert len(receiver.accepted()) == 1


def test_a_rolled_back_change_notifies_nobody(app: Any, users: dict[str, Any], principles: None, now: datetime,
                                              smtp: SmtpServer, receiver: Receiver) -> None:
    _webhook(users, receiver)
    incident = factories.incident(actor=users["dcc"])
    db.session.commit()
    review_service.propose(incident=incident, exclude=True, principle=THIRD_PARTY, rationale=PROPOSAL["rationale"],
                           actor=users["dcc"], now=now)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Notification)) == 1  # SECAS, not yet sent
    db.session.rollback()
    assert jobs.sweep(now=now + timedelta(hours=1)).sent == []
    assert jobs.deliver_webhooks(now=now + timedelta(hours=1)).sent == []
    assert smtp.count() == 0 and receiver.requests == []
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Event)) == 0


def test_a_digest_goes_at_nine_on_the_next_working_day_as_one_email(
        app: Any, users: dict[str, Any], principles: None, smtp: SmtpServer) -> None:
    secas = users["secas"]
    notification_service.set_preferences(secas, {"exclusion_proposed": "digest", "report_submitted": "digest"})
    db.session.commit()
    # Friday 26 May 2023; Monday 29 May is the Spring bank holiday: the digest goes on Tuesday 30 May at 09:00.
    friday = uk(date(2023, 5, 26), 11)
    incident = factories.incident(actor=users["dcc"])
    _propose(incident, users, friday)
    report_service.save_draft(incident=incident, sections=SECTIONS, classification="AMBER", actor=users["dcc"],
                              now=friday + timedelta(minutes=5))
    report_service.submit(incident=incident, actor=users["dcc"], now=friday + timedelta(minutes=10))
    db.session.commit()
    # The Operations Group hears of the submission at once; SECAS waits for its digest.
    jobs.sweep(now=friday + timedelta(minutes=11))
    assert _recipients(smtp) == [users["opsg"].email]
    for instant in (uk(date(2023, 5, 29), 9), uk(date(2023, 5, 30), 8, 59)):
        jobs.sweep(now=instant)
    assert smtp.count() == 1
    jobs.sweep(now=uk(date(2023, 5, 30), 9))
    jobs.sweep(now=uk(date(2023, 5, 30), 9, 1))
    assert _recipients(smtp) == sorted([users["opsg"].email, secas.email])
    digest = next(m for m in smtp.messages if str(m["To"]) == secas.email)
    assert str(digest["Subject"]) == "Review changes: 2 updates"
    text = digest.get_body().get_content()
    assert "PMR treatment proposed" in text and "Review Report submitted" in text


def test_next_digest_skips_weekends_and_holidays_and_waits_for_nine(app: Any) -> None:
    assert notification_service.next_digest_at(uk(date(2023, 6, 1), 8, 30)) == uk(date(2023, 6, 1), 9)
    assert notification_service.next_digest_at(uk(date(2023, 6, 1), 9)) == uk(date(2023, 6, 2), 9)
    assert notification_service.next_digest_at(uk(date(2023, 6, 2), 17)) == uk(date(2023, 6, 5), 9)
    assert notification_service.next_digest_at(uk(date(2023, 12, 22), 10)) == uk(date(2023, 12, 27), 9)
    assert notification_service.next_digest_at(datetime(2023, 3, 24, 9, 30, tzinfo=UTC)) == uk(date(2023, 3, 27), 9)


def test_preferences_none_immediate_and_digest(app: Any, users: dict[str, Any], principles: None, now: datetime,
                                               smtp: SmtpServer) -> None:
    second = factories.user(role="secas")
    third = factories.user(role="secas")
    db.session.commit()
    notification_service.set_preferences(users["secas"], {"exclusion_proposed": "none"})
    notification_service.set_preferences(third, {"exclusion_proposed": "digest"})
    db.session.commit()
    _propose(factories.incident(actor=users["dcc"]), users, now)
    jobs.sweep(now=now)
    assert _recipients(smtp) == [second.email]
    jobs.sweep(now=notification_service.next_digest_at(now))
    assert _recipients(smtp) == sorted([second.email, third.email])
    assert notification_service.preferences(users["secas"])[EventKind.EXCLUSION_PROPOSED].value == "none"
    with pytest.raises(ValidationError) as caught:
        notification_service.set_preferences(users["secas"], {"exclusion_proposed": "hourly", "nonsense": "none"})
    assert set(caught.value.errors) == {"exclusion_proposed", "nonsense"}


def _publish(incident: Incident, users: dict[str, Any], now: datetime) -> None:
    review_service.propose(incident=incident, exclude=False, actor=users["dcc"], now=now)
    report_service.save_draft(incident=incident, sections=SECTIONS, classification="AMBER", actor=users["dcc"],
                              now=now)
    report_service.submit(incident=incident, actor=users["dcc"], now=now)
    factories.decision(incident, actor=users["opsg"], now=now)
    review_service.publish(incident=incident, actor=users["secas"], now=now)
    db.session.commit()


def test_a_party_hears_only_of_publications_and_only_when_subscribed(
        app: Any, users: dict[str, Any], principles: None, now: datetime, smtp: SmtpServer,
        receiver: Receiver) -> None:
    party, subscribed = users["party"], factories.user(role="party")
    db.session.commit()
    assert notification_service.kinds_for(party) == [EventKind.REPORT_PUBLISHED]
    with pytest.raises(ValidationError):
        notification_service.set_preferences(party, {"report_submitted": "immediate"})
    notification_service.set_preferences(subscribed, {"report_published": "immediate"})
    db.session.commit()
    _webhook(users, receiver, internal=False, events=["report_published"])
    incident = factories.incident(actor=users["dcc"])
    with pytest.raises(PermissionDenied):
        notification_service.follow(party, incident)
    _publish(incident, users, now)
    jobs.sweep(now=now)
    jobs.deliver_webhooks(now=now)
    to_parties = [m for m in smtp.messages if str(m["To"]) in (party.email, subscribed.email)]
    assert [str(m["To"]) for m in to_parties] == [subscribed.email]
    text = to_parties[0].get_body().get_content()
    assert f"/published/{incident.reference}" in text and "classified GREEN" in text
    assert "/review" not in text and "Who acts next" not in text and "OPSG" not in text
    # The endpoint not marked internal got the publication only, and only the published edition.
    [delivery] = receiver.requests
    assert delivery.is_valid and delivery.json["type"] == "review.report_published"
    assert set(delivery.json["data"]) == {"published"}
    assert delivery.json["data"]["published"]["classification"] == "GREEN"


def test_an_endpoint_not_marked_internal_cannot_ask_for_internal_events(app: Any, users: dict[str, Any]) -> None:
    with pytest.raises(ValidationError) as caught:
        notification_service.create_webhook(notification_service.WebhookDraft(
            url="https://hooks.example.org/x", events=["report_submitted"]), actor=users["admin"])
    assert "events" in caught.value.errors
    for url in ("file:///etc/passwd", "ftp://example.org/", "https://user:pw@example.org/", "https:///nohost"):
        with pytest.raises(ValidationError) as caught:
            notification_service.create_webhook(notification_service.WebhookDraft(
                url=url, events=["report_published"]), actor=users["admin"])
        assert "url" in caught.value.errors, url
    with pytest.raises(PermissionDenied):
        notification_service.create_webhook(notification_service.WebhookDraft(
            url="https://hooks.example.org/x", events=["report_published"]), actor=users["secas"])


def test_a_chat_endpoint_gets_one_line_of_text_signed_as_any_other(
        app: Any, users: dict[str, Any], principles: None, now: datetime, receiver: Receiver) -> None:
    webhook = notification_service.create_webhook(notification_service.WebhookDraft(
        url=receiver.url, events=["exclusion_proposed"], is_internal=True, payload_format="chat"),
        actor=users["admin"])
    db.session.commit()
    receiver.secret = webhook.secret
    incident = factories.incident(actor=users["dcc"])
    _propose(incident, users, now)
    jobs.deliver_webhooks(now=now)
    [delivery] = receiver.requests
    assert delivery.is_valid and set(delivery.json) == {"text"}
    text = delivery.json["text"]
    assert text.startswith(f"{incident.reference}: PMR treatment proposed by DCC (DCC). Next: ") and "; SECAS: " in text
    assert delivery.json["text"].endswith(f"/incidents/{incident.reference}/review")


def test_two_processes_never_both_post_one_delivery(app: Any, users: dict[str, Any], principles: None,
                                                    now: datetime, receiver: Receiver) -> None:
    _webhook(users, receiver)
    _propose(factories.incident(actor=users["dcc"]), users, now)
    # The first process claims the delivery; a second one sweeping at the same moment finds nothing to claim.
    assert jobs.claim_delivery(now=now, token="first") is not None
    assert jobs.claim_delivery(now=now, token="second") is None
    assert jobs.deliver_webhooks(now=now).sent == []
    # Once the first one's lease has run out (it died), another takes the delivery over and posts it once.
    later = now + timedelta(minutes=10)
    assert len(jobs.deliver_webhooks(now=later).sent) == 1
    assert jobs.deliver_webhooks(now=later).sent == []
    assert len(receiver.requests) == 1


def test_an_email_claimed_by_one_sweep_is_sent_once_by_whoever_holds_it(
        app: Any, users: dict[str, Any], principles: None, now: datetime, smtp: SmtpServer) -> None:
    _propose(factories.incident(actor=users["dcc"]), users, now)
    assert jobs.claim_batch(now=now, token="first") != []
    # A second sweep at the same moment finds nothing to claim; once the first one's lease has run out (it died),
    # the next sweep takes the email over and sends it, once.
    assert jobs.sweep(now=now).sent == []
    later = now + timedelta(minutes=10)
    assert len(jobs.sweep(now=later).sent) == 1
    assert jobs.sweep(now=later).sent == []
    assert _recipients(smtp) == [users["secas"].email]
    row = db.session.scalar(sa.select(Notification))
    assert row is not None and row.state == SendState.SENT and row.attempts == 2


def test_a_failed_delivery_is_logged_without_the_urls_path_or_query(
        app: Any, users: dict[str, Any], principles: None, now: datetime, receiver: Receiver,
        caplog: pytest.LogCaptureFixture) -> None:
    # Chat endpoints carry their credential in the URL's path or query: it must never reach the log.
    webhook = notification_service.create_webhook(notification_service.WebhookDraft(
        url=receiver.url + "/services/T0001/B0002/Sup3rS3cretT0ken?token=Qu3ryS3cret",
        events=[kind.value for kind in EventKind], is_internal=True), actor=users["admin"])
    db.session.commit()
    receiver.secret = webhook.secret
    _propose(factories.incident(actor=users["dcc"]), users, now)
    receiver.fail_next = 1
    with caplog.at_level("DEBUG"):
        assert jobs.deliver_webhooks(now=now).failed
    logged = caplog.text
    assert "failed" in logged and "127.0.0.1" in logged
    assert "Sup3rS3cretT0ken" not in logged and "Qu3ryS3cret" not in logged
