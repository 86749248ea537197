"""Meeting pages: the scheduled and past meetings, and scheduling the next ones.

Handlers run load -> check the role (404 for those who may not see the
register, 403 for those who may read but not schedule) -> validate -> one
service call -> commit -> redirect. Scheduling a meeting re-plans the
Operations Group decision reminders at once.
"""
from __future__ import annotations

from flask import Blueprint, current_app, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from incidents import permissions
from incidents.errors import NotFound, PermissionDenied, ValidationError
from incidents.extensions import db
from incidents.meeting import forms
from incidents.meeting import service as meeting_service
from incidents.timeutil import local_date, utcnow

bp = Blueprint("meeting", __name__, url_prefix="/meetings")

Html = str | tuple[str, int]


def _require_reader() -> None:
    if not permissions.can_view_meetings(current_user):
        raise NotFound("There is no such page.")


def _require_scheduler() -> None:
    if not permissions.can_record_decision(current_user):
        raise PermissionDenied("Only SECAS, Operations Group members and administrators schedule meetings.")


def _render(form: forms.MeetingForm, status: int = 200) -> Html:
    page = render_template("meeting/list.html", meetings=meeting_service.list_meetings(), today=local_date(utcnow()),
                           form=form, errors=form.errors_by_field(), kind_labels=meeting_service.KIND_LABELS,
                           can_schedule=permissions.can_record_decision(current_user))
    return (page, status) if status != 200 else page


def _form() -> forms.MeetingForm:
    form = forms.MeetingForm()
    form.setup(current_app.config["MEETING_HINT"])
    return form


@bp.route("/")
@login_required
def index() -> Html:
    """List meetings, latest first, with the form to schedule one."""
    _require_reader()
    return _render(_form())


@bp.route("/", methods=["POST"])
@login_required
def schedule() -> Html | Response:
    """Schedule a meeting."""
    _require_reader()
    _require_scheduler()
    form = _form()
    if not form.validate():
        return _render(form, 422)
    try:
        meeting = meeting_service.schedule(reference=form.reference.data or "", held_on=form.held_on.data,
                                           kind=form.meeting_kind(), actor=current_user)
    except ValidationError as exc:
        db.session.rollback()
        form.apply_errors(exc.errors, exc.detail)
        return _render(form, 422)
    db.session.commit()
    flash(f"Scheduled {meeting.reference}; reviews waiting for a decision are reminded ahead of it.", "success")
    return redirect(url_for(".index", _anchor=f"meeting-{meeting.reference}"))
