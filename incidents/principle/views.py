"""Exclusion principle pages: everyone who reviews incidents reads the list; administrators change it.

Handlers run load (404) -> check the role (403) -> read the form -> one
service call -> commit -> flash and redirect, or render again with the
service's messages on the fields.
"""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from werkzeug.wrappers import Response

from incidents import permissions
from incidents.errors import ConflictError, PermissionDenied, ValidationError
from incidents.extensions import db
from incidents.principle import forms
from incidents.principle import service as principle_service
from incidents.principle.models import ExclusionPrinciple
from incidents.review.forms import ActionForm

bp = Blueprint("principle", __name__, url_prefix="/principles")

Html = str | tuple[str, int]


def _require_reader() -> None:
    if not permissions.can_view_principles(current_user):
        raise PermissionDenied("Exclusion principles are for the DCC, SECAS, the Operations Group and administrators.")


def _require_admin() -> None:
    if not permissions.can_manage_principles(current_user):
        raise PermissionDenied("Only administrators can change exclusion principles.")


def _load(code: str) -> ExclusionPrinciple:
    _require_reader()
    return principle_service.get_principle(code)


def _render_index(add_form: forms.AddPrincipleForm | None = None, status: int = 200) -> Html:
    form = add_form or forms.AddPrincipleForm(formdata=None, prefix="add")
    page = render_template("principle/index.html", principles=principle_service.list_principles(),
                           add_form=form, errors=form.errors_by_field(), action_form=ActionForm(formdata=None),
                           can_manage=permissions.can_manage_principles(current_user))
    return (page, status) if status != 200 else page


def _render_reword(principle: ExclusionPrinciple, form: forms.RewordForm, status: int = 200) -> Html:
    page = render_template("principle/reword.html", principle=principle, form=form, errors=form.errors_by_field())
    return (page, status) if status != 200 else page


@bp.route("")
@login_required
def index() -> Html:
    """List live and retired principles with every wording each has had."""
    _require_reader()
    return _render_index()


@bp.route("", methods=["POST"])
@login_required
def add() -> Html | Response:
    """Add a principle with its first wording."""
    _require_reader()
    _require_admin()
    form = forms.AddPrincipleForm(prefix="add")
    if not form.validate():
        return _render_index(form, 422)
    try:
        principle = principle_service.add_principle(code=form.code.data or "", wording=form.wording.data or "",
                                                    basis=form.basis.data or "", actor=current_user)
    except ValidationError as exc:
        db.session.rollback()
        form.apply_errors(exc.errors, exc.detail)
        return _render_index(form, 422)
    db.session.commit()
    flash(f"Added {principle.code}.", "success")
    return redirect(url_for(".index", _anchor=f"principle-{principle.code}"))


@bp.route("/<code>/reword", methods=["GET", "POST"])
@login_required
def reword(code: str) -> Html | Response:
    """Give a principle a new wording; proposals keep the wording they cited."""
    principle = _load(code)
    _require_admin()
    if principle.is_retired:
        flash(f"{principle.code} is retired; reinstate it before rewording it.", "error")
        return redirect(url_for(".index", _anchor=f"principle-{principle.code}"))
    form = forms.RewordForm(data={"wording": principle.current.wording, "basis": principle.current.basis})
    if not form.is_submitted():
        return _render_reword(principle, form)
    if not form.validate():
        return _render_reword(principle, form, 422)
    before = principle.current.number
    try:
        version = principle_service.reword(principle=principle, wording=form.wording.data or "",
                                           basis=form.basis.data or "", actor=current_user)
    except ConflictError as exc:
        db.session.rollback()
        flash(exc.detail, "error")
        return redirect(url_for(".index", _anchor=f"principle-{code}"))
    except ValidationError as exc:
        db.session.rollback()
        form.apply_errors(exc.errors, exc.detail)
        return _render_reword(principle, form, 422)
    db.session.commit()
    if version.number == before:
        flash(f"The wording and basis of {code} are unchanged.", "info")
    else:
        flash(f"Reworded {code} (version {version.number}); earlier proposals keep the wording they cited.", "success")
    return redirect(url_for(".index", _anchor=f"principle-{code}"))


def _set_retired(code: str, retired: bool) -> Response:
    principle = _load(code)
    _require_admin()
    if not ActionForm().validate():
        flash("The form expired; reload the page and try again.", "error")
        return redirect(url_for(".index"))
    principle_service.set_retired(principle=principle, retired=retired, actor=current_user)
    db.session.commit()
    if retired:
        flash(f"Retired {code}: it can no longer be cited. Proposals that cited it keep its wording.", "success")
    else:
        flash(f"Reinstated {code}: it can be cited again.", "success")
    return redirect(url_for(".index", _anchor=f"principle-{code}"))


@bp.route("/<code>/retire", methods=["POST"])
@login_required
def retire(code: str) -> Response:
    """Retire a principle so it can no longer be cited."""
    return _set_retired(code, True)


@bp.route("/<code>/reinstate", methods=["POST"])
@login_required
def reinstate(code: str) -> Response:
    """Reinstate a retired principle."""
    return _set_retired(code, False)
