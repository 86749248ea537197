"""Review Report pages: the report and its versions, the editor, and the reports published to SEC Parties.

Handlers run in the same order as the review pages (``incidents.review.views``):
load the incident (404) -> role (403) -> read the form -> one service call ->
commit -> flash and redirect, or render again with the service's messages.
"""
from __future__ import annotations

import re
from typing import Any

from flask import (
    Blueprint,
    current_app,
    flash,
    jsonify,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from incidents.errors import (
    ConflictError,
    NotFound,
    ServiceError,
    StaleError,
    ValidationError,
    problem,
)
from incidents.extensions import db
from incidents.incident import service as incident_service
from incidents.incident.models import Incident
from incidents.report import forms, markdown
from incidents.report import service as report_service
from incidents.report.markdown import render
from incidents.report.models import Classification, ReportVersion
from incidents.review import confirm, edition, workflow
from incidents.review import service as review_service
from incidents.review.forms import CLASSIFICATION_NOTES
from incidents.review.models import (
    Publication,
    Review,
)
from incidents.review.views import render_confirm
from incidents.review.workflow import Step
from incidents.timeutil import format_local, utcnow

bp = Blueprint("report", __name__)

Html = str | tuple[str, int]
_NUMBER = re.compile(r"^[0-9]{1,9}$")


def _load(reference: str) -> Incident:
    # A NUL byte cannot be sent to PostgreSQL; no reference contains one anyway.
    if "\x00" in reference:
        raise NotFound(f"No incident {reference!r}.")
    return incident_service.get_incident(reference, viewer=current_user)


def _to_review(incident: Incident, anchor: str | None = None) -> Response:
    return redirect(url_for("review.show", reference=incident.reference, _anchor=anchor))


def _refused(exc: ServiceError, target: str) -> Response:
    """Undo the attempt and show why it was refused on the page the person came from."""
    db.session.rollback()
    flash(exc.detail, "error")
    for messages in exc.errors.values():
        for message in messages:
            flash(message, "error")
    return redirect(target)


def _offers(incident: Incident, review: Review | None) -> workflow.Offers:
    return workflow.offers(user=current_user, incident=incident, review=review)


def _report_expected(sent: str | None, review: Review | None) -> str | None:
    """Return the report ETag to check, or None when no version exists yet (nothing to overwrite)."""
    # The ETag names the review's id, so a page opened before the review started would never match.
    if report_service.latest(review) is None:
        return None
    return (sent or "").strip() or None


def _version_number(text: str | None) -> int | None:
    """Return a version number from the query string; anything else is a page that does not exist."""
    if text is None or text == "":
        return None
    if not _NUMBER.match(text):
        raise NotFound(f"There is no report version {text!r}.")
    return int(text)


def _report_context(incident: Incident, review: Review | None, version: ReportVersion | None) -> dict[str, Any]:
    """Return what a report page shows: narrative rendered safely, generated sections, banner."""
    model = report_service.view_model(incident, review, version)
    classification: Classification = model["classification"]
    sections = model["sections"]
    return {
        "incident": incident,
        "version": version,
        "narrative": {key: render(sections.get(key)) for key in report_service.SECTION_KEYS},
        "section_labels": dict(report_service.SECTIONS),
        "generated": report_service.for_display(model["generated"]),
        "classification": classification,
        "classification_note": CLASSIFICATION_NOTES[classification],
        "publication": None,
    }


def _published_context(publication: Publication) -> dict[str, Any]:
    """Return what the published page shows: the edition's snapshot only, nothing of the live record."""
    sections = edition.sections(publication)
    return {
        "incident": None,  # nothing of the live record reaches a SEC Party
        "version": publication.report_version,
        "narrative": {key: render(sections.get(key)) for key in report_service.SECTION_KEYS},
        "section_labels": dict(report_service.SECTIONS),
        "generated": report_service.for_display(edition.generated(publication)),
        "classification": publication.classification,
        "classification_note": CLASSIFICATION_NOTES[publication.classification],
        "publication": publication,
    }


def _editor_closed(incident: Incident, review: Review | None) -> Response | None:
    """Send the person back with the reason when the report cannot be written now."""
    refused = workflow.refusal(Step.WRITE_REPORT, user=current_user, incident=incident, review=review)
    if refused is None:
        return None
    flash(refused.message, "error")
    return _to_review(incident, "report")


def _render_editor(incident: Incident, review: Review | None, form: forms.ReportForm, status: int = 200,
                   stale: str = "", preview: dict[str, Any] | None = None) -> Html:
    latest = report_service.latest(review)
    draft = report_service.working_draft(review)
    prompts: dict[str, str] = current_app.config.get("REPORT_SECTION_PROMPTS") or {}
    page = render_template(
        "report/report_edit.html", incident=incident, form=form, errors=form.errors_by_field(), latest=latest,
        stale=stale, offers=_offers(incident, review), limits=report_service.markdown_limits().describe(),
        draft=draft, prompts=prompts, preview=preview, section_labels=dict(report_service.SECTIONS),
        generated=report_service.for_display(report_service.generate(incident, review)),
        autosave_ms=int(float(current_app.config["REPORT_AUTOSAVE_SECONDS"]) * 1000),
        submit_form=forms.SubmitReportForm(formdata=None, data={"etag": report_service.report_etag(review)}))
    return (page, status) if status != 200 else page


def _preview(sections: dict[str, str]) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Render the posted sections through the report's sanitiser; with what to fix when past the limits."""
    clean, errors = markdown.check_sections(sections, report_service.SECTIONS, report_service.markdown_limits())
    if errors:
        return {}, errors
    return {key: render(clean.get(key)) for key in report_service.SECTION_KEYS}, {}


def _draft_sent(form: forms.ReportForm) -> str | None:
    """Return the working draft the editor opened, or None from a client that does not say (nothing to check)."""
    return (form.draft.data or "").strip() or None


@bp.route("/incidents/<reference>/report")
@login_required
def report(reference: str) -> Html | Response:
    """Show the whole report: the latest version, or ``?version=N``."""
    incident = _load(reference)
    review = review_service.get_review(incident)
    number = _version_number(request.args.get("version"))
    if number is None:
        version = report_service.latest(review)
        if version is None:
            flash("The DCC has not saved a Review Report yet.", "info")
            return _to_review(incident, "report")
    else:
        version = report_service.get_version(review, number)
    latest = report_service.latest(review)
    return render_template("report/report.html", **_report_context(incident, review, version),
                           latest=latest, offers=_offers(incident, review))


def _stale_detail(exc: Exception, review: Review | None) -> str:
    """Say what changed when a save lost the race to someone else's."""
    if isinstance(exc, StaleError):
        return exc.detail
    latest = report_service.latest(review)
    where = workflow.REPORT_LABELS[review.report_state] if review else "no report"
    return (f"Someone else saved the report at the same moment, so nothing of yours was saved. It now stands at "
            f"version {latest.number if latest else 0} ({where}). Your text is kept in the form.")


def _confirmed() -> bool:
    """Tell whether the person pressed the confirmation page's button (anything else only shows the page)."""
    return request.method == "POST" and request.form.get("confirm") == "yes"


def _confirm_withdraw(incident: Incident, notice: str = "", status: int = 200) -> Html:
    preview = confirm.withdraw(incident=incident, user=current_user, now=utcnow())
    hidden = [("csrf_token", generate_csrf()), ("version", str(preview.version or ""))]
    return render_confirm(incident, preview, action=url_for(".withdraw_report", reference=incident.reference),
                          hidden=hidden, notice=notice, status=status,
                          back_url=url_for("review.show", reference=incident.reference, _anchor="report"))


@bp.route("/incidents/<reference>/report/withdraw", methods=["GET", "POST"])
@login_required
def withdraw_report(reference: str) -> Html | Response:
    """Withdraw the version waiting for the Operations Group, once confirmed: it leaves the pack."""
    incident = _load(reference)
    workflow.require_role(Step.WITHDRAW_REPORT, current_user)
    if not _confirmed():
        return _confirm_withdraw(incident)
    if not forms.SubmitReportForm().validate():
        flash("The form expired; reload the page and try again.", "error")
        return _to_review(incident, "report")
    waiting = review_service.awaiting_version(review_service.get_review(incident))
    if waiting is not None and request.form.get("version", "") != str(waiting.number):
        return _confirm_withdraw(incident, status=409, notice=(
            f"The version waiting for the Operations Group is now version {waiting.number}, not the one you "
            "confirmed; nothing was withdrawn. Check what will happen, then confirm again."))
    try:
        version = report_service.withdraw(incident=incident, actor=current_user)
        db.session.commit()
    except StaleDataError:
        db.session.rollback()
        flash("Someone else changed the review at the same moment; nothing was withdrawn. Check where it stands "
              "now.", "error")
        return _to_review(incident, "report")
    except ConflictError as exc:
        return _refused(exc, url_for("review.show", reference=reference, _anchor="report"))
    flash(f"Withdrew version {version.number}; it has left the meeting pack. Save and submit another version.",
          "success")
    return _to_review(incident, "report")


@bp.route("/incidents/<reference>/report/edit", methods=["GET", "POST"])
@login_required
def edit_report(reference: str) -> Html | Response:
    """Write the report: "Save version" makes a new draft version; "Preview" shows the text as the report will."""
    incident = _load(reference)
    workflow.require_role(Step.WRITE_REPORT, current_user)
    review = review_service.get_review(incident)
    closed = _editor_closed(incident, review)
    if closed is not None:
        return closed
    etag = report_service.report_etag(review)
    if request.method == "GET":
        # The working draft, if any, is what the person (or a colleague) was last typing: open on it.
        form = forms.ReportForm(formdata=None, data=forms.report_initial(
            report_service.latest(review), etag, report_service.working_draft(review)))
        return _render_editor(incident, review, form)
    form = forms.ReportForm()
    if not form.validate():
        return _render_editor(incident, review, form, 422)
    if request.form.get("action") == "preview":
        # Nothing is saved: the text goes back into the form with the preview beside it.
        preview, errors = _preview(form.sections())
        if errors:
            form.apply_errors(errors)
            return _render_editor(incident, review, form, 422)
        return _render_editor(incident, review, form, preview=preview)
    before = report_service.latest(review)
    try:
        version = report_service.save_draft(
            incident=incident, sections=form.sections(), classification=form.level(), actor=current_user,
            expected=_report_expected(form.etag.data, review), expected_draft=_draft_sent(form))
        db.session.commit()
    except (StaleError, StaleDataError) as exc:
        # StaleDataError: someone else's save landed between our check and our write.
        db.session.rollback()
        review = review_service.get_review(incident)
        # The fresh tokens let the person save their text on purpose as the next version.
        form.etag.data = report_service.report_etag(review)
        form.draft.data = report_service.draft_token(report_service.working_draft(review))
        return _render_editor(incident, review, form, 409, stale=_stale_detail(exc, review))
    except ConflictError as exc:
        return _refused(exc, url_for("review.show", reference=reference, _anchor="report"))
    except ValidationError as exc:
        db.session.rollback()
        form.apply_errors(exc.errors, exc.detail)
        return _render_editor(incident, review, form, 422)
    if before is not None and version.number == before.number:
        flash(f"Nothing changed since version {version.number}; no new version saved.", "info")
    else:
        flash(f"Saved draft version {version.number}.", "success")
    return redirect(url_for(".edit_report", reference=reference))


@bp.route("/incidents/<reference>/report/autosave", methods=["POST"])
@login_required
def autosave(reference: str) -> Response:
    """Keep the editor's text as the report's one working draft (no version) and answer JSON."""
    try:
        incident = _load(reference)
        workflow.require_role(Step.WRITE_REPORT, current_user)
        review = review_service.get_review(incident)
        form = forms.ReportForm()
        if not form.validate():
            raise ValidationError({f.name: list(f.errors) for f in form if f.errors})
        draft = report_service.keep_working_draft(
            incident=incident, sections=form.sections(), classification=form.level(), actor=current_user,
            expected=_report_expected(form.etag.data, review), expected_draft=_draft_sent(form))
        saved_at = format_local(draft.updated_at) if draft is not None else None
        db.session.commit()
    except (StaleError, StaleDataError, IntegrityError) as exc:
        # IntegrityError: a colleague's first autosave made the working draft at the same moment.
        db.session.rollback()
        review = review_service.get_review(incident)
        newest = report_service.latest(review)
        extra: dict[str, Any] = {}
        if newest is not None:
            extra = {"latest": newest.number,
                     "latest_url": url_for(".report", reference=reference, version=newest.number)}
        stale = exc if isinstance(exc, StaleError) else StaleError(_stale_detail(exc, review))
        return problem(stale.status, stale.title, stale.detail, **extra)
    except ServiceError as exc:
        db.session.rollback()
        return problem(exc.status, exc.title, exc.detail, exc.errors)
    review = review_service.get_review(incident)
    newest = report_service.latest(review)
    return jsonify({"kept": draft is not None, "draft": report_service.draft_token(draft),
                    "number": newest.number if newest else None, "etag": report_service.report_etag(review),
                    "saved_at": saved_at})


@bp.route("/incidents/<reference>/report/preview", methods=["POST"])
@login_required
def preview(reference: str) -> Response:
    """Answer JSON with the posted sections rendered by the server's sanitiser (for the editor's preview)."""
    try:
        incident = _load(reference)
        workflow.require_role(Step.WRITE_REPORT, current_user)
        del incident  # loaded for its 404 and visibility only
        form = forms.ReportForm()
        if not form.validate():
            raise ValidationError({f.name: list(f.errors) for f in form if f.errors})
        rendered, errors = _preview(form.sections())
        if errors:
            raise ValidationError(errors, "Shorten the sections named before previewing them.")
    except ServiceError as exc:
        return problem(exc.status, exc.title, exc.detail, exc.errors)
    return jsonify({"sections": {key: str(html) for key, html in rendered.items()}})


def _confirm_submit(incident: Incident, etag: str) -> Html:
    preview = confirm.submit(incident=incident, user=current_user, now=utcnow())
    return render_confirm(incident, preview, action=url_for(".submit_report", reference=incident.reference),
                          hidden=[("csrf_token", generate_csrf()), ("etag", etag)],
                          back_url=url_for("review.show", reference=incident.reference, _anchor="report"))


@bp.route("/incidents/<reference>/report/submit", methods=["GET", "POST"])
@login_required
def submit_report(reference: str) -> Html | Response:
    """Freeze the last saved version as the submitted report, once the person has confirmed what that does."""
    incident = _load(reference)
    workflow.require_role(Step.SUBMIT_REPORT, current_user)
    if request.method == "GET":
        return _confirm_submit(incident, report_service.report_etag(review_service.get_review(incident)))
    form = forms.SubmitReportForm()
    editor = url_for(".edit_report", reference=reference)
    if not _confirmed():
        # The ETag the person's page carried goes through the confirmation: a save in between is still caught.
        return _confirm_submit(incident, (form.etag.data or "").strip())
    if not form.validate():
        flash("The form expired; reload the page and try again.", "error")
        return redirect(editor)
    try:
        version = report_service.submit(incident=incident, actor=current_user,
                                        expected=(form.etag.data or "").strip() or None)
        db.session.commit()
    except StaleDataError as exc:
        db.session.rollback()
        review = review_service.get_review(incident)
        latest = report_service.latest(review)
        return _render_editor(incident, review, forms.ReportForm(formdata=None, data=forms.report_initial(
            latest, report_service.report_etag(review))), 409, stale=_stale_detail(exc, review))
    except (StaleError, ValidationError) as exc:
        return _refused(exc, editor)
    except ConflictError as exc:
        return _refused(exc, url_for("review.show", reference=reference, _anchor="report"))
    flash(f"Submitted version {version.number}; it is now frozen. The Operations Group decides on publication.",
          "success")
    return _to_review(incident, "report")


@bp.route("/incidents/<reference>/report/versions")
@login_required
def versions(reference: str) -> Html:
    """List every version of the report."""
    incident = _load(reference)
    review = review_service.get_review(incident)
    listed = list(reversed(review.report_versions)) if review else []
    return render_template("report/versions.html", incident=incident, versions=listed,
                           offers=_offers(incident, review), notes=CLASSIFICATION_NOTES,
                           draft=report_service.working_draft(review))


@bp.route("/incidents/<reference>/report/diff")
@login_required
def diff(reference: str) -> Html:
    """Show what changed between two versions, section by section."""
    incident = _load(reference)
    review = review_service.get_review(incident)
    numbers = [v.number for v in review.report_versions] if review else []
    new_number = _version_number(request.args.get("to"))
    old_number = _version_number(request.args.get("from"))
    if len(numbers) < 2 and old_number is None and new_number is None:
        return render_template("report/diff.html", incident=incident, sections=None, numbers=numbers,
                               old=None, new=None)
    if new_number is None:
        new_number = numbers[-1]
    if old_number is None:
        old_number = max([n for n in numbers if n < new_number], default=new_number)
    old = report_service.get_version(review, old_number)
    new = report_service.get_version(review, new_number)
    sections = []
    for label, lines in report_service.diff(old, new):
        added = sum(1 for line in lines if line.kind == "added")
        removed = sum(1 for line in lines if line.kind == "removed")
        sections.append({"label": label, "lines": lines, "added": added, "removed": removed})
    return render_template("report/diff.html", incident=incident, sections=sections, numbers=numbers,
                           old=old, new=new)


# --- Published reports ------------------------------------------------------------------

@bp.route("/published")
@login_required
def published() -> Html:
    """List the reports published to SEC Parties, newest first."""
    return render_template("published/list.html", publications=review_service.published_list(viewer=current_user))


@bp.route("/published/<reference>")
@login_required
def published_report(reference: str) -> Html:
    """Show the published version of one report, and nothing of its internal review."""
    if "\x00" in reference:
        raise NotFound(f"No published report for {reference!r}.")
    publication = review_service.get_published(reference, viewer=current_user)
    return render_template("published/report.html", **_published_context(publication))
