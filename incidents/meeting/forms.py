"""The form that schedules a meeting; the meeting service holds every rule."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField

from incidents.meeting.models import MeetingKind
from incidents.meeting.service import KIND_LABELS
from incidents.review.forms import DateTextField, ServiceErrors, choice


class MeetingForm(ServiceErrors, FlaskForm):
    """A numbered meeting of a group on a date, entered ahead so reminders can aim at it."""

    required = ("reference", "held_on")

    reference = StringField("Meeting")
    held_on = DateTextField("Date")
    kind = SelectField("Kind", validate_choice=False, default=MeetingKind.MAIN.value,
                       choices=[(kind.value, label) for kind, label in KIND_LABELS.items()],
                       description="The group holds main meetings and reporting meetings.")

    def setup(self, meeting_hint: str) -> None:
        """Show the configured meeting reference format."""
        self.reference.description = f"As {meeting_hint}."

    def meeting_kind(self) -> MeetingKind | None:
        """Return the kind chosen (None when the value sent names none)."""
        return choice(MeetingKind, self.kind.data)
