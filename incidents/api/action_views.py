"""JSON API v1, the actions register: read by everyone who reads incidents, kept by SECAS, OPSG and admins.

An action's reference (``OPSG 97/04``) holds a space and a slash. The path
takes it URL-encoded (``/actions/OPSG%2097%2F04``) or as its slug, the slash
written as a dash (``/actions/OPSG%2097-04``), for proxies that refuse an
encoded slash. A reference already on the register is 409, as a duplicate
incident reference is.

Reminders are planned from the action when the unit of work commits; the
views plan them first themselves (the same idempotent planning) so that the
answer, built before the commit, shows the reminders the commit keeps.
"""
from __future__ import annotations

from datetime import datetime

from flask import Response, url_for

from incidents import permissions, validation
from incidents.action import service as action_service
from incidents.action.models import Action
from incidents.api import action_schemas as schemas
from incidents.api import auth, openapi, protocol
from incidents.api.blueprint import is_lookup_key
from incidents.errors import DuplicateError, NotFound, PermissionDenied, ValidationError
from incidents.extensions import db
from incidents.incident import service as incident_service
from incidents.reminder import service as reminder_service
from incidents.reminder.models import ReminderState
from incidents.review.models import Decision
from incidents.timeutil import local_date, utcnow
from incidents.user.models import User

NOT_SENT = [ReminderState.PENDING, ReminderState.SENDING]


def _reference(segment: str) -> str:
    """Return the reference a path segment names: itself when it has its slash, else read as a slug."""
    return segment if "/" in segment else action_service.reference_from_slug(segment)


def _load(segment: str, user: User) -> Action:
    """Load an action the user may see, or raise NotFound."""
    if not is_lookup_key(segment):
        raise NotFound("No such action.")
    return action_service.get_action(_reference(segment), viewer=user)


def _require_manager(user: User) -> None:
    if not permissions.can_manage_actions(user):
        raise PermissionDenied("Only SECAS, OPSG members and administrators manage the actions register.")


def _refuse_duplicate(reference: str, user: User) -> None:
    """Raise DuplicateError (409) when the reference sent is already on the register."""
    candidate = reference.strip()  # the form the service stores
    if not candidate or not is_lookup_key(candidate):
        return
    try:
        action_service.get_action(candidate, viewer=user)
    except NotFound:
        return
    raise DuplicateError(f"Action {candidate} is already on the register.",
                         {"reference": [f"{candidate} is already on the register."]})


def _refuse_unknown_decision(decision_id: int | None) -> None:
    # The database would refuse the dangling reference as a clash (409); name the field instead.
    if decision_id is not None and db.session.get(Decision, decision_id) is None:
        raise ValidationError({"decision_id": [f"There is no decision {decision_id}."]})


def _present(action: Action, now: datetime) -> schemas.Action:
    return schemas.present_action(action, today=local_date(now),
                                  reminders=reminder_service.list_reminders(action_id=action.id, states=NOT_SENT))


def _url(action: Action) -> str:
    return url_for("api.get_action", reference=action_service.slug(action.reference))


def list_actions() -> Response:
    """List the register with its page's filters (status, overdue, owner, meeting) and paging."""
    user = auth.current_user()
    if not permissions.can_view_actions(user):
        raise NotFound("No actions.")
    args = protocol.query_args(openapi.ACTION_LIST_QUERY, numeric=openapi.ACTION_LIST_NUMERIC)
    filters, (page, per_page) = validation.read_args(args, action_service.parse_filters,
                                                     incident_service.parse_paging)
    now = utcnow()
    items, total = action_service.list_actions(filters=filters, viewer=user, now=now, page=page, per_page=per_page)
    return protocol.respond(schemas.ActionPage(items=[_present(a, now) for a in items], page=page,
                                               per_page=per_page, total=total))


def create_action() -> Response:
    """Raise an action on the register."""
    user = auth.current_user()
    _require_manager(user)
    draft = action_service.ActionDraft(**protocol.parse_body(schemas.ActionCreate).model_dump(exclude_unset=True))
    _refuse_duplicate(draft.reference, user)
    _refuse_unknown_decision(draft.decision_id)
    now = utcnow()
    with protocol.write_guard():
        try:
            action = action_service.create_action(draft=draft, actor=user, now=now)
        except ValidationError:
            _refuse_duplicate(draft.reference, user)  # another request took it meanwhile
            raise
        reminder_service.plan_action(action, now=now)
        answer, etag = _present(action, now), action_service.etag(action)
        db.session.commit()
    return protocol.respond(answer, 201, etag=etag, location=_url(action))


def get_action(reference: str) -> Response:
    """Read an action with its target-date history and pending reminders."""
    action = _load(reference, auth.current_user())
    return protocol.respond(_present(action, utcnow()), etag=action_service.etag(action))


def update_action(reference: str) -> Response:
    """Change an action: text, owner, a revised target date (with its reason), status, incidents."""
    user = auth.current_user()
    action = _load(reference, user)
    _require_manager(user)
    expected = protocol.expected_version(action_service.etag(action), what="action")
    changes = action_service.ActionChanges(**protocol.parse_body(schemas.ActionPatch).model_dump(exclude_unset=True))
    now = utcnow()
    with protocol.write_guard():
        action = action_service.update_action(action=action, changes=changes, actor=user, expected_version=expected,
                                              now=now)
        reminder_service.plan_action(action, now=now)
        answer, etag = _present(action, now), action_service.etag(action)
        db.session.commit()
    return protocol.respond(answer, etag=etag)
