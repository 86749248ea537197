"""Forms for the reminder pages."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField

from incidents.review.forms import ServiceErrors


class OutboxFilterForm(ServiceErrors, FlaskForm):
    """The outbox's state filter (a GET form: no CSRF token)."""

    class Meta:
        csrf = False

    state = SelectField("State", validate_choice=False)

    def setup(self, states: dict[str, str]) -> None:
        """Offer every state with what it means."""
        self.state.choices = [("", "Every state")] + [(key, f"{key.capitalize()}: {label}")
                                                      for key, label in states.items()]


class CalendarTokenForm(FlaskForm):
    """Create or replace the feed link: a button with its CSRF token."""
