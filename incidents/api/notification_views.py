"""JSON API v1, notifications: the caller's preferences and follows; webhooks for administrators.

The same service functions as the pages; each view loads (404), checks the role (403), validates the body (422),
makes one service call and commits.
"""
from __future__ import annotations

from flask import Response, url_for

from incidents.api import auth, protocol
from incidents.api import notification_schemas as schemas
from incidents.api.blueprint import load_incident
from incidents.extensions import db
from incidents.notification import service as notification_service
from incidents.user.models import User


def _settings(user: User) -> schemas.NotificationSettings:
    return schemas.NotificationSettings(
        preferences=notification_service.preferences(user),
        following=[incident.reference for incident in notification_service.followed(user)])


def get_notification_settings() -> Response:
    """Read how the caller hears of each kind of review change, and what they follow."""
    return protocol.respond(_settings(auth.current_user()))


def update_notification_settings() -> Response:
    """Change the caller's choices for the kinds sent."""
    user = auth.current_user()
    body = protocol.parse_body(schemas.NotificationPreferencesInput)
    with protocol.write_guard():
        notification_service.set_preferences(user, body.preferences)
        answer = _settings(user)
        db.session.commit()
    return protocol.respond(answer)


def follow(reference: str) -> Response:
    """Follow an incident (whoever may see it); following twice is following once."""
    user = auth.current_user()
    incident = load_incident(reference, user)
    with protocol.write_guard():
        notification_service.follow(user, incident)
        db.session.commit()
    return protocol.respond(None, 204)


def unfollow(reference: str) -> Response:
    """Stop following an incident."""
    user = auth.current_user()
    incident = load_incident(reference, user)
    with protocol.write_guard():
        notification_service.unfollow(user, incident)
        db.session.commit()
    return protocol.respond(None, 204)


def list_webhooks() -> Response:
    """List the active endpoints (administrators)."""
    rows = notification_service.list_webhooks(actor=auth.current_user())
    return protocol.respond(schemas.WebhookList(items=[schemas.present_webhook(row) for row in rows]))


def create_webhook() -> Response:
    """Register an endpoint (administrators); the answer carries its secret, this once."""
    user = auth.current_user()
    notification_service.require_admin(user)
    body = protocol.parse_body(schemas.WebhookInput)
    draft = notification_service.WebhookDraft(url=body.url, events=body.events, description=body.description,
                                              secret=body.secret, is_internal=body.is_internal,
                                              payload_format=body.payload_format.value)
    with protocol.write_guard():
        row = notification_service.create_webhook(draft, actor=user)
        answer = schemas.WebhookCreated(**schemas.present_webhook(row).model_dump(), secret=row.secret)
        db.session.commit()
    return protocol.respond(answer, 201, location=url_for("api.get_webhook", webhook_id=row.id),
                            etag=notification_service.webhook_etag(row))


def get_webhook(webhook_id: int) -> Response:
    """Read an endpoint (administrators)."""
    row = notification_service.get_webhook(webhook_id, actor=auth.current_user())
    return protocol.respond(schemas.present_webhook(row), etag=notification_service.webhook_etag(row))


def delete_webhook(webhook_id: int) -> Response:
    """Stop delivering to an endpoint (administrators), given the ETag read; its log stays."""
    row = notification_service.get_webhook(webhook_id, actor=auth.current_user())
    protocol.expected_etag(notification_service.webhook_etag(row), what="webhook", required=True)
    with protocol.write_guard():
        notification_service.remove_webhook(webhook_id, actor=auth.current_user())
        db.session.commit()
    return protocol.respond(None, 204)


def list_webhook_deliveries(webhook_id: int) -> Response:
    """Read an endpoint's delivery log (administrators)."""
    row = notification_service.get_webhook(webhook_id, actor=auth.current_user())
    return protocol.respond(schemas.WebhookDeliveryList(
        items=[schemas.present_delivery(found) for found in notification_service.deliveries(row)]))


def resend_webhook_delivery(webhook_id: int, delivery_id: int) -> Response:
    """Queue one delivery again (administrators); the scheduler posts it within a minute."""
    user = auth.current_user()
    row = notification_service.get_webhook(webhook_id, actor=user)
    with protocol.write_guard():
        found = notification_service.send_again(row, delivery_id, actor=user)
        answer = schemas.present_delivery(found)
        db.session.commit()
    return protocol.respond(answer)
