"""Withheld passages of the Review Report: the list (incident readers), marking and removing them (SECAS).

Handlers run load (404) -> permission (the service's rules) -> read the form -> one service call -> commit ->
flash and redirect.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from incidents.errors import ConflictError, ValidationError
from incidents.extensions import db
from incidents.incident import service as incident_service
from incidents.redaction import forms
from incidents.redaction import service as redaction_service
from incidents.redaction.models import Redaction
from incidents.review.models import Decision

bp = Blueprint("redaction", __name__)


def _page(reference: str, form: forms.MarkForm, status: int = 200) -> tuple[str, int]:
    incident = incident_service.get_incident(reference, viewer=current_user)
    review = redaction_service.review_of(incident)
    waiting = redaction_service.waiting_version(review)
    marked: list[tuple[int, Redaction, Decision | None]] = []
    for version in review.report_versions if review else []:
        for redaction in redaction_service.for_version(version):
            decision = db.session.get(Decision, redaction.decision_id) if redaction.decision_id else None
            marked.append((version.number, redaction, decision))
    refused = redaction_service.refusal(user=current_user, review=review)
    return render_template("redaction/index.html", incident=incident, waiting=waiting, marked=marked,
                           form=form, remove_form=forms.RemoveForm(formdata=None), refused=refused,
                           placeholder=redaction_service.placeholder), status


@bp.route("/incidents/<reference>/report/withheld")
@login_required
def index(reference: str) -> tuple[str, int]:
    """List the passages withheld from SEC Parties, version by version, and the decision that covered each."""
    return _page(reference, forms.MarkForm(formdata=None))


@bp.route("/incidents/<reference>/report/withheld", methods=["POST"])
@login_required
def mark(reference: str) -> Response | tuple[str, int]:
    """Withhold a passage of the version waiting for the group."""
    incident = incident_service.get_incident(reference, viewer=current_user)
    form = forms.MarkForm()
    if not form.validate():
        flash("The form expired; reload the page and try again.", "error")
        return redirect(url_for(".index", reference=incident.reference))
    try:
        redaction_service.mark(incident=incident, passage=form.passage.data or "", reason=form.reason.data or "",
                               actor=current_user)
        db.session.commit()
    except ValidationError as exc:
        db.session.rollback()
        for name, messages in exc.errors.items():
            getattr(form, name).errors = list(messages)
        return _page(reference, form, 422)
    except ConflictError as exc:
        db.session.rollback()
        flash(exc.detail, "error")
        return redirect(url_for(".index", reference=incident.reference))
    flash("The passage will be withheld from SEC Parties once the group's decision covers it.", "success")
    return redirect(url_for(".index", reference=incident.reference))


@bp.route("/incidents/<reference>/report/withheld/<int:redaction_id>/remove", methods=["POST"])
@login_required
def remove(reference: str, redaction_id: int) -> Response:
    """Stop withholding a passage the group has not decided on yet."""
    incident = incident_service.get_incident(reference, viewer=current_user)
    back = url_for(".index", reference=incident.reference)
    if not forms.RemoveForm().validate():
        flash("The form expired; reload the page and try again.", "error")
        return redirect(back)
    try:
        redaction_service.remove(incident=incident, redaction_id=redaction_id, actor=current_user)
        db.session.commit()
    except ConflictError as exc:
        db.session.rollback()
        flash(exc.detail, "error")
        return redirect(back)
    flash("The passage is no longer withheld.", "success")
    return redirect(back)
