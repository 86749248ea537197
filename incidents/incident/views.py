"""Incident pages: the list, one incident, logging and changing it, its timeline and audit trail.

Each handler runs in the same order: load (404) -> check access (403) ->
validate the form -> one service call -> commit -> redirect with a flash, or
render. SEC Parties get 404 on every page here, so an unpublished incident's
existence does not leak.
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
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from incidents import permissions, validation
from incidents.audit import describe as audit_describe
from incidents.audit import service as audit_service
from incidents.errors import (
    ConflictError,
    DuplicateError,
    NotFound,
    PermissionDenied,
    StaleError,
    ValidationError,
)
from incidents.extensions import db
from incidents.idempotency import forms as form_keys
from incidents.incident import forms
from incidents.incident import service as incident_service
from incidents.incident.models import Incident, TimelineEntry
from incidents.notification import forms as notification_forms
from incidents.notification import service as notification_service
from incidents.review import service as review_service
from incidents.review import workflow
from incidents.rules import service as rules_service
from incidents.timeutil import format_local, local_date, utcnow

bp = Blueprint("incident", __name__, url_prefix="/incidents")

Html = str | bytes | tuple[str, int]
LIST_ARGS = ("q", "category", "major", "status", "pmr_month", "cohort", "per_page")
MAX_ID = 2**31 - 1


# --- Helpers ----------------------------------------------------------------------

def _require_reader() -> None:
    if not permissions.can_view_incidents(current_user):
        raise NotFound("There is no such page.")


def _require_editor() -> None:
    if not permissions.can_edit_incidents(current_user):
        raise PermissionDenied("Only the DCC and administrators can change incidents and timelines.")


def _load(reference: str, *, with_cohorts: bool = True) -> Incident:
    _require_reader()
    return incident_service.get_incident(reference, viewer=current_user, with_cohorts=with_cohorts)


def _load_entry(incident: Incident, entry_id: int) -> TimelineEntry:
    # Ids are 32-bit integers; a larger number from the URL cannot name an entry
    # (and SQLite refuses to compare one that overflows 64 bits).
    if entry_id > MAX_ID:
        raise NotFound(f"{incident.reference} has no timeline entry {entry_id}.")
    return incident_service.get_timeline_entry(incident, entry_id)


def _flash_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        flash(warning, "warning")


def _render_detail(incident: Incident, entry_form: forms.TimelineEntryForm | None = None, status: int = 200,
                   major_form: forms.MajorForm | None = None) -> Html:
    """Show the incident page; ``entry_form`` is a filled-in add-entry form to show again (None: a blank one)."""
    can_edit = permissions.can_edit_incidents(current_user)
    region = current_app.config["HOLIDAY_REGION"]
    errors = entry_form.summary() if entry_form is not None else {}
    if major_form is not None:
        errors = {**errors, **major_form.summary()}
    elif permissions.can_declare_major(current_user):
        major_form = forms.MajorForm(formdata=None, data={"version": str(incident.version)})
    if can_edit and entry_form is None:
        entry_form = forms.timeline_form(incident, from_request=False)
    page = render_template(
        "incident/detail.html",
        incident=incident,
        derived=incident_service.derive(incident),
        cause_label=current_app.config["CAUSE_CATEGORIES"].get(incident.cause_category, incident.cause_category),
        region_name=rules_service.REGION_NAMES.get(region, region),
        timeline=incident.timeline,
        entry_form=entry_form,
        errors=errors,
        can_edit=can_edit,
        needs_review=review_service.needs_review(incident),
        can_follow=notification_service.can_follow(current_user, incident),
        following=notification_service.is_following(current_user, incident),
        follow_form=notification_forms.ButtonForm(),
        major_form=major_form,
        major_categories=review_service.review_categories(),
        published_notice=_published_notice(incident),
    )
    return (page, status) if status != 200 else page


def _published_notice(incident: Incident) -> str | None:
    """Warn that a published Review Report does not follow changes to the incident (None: nothing published)."""
    return workflow.published_edition_notice(review_service.get_review(incident))


def _render_incident_form(form: forms.IncidentForm, incident: Incident | None, status: int = 200,
                          differences: list[forms.Difference] | None = None, stale_message: str = "") -> Html:
    page = render_template("incident/form.html", form=form, incident=incident, errors=form.summary(),
                           differences=differences, stale_message=stale_message,
                           published_notice=_published_notice(incident) if incident is not None else None)
    return (page, status) if status != 200 else page


# --- Pages --------------------------------------------------------------------------

@bp.route("/")
@login_required
def index() -> Html:
    """List incidents, newest first, filtered and paged."""
    _require_reader()
    problems, filters, paging = _read_list_args(request.args)
    page = _render_list(problems, filters, paging)
    return (page, 400) if problems else page


def _render_list(problems: dict[str, list[str]], filters: incident_service.Filters | None,
                 paging: tuple[int, int, incident_service.Cursor | None] | None) -> str:
    form = forms.filter_form(request.args)
    listing = None
    rows: list[tuple[Incident, incident_service.Summary, review_service.Standing]] = []
    if filters is not None and paging is not None:
        listing = incident_service.list_incidents(filters=filters, page=paging[0], per_page=paging[1],
                                                  cursor=paging[2], viewer=current_user, with_cohorts=False)
        standings = review_service.standings(listing.items)  # the page's reviews, in one query
        rows = [(incident, incident_service.summarize(incident), standings[incident.id])
                for incident in listing.items]
    unplaced = form.apply_errors(problems)
    errors = {**{field.id: list(field.errors) for field in form if field.errors}, **unplaced}
    args = validation.kept_args(request.args, LIST_ARGS)
    return render_template("incident/list.html", form=form, listing=listing, rows=rows,
                           errors=errors, args=args, filtered=any(name != "per_page" for name in args),
                           today=local_date(utcnow()))


def _read_list_args(args: Any) -> tuple[dict[str, list[str]], incident_service.Filters | None,
                                        tuple[int, int, incident_service.Cursor | None] | None]:
    """Read filters and paging, collecting every problem rather than stopping at the first."""
    try:
        filters, (page, per_page), cursor = validation.read_args(
            args, incident_service.parse_filters, incident_service.parse_paging, incident_service.parse_cursor)
    except ValidationError as exc:
        return exc.errors, None, None
    return {}, filters, (page, per_page, cursor)


@bp.route("/<reference>")
@login_required
def detail(reference: str) -> Html:
    """Show one incident: its record, derived facts, cohorts and timeline."""
    _require_reader()
    return _render_detail(_load(reference))


@bp.route("/new", methods=["GET", "POST"])
@login_required
def create() -> Html | Response:
    """Log an incident."""
    _require_reader()
    _require_editor()
    form = forms.incident_form()
    if not form.is_submitted():
        return _render_incident_form(form, None)
    if form.validate():
        try:
            outcome = incident_service.create_incident(draft=form.to_draft(), actor=current_user)
        except (ValidationError, DuplicateError) as exc:
            form.apply_errors(exc.errors, exc.detail)
        else:
            db.session.commit()
            flash(f"Logged {outcome.incident.reference}.", "success")
            _flash_warnings(outcome.warnings)
            return redirect(url_for(".detail", reference=outcome.incident.reference))
    return _render_incident_form(form, None, 422)


@bp.route("/<reference>/edit", methods=["GET", "POST"])
@login_required
def edit(reference: str) -> Html | Response:
    """Change an incident's record, refusing to overwrite someone else's change unseen."""
    incident = _load(reference)
    _require_editor()
    if request.method == "GET":
        return _render_incident_form(forms.incident_form(incident=incident, from_request=False), incident)
    form = forms.incident_form(incident=incident)
    if not form.validate():
        return _render_incident_form(form, incident, 422)
    try:
        outcome = incident_service.update_incident(incident=incident, changes=form.to_changes(), actor=current_user,
                                                   expected_version=form.expected_version())
    except StaleError as exc:
        # Show what is saved now beside what the person typed; the fresh version
        # lets them save again on purpose. Their input stays in the form.
        db.session.rollback()
        saved = forms.incident_form(incident=incident, from_request=False)
        form.version.data = str(incident.version)
        return _render_incident_form(form, incident, 409, differences=forms.compare(saved, form),
                                     stale_message=exc.detail)
    except (ValidationError, DuplicateError) as exc:
        form.apply_errors(exc.errors, exc.detail)
        return _render_incident_form(form, incident, 422)
    db.session.commit()
    flash(f"Saved {outcome.incident.reference}.", "success")
    _flash_warnings(outcome.warnings)
    return redirect(url_for(".detail", reference=outcome.incident.reference))


@bp.route("/<reference>/major", methods=["POST"])
@login_required
def set_major(reference: str) -> Html | Response:
    """Declare the incident a Major Incident, or undeclare it, with the DCC's reason."""
    incident = _load(reference)
    if not permissions.can_declare_major(current_user):
        raise PermissionDenied("Only the DCC declares or undeclares a Major Incident.")
    form = forms.MajorForm()
    if not form.validate():
        return _render_detail(incident, status=422, major_form=form)
    is_major = not incident.is_major
    try:
        incident_service.set_major(incident=incident, is_major=is_major, reason=form.reason.data or "",
                                   actor=current_user, expected_version=form.expected_version())
    except (ValidationError, ConflictError, StaleError) as exc:
        db.session.rollback()
        form.apply_errors(exc.errors, exc.detail)
        form.version.data = str(incident.version)
        return _render_detail(incident, status=409 if not isinstance(exc, ValidationError) else 422,
                              major_form=form)
    db.session.commit()
    flash(f"{incident.reference} is {'now declared' if is_major else 'no longer'} a Major Incident.", "success")
    return redirect(url_for(".detail", reference=incident.reference))


@bp.route("/<reference>/timeline", methods=["POST"])
@login_required
def add_entry(reference: str) -> Html | Response:
    """Add a timeline entry."""
    incident = _load(reference)
    _require_editor()
    form = forms.timeline_form(incident)
    claimed = form_keys.claim(form.submission.data, actor=current_user)
    if claimed is not None and claimed.replay:
        return form_keys.replay(claimed.row)  # this very form was sent before: the entry is there
    if form.validate():
        try:
            entry = incident_service.add_timeline_entry(incident=incident, draft=form.to_draft(), actor=current_user)
        except ValidationError as exc:
            form.apply_errors(exc.errors, exc.detail)
        else:
            target = url_for(".detail", reference=incident.reference, _anchor="timeline")
            message = f"Added a timeline entry at {format_local(entry.occurred_at)}."
            form_keys.record(claimed, location=target, message=message)
            db.session.commit()
            flash(message, "success")
            return redirect(target)
    return _render_detail(incident, form, 422)


@bp.route("/<reference>/timeline/<int:entry_id>/edit", methods=["GET", "POST"])
@login_required
def edit_entry(reference: str, entry_id: int) -> Html | Response:
    """Change a timeline entry, refusing to overwrite someone else's change unseen."""
    incident = _load(reference)
    entry = _load_entry(incident, entry_id)
    _require_editor()
    if request.method == "GET":
        form = forms.timeline_form(incident, entry=entry, from_request=False)
        return render_template("incident/entry_form.html", incident=incident, entry=entry, form=form,
                               errors={}, differences=None, stale_message="",
                               published_notice=_published_notice(incident))
    form = forms.timeline_form(incident, entry=entry)
    status = 422
    differences = None
    stale_message = ""
    if form.validate():
        try:
            incident_service.update_timeline_entry(entry=entry, changes=form.to_changes(), actor=current_user,
                                                   expected_version=form.expected_version())
        except (StaleError, StaleDataError) as exc:
            # StaleDataError: a save landed between the version check and ours.
            db.session.rollback()
            entry = _load_entry(incident, entry_id)
            saved = forms.timeline_form(incident, entry=entry, from_request=False)
            form.version.data = str(entry.version)
            stale_message = (getattr(exc, "detail", None)
                             or "This timeline entry was changed by someone else while you saved.")
            status, differences = 409, forms.compare(saved, form)
        except ValidationError as exc:
            form.apply_errors(exc.errors, exc.detail)
        else:
            db.session.commit()
            flash("Saved the timeline entry.", "success")
            return redirect(url_for(".detail", reference=incident.reference, _anchor=f"entry-{entry.id}"))
    page = render_template("incident/entry_form.html", incident=incident, entry=entry, form=form,
                           errors=form.summary(), differences=differences, stale_message=stale_message,
                           published_notice=_published_notice(incident))
    return page, status


@bp.route("/<reference>/timeline/<int:entry_id>/delete", methods=["POST"])
@login_required
def delete_entry(reference: str, entry_id: int) -> Response:
    """Delete a timeline entry (what it said stays in the audit trail)."""
    incident = _load(reference)
    entry = _load_entry(incident, entry_id)
    _require_editor()
    form = forms.DeleteEntryForm(formdata=request.form)
    target = url_for(".detail", reference=incident.reference, _anchor="timeline")
    if not form.validate():
        flash("The delete request was incomplete; nothing was deleted. Try again.", "error")
        return redirect(target)
    try:
        incident_service.delete_timeline_entry(entry=entry, actor=current_user,
                                               expected_version=form.expected_version())
    except (StaleError, StaleDataError) as exc:
        db.session.rollback()
        flash(getattr(exc, "detail", None) or "This timeline entry was changed by someone else; nothing was "
              "deleted. Review it before deleting.", "error")
        return redirect(target)
    db.session.commit()
    flash("Deleted the timeline entry; the audit trail keeps what it said.", "success")
    return redirect(target)


@bp.route("/<reference>/audit")
@login_required
def audit(reference: str) -> Html:
    """Show every recorded change to the incident and its timeline, field by field."""
    incident = _load(reference)
    entries = audit_service.entries_for_incident(incident.id)
    rows = [audit_describe.describe(entry, reference=incident.reference) for entry in entries]
    return render_template("incident/audit.html", incident=incident, rows=rows)
