"""The import page: the DCC uploads an ITSM export, tries it (dry run), then imports it."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from incidents import permissions
from incidents.errors import PermissionDenied, ValidationError
from incidents.extensions import db
from incidents.importer import forms
from incidents.importer import service as import_service

bp = Blueprint("importer", __name__)

Html = str | tuple[str, int]


@bp.route("/incidents/import", methods=["GET", "POST"])
@login_required
def upload() -> Html:
    """Show the upload form; on a post, import the file (or dry-run it) and list every row's outcome."""
    if not permissions.can_edit_incidents(current_user):
        raise PermissionDenied("Only the DCC and administrators import incidents.")
    form = forms.ImportForm()
    report = None
    status = 200
    if form.validate_on_submit():
        upload: Any = form.file.data
        chosen_mapping: Any = form.mapping.data
        try:
            if upload is None or not upload.filename:
                raise ValidationError({"file": ["Choose the export to import."]})
            mapping = None
            if chosen_mapping is not None and chosen_mapping.filename:
                try:
                    mapping = import_service.read_mapping(chosen_mapping.read().decode("utf-8"))
                except UnicodeDecodeError:
                    raise ValidationError({"mapping": ["The mapping is not UTF-8 text."]}) from None
            rows, notes = import_service.read_file(upload.read(), name=upload.filename, mapping=mapping)
            report = import_service.run(rows, actor=current_user, dry_run=bool(form.dry_run.data),
                                        source=upload.filename, notes=notes)
        except ValidationError as exc:
            db.session.rollback()
            form.apply_errors(exc.errors, exc.detail)
            status = 422
        else:
            if report.dry_run:
                db.session.rollback()
            else:
                db.session.commit()
    elif form.is_submitted():
        status = 422
    page = render_template("importer/upload.html", form=form, errors=form.errors_by_field(), report=report)
    return (page, status) if status != 200 else page
