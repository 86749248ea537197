"""Forms for the notification pages: preferences, follow buttons, webhook endpoints."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, SelectMultipleField, StringField
from wtforms.widgets import CheckboxInput, ListWidget

from incidents.notification.models import Delivery, EventKind, PayloadFormat
from incidents.review.forms import ServiceErrors

DELIVERY_CHOICES = [(Delivery.IMMEDIATE.value, "Immediately"), (Delivery.DIGEST.value,
                                                                  "Daily digest (09:00 on Working Days)"),
                    (Delivery.NONE.value, "None")]


class ButtonForm(FlaskForm):
    """A button that changes something: its CSRF token only."""


class RemoveWebhookForm(FlaskForm):
    """Remove an endpoint, once the administrator confirms it."""

    confirm = BooleanField("Yes, stop delivering to this endpoint")


class PreferencesForm(ServiceErrors, FlaskForm):
    """One choice per kind of event the person may hear of (fields added by ``for_kinds``)."""

    @classmethod
    def for_kinds(cls, kinds: list[EventKind]) -> type[PreferencesForm]:
        """Return a form class with a select for each kind."""

        class Form(cls):  # type: ignore[valid-type,misc]
            pass

        for kind in kinds:
            setattr(Form, kind.value, SelectField(kind.label, choices=DELIVERY_CHOICES, validate_choice=False))
        return Form


class WebhookForm(ServiceErrors, FlaskForm):
    """Register an endpoint."""

    required = ("url", "events")

    url = StringField("Endpoint URL (https://, or http:// inside your network)")
    description = StringField("Description")
    events = SelectMultipleField("Events", choices=[(k.value, k.label) for k in EventKind], validate_choice=False,
                                 option_widget=CheckboxInput(), widget=ListWidget(prefix_label=False))
    is_internal = BooleanField("Internal: receives every event with the review's details (never for an endpoint "
                               "outside the DCC, SECAS and the Operations Group)")
    payload_format = SelectField("Payload", choices=[(PayloadFormat.STANDARD.value, "Standard Webhooks JSON"),
                                                     (PayloadFormat.CHAT.value,
                                                      "Chat message (Microsoft Teams or Slack incoming webhook)")],
                                 validate_choice=False)
    secret = StringField("Secret (whsec_..., leave empty to have one made)")
