"""Actions register pages: the register, one action, raising and changing actions.

Each handler runs in the same order: load (404) -> check the role (403) ->
validate the form -> one service call -> commit -> flash and redirect, or
render again with the service's messages on the fields. SEC Parties get 404
everywhere here; the DCC reads but cannot change the register.

An action's URL is its reference with '/' as '-': ``/actions/OPSG%2097-04``.
"""
from __future__ import annotations

from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from incidents import permissions, validation
from incidents.action import forms
from incidents.action import service as action_service
from incidents.action.models import Action
from incidents.errors import NotFound, PermissionDenied, StaleError, ValidationError
from incidents.extensions import db
from incidents.incident import service as incident_service
from incidents.reminder import service as reminder_service
from incidents.timeutil import local_date, utcnow

bp = Blueprint("action", __name__, url_prefix="/actions")

Html = str | tuple[str, int]
LIST_ARGS = ("status", "overdue", "needs_date", "owner", "meeting", "per_page")


def _require_reader() -> None:
    if not permissions.can_view_actions(current_user):
        raise NotFound("There is no such page.")


def _require_manager() -> None:
    if not permissions.can_manage_actions(current_user):
        raise PermissionDenied("Only SECAS, Operations Group members and administrators change the actions register.")


def _load(slug: str) -> Action:
    _require_reader()
    return action_service.get_action(action_service.reference_from_slug(slug), viewer=current_user)


def _page(template: str, status: int = 200, **context: Any) -> Html:
    page = render_template(template, slug=action_service.slug, organisations=action_service.organisations(),
                           **context)
    return (page, status) if status != 200 else page


@bp.route("/")
@login_required
def index() -> Html:
    """List actions, open and overdue first, with filters and pages."""
    _require_reader()
    form = forms.FilterForm(request.args)
    form.setup(action_service.organisations(), current_app.config["MEETING_HINT"])
    problems: dict[str, list[str]] = {}
    filters = paging = None
    try:
        filters, paging = validation.read_args(request.args, action_service.parse_filters,
                                               incident_service.parse_paging)
    except ValidationError as exc:
        problems = exc.errors
    listing = None
    rows: list[tuple[Action, bool]] = []
    if filters is not None and paging is not None:
        now = utcnow()
        items, total = action_service.list_actions(filters=filters, viewer=current_user, now=now, page=paging[0],
                                                   per_page=paging[1])
        listing = incident_service.Page(items=items, page=paging[0], per_page=paging[1], total=total)
        today = local_date(now)
        rows = [(action, action_service.is_overdue(action, today=today)) for action in items]
    form.apply_errors(problems)
    args = validation.kept_args(request.args, LIST_ARGS)
    return _page("action/list.html", 400 if problems else 200, form=form, listing=listing, rows=rows,
                 errors=form.errors_by_field(), args=args, filtered=any(name != "per_page" for name in args),
                 can_manage=permissions.can_manage_actions(current_user))


@bp.route("/<slug>")
@login_required
def detail(slug: str) -> Html:
    """Show one action: its text, owner, dates and their revisions, status, incidents and reminders."""
    action = _load(slug)
    return _page("action/detail.html", action=action,
                 is_overdue=action_service.is_overdue(action, today=local_date(utcnow())),
                 reminders=reminder_service.list_reminders(action_id=action.id, limit=500),
                 can_manage=permissions.can_manage_actions(current_user))


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create() -> Html | Response:
    """Raise an action on the register."""
    _require_reader()
    _require_manager()
    form = forms.ActionForm()
    form.setup(action_service.organisations(), action_service.reference_hint())
    if not form.is_submitted():
        form.raised_on.data = local_date(utcnow())
        return _page("action/form.html", form=form, action=None, errors={})
    if form.validate():
        try:
            action = action_service.create_action(draft=form.to_draft(), actor=current_user)
        except ValidationError as exc:
            db.session.rollback()
            form.apply_errors(exc.errors, exc.detail)
        else:
            db.session.commit()
            flash(f"Raised {action.reference}; its reminders are planned.", "success")
            return redirect(url_for(".detail", slug=action_service.slug(action.reference)))
    return _page("action/form.html", 422, form=form, action=None, errors=form.errors_by_field())


@bp.route("/<slug>/edit", methods=["GET", "POST"])
@login_required
def edit(slug: str) -> Html | Response:
    """Change an action, refusing to overwrite someone else's change unseen."""
    action = _load(slug)
    _require_manager()
    if request.method == "GET":
        form = forms.EditActionForm(formdata=None, data=forms.edit_initial(action))
        form.setup(action_service.organisations())
        return _page("action/form.html", form=form, action=action, errors={})
    form = forms.EditActionForm()
    form.setup(action_service.organisations())
    if not form.validate():
        return _page("action/form.html", 422, form=form, action=action, errors=form.errors_by_field())
    try:
        action_service.update_action(action=action, changes=form.to_changes(), actor=current_user,
                                     expected_version=form.expected_version())
    except StaleError as exc:
        # Their input stays in the form; the fresh version lets them save again on purpose.
        db.session.rollback()
        form.version.data = str(action.version)
        return _page("action/form.html", 409, form=form, action=action, errors=form.errors_by_field(),
                     stale_message=exc.detail)
    except ValidationError as exc:
        db.session.rollback()
        form.apply_errors(exc.errors, exc.detail)
        return _page("action/form.html", 422, form=form, action=action, errors=form.errors_by_field())
    db.session.commit()
    flash(f"Saved {action.reference}; its reminders are re-planned.", "success")
    return redirect(url_for(".detail", slug=action_service.slug(action.reference)))
