"""Request and response bodies of the actions register (OPSG 97/04 and the like)."""
from __future__ import annotations

from datetime import date

from pydantic import ConfigDict, Field

from incidents.action import service as action_service
from incidents.action.models import Action as ActionRow
from incidents.action.models import ActionStatus
from incidents.api.schemas import (
    Day,
    Representation,
    RequestBody,
    TargetDay,
    Text,
    UtcInstant,
    drop_defaults,
    omittable,
)
from incidents.reminder.models import Reminder, ReminderState

DECISION_ID = Field(default=None, ge=1, le=2**31 - 1,
                    description="The id of the Operations Group decision that raised it (see /decisions).")


class ActionCreate(RequestBody):
    """A new action on the register."""

    model_config = ConfigDict(json_schema_extra=drop_defaults("raised_on"))

    reference: Text = Field(description=("As minuted: group, meeting number (a letter may follow), slash (a space "
                                         "may follow), item; the pattern is configuration "
                                         "(ACTION_REFERENCE_PATTERN). Kept as written; case and the space after "
                                         "the slash do not make a different action."),
                            examples=["OPSG 97/04", "OPSG 75/ CONF01", "OPSG 38x/02"])
    text: Text
    owner_org: Text = Field(description="A configured organisation key, e.g. 'dcc'.", examples=["dcc"])
    owner_user: Text | None = Field(default=None, description="The email of an active user who owns it too.")
    raised_on: Day = omittable(description="Defaults to today (UK).")
    target_on: TargetDay
    incidents: list[Text] = Field(default_factory=list, description="References of the incidents it concerns.")
    decision_id: int | None = DECISION_ID


class ActionPatch(RequestBody):
    """Fields of an action to change; only those sent change."""

    model_config = ConfigDict(json_schema_extra=drop_defaults())

    text: Text = omittable()
    owner_org: Text = omittable()
    owner_user: Text | None = omittable(description="null clears it.")
    target_on: TargetDay = omittable(description='A revised target date, or "TBC"/null for none yet; the history '
                                                 "keeps the old one.")
    revision_reason: Text = omittable(description="Required when target_on changes.")
    status: ActionStatus = omittable(description="Closing needs a closing_note.")
    closing_note: Text = omittable()
    incidents: list[Text] = omittable(description="Replaces the whole list.")


class TargetDateRevision(Representation):
    """One revision of the target date, with its reason."""

    previous_on: date | None = Field(description="null: it was TBC.")
    target_on: date | None = Field(description="null: it is now TBC.")
    reason: str
    revised_by: str
    revised_at: UtcInstant


class PendingReminder(Representation):
    """A reminder email planned for the action and not sent yet."""

    send_at: UtcInstant
    subject: str
    state: ReminderState


class Action(Representation):
    """An action with its target-date history and the reminders still to go."""

    reference: str
    slug: str = Field(description="The reference as a path segment ('/' as '-'), e.g. 'OPSG 97-04'.")
    text: str
    owner_org: str
    owner_user: str | None = Field(description="Email of the user who owns it too, if any.")
    raised_on: date
    target_on: date | None = Field(description="The latest target date; null when it is TBC.")
    original_target_on: date | None = Field(description="null when the action was raised with a TBC target.")
    needs_date: bool = Field(description="Open with a TBC target: someone has to give it a date.")
    status: ActionStatus
    closing_note: str
    closed_at: UtcInstant | None
    incidents: list[str]
    decision_id: int | None
    is_overdue: bool = Field(description="Open and past its target date (UK today).")
    revisions: list[TargetDateRevision] = Field(description="Every revision of the target date, oldest first.")
    reminders: list[PendingReminder] = Field(description="Reminders planned and not sent yet, soonest first.")
    version: int = Field(description="Changes with every save; the ETag carries it.")


class ActionPage(Representation):
    """One page of the register: overdue first, then by target date."""

    items: list[Action]
    page: int
    per_page: int
    total: int


_ACTION_READ_ONLY = frozenset(Action.model_fields) - frozenset(ActionCreate.model_fields)
ActionCreate.read_only = _ACTION_READ_ONLY
ActionPatch.read_only = frozenset(Action.model_fields) - frozenset(ActionPatch.model_fields)


def present_action(action: ActionRow, *, today: date, reminders: list[Reminder]) -> Action:
    """Represent an action with its revisions and its pending reminders."""
    return Action(
        reference=action.reference, slug=action_service.slug(action.reference), text=action.text,
        owner_org=action.owner_org, owner_user=action.owner_user.email if action.owner_user else None,
        raised_on=action.raised_on, target_on=action.target_on, original_target_on=action.original_target_on,
        status=action.status, closing_note=action.closing_note, closed_at=action.closed_at,
        incidents=sorted(i.reference for i in action.incidents), decision_id=action.decision_id,
        is_overdue=action_service.is_overdue(action, today=today), needs_date=action_service.needs_date(action),
        revisions=[TargetDateRevision(previous_on=r.previous_on, target_on=r.target_on, reason=r.reason,
                                      revised_by=r.revised_by_name, revised_at=r.revised_at)
                   for r in action.revisions],
        reminders=[PendingReminder(send_at=r.send_at, subject=r.subject, state=r.state) for r in reminders],
        version=action.version)
