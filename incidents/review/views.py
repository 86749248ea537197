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
from typing import Any

from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user, login_required
from flask_wtf.csrf import generate_csrf
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response

from incidents import labels
from incidents.action import service as action_service
from incidents.errors import (
    ConflictError,
    NotFound,
    ServiceError,
    StaleError,
    ValidationError,
)
from incidents.extensions import db
from incidents.idempotency import forms as form_keys
from incidents.incident import service as incident_service
from incidents.incident.models import Incident
from incidents.meeting import service as meeting_service
from incidents.principle import service as principle_service
from incidents.principle.models import title_for
from incidents.report import forms as report_forms
from incidents.report import service as report_service
from incidents.report.markdown import render as render_markdown
from incidents.review import confirm, forms, workflow
from incidents.review import service as review_service
from incidents.review.models import (
    ExclusionState,
    ReportState,
    Review,
    ReviewOutcome,
)
from incidents.review.workflow import Step
from incidents.timeutil import local_date, utcnow

bp = Blueprint("review", __name__)

Html = str | tuple[str, int]
_NUMBER = re.compile(r"^[0-9]{1,9}$")
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


def _where(review: Review | None) -> str:
    """Describe where the review stands, to say what changed when a save lost a race."""
    exclusion = review.exclusion_state if review else ExclusionState.NOT_PROPOSED
    report = review.report_state if review else ReportState.NOT_STARTED
    return f"{review_service.REPORT_LABELS[report]}; {review_service.EXCLUSION_LABELS[exclusion]}"


def _lost_race(incident: Incident, before: str, **posted: Any) -> Html:
    """Answer 409 with the review as it now stands, when someone else saved it between our read and our write."""
    db.session.rollback()
    now = _where(review_service.get_review(incident))
    for form in posted.values():
        form.apply_errors({}, (f"Someone else changed this review while you were saving, so nothing of yours was "
                               f"saved. Before: {before}. Now: {now}. Check the page, then send your entry again "
                               "if it still applies (it is kept in the form)."))
    return _render_show(incident, 409, **posted)


def _confirmed() -> bool:
    """Tell whether the person pressed the confirmation page's button (anything else only shows the page)."""
    return request.method == "POST" and request.form.get("confirm") == "yes"


def _carried(form: Any) -> list[tuple[str, str]]:
    """Return the form's fields as sent, to carry through the confirmation page so nothing typed is lost.

    The CSRF token is not carried but made afresh for the page: the one sent may be another form's (the check
    accepts any of the session's), and the person may read the page a while before confirming.
    """
    carried = [(field.name, request.form.get(field.name, "")) for field in form
               if not field.name.endswith("csrf_token")]
    carried.append(("csrf_token", generate_csrf()))
    return carried


def render_confirm(incident: Incident, preview: confirm.Preview, *, action: str, hidden: list[tuple[str, str]],
                   back_url: str, back_label: str = "Cancel and go back", back_posts: bool = False,
                   notice: str = "", status: int = 200) -> Html:
    """Render a confirmation page; a step that is not allowed now shows why instead (409 when it was sent)."""
    if preview.refusal is not None and status == 200 and request.method == "POST":
        status = 409
    page = render_template("review/confirm.html", incident=incident, preview=preview, action=action,
                           hidden=hidden, back_url=back_url, back_label=back_label, back_posts=back_posts,
                           notice=notice)
    return (page, status) if status != 200 else page


def _offers(incident: Incident, review: Review | None) -> workflow.Offers:
    return workflow.offers(user=current_user, incident=incident, review=review)


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
    waiting = review_service.awaiting_version(review)
    decision = posted.get("decision") or forms.DecisionForm(formdata=None, prefix="decision",
                                                            data=forms.decision_initial(waiting))
    decision.setup(meeting_service.held_by(local_date(utcnow())), waiting.number if waiting else None)
    agreed = review_service.agreed_decision(review) if review else None
    page_forms = {
        "propose": propose,
        "secas": posted.get("secas") or forms.ExclusionReviewForm(formdata=None, prefix="secas"),
        "decision": decision,
        "publish": posted.get("publish") or forms.PublishForm(formdata=None, prefix="publish",
                                                              data=forms.publish_initial(agreed)),
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
        steps=workflow.next_steps(incident, review),
        latest=latest,
        waiting=waiting,
        agreed=agreed,
        summary_due_on=incident_service.derive(incident).summary_report_due_on,
        action_form=forms.ActionForm(formdata=None),
        submit_form=report_forms.SubmitReportForm(formdata=None, data={"etag": report_service.report_etag(review)}),
        offers=offers,
        forms=page_forms,
        errors=errors,
        outcome_labels=forms.REVIEW_OUTCOME_LABELS,
        decision_labels=forms.DECISION_OUTCOME_LABELS,
        notes=forms.CLASSIFICATION_NOTES,
        action_slug=action_service.slug,
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
    workflow.require_role(Step.PROPOSE, current_user)
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
    what = f"exclusion citing “{title_for(proposal.principle_code)}”" if proposal.exclude else "inclusion in the PMR"
    flash(f"Proposed {what} (round {proposal.round}).", "success")
    return _to_review(incident, "pmr")


@bp.route("/incidents/<reference>/summary-report", methods=["GET", "POST"])
@login_required
def summary_report(reference: str) -> Html | Response:
    """Show the Major Incident Summary Report's versions; the DCC saves a version, as a draft or as sent."""
    incident = _load(reference)
    if request.method == "GET":
        return _render_summary(incident)
    workflow.require_role(Step.SUMMARY_REPORT, current_user)
    form = forms.SummaryReportForm()
    if not form.validate():
        return _render_summary(incident, 422, form)
    is_sent = form.intent.data == "sent"
    try:
        version = review_service.record_summary_report(incident=incident, draft=form.to_draft(is_sent=is_sent),
                                                       actor=current_user, expected=form.etag.data or None)
    except ConflictError as exc:
        return _refused(exc, url_for(".summary_report", reference=reference))
    except (StaleError, StaleDataError) as exc:
        db.session.rollback()
        form.apply_errors({}, exc.detail if isinstance(exc, StaleError) else (
            "Someone else saved the Summary Report at the same moment, so nothing of yours was saved. "
            "Your text is kept in the form."))
        form.etag.data = review_service.summary_etag(review_service.get_review(incident))
        return _render_summary(incident, 409, form)
    except ValidationError as exc:
        db.session.rollback()
        form.apply_errors(exc.errors, exc.detail)
        return _render_summary(incident, 422, form)
    db.session.commit()
    if version.sent_at is not None:
        flash(f"Recorded Summary Report version {version.number} as sent.", "success")
    else:
        flash(f"Saved Summary Report version {version.number} as a draft.", "success")
    return redirect(url_for(".summary_report", reference=reference))


def _render_summary(incident: Incident, status: int = 200, form: forms.SummaryReportForm | None = None) -> Html:
    """Render the Summary Report page; ``form`` is a form sent back with its messages."""
    review = review_service.get_review(incident)
    latest = review_service.latest_summary(review)
    form = form or forms.SummaryReportForm(
        formdata=None, data=forms.summary_initial(latest, review_service.summary_etag(review), utcnow()))
    versions = [(version, {key: render_markdown(version.sections.get(key)) for key, _ in
                           review_service.SUMMARY_SECTIONS})
                for version in reversed(review.summary_versions if review else [])]
    page = render_template(
        "review/summary.html", incident=incident, review=review, versions=versions, form=form,
        errors=form.errors_by_field(), offers=_offers(incident, review),
        needs_review=review_service.needs_review(incident),
        sections=review_service.SUMMARY_SECTIONS,
        summary_due_on=incident_service.derive(incident).summary_report_due_on)
    return (page, status) if status != 200 else page


@bp.route("/incidents/<reference>/review/exclusion-review", methods=["POST"])
@login_required
def review_exclusion(reference: str) -> Html | Response:
    """Record SECAS's outcome on the pending exclusion."""
    incident = _load(reference)
    workflow.require_role(Step.REVIEW_EXCLUSION, current_user)
    form = forms.ExclusionReviewForm(prefix="secas")
    if not form.validate():
        return _render_show(incident, 422, secas=form)
    try:
        entry = review_service.review_exclusion(incident=incident, actor=current_user, **form.to_data())
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
    workflow.require_role(Step.RECORD_DECISION, current_user)
    form = forms.DecisionForm(prefix="decision")
    if request.form.get("confirm") == "back":
        return _render_show(incident, decision=form)  # back to the form as typed
    if not form.validate():
        return _render_show(incident, 422, decision=form)
    if not _confirmed():
        return _confirm_decision(incident, form)
    before = _where(review_service.get_review(incident))
    try:
        decision = review_service.record_decision(incident=incident, actor=current_user, **form.to_data())
        db.session.commit()
    except StaleDataError:
        return _lost_race(incident, before, decision=form)
    except ConflictError as exc:
        return _refused(exc, url_for(".show", reference=reference))
    except ValidationError as exc:
        db.session.rollback()
        form.apply_errors(exc.errors, exc.detail)
        return _render_show(incident, 422, decision=form)
    flash(f"Recorded the {decision.meeting} decision: {labels.label(decision.outcome).lower()}.", "success")
    return _to_review(incident, "decisions")


def _confirm_decision(incident: Incident, form: forms.DecisionForm) -> Html | Response:
    """Show what recording the decision does, once the service would record it; otherwise the form's messages."""
    data = form.to_data()
    refused = confirm.try_decision(incident=incident, user=current_user, data=data)
    if isinstance(refused, ConflictError):
        return _refused(refused, url_for(".show", reference=incident.reference, _anchor="decisions"))
    if refused is not None:
        form.apply_errors(refused.errors, refused.detail)
        return _render_show(incident, refused.status if refused.status in (409, 422) else 422, decision=form)
    preview = confirm.decision(incident=incident, user=current_user, data=data)
    return render_confirm(incident, preview, action=url_for(".decide", reference=incident.reference),
                         hidden=_carried(form), back_posts=True, back_label="Go back and change the decision",
                         back_url=url_for(".show", reference=incident.reference, _anchor="decisions"))


def _confirm_publish(incident: Incident, form: forms.PublishForm, notice: str = "", status: int = 200) -> Html:
    preview = confirm.publish(incident=incident, user=current_user, classification=form.level())
    hidden = [("csrf_token", generate_csrf()), ("publish-classification", form.classification.data or ""),
              ("publish-version", str(preview.version or ""))]
    return render_confirm(incident, preview, action=url_for(".publish", reference=incident.reference), hidden=hidden,
                          back_url=url_for(".show", reference=incident.reference, _anchor="publications"),
                          notice=notice, status=status)


@bp.route("/incidents/<reference>/review/publication", methods=["GET", "POST"])
@login_required
def publish(reference: str) -> Html | Response:
    """Publish the agreed version to SEC Parties, once the person has confirmed on the page saying what it does."""
    incident = _load(reference)
    workflow.require_role(Step.PUBLISH, current_user)
    if request.method == "GET":
        review = review_service.get_review(incident)
        agreed = review_service.agreed_decision(review) if review else None
        return _confirm_publish(incident, forms.PublishForm(formdata=None, prefix="publish",
                                                            data=forms.publish_initial(agreed)))
    form = forms.PublishForm(prefix="publish")
    if not form.validate():
        return _render_show(incident, 422, publish=form)
    if not _confirmed():
        return _confirm_publish(incident, form)
    review = review_service.get_review(incident)
    agreed = review_service.agreed_decision(review) if review else None
    if agreed is not None and (form.version.data or "") != str(agreed.report_version.number):
        # The page confirmed another version than the one agreed now: confirm again what would happen.
        return _confirm_publish(incident, form, status=409, notice=(
            f"The version agreed for publication is now version {agreed.report_version.number}, not the one you "
            "confirmed; nothing was published. Check what will happen, then confirm again."))
    before = _where(review)
    try:
        publication = review_service.publish(incident=incident, actor=current_user, classification=form.level())
        db.session.commit()
    except StaleDataError:
        return _lost_race(incident, before, publish=form)
    except ConflictError as exc:
        return _refused(exc, url_for(".show", reference=reference))
    except ValidationError as exc:
        db.session.rollback()
        form.apply_errors(exc.errors, exc.detail)
        return _render_show(incident, 422, publish=form)
    flash(f"Published version {publication.report_version.number} to SEC Parties as "
          f"{publication.classification.value}.", "success")
    return _to_review(incident, "publications")


@bp.route("/incidents/<reference>/review/comments", methods=["POST"])
@login_required
def comment(reference: str) -> Html | Response:
    """Add a comment to the review."""
    incident = _load(reference)
    workflow.require_role(Step.COMMENT, current_user)
    form = forms.CommentForm(prefix="comment")
    claimed = form_keys.claim(form.submission.data, actor=current_user)
    if claimed is not None and claimed.replay:
        return form_keys.replay(claimed.row)  # this very form was sent before: the comment is there
    if not form.validate():
        return _render_show(incident, 422, comment=form)
    try:
        review_service.add_comment(incident=incident, body=form.text(), actor=current_user)
    except ConflictError as exc:
        return _refused(exc, url_for(".show", reference=reference))
    except ValidationError as exc:
        db.session.rollback()
        form.apply_errors(exc.errors, exc.detail)
        return _render_show(incident, 422, comment=form)
    target = url_for(".show", reference=incident.reference, _anchor="comments")
    form_keys.record(claimed, location=target, message="Comment added.")
    db.session.commit()
    flash("Comment added.", "success")
    return redirect(target)


