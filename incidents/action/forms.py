"""Forms for the actions register.

Forms only turn posted text into the values the action service takes (dates,
a list of incident references, a status, a version number). Every rule lives in the
service, so the page refuses the same things in the same words as the API
would; ``apply_errors`` puts each message on the field that caused it.
"""
from __future__ import annotations

import re
from datetime import date
from typing import Any

from flask_wtf import FlaskForm
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import ValidationError as FieldError

from incidents import labels
from incidents.action.models import Action, ActionStatus
from incidents.action.service import TBC, ActionChanges, ActionDraft
from incidents.review.forms import DateTextField, ServiceErrors
from incidents.timeutil import DATE_EXAMPLE, DATE_HINT, format_date_input

_REFERENCES = re.compile(r"[\s,;]+")
_VERSION = re.compile(r"^[0-9]{1,9}$")
STATUS_LABELS = {status: labels.label(status) for status in ActionStatus}


class TargetDateField(DateTextField):
    """A target date typed day first (30/11/2026, 30 Nov 2026) or ISO, or TBC (also when left empty): a date
    still to be confirmed.
    """

    def __init__(self, *args: Any, shows_tbc: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # An action saved without a date shows TBC; a new action's empty box is TBC too, but says nothing.
        self.shows_tbc = shows_tbc

    def process_formdata(self, valuelist: list[Any]) -> None:
        """Read the date; "TBC" in any case, or nothing, is no date yet."""
        if valuelist and str(valuelist[0]).strip().upper() == TBC:
            self.data = None
            return
        try:
            super().process_formdata(valuelist)
        except ValueError as exc:
            if any(character.isdigit() for character in str(valuelist[0])):
                raise ValueError(f"{exc} Or enter TBC if it is still to be confirmed.") from None
            raise ValueError(f"Enter the target date as day/month/year, e.g. {DATE_EXAMPLE}, or TBC if it is "
                             "still to be confirmed.") from None

    def _value(self) -> str:
        if self.raw_data:
            return str(self.raw_data[0])
        if isinstance(self.data, date):
            return format_date_input(self.data)
        return TBC if self.shows_tbc else ""


def _owner_choices(organisations: dict[str, str]) -> list[tuple[str, str]]:
    return [("", "Choose the owning organisation")] + list(organisations.items())


def _references(text: str | None) -> list[str]:
    return [part.upper() for part in _REFERENCES.split(text or "") if part]


class FilterForm(ServiceErrors, FlaskForm):
    """The register's filters (a GET form: no CSRF token, which would leak into URLs)."""

    class Meta:
        csrf = False

    status = SelectField("Status", choices=[("", "Open and closed"), ("open", "Open"), ("closed", "Closed")],
                         validate_choice=False)
    # The service reads 1/true/yes/on; WTForms' own "y" would be refused.
    overdue = BooleanField("Only overdue actions", render_kw={"value": "1"})
    needs_date = BooleanField("Only actions that need a date (target TBC)", render_kw={"value": "1"})
    owner = SelectField("Owner", validate_choice=False)
    meeting = StringField("Raised at meeting")

    def setup(self, organisations: dict[str, str], meeting_hint: str) -> None:
        """Offer the configured organisations and show the meeting format."""
        self.owner.choices = [("", "Any owner")] + list(organisations.items())
        self.meeting.description = f"As {meeting_hint}."


class ActionForm(ServiceErrors, FlaskForm):
    """A new action on the register."""

    required = ("reference", "text", "owner_org", "raised_on")

    reference = StringField("Reference")
    text = TextAreaField("Action", description="The wording as minuted: it is kept exactly as entered.")
    owner_org = SelectField("Owner organisation", validate_choice=False,
                            description="Its team address gets the reminders.")
    owner_user = StringField("Owner (person)", description="Optional: the email of an active user, who gets the "
                                                            "reminders too.")
    raised_on = DateTextField("Date raised", description=f"{DATE_HINT}. Usually the meeting date.")
    target_on = TargetDateField("Target date", description=f"{DATE_HINT}, or TBC (or leave it empty) when the "
                                                           "minutes give none: no reminder goes until it has a date. "
                                                           "Reminders go 5 Working Days before, on the day, then "
                                                           "weekly while it is overdue.")
    incidents = StringField("Linked incidents", description="Optional: incident references separated by commas or "
                                                            "spaces, e.g. INC000001001905.")

    def setup(self, organisations: dict[str, str], reference_hint: str = "") -> None:
        """Offer the configured organisations and show the configured reference format."""
        self.owner_org.choices = _owner_choices(organisations)
        self.reference.description = f"As minuted, e.g. {reference_hint}." if reference_hint else ""

    def to_draft(self) -> ActionDraft:
        """Return the new action as the service takes it."""
        return ActionDraft(reference=(self.reference.data or "").strip(), text=self.text.data or "",
                           owner_org=self.owner_org.data or "", owner_user=(self.owner_user.data or "").strip() or None,
                           raised_on=self.raised_on.data, target_on=self.target_on.data,
                           incidents=_references(self.incidents.data))


class EditActionForm(ServiceErrors, FlaskForm):
    """A change to an action: its text, owner, a revised target (with a reason), or its status."""

    required = ("text", "owner_org", "status")

    text = TextAreaField("Action")
    owner_org = SelectField("Owner organisation", validate_choice=False)
    owner_user = StringField("Owner (person)", description="Optional: the email of an active user.")
    target_on = TargetDateField("Target date", description=f"{DATE_HINT}, or TBC (or empty) for no date yet. Changing "
                                                           "it, to or from TBC too, keeps the earlier one in the "
                                                           "history.", shows_tbc=True)
    revision_reason = TextAreaField("Reason for revising the target date",
                                    description="Needed when the target date changes.")
    status = SelectField("Status", choices=[(s.value, label) for s, label in STATUS_LABELS.items()],
                         validate_choice=False, description="Close it with a closing note; reopen it if needed.")
    closing_note = TextAreaField("Closing note", description="Needed to close the action: how it was completed.")
    incidents = StringField("Linked incidents", description="Incident references separated by commas or spaces.")
    version = HiddenField()

    def setup(self, organisations: dict[str, str]) -> None:
        """Offer the configured organisations."""
        self.owner_org.choices = _owner_choices(organisations)

    def validate_status(self, field: SelectField) -> None:
        """Refuse a status that is not one of the choices (the select offers no other)."""
        if field.data not in {s.value for s in ActionStatus}:
            raise FieldError("Status must be open or closed.")

    def to_changes(self) -> ActionChanges:
        """Return the whole form as the change the service applies (only what differs is saved)."""
        return ActionChanges(text=self.text.data or "", owner_org=self.owner_org.data or "",
                             owner_user=(self.owner_user.data or "").strip() or None, target_on=self.target_on.data,
                             revision_reason=self.revision_reason.data or "", status=ActionStatus(self.status.data),
                             closing_note=self.closing_note.data or "", incidents=_references(self.incidents.data))

    def expected_version(self) -> int | None:
        """Return the version the person was editing, or None when the form did not say."""
        raw = (self.version.data or "").strip()
        return int(raw) if _VERSION.match(raw) else None


def edit_initial(action: Action) -> dict[str, Any]:
    """Return the edit form's starting values from the saved action."""
    return {"text": action.text, "owner_org": action.owner_org,
            "owner_user": action.owner_user.email if action.owner_user else "", "target_on": action.target_on,
            "status": action.status.value, "closing_note": action.closing_note,
            "incidents": ", ".join(i.reference for i in action.incidents), "version": str(action.version)}
