"""Raise, revise, close and list actions."""
from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from incidents import labels, permissions, validation
from incidents.action.models import Action, ActionStatus, TargetRevision
from incidents.audit import service as audit_service
from incidents.errors import NotFound, PermissionDenied, StaleError, ValidationError
from incidents.extensions import db
from incidents.incident.models import Incident
from incidents.reminder import service as reminder_service
from incidents.review.models import Decision
from incidents.timeutil import local_date, utcnow
from incidents.user import service as user_service
from incidents.user.models import User
from incidents.validation import KEEP, Keep

REFERENCE_LIMIT = 40  # the column's width
TBC = "TBC"  # how a target date still to be confirmed is written


@dataclass(frozen=True)
class ParsedReference:
    """An action reference read with the configured pattern: OPSG 38x/02 is OPSG, 38, x and 02."""

    group: str
    number: int
    suffix: str
    item: str


def reference_hint() -> str:
    """Say what an action reference looks like, as configured."""
    return str(current_app.config["ACTION_REFERENCE_HINT"])


def parse_reference(reference: str) -> ParsedReference | None:
    """Read an action reference as the group writes it (ACTION_REFERENCE_PATTERN), or None if it does not fit."""
    if len(reference) > REFERENCE_LIMIT or validation.has_nul(reference):
        return None
    match = re.fullmatch(current_app.config["ACTION_REFERENCE_PATTERN"], reference, re.ASCII)
    if match is None:
        return None
    parts = match.groupdict()
    number = parts.get("number") or ""
    if not number.isdigit():
        return None
    return ParsedReference(group=(parts.get("group") or "").upper(), number=int(number),
                           suffix=parts.get("suffix") or "", item=parts.get("item") or "")


def reference_key(reference: str) -> str:
    """Return the form lookups and uniqueness use: capitals, single spaces, none around the slash.

    ``OPSG 75/ CONF01``, ``opsg 75/CONF01`` and ``OPSG 75 / CONF01`` are one action; the reference is kept as
    first written.
    """
    return re.sub(r"\s*/\s*", "/", " ".join(reference.split())).upper()


@dataclass
class ActionFilters:
    """Filters for the actions register."""

    status: str | None = None
    overdue: bool = False
    needs_date: bool = False  # open actions whose target is TBC
    owner: str | None = None
    meeting: str | None = None


def slug(reference: str) -> str:
    """Return the action's URL segment: its reference with '/' as '-' (``OPSG 97/04`` -> ``OPSG 97-04``)."""
    return reference.replace("/", "-")


def reference_from_slug(value: str) -> str:
    """Return the reference a URL segment stands for (the last '-' was the '/')."""
    head, dash, tail = value.rpartition("-")
    return f"{head}/{tail}" if dash else value


def organisations() -> dict[str, str]:
    """Return the organisations that can own actions."""
    return dict(current_app.config["ORGANISATIONS"])


def is_overdue(action: Action, *, today: date) -> bool:
    """Tell whether an open action is past its (latest) target date (a TBC target is never overdue)."""
    return action.status == ActionStatus.OPEN and action.target_on is not None and action.target_on < today


def needs_date(action: Action) -> bool:
    """Tell whether an open action's target is TBC, so someone has to give it a date."""
    return action.status == ActionStatus.OPEN and action.target_on is None


def target_label(target_on: date | None) -> str:
    """Show a target date, or TBC when there is none yet."""
    return TBC if target_on is None else target_on.isoformat()


def etag(action: Action) -> str:
    """Return the action's ETag value."""
    return f'"action-{action.id}-v{action.version}"'


def get_action(reference: str, *, viewer: Any) -> Action:
    """Load an action the viewer may see, or raise NotFound."""
    if not permissions.can_view_actions(viewer) or not validation.is_lookup_key(reference, 60):
        raise NotFound(f"No action {reference!r}.")
    action = db.session.scalar(sa.select(Action).where(Action.reference_key == reference_key(reference)))
    if action is None:
        raise NotFound(f"No action {reference!r}.")
    return action


def parse_filters(args: Any) -> ActionFilters:
    """Read and check register filters from query arguments."""
    errors: dict[str, list[str]] = {}
    filters = ActionFilters()
    status = (args.get("status") or "").strip()
    if status:
        if status in ("open", "closed"):
            filters.status = status
        else:
            errors["status"] = ["Status must be open or closed."]
    for name, label in (("overdue", "Overdue"), ("needs_date", "Needs a date")):
        flag = (args.get(name) or "").strip().lower()
        if flag in ("1", "true", "yes", "on"):
            setattr(filters, name, True)
        elif flag not in ("", "0", "false", "no", "off"):
            errors[name] = [f"{label} must be true or false."]
    owner = (args.get("owner") or "").strip()
    if owner:
        if owner in organisations():
            filters.owner = owner
        else:
            errors["owner"] = ["Owner must be one of " + ", ".join(organisations()) + "."]
    meeting = (args.get("meeting") or "").strip()
    if meeting:
        if re.fullmatch(current_app.config["MEETING_PATTERN"], meeting, re.ASCII):
            filters.meeting = meeting
        else:
            errors["meeting"] = [f"Meeting must look like {current_app.config['MEETING_HINT']}."]
    if errors:
        raise ValidationError(errors, "Some filters need fixing.")
    return filters


def filter_conditions(filters: ActionFilters, *, today: date) -> list[sa.ColumnElement[bool]]:
    """Return the register's filters as conditions on Action (the page, the API and the CSV share them)."""
    found: list[sa.ColumnElement[bool]] = []
    if filters.status:
        found.append(Action.status == ActionStatus(filters.status))
    if filters.overdue:
        found += [Action.status == ActionStatus.OPEN, Action.target_on < today]
    if filters.needs_date:
        found += [Action.status == ActionStatus.OPEN, Action.target_on.is_(None)]
    if filters.owner:
        found.append(Action.owner_org == filters.owner)
    if filters.meeting:
        group, number = filters.meeting.rsplit("_", 1)
        digits = re.match(r"\d+", number)
        if digits is None:  # a configured meeting pattern that numbers meetings otherwise: nothing matches
            found.append(sa.false())
        else:
            found += [Action.group == group, Action.meeting_number == int(digits.group())]
            if number[digits.end():]:  # OPSG_38x: only that meeting's actions (OPSG 38x/02); OPSG_38: every 38
                found.append(sa.func.lower(Action.meeting_suffix) == number[digits.end():].lower())
    return found


def list_actions(*, filters: ActionFilters, viewer: Any, now: datetime | None = None,
                 page: int = 1, per_page: int = 50) -> tuple[list[Action], int]:
    """Return one page of actions (overdue first, then by target date) and the total."""
    if not permissions.can_view_actions(viewer):
        raise NotFound("No actions.")
    today = local_date(now or utcnow())
    query = sa.select(Action).where(*filter_conditions(filters, today=today))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())) or 0
    items = list(db.session.scalars(
        # Open first; then by target date, TBC last (NULLs sort first on SQLite and last on PostgreSQL).
        query.order_by(sa.case((Action.status == ActionStatus.OPEN, 0), else_=1),
                       sa.case((Action.target_on.is_(None), 1), else_=0), Action.target_on, Action.reference)
        .limit(per_page).offset((page - 1) * per_page)))
    return items, total


def _require_manager(actor: User) -> None:
    if not permissions.can_manage_actions(actor):
        raise PermissionDenied("Only SECAS, OPSG members and administrators manage the actions register.")


@dataclass(frozen=True)
class ActionDraft:
    """A new action, as a form or the API sends it."""

    reference: str
    text: str
    owner_org: str
    target_on: date | None  # None: TBC (no date yet)
    raised_on: date | None = None  # today (UK) when not given
    owner_user: str | None = None  # the email of an active user
    incidents: list[str] = field(default_factory=list)
    decision_id: int | None = None


@dataclass(frozen=True)
class ActionEdit:
    """Changes to what an action says and who owns it; a field left KEEP stays as it is."""

    text: str | Keep = KEEP
    owner_org: str | Keep = KEEP
    owner_user: str | None | Keep = KEEP  # None clears it
    incidents: list[str] | Keep = KEEP  # replaces the whole list


@dataclass(frozen=True)
class ActionChanges(ActionEdit):
    """Every change a form or a PATCH may send at once: an edit, a revised target, a close or a reopen."""

    target_on: date | None | Keep = KEEP  # None: TBC
    revision_reason: str = ""
    status: ActionStatus | Keep = KEEP
    closing_note: str | Keep = KEEP


@dataclass
class _Plan:
    """Checked changes to one action, applied together and audited as one entry."""

    action: Action
    errors: dict[str, list[str]] = field(default_factory=dict)
    changes: dict[str, list[Any]] = field(default_factory=dict)
    steps: list[Callable[[], None]] = field(default_factory=list)


def _text_limit() -> int:
    return int(current_app.config["MAX_TEXT_LENGTH"])


def _date(errors: dict[str, list[str]], name: str, value: date | None, *, label: str) -> date | None:
    if value is None:
        validation.add(errors, name, f"{label} is required.")
    return value


def _owner_org(errors: dict[str, list[str]], key: str) -> None:
    if key not in organisations():
        errors["owner_org"] = ["Owner must be one of " + ", ".join(organisations()) + "."]


def _incidents(errors: dict[str, list[str]], refs: list[str]) -> list[Incident]:
    if not refs:
        return []
    if any(validation.has_nul(r) for r in refs):
        errors["incidents"] = ["Incident references cannot contain a null character."]
        return []
    found = list(db.session.scalars(sa.select(Incident).where(Incident.reference.in_(refs))))
    missing = sorted(set(refs) - {i.reference for i in found})
    if missing:
        errors["incidents"] = ["No incident " + ", ".join(missing) + "."]
    return found


def _owner_user(errors: dict[str, list[str]], email: str | None) -> User | None:
    if not email:
        return None
    if validation.has_nul(email):
        errors["owner_user"] = ["Owner user must be an email address."]
        return None
    user = user_service.find_by_email(email)
    if user is None or not user.is_active:
        errors["owner_user"] = [f"No active user {email}."]
    return user


def create_action(*, draft: ActionDraft, actor: User, now: datetime | None = None) -> Action:
    """Raise an action on the register."""
    _require_manager(actor)
    now = now or utcnow()
    errors: dict[str, list[str]] = {}
    # Kept as minuted: only the whitespace around it goes (the text likewise keeps its inner wording exactly).
    reference = draft.reference.strip()
    parsed = parse_reference(reference)
    key = reference_key(reference)
    if parsed is None:
        errors["reference"] = [f"Reference must look like {reference_hint()}; {reference!r} does not."[:400]]
    else:
        existing = db.session.scalar(sa.select(Action.reference).where(Action.reference_key == key))
        if existing is not None:
            errors["reference"] = [f"{reference} is already on the register"
                                   + ("." if existing == reference else f", as {existing}.")]
    text = validation.check_text(errors, "text", draft.text, label="Action text", required=True, limit=_text_limit())
    _owner_org(errors, draft.owner_org)
    owner_user = _owner_user(errors, draft.owner_user)
    raised = _date(errors, "raised_on", draft.raised_on or local_date(now), label="Date raised")
    target = draft.target_on  # None: TBC
    if raised and target and target < raised:
        validation.add(errors, "target_on", "Target date is before the date raised.")
    incidents = _incidents(errors, draft.incidents)
    decision_id = draft.decision_id
    if decision_id is not None and (not 0 < decision_id < 2**31 or db.session.get(Decision, decision_id) is None):
        errors["decision_id"] = [f"There is no decision {decision_id}."]
    if errors:
        raise ValidationError(errors)
    assert parsed and raised
    action = Action(reference=reference, reference_key=key, group=parsed.group, meeting_number=parsed.number,
                    meeting_suffix=parsed.suffix, text=text, owner_org=draft.owner_org, owner_user=owner_user, raised_on=raised, target_on=target,
                    original_target_on=target, decision_id=decision_id, incidents=incidents,
                    created_at=now, updated_at=now)
    try:
        # Someone may raise the same reference between the check above and this insert.
        with db.session.begin_nested():
            db.session.add(action)
    except IntegrityError:
        raise ValidationError({"reference": [f"{action.reference} is already on the register."]}) from None
    audit_service.record(actor=actor, action="create", entity_type="action", entity_id=action.id,
                         incident_id=incidents[0].id if len(incidents) == 1 else None,
                         changes={"reference": [None, action.reference], "text": [None, text],
                                  "owner_org": [None, draft.owner_org], "target_on": [None, target_label(target)]},
                         summary=f"Raised action {action.reference}", now=now)
    reminder_service.plan_action(action, now=now)
    return action


# --- Changing an action: each operation plans its checked changes; _save applies and audits them --------------

def _plan_edit(plan: _Plan, edit: ActionEdit) -> None:
    """Check a change to the text, owners or linked incidents."""
    action, errors, changes = plan.action, plan.errors, plan.changes
    if not isinstance(edit.text, Keep):
        text = validation.check_text(errors, "text", edit.text, label="Action text", required=True,
                                     limit=_text_limit())
        if text != action.text:
            changes["text"] = [action.text, text]
            plan.steps.append(lambda: setattr(action, "text", text))
    if not isinstance(edit.owner_org, Keep):
        owner_org = edit.owner_org
        _owner_org(errors, owner_org)
        if "owner_org" not in errors and owner_org != action.owner_org:
            changes["owner_org"] = [action.owner_org, owner_org]
            plan.steps.append(lambda: setattr(action, "owner_org", owner_org))
    if not isinstance(edit.owner_user, Keep):
        owner_user = _owner_user(errors, edit.owner_user)
        if owner_user is not action.owner_user:
            changes["owner_user"] = [action.owner_user.email if action.owner_user else None,
                                     owner_user.email if owner_user else None]
            plan.steps.append(lambda: setattr(action, "owner_user", owner_user))
    if not isinstance(edit.incidents, Keep):
        incidents = _incidents(errors, edit.incidents)
        old_refs = sorted(i.reference for i in action.incidents)
        new_refs = sorted(i.reference for i in incidents)
        if old_refs != new_refs:
            changes["incidents"] = [old_refs, new_refs]
            plan.steps.append(lambda: setattr(action, "incidents", list(incidents)))


def _plan_revision(plan: _Plan, target_on: date | None | Keep, reason: str, *, actor: User,
                   now: datetime) -> None:
    """Check a revised target date (a date or TBC), which needs a reason and stays in the history."""
    action, errors = plan.action, plan.errors
    reason = validation.check_text(errors, "revision_reason", reason, label="Reason", limit=_text_limit())
    if isinstance(target_on, Keep):
        return
    new_target = target_on  # None: TBC
    if new_target == action.target_on:
        return
    if new_target is not None and new_target < action.raised_on:
        validation.add(errors, "target_on", "Target date is before the date raised.")
    if not reason:
        validation.add(errors, "revision_reason", "Say why the target date is revised.")
    plan.changes["target_on"] = [target_label(action.target_on), target_label(new_target)]

    def revise() -> None:
        action.revisions.append(TargetRevision(previous_on=action.target_on, target_on=new_target, reason=reason,
                                               revised_by_name=actor.email, revised_at=now))
        action.target_on = new_target
    plan.steps.append(revise)


def _plan_status(plan: _Plan, status: ActionStatus | Keep, closing_note: str | Keep, *, now: datetime) -> None:
    """Check closing (which needs a closing note) or reopening, and any change to the closing note."""
    action, errors = plan.action, plan.errors
    status = action.status if isinstance(status, Keep) else status
    note = action.closing_note
    if not isinstance(closing_note, Keep):
        note = validation.check_text(errors, "closing_note", closing_note, label="Closing note", limit=_text_limit())
    if status == ActionStatus.CLOSED and action.status == ActionStatus.OPEN and not note:
        validation.add(errors, "closing_note", "Add a closing note saying how the action was completed.")
    if status != action.status:
        plan.changes["status"] = [action.status.value, status.value]
        new_status, closed_at = status, (now if status == ActionStatus.CLOSED else None)

        def move() -> None:
            action.status, action.closed_at = new_status, closed_at
        plan.steps.append(move)
    if note != action.closing_note:
        plan.changes["closing_note"] = [action.closing_note, note]
        plan.steps.append(lambda: setattr(action, "closing_note", note))


def _start(action: Action, *, actor: User, expected_version: int | None) -> _Plan:
    _require_manager(actor)
    if expected_version is None or expected_version != action.version:
        raise StaleError(f"{action.reference} was changed by someone else since you opened it. "
                         "Reload it and apply your change again.")
    return _Plan(action)


def _save(plan: _Plan, *, actor: User, now: datetime) -> Action:
    """Apply a plan's changes (refusing all if any field is wrong) and write one audit entry."""
    action = plan.action
    if plan.errors:
        raise ValidationError(plan.errors)
    if not plan.changes:
        return action
    for step in plan.steps:
        step()
    action.updated_at = now
    try:
        db.session.flush()
    except StaleDataError:
        # Saved by someone else after this request read it: the version check in the UPDATE caught it.
        db.session.rollback()
        raise StaleError(f"{action.reference} was changed by someone else while you saved. "
                         "Reload it and apply your change again.") from None
    incidents = action.incidents
    audit_service.record(actor=actor, action="update", entity_type="action", entity_id=action.id,
                         incident_id=incidents[0].id if len(incidents) == 1 else None, changes=plan.changes,
                         summary=f"Changed action {action.reference}: "
                                 + ", ".join(labels.field_label(f).lower() for f in sorted(plan.changes)), now=now)
    reminder_service.plan_action(action, now=now)
    return action


def edit_action(*, action: Action, edit: ActionEdit, actor: User, expected_version: int | None,
                now: datetime | None = None) -> Action:
    """Change what an action says, who owns it, or the incidents it concerns."""
    now = now or utcnow()
    plan = _start(action, actor=actor, expected_version=expected_version)
    _plan_edit(plan, edit)
    return _save(plan, actor=actor, now=now)


def revise_target(*, action: Action, target_on: date | None, reason: str, actor: User, expected_version: int | None,
                  now: datetime | None = None) -> Action:
    """Revise an action's target date (None: TBC), keeping the earlier one and the reason in its history."""
    now = now or utcnow()
    plan = _start(action, actor=actor, expected_version=expected_version)
    _plan_revision(plan, target_on, reason, actor=actor, now=now)
    return _save(plan, actor=actor, now=now)


def close_action(*, action: Action, closing_note: str | Keep = KEEP, actor: User, expected_version: int | None,
                 now: datetime | None = None) -> Action:
    """Close an action with a note saying how it was completed."""
    now = now or utcnow()
    plan = _start(action, actor=actor, expected_version=expected_version)
    _plan_status(plan, ActionStatus.CLOSED, closing_note, now=now)
    return _save(plan, actor=actor, now=now)


def reopen_action(*, action: Action, actor: User, expected_version: int | None,
                  now: datetime | None = None) -> Action:
    """Reopen a closed action; its reminders resume from now."""
    now = now or utcnow()
    plan = _start(action, actor=actor, expected_version=expected_version)
    _plan_status(plan, ActionStatus.OPEN, KEEP, now=now)
    return _save(plan, actor=actor, now=now)


def update_action(*, action: Action, changes: ActionChanges, actor: User, expected_version: int | None,
                  now: datetime | None = None) -> Action:
    """Apply what the edit form or a PATCH sent at once: edit, revise target, close or reopen, as one change."""
    now = now or utcnow()
    plan = _start(action, actor=actor, expected_version=expected_version)
    _plan_edit(plan, changes)
    _plan_revision(plan, changes.target_on, changes.revision_reason, actor=actor, now=now)
    _plan_status(plan, changes.status, changes.closing_note, now=now)
    return _save(plan, actor=actor, now=now)
