"""Raise, revise, close and list actions."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from incidents import permissions
from incidents.action.models import Action, ActionStatus, TargetRevision
from incidents.audit import service as audit_service
from incidents.errors import NotFound, PermissionDenied, StaleError, ValidationError
from incidents.extensions import db
from incidents.incident.models import Incident
from incidents.reminder import service as reminder_service
from incidents.review.models import Decision
from incidents.timeutil import local_date, utcnow
from incidents.user import service as user_service

REFERENCE_RE = re.compile(r"^([A-Z]{2,10}) (\d{1,4})/(\d{2,3})$", re.ASCII)
FIELDS = {"reference", "text", "owner_org", "owner_user", "raised_on", "target_on", "revision_reason",
          "status", "closing_note", "incidents", "decision_id"}


@dataclass
class ActionFilters:
    """Filters for the actions register."""

    status: str | None = None
    overdue: bool = False
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
    """Tell whether an open action is past its (latest) target date."""
    return action.status == ActionStatus.OPEN and action.target_on < today


def etag(action: Action) -> str:
    """Return the action's ETag value."""
    return f'"action-{action.id}-v{action.version}"'


def get_action(reference: str, *, viewer: Any) -> Action:
    """Load an action the viewer may see, or raise NotFound."""
    if not permissions.can_view_actions(viewer):
        raise NotFound(f"No action {reference!r}.")
    action = db.session.scalar(sa.select(Action).where(Action.reference == reference))
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
    overdue = (args.get("overdue") or "").strip().lower()
    if overdue:
        if overdue in ("1", "true", "yes", "on"):
            filters.overdue = True
        elif overdue not in ("0", "false", "no", "off"):
            errors["overdue"] = ["Overdue must be true or false."]
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


def list_actions(*, filters: ActionFilters, viewer: Any, now: datetime | None = None,
                 page: int = 1, per_page: int = 50) -> tuple[list[Action], int]:
    """Return one page of actions (overdue first, then by target date) and the total."""
    if not permissions.can_view_actions(viewer):
        raise NotFound("No actions.")
    today = local_date(now or utcnow())
    query = sa.select(Action)
    if filters.status:
        query = query.where(Action.status == ActionStatus(filters.status))
    if filters.overdue:
        query = query.where(Action.status == ActionStatus.OPEN, Action.target_on < today)
    if filters.owner:
        query = query.where(Action.owner_org == filters.owner)
    if filters.meeting:
        group, number = filters.meeting.rsplit("_", 1)
        query = query.where(Action.group == group, Action.meeting_number == int(number))
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.order_by(None).subquery())) or 0
    items = list(db.session.scalars(
        query.order_by(sa.case((Action.status == ActionStatus.OPEN, 0), else_=1), Action.target_on,
                       Action.reference)
        .limit(per_page).offset((page - 1) * per_page)))
    return items, total


def _require_manager(actor: Any) -> None:
    if not permissions.can_manage_actions(actor):
        raise PermissionDenied("Only SECAS, OPSG members and administrators manage the actions register.")


def _text(errors: dict[str, list[str]], name: str, value: Any, *, label: str, required: bool) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.setdefault(name, []).append(f"{label} must be text.")
        return ""
    value = value.strip()
    limit = current_app.config["MAX_TEXT_LENGTH"]
    if required and not value:
        errors.setdefault(name, []).append(f"{label} is required.")
    if len(value) > limit:
        errors.setdefault(name, []).append(f"{label} can be at most {limit} characters.")
    if "\x00" in value:
        errors.setdefault(name, []).append(f"{label} contains a null character; remove it.")
    return value


def _date(errors: dict[str, list[str]], name: str, value: Any, *, label: str) -> date | None:
    if not isinstance(value, date) or isinstance(value, datetime):
        errors.setdefault(name, []).append(f"{label} is required as a date (YYYY-MM-DD).")
        return None
    return value


def _incidents(errors: dict[str, list[str]], refs: Any) -> list[Incident]:
    if refs in (None, ""):
        return []
    if not isinstance(refs, list) or not all(isinstance(r, str) for r in refs):
        errors["incidents"] = ["Incidents must be a list of incident references."]
        return []
    if any("\x00" in r for r in refs):
        # PostgreSQL cannot even compare text holding a NUL; no reference holds one.
        errors["incidents"] = ["Incident references cannot contain a null character."]
        return []
    found = list(db.session.scalars(sa.select(Incident).where(Incident.reference.in_(refs))))
    missing = sorted(set(refs) - {i.reference for i in found})
    if missing:
        errors["incidents"] = ["No incident " + ", ".join(missing) + "."]
    return found


def _owner_user(errors: dict[str, list[str]], email: Any) -> Any:
    if email in (None, ""):
        return None
    if not isinstance(email, str) or "\x00" in email:
        # PostgreSQL cannot even compare text holding a NUL; no address holds one.
        errors["owner_user"] = ["Owner user must be an email address."]
        return None
    user = user_service.find_by_email(email)
    if user is None or not user.is_active:
        errors["owner_user"] = [f"No active user {email}."]
    return user


def create_action(*, data: dict[str, Any], actor: Any, now: datetime | None = None) -> Action:
    """Raise an action on the register."""
    _require_manager(actor)
    now = now or utcnow()
    errors: dict[str, list[str]] = {name: ["Unknown field."] for name in sorted(set(data) - FIELDS)}
    reference = data.get("reference")
    match = REFERENCE_RE.match(reference.strip()) if isinstance(reference, str) else None
    if not match:
        errors["reference"] = ["Reference must look like OPSG 97/04 (group, meeting number, slash, two digits)."]
    elif db.session.scalar(sa.select(Action.id).where(Action.reference == reference.strip())):
        errors["reference"] = [f"{reference.strip()} is already on the register."]
    text = _text(errors, "text", data.get("text"), label="Action text", required=True)
    owner_org = data.get("owner_org")
    if owner_org not in organisations():
        errors["owner_org"] = ["Owner must be one of " + ", ".join(organisations()) + "."]
    owner_user = _owner_user(errors, data.get("owner_user"))
    raised = _date(errors, "raised_on", data.get("raised_on", local_date(now)), label="Date raised")
    target = _date(errors, "target_on", data.get("target_on"), label="Target date")
    if raised and target and target < raised:
        errors.setdefault("target_on", []).append("Target date is before the date raised.")
    incidents = _incidents(errors, data.get("incidents"))
    decision_id = data.get("decision_id")
    if decision_id is not None and (isinstance(decision_id, bool) or not isinstance(decision_id, int)):
        errors["decision_id"] = ["Decision must be a decision id."]
    elif decision_id is not None and (not 0 < decision_id < 2**31 or db.session.get(Decision, decision_id) is None):
        errors["decision_id"] = [f"There is no decision {decision_id}."]
    if errors:
        raise ValidationError(errors)
    assert match and raised and target
    action = Action(reference=reference.strip(), group=match.group(1), meeting_number=int(match.group(2)), text=text,
                    owner_org=owner_org, owner_user=owner_user, raised_on=raised, target_on=target,
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
                                  "owner_org": [None, owner_org], "target_on": [None, target.isoformat()]},
                         summary=f"Raised action {action.reference}", now=now)
    reminder_service.plan_action(action, now=now)
    return action


def update_action(*, action: Action, data: dict[str, Any], actor: Any, expected_version: int | None,
                  now: datetime | None = None) -> Action:
    """Change an action: text, owner, a revised target date (kept in history), or close/reopen it."""
    _require_manager(actor)
    now = now or utcnow()
    if expected_version is None or expected_version != action.version:
        raise StaleError(f"{action.reference} was changed by someone else since you opened it. "
                         "Reload it and apply your change again.")
    errors: dict[str, list[str]] = {name: ["Unknown field."] for name in sorted(set(data) - FIELDS)}
    for name in ("reference", "raised_on", "decision_id"):
        if name in data and data[name] != getattr(action, name, None):
            errors.setdefault(name, []).append(f"{name.replace('_', ' ').capitalize()} cannot change.")
    changes: dict[str, list[Any]] = {}
    if "text" in data:
        text = _text(errors, "text", data["text"], label="Action text", required=True)
        if text != action.text:
            changes["text"] = [action.text, text]
    if "owner_org" in data:
        if data["owner_org"] not in organisations():
            errors["owner_org"] = ["Owner must be one of " + ", ".join(organisations()) + "."]
        elif data["owner_org"] != action.owner_org:
            changes["owner_org"] = [action.owner_org, data["owner_org"]]
    owner_user = action.owner_user
    if "owner_user" in data:
        owner_user = _owner_user(errors, data["owner_user"])
        if owner_user is not action.owner_user:
            changes["owner_user"] = [action.owner_user.email if action.owner_user else None,
                                     owner_user.email if owner_user else None]
    reason = _text(errors, "revision_reason", data.get("revision_reason"), label="Reason", required=False)
    new_target = None
    if "target_on" in data:
        new_target = _date(errors, "target_on", data["target_on"], label="Target date")
        if new_target and new_target < action.raised_on:
            errors.setdefault("target_on", []).append("Target date is before the date raised.")
        if new_target and new_target != action.target_on:
            if not reason:
                errors.setdefault("revision_reason", []).append("Say why the target date is revised.")
            changes["target_on"] = [action.target_on.isoformat(), new_target.isoformat()]
    incidents = action.incidents
    if "incidents" in data:
        incidents = _incidents(errors, data["incidents"])
        old_refs = sorted(i.reference for i in action.incidents)
        new_refs = sorted(i.reference for i in incidents)
        if old_refs != new_refs:
            changes["incidents"] = [old_refs, new_refs]
    status = action.status
    note = action.closing_note
    if "status" in data:
        try:
            status = ActionStatus(data["status"])
        except ValueError:
            errors["status"] = ["Status must be open or closed."]
    if "closing_note" in data:
        note = _text(errors, "closing_note", data["closing_note"], label="Closing note", required=False)
    if status == ActionStatus.CLOSED and action.status == ActionStatus.OPEN and not note:
        errors.setdefault("closing_note", []).append("Add a closing note saying how the action was completed.")
    if errors:
        raise ValidationError(errors)
    if status != action.status:
        changes["status"] = [action.status.value, status.value]
        action.closed_at = now if status == ActionStatus.CLOSED else None
    if note != action.closing_note:
        changes["closing_note"] = [action.closing_note, note]
    if not changes:
        return action
    if "text" in changes:
        action.text = changes["text"][1]
    if "owner_org" in changes:
        action.owner_org = changes["owner_org"][1]
    action.owner_user = owner_user
    action.incidents = list(incidents)
    if new_target and "target_on" in changes:
        action.revisions.append(TargetRevision(previous_on=action.target_on, target_on=new_target, reason=reason,
                                               revised_by_name=getattr(actor, "email", ""), revised_at=now))
        action.target_on = new_target
    action.status = status
    action.closing_note = note
    action.updated_at = now
    try:
        db.session.flush()
    except StaleDataError:
        # Saved by someone else after this request read it: the version check in the UPDATE caught it.
        db.session.rollback()
        raise StaleError(f"{action.reference} was changed by someone else while you saved. "
                         "Reload it and apply your change again.") from None
    audit_service.record(actor=actor, action="update", entity_type="action", entity_id=action.id,
                         incident_id=incidents[0].id if len(incidents) == 1 else None, changes=changes,
                         summary=f"Changed action {action.reference}: {', '.join(sorted(changes))}", now=now)
    reminder_service.plan_action(action, now=now)
    return action
