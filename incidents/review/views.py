"""Review workflow pages: the review, the Review Report and its versions, and published reports.

Every handler runs in the same order: load the incident (404, also for SEC
Parties, so an unpublished incident's existence does not leak) -> check the
role (403) -> read the form -> one service call -> commit -> flash and
redirect, or render the page again with the service's messages on the fields.
A step out of order (ConflictError) becomes a flash saying what must happen
first, shown on the page the person came from.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
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
from werkzeug.wrappers import Response

from incidents import permissions
from incidents.errors import (
    ConflictError,
    NotFound,
    PermissionDenied,
    ServiceError,
    StaleError,
    ValidationError,
    problem,
)
from incidents.extensions import db
from incidents.incident import service as incident_service
from incidents.incident.models import Incident
from incidents.principle import service as principle_service
from incidents.report import service as report_service
from incidents.report.markdown import render
from incidents.review import forms
from incidents.review import service as review_service
from incidents.review.models import (
    Classification,
    ExclusionState,
    Publication,
    ReportState,
    ReportVersion,
    Review,
    ReviewOutcome,
)
from incidents.timeutil import format_local

bp = Blueprint("review", __name__)

Html = str | tuple[str, int]
_NUMBER = re.compile(r"^[0-9]{1,9}$")
# PMR treatments from which the DCC may propose (again); the service refuses the rest.
PROPOSABLE = (ExclusionState.NOT_PROPOSED, ExclusionState.INCLUDED, ExclusionState.INFORMATION_REQUESTED,
              ExclusionState.DISAGREED)
DECIDABLE = (ReportState.SUBMITTED, ReportState.DEFERRED)
REVIEW_DONE = {
    ReviewOutcome.AGREED: "Recorded that SECAS agrees the exclusion",
    ReviewOutcome.DISAGREED: "Recorded that SECAS disagrees with the exclusion",
    ReviewOutcome.INFORMATION_REQUESTED: "Asked the DCC for more information",
}


# --- Helpers ----------------------------------------------------------------------

def _load(reference: str) -> Incident:
    # A NUL byte cannot be sent to PostgreSQL; no reference contains one anyway.
    if "\x00" in reference:
        raise NotFound(f"No incident {reference!r}.")
    return incident_service.get_incident(reference, viewer=current_user)


def _require(allowed: bool, message: str) -> None:
    if not allowed:
        raise PermissionDenied(message)


def _to_review(incident: Incident, anchor: str | None = None) -> Response:
    return redirect(url_for(".show", reference=incident.reference, _anchor=anchor))


def _refused(exc: ServiceError, target: str) -> Response:
    """Undo the attempt and show why it was refused on the page the person came from."""
    db.session.rollback()
    flash(exc.detail, "error")
    for messages in exc.errors.values():
        for message in messages:
            flash(message, "error")
    return redirect(target)


def _review_expected(sent: str | None, review: Review | None) -> str | None:
    """Return the review ETag to check, or None when no review exists yet (nothing can have changed)."""
    # The ETag names the review's id, which exists only once the review starts.
    if review is None:
        return None
    return (sent or "").strip() or None


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


@dataclass
class Offers:
    """Which actions the page offers this person now (the services still decide)."""

    propose: bool
    review: bool
    summary: bool
    write: bool
    submit: bool
    decide: bool
    decision_waits: bool
    publish: bool
    comment: bool


def _offers(incident: Incident, review: Review | None) -> Offers:
    needs = review_service.needs_review(incident)
    state = review.exclusion_state if review else ExclusionState.NOT_PROPOSED
    report = review.report_state if review else ReportState.NOT_STARTED
    latest = report_service.latest(review)
    write = needs and permissions.can_write_report(current_user) and report in report_service.EDITABLE_STATES
    decide = permissions.can_record_decision(current_user) and report in DECIDABLE
    return Offers(
        propose=(needs and permissions.can_propose_exclusion(current_user) and state in PROPOSABLE
                 and report != ReportState.PUBLISHED),
        review=permissions.can_review_exclusion(current_user) and state == ExclusionState.PENDING,
        summary=(needs and permissions.can_write_report(current_user) and incident.resolved_at is not None
                 and (review is None or review.summary_submitted_at is None)),
        write=write,
        submit=write and latest is not None and not latest.is_frozen,
        decide=decide and state in review_service.SETTLED,
        decision_waits=decide and state not in review_service.SETTLED,
        publish=permissions.can_publish(current_user) and report == ReportState.AGREED,
        comment=needs and permissions.can_comment(current_user),
    )


def _propose_form(review: Review | None) -> forms.ProposeForm:
    """Build the proposal form, starting from the current proposal when the DCC proposes again."""
    data: dict[str, Any] = {"etag": review_service.review_etag(review)}
    proposal = review_service.current_proposal(review)
    if proposal is not None and review is not None and review.exclusion_state in (
            ExclusionState.INFORMATION_REQUESTED, ExclusionState.DISAGREED):
        data.update(treatment="exclude" if proposal.exclude else "include", principle=proposal.principle_code or "",
                    rationale=proposal.rationale, evidence_links="\n".join(proposal.evidence_links or []))
    return forms.ProposeForm(formdata=None, data=data, prefix="propose")


def _render_show(incident: Incident, status: int = 200, **posted: Any) -> Html:
    """Render the review page; ``posted`` holds a form sent back with its messages."""
    review = review_service.get_review(incident)
    offers = _offers(incident, review)
    propose = posted.get("propose") or _propose_form(review)
    propose.setup(principle_service.list_principles(include_retired=False))
    decision = posted.get("decision") or forms.DecisionForm(formdata=None, prefix="decision")
    decision.setup(current_app.config["MEETING_HINT"])
    page_forms = {
        "propose": propose,
        "secas": posted.get("secas") or forms.ExclusionReviewForm(formdata=None, prefix="secas"),
        "decision": decision,
        "publish": posted.get("publish") or forms.PublishForm(formdata=None, prefix="publish"),
        "comment": posted.get("comment") or forms.CommentForm(formdata=None, prefix="comment"),
    }
    errors: dict[str, list[str]] = {}
    for form in posted.values():
        errors.update(form.errors_by_field())
    latest = report_service.latest(review)
    page = render_template(
        "review/show.html",
        incident=incident,
        review=review,
        needs_review=review_service.needs_review(incident),
        review_categories=review_service.review_categories(),
        exclusion_label=review_service.EXCLUSION_LABELS[review.exclusion_state if review
                                                         else ExclusionState.NOT_PROPOSED],
        report_label=review_service.REPORT_LABELS[review.report_state if review else ReportState.NOT_STARTED],
        steps=review_service.next_steps(incident, review) if review_service.needs_review(incident) else [],
        is_information_requested=bool(review and review.exclusion_state == ExclusionState.INFORMATION_REQUESTED),
        latest=latest,
        summary_due_on=incident_service.derive(incident).summary_report_due_on,
        action_form=forms.ActionForm(formdata=None),
        submit_form=forms.SubmitReportForm(formdata=None, data={"etag": report_service.report_etag(review)}),
        offers=offers,
        forms=page_forms,
        errors=errors,
        outcome_labels=forms.REVIEW_OUTCOME_LABELS,
        decision_labels=forms.DECISION_OUTCOME_LABELS,
        notes=forms.CLASSIFICATION_NOTES,
    )
    return (page, status) if status != 200 else page


# --- The review page and its actions -------------------------------------------------

@bp.route("/incidents/<reference>/review")
@login_required
def show(reference: str) -> Html:
    """Show where the review stands, who acts next, its history and the actions open to this person."""
    return _render_show(_load(reference))


@bp.route("/incidents/<reference>/review/proposal", methods=["POST"])
@login_required
def propose(reference: str) -> Html | Response:
    """Record the DCC's PMR treatment."""
    incident = _load(reference)
    _require(permissions.can_propose_exclusion(current_user), "Only the DCC proposes the PMR treatment.")
    form = forms.ProposeForm(prefix="propose")
    if not form.validate():
        return _render_show(incident, 422, propose=form)
    expected = _review_expected(form.etag.data, review_service.get_review(incident))
    try:
        proposal = review_service.propose(incident=incident, actor=current_user, expected=expected, **form.to_data())
    except ConflictError as exc:
        return _refused(exc, url_for(".show", reference=reference))
    except StaleError as exc:
        db.session.rollback()
        form.apply_errors({}, exc.detail + " The page now shows the latest state; your proposal is kept below.")
        form.etag.data = review_service.review_etag(review_service.get_review(incident))
        return _render_show(incident, 409, propose=form)
    except ValidationError as exc:
        db.session.rollback()
        form.apply_errors(exc.errors, exc.detail)
        return _render_show(incident, 422, propose=form)
    db.session.commit()
    what = f"exclusion citing {proposal.principle_code}" if proposal.exclude else "inclusion in the PMR"
    flash(f"Proposed {what} (round {proposal.round}).", "success")
    return _to_review(incident, "pmr")


@bp.route("/incidents/<reference>/review/summary-report", methods=["POST"])
@login_required
def summary_report(reference: str) -> Response:
    """Record that the DCC sent the Major Incident Summary Report."""
    incident = _load(reference)
    _require(permissions.can_write_report(current_user), "Only the DCC records the Summary Report.")
    if not forms.ActionForm().validate():
        flash("The form expired; reload the page and try again.", "error")
        return _to_review(incident)
    try:
        review_service.mark_summary_submitted(incident=incident, actor=current_user)
    except ConflictError as exc:
        return _refused(exc, url_for(".show", reference=reference))
    db.session.commit()
    flash("Recorded the Major Incident Summary Report as sent.", "success")
    return _to_review(incident)


@bp.route("/incidents/<reference>/review/exclusion-review", methods=["POST"])
@login_required
def review_exclusion(reference: str) -> Html | Response:
    """Record SECAS's outcome on the pending exclusion."""
    incident = _load(reference)
    _require(permissions.can_review_exclusion(current_user), "Only SECAS reviews exclusions.")
    form = forms.ExclusionReviewForm(prefix="secas")
    if not form.validate():
        return _render_show(incident, 422, secas=form)
    try:
        entry = review_service.review_exclusion(incident=incident, outcome=form.outcome.data or "",
                                                comment=form.comment.data or "", actor=current_user)
    except ConflictError as exc:
        return _refused(exc, url_for(".show", reference=reference))
    except ValidationError as exc:
        db.session.rollback()
        form.apply_errors(exc.errors, exc.detail)
        return _render_show(incident, 422, secas=form)
    db.session.commit()
    flash(f"{REVIEW_DONE[entry.outcome]} (round {entry.proposal.round}).", "success")
    return _to_review(incident, "pmr")


@bp.route("/incidents/<reference>/review/decision", methods=["POST"])
@login_required
def decide(reference: str) -> Html | Response:
    """Record the Operations Group's decision on the submitted report."""
    incident = _load(reference)
    _require(permissions.can_record_decision(current_user),
             "Only SECAS (as secretary) or an OPSG member records Operations Group decisions.")
    form = forms.DecisionForm(prefix="decision")
    if not form.validate():
        return _render_show(incident, 422, decision=form)
    try:
        decision = review_service.record_decision(incident=incident, actor=current_user, **form.to_data())
    except ConflictError as exc:
        return _refused(exc, url_for(".show", reference=reference))
    except ValidationError as exc:
        db.session.rollback()
        form.apply_errors(exc.errors, exc.detail)
        return _render_show(incident, 422, decision=form)
    db.session.commit()
    flash(f"Recorded the {decision.meeting} decision: {decision.outcome.value.replace('_', ' ')}.", "success")
    return _to_review(incident, "decisions")


@bp.route("/incidents/<reference>/review/publication", methods=["POST"])
@login_required
def publish(reference: str) -> Html | Response:
    """Publish the agreed version to SEC Parties."""
    incident = _load(reference)
    _require(permissions.can_publish(current_user), "Only SECAS publishes reports to SEC Parties.")
    form = forms.PublishForm(prefix="publish")
    if not form.validate():
        return _render_show(incident, 422, publish=form)
    try:
        publication = review_service.publish(incident=incident, classification=form.classification.data or "",
                                             actor=current_user)
    except ConflictError as exc:
        return _refused(exc, url_for(".show", reference=reference))
    except ValidationError as exc:
        db.session.rollback()
        form.apply_errors(exc.errors, exc.detail)
        return _render_show(incident, 422, publish=form)
    db.session.commit()
    flash(f"Published version {publication.report_version.number} to SEC Parties as "
          f"{publication.classification.value}.", "success")
    return _to_review(incident, "publications")


@bp.route("/incidents/<reference>/review/comments", methods=["POST"])
@login_required
def comment(reference: str) -> Html | Response:
    """Add a comment to the review."""
    incident = _load(reference)
    _require(permissions.can_comment(current_user), "You cannot comment on reviews.")
    form = forms.CommentForm(prefix="comment")
    if not form.validate():
        return _render_show(incident, 422, comment=form)
    try:
        review_service.add_comment(incident=incident, body=form.body.data or "", actor=current_user)
    except ConflictError as exc:
        return _refused(exc, url_for(".show", reference=reference))
    except ValidationError as exc:
        db.session.rollback()
        form.apply_errors(exc.errors, exc.detail)
        return _render_show(incident, 422, comment=form)
    db.session.commit()
    flash("Comment added.", "success")
    return _to_review(incident, "comments")


# --- The Review Report ----------------------------------------------------------------



def _report_context(incident: Incident, review: Review | None, version: ReportVersion | None,
                    publication: Publication | None = None) -> dict[str, Any]:
    """Return what a report page shows: narrative rendered safely, generated sections, banner."""
    model = report_service.view_model(incident, review, version)
    classification: Classification = publication.classification if publication else model["classification"]
    sections = model["sections"]
    return {
        "incident": incident,
        "version": version,
        "narrative": {key: render(sections.get(key)) for key in report_service.SECTION_KEYS},
        "section_labels": dict(report_service.SECTIONS),
        "generated": report_service.for_display(model["generated"]),
        "classification": classification,
        "classification_note": forms.CLASSIFICATION_NOTES[classification],
        "publication": publication,
    }


def _editor_closed(incident: Incident, review: Review | None) -> Response | None:
    """Send the person back with the reason when the report cannot be written now."""
    if not review_service.needs_review(incident):
        flash(f"{incident.reference} is Category {incident.category}; it has no Review Report.", "info")
        return _to_review(incident)
    if review is not None and review.report_state not in report_service.EDITABLE_STATES:
        flash("The report cannot be changed now: "
              f"{review_service.REPORT_LABELS[review.report_state]}.", "error")
        return _to_review(incident, "report")
    return None


def _render_editor(incident: Incident, review: Review | None, form: forms.ReportForm, status: int = 200,
                   stale: str = "") -> Html:
    latest = report_service.latest(review)
    page = render_template(
        "review/report_edit.html", incident=incident, form=form, errors=form.errors_by_field(), latest=latest,
        stale=stale, offers=_offers(incident, review),
        submit_form=forms.SubmitReportForm(formdata=None, data={"etag": report_service.report_etag(review)}))
    return (page, status) if status != 200 else page


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
    return render_template("review/report.html", **_report_context(incident, review, version),
                           latest=latest, offers=_offers(incident, review))


@bp.route("/incidents/<reference>/report/edit", methods=["GET", "POST"])
@login_required
def edit_report(reference: str) -> Html | Response:
    """Write the report: each save makes a new draft version."""
    incident = _load(reference)
    _require(permissions.can_write_report(current_user), "Only the DCC writes the Review Report.")
    review = review_service.get_review(incident)
    closed = _editor_closed(incident, review)
    if closed is not None:
        return closed
    etag = report_service.report_etag(review)
    if request.method == "GET":
        form = forms.ReportForm(formdata=None, data=forms.report_initial(report_service.latest(review), etag))
        return _render_editor(incident, review, form)
    form = forms.ReportForm()
    if not form.validate():
        return _render_editor(incident, review, form, 422)
    before = report_service.latest(review)
    try:
        version = report_service.save_draft(
            incident=incident, sections=form.sections(), classification=form.classification.data, actor=current_user,
            expected=_report_expected(form.etag.data, review))
    except StaleError as exc:
        db.session.rollback()
        review = review_service.get_review(incident)
        # The fresh ETag lets the person save their text on purpose as the next version.
        form.etag.data = report_service.report_etag(review)
        return _render_editor(incident, review, form, 409, stale=exc.detail)
    except ConflictError as exc:
        return _refused(exc, url_for(".show", reference=reference, _anchor="report"))
    except ValidationError as exc:
        db.session.rollback()
        form.apply_errors(exc.errors, exc.detail)
        return _render_editor(incident, review, form, 422)
    db.session.commit()
    if before is not None and version.number == before.number:
        flash(f"Nothing changed since version {version.number}; no new version saved.", "info")
    else:
        flash(f"Saved draft version {version.number}.", "success")
    return redirect(url_for(".edit_report", reference=reference))


@bp.route("/incidents/<reference>/report/autosave", methods=["POST"])
@login_required
def autosave(reference: str) -> Response:
    """Save the editor's text as a draft version and answer JSON {number, etag} (for the autosave script)."""
    try:
        incident = _load(reference)
        _require(permissions.can_write_report(current_user), "Only the DCC writes the Review Report.")
        review = review_service.get_review(incident)
        form = forms.ReportForm()
        if not form.validate():
            raise ValidationError({f.name: list(f.errors) for f in form if f.errors})
        version = report_service.save_draft(
            incident=incident, sections=form.sections(), classification=form.classification.data, actor=current_user,
            expected=_report_expected(form.etag.data, review))
    except StaleError as exc:
        db.session.rollback()
        newest = report_service.latest(review_service.get_review(incident))
        extra: dict[str, Any] = {}
        if newest is not None:
            extra = {"latest": newest.number,
                     "latest_url": url_for(".report", reference=reference, version=newest.number)}
        return problem(exc.status, exc.title, exc.detail, **extra)
    except ServiceError as exc:
        db.session.rollback()
        return problem(exc.status, exc.title, exc.detail, exc.errors)
    db.session.commit()
    review = review_service.get_review(incident)
    return jsonify({"number": version.number, "etag": report_service.report_etag(review),
                    "saved_at": format_local(version.created_at)})


@bp.route("/incidents/<reference>/report/submit", methods=["POST"])
@login_required
def submit_report(reference: str) -> Response:
    """Freeze the last saved version as the submitted report."""
    incident = _load(reference)
    _require(permissions.can_write_report(current_user), "Only the DCC submits the Review Report.")
    form = forms.SubmitReportForm()
    editor = url_for(".edit_report", reference=reference)
    if not form.validate():
        flash("The form expired; reload the page and try again.", "error")
        return redirect(editor)
    review = review_service.get_review(incident)
    sent = (form.etag.data or "").strip()
    if sent and sent != report_service.report_etag(review):
        latest = report_service.latest(review)
        flash(f"The report was saved again since you opened it (version {latest.number if latest else 0} is the "
              "latest). Check that version, then submit.", "error")
        return redirect(editor)
    try:
        version = report_service.submit(incident=incident, actor=current_user)
    except ValidationError as exc:
        return _refused(exc, editor)
    except ConflictError as exc:
        return _refused(exc, url_for(".show", reference=reference, _anchor="report"))
    db.session.commit()
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
    return render_template("review/versions.html", incident=incident, versions=listed,
                           offers=_offers(incident, review), notes=forms.CLASSIFICATION_NOTES)


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
        return render_template("review/diff.html", incident=incident, sections=None, numbers=numbers,
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
    return render_template("review/diff.html", incident=incident, sections=sections, numbers=numbers,
                           old=old, new=new)


# --- Published reports ------------------------------------------------------------------

@bp.route("/published")
@login_required
def published() -> Html:
    """List the reports published to SEC Parties, newest first."""
    rows = review_service.published_list(viewer=current_user)
    return render_template("published/list.html", rows=rows)


@bp.route("/published/<reference>")
@login_required
def published_report(reference: str) -> Html:
    """Show the published version of one report, and nothing of its internal review."""
    if "\x00" in reference:
        raise NotFound(f"No published report for {reference!r}.")
    incident, publication = review_service.get_published(reference, viewer=current_user)
    return render_template("published/report.html",
                           **_report_context(incident, publication.review, publication.report_version, publication))
