"""The form that schedules a meeting; the meeting service holds every rule."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import StringField

from incidents.review.forms import DateTextField, ServiceErrors


class MeetingForm(ServiceErrors, FlaskForm):
    """A numbered meeting of a group on a date, entered ahead so reminders can aim at it."""

    required = ("reference", "held_on")

    reference = StringField("Meeting")
    held_on = DateTextField("Date", description="YYYY-MM-DD.")

    def setup(self, meeting_hint: str) -> None:
        """Show the configured meeting reference format."""
        self.reference.description = f"As {meeting_hint}."

