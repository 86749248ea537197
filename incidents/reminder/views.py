"""Reminder pages: an incident's reminders, the outbox for administrators, and each person's calendar feed.

Handlers run load (404) -> check the role (403) -> one service call ->
commit -> redirect, or render. The feed at ``/calendar/<token>.ics`` needs
no login: its secret token is the key, and an unknown token is a 404.
"""
from __future__ import annotations

from flask import (
    Blueprint,
    Response,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from werkzeug.wrappers import Response as BaseResponse

from incidents import permissions, validation
from incidents.auth import service as auth_service
from incidents.auth import views as auth_views
from incidents.errors import NotFound, PermissionDenied, ValidationError
from incidents.extensions import db
from incidents.incident import service as incident_service
from incidents.reminder import feed
from incidents.reminder import service as reminder_service
from incidents.reminder.forms import CalendarTokenForm, OutboxFilterForm
from incidents.reminder.models import Reminder, ReminderState
from incidents.timeutil import local_date, utcnow

bp = Blueprint("reminder", __name__)

Html = str | tuple[str, int]


@bp.route("/incidents/<reference>/reminders")
@login_required
def incident_reminders(reference: str) -> Html:
    """List an incident's live reminders (to go, or sent), with the cancelled ones folded away."""
    incident = incident_service.get_incident(reference, viewer=current_user)
    reminders = reminder_service.list_reminders(incident_id=incident.id, limit=1000)
    cancelled = [r for r in reminders if r.state == ReminderState.CANCELLED]
    return render_template("reminder/incident.html", incident=incident,
                           reminders=[r for r in reminders if r.state != ReminderState.CANCELLED],
                           cancelled=cancelled)


# On the outbox's first page without a filter: this many of the reminders still to go, soonest first.
UPCOMING_SHOWN = 10


@bp.route("/admin/outbox")
@login_required
def outbox() -> Html:
    """List reminders by state with their attempts and last error, for administrators."""
    if not permissions.can_manage_users(current_user):
        raise PermissionDenied("Only administrators see the outbox.")
    form = OutboxFilterForm(request.args)
    form.setup(reminder_service.OUTBOX_STATES)
    problems: dict[str, list[str]] = {}
    state = paging = None
    try:
        state, paging = validation.read_args(request.args, lambda args: reminder_service.parse_outbox_state(
            args.get("state")), incident_service.parse_paging)
    except ValidationError as exc:
        problems = exc.errors
    listing = upcoming = None
    shown: list[Reminder] = []
    if not problems and paging is not None:
        # Without a filter: the next few to go in their own part (first page only), then what went, latest first.
        if state is None and paging[0] == 1:
            items, total = reminder_service.outbox(state=reminder_service.WAITING, page=1, per_page=UPCOMING_SHOWN)
            upcoming = incident_service.Page(items=items, page=1, per_page=UPCOMING_SHOWN, total=total)
            shown += items
        items, total = reminder_service.outbox(state=state or reminder_service.DONE, page=paging[0],
                                               per_page=paging[1])
        listing = incident_service.Page(items=items, page=paging[0], per_page=paging[1], total=total)
        shown += items
    form.apply_errors(problems)
    args = validation.kept_args(request.args, ("state", "per_page"))
    page = render_template("reminder/outbox.html", form=form, listing=listing, upcoming=upcoming, args=args,
                           errors=form.errors_by_field(), state=state, about=reminder_service.about(shown))
    return (page, 400) if problems else page


# The feed link just made, shown once on the next calendar page (the user row keeps only its hash).
NEW_LINK_PURPOSE = "calendar_link"
# Deadlines listed on the calendar page, coming and passed (the feed carries them all).
CALENDAR_SHOWN = 50
PASSED_SHOWN = 20


@bp.route("/calendar")
@login_required
def calendar() -> Response:
    """Show the person's deadlines and the button that makes or replaces their feed link; the link itself once."""
    if not permissions.can_use_calendar(current_user):
        raise NotFound("There is no such page.")
    token = auth_service.take_secret(key=auth_views.session_key(), purpose=NEW_LINK_PURPOSE)
    if token:
        db.session.commit()  # shown once: gone from the store as the page shows it
    url = url_for(".calendar_feed", token=token, _external=True) if token else None
    today = local_date(utcnow())
    every = feed.deadlines(current_user)
    upcoming = [item for item in every if item.on >= today]
    passed = [item for item in every if item.on < today]
    response = Response(render_template(
        "reminder/calendar.html", feed_url=url, has_link=current_user.calendar_token_hash is not None,
        form=CalendarTokenForm(), passed=passed[-PASSED_SHOWN:], passed_total=len(passed),
        deadlines=upcoming[:CALENDAR_SHOWN], upcoming_total=len(upcoming)))
    if url:
        response.headers["Cache-Control"] = "no-store"  # the link must not linger in any cache once shown
    return response


@bp.route("/calendar/token", methods=["POST"])
@login_required
def calendar_token() -> BaseResponse:
    """Create the person's feed link, or replace it so the old one stops working."""
    if not permissions.can_use_calendar(current_user):  # the calendar page's own rule
        raise NotFound("There is no such page.")
    if not CalendarTokenForm().validate():
        flash("The form expired; reload the page and try again.", "error")
        return redirect(url_for(".calendar"))
    replacing = current_user.calendar_token_hash is not None
    token = feed.issue_token(user=current_user)
    key = auth_views.session_key()
    if key:
        auth_service.keep_secret(key=key, purpose=NEW_LINK_PURPOSE, value=token)
    db.session.commit()
    flash("New feed link created; the old link no longer works." if replacing else "Feed link created.", "success")
    return redirect(url_for(".calendar"))


@bp.route("/calendar/<token>.ics")
def calendar_feed(token: str) -> Response:
    """Serve a person's deadlines as iCalendar; the token in the link stands in for a login."""
    user = feed.user_for_token(token)
    if user is None:
        raise NotFound("There is no calendar at this address.")
    response = Response(feed.ics(user), mimetype="text/calendar")
    response.headers["Content-Disposition"] = 'inline; filename="sec-incident-deadlines.ics"'
    response.headers["Cache-Control"] = "private, max-age=300"
    response.headers["X-Robots-Tag"] = "noindex"
    return response
