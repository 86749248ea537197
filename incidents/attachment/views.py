"""Attachment pages: the incident's evidence, grouped by what it hangs on; upload, download and delete.

Handlers run load (404) -> permission (403, asked of the service's rules) -> read the form -> one service call
-> commit -> flash and redirect. Downloads are always sent as attachments with a safe name, under a type that
cannot run in the browser, with ``nosniff`` and a sandboxing Content-Security-Policy.
"""
from __future__ import annotations

import io

import flask
from flask import (
    Blueprint,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user, login_required
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response

from incidents.attachment import forms
from incidents.attachment import service as attachment_service
from incidents.attachment.storage import StorageUnavailable
from incidents.errors import (
    ConflictError,
    NotFound,
    ValidationError,
    error_response,
)
from incidents.extensions import db
from incidents.incident import service as incident_service
from incidents.incident.models import Incident, TimelineEntry
from incidents.timeutil import format_local

bp = Blueprint("attachment", __name__)
# Room for the form's other fields and the multipart framing around the file itself.
FORM_OVERHEAD = 64 * 1024
DOWNLOAD_POLICY = "default-src 'none'; sandbox"


def _load(reference: str) -> Incident:
    return incident_service.get_incident(reference, viewer=current_user)


def _entry_label(entry: TimelineEntry) -> str:
    text = entry.text if len(entry.text) <= 60 else entry.text[:57] + "..."
    return f"{format_local(entry.occurred_at)}, {text}"


def allow_upload_size() -> None:
    """Let this request's body be as large as an attachment may be (the app's limit stays small elsewhere)."""
    request.max_content_length = attachment_service.limits().max_bytes + FORM_OVERHEAD


@bp.app_errorhandler(RequestEntityTooLarge)
def too_large(exc: RequestEntityTooLarge) -> Response | tuple[str, int]:
    """Answer an oversized request with a 413 that says the limit, as a page or a problem; nothing was stored."""
    db.session.rollback()
    if request.max_content_length is not None and request.max_content_length > FORM_OVERHEAD \
            and request.endpoint in ("attachment.upload", "api.upload_attachment"):
        detail = (f"The file is larger than the limit of {attachment_service.limits().max_label}; nothing was "
                  "stored. Choose a smaller file, or split it.")
    else:
        limit = request.max_content_length or 0
        detail = (f"The request is larger than the limit of {attachment_service.size_label(limit)}; nothing was "
                  "saved. Send less at once.")
    return error_response(413, "Too large", detail)


@bp.route("/incidents/<reference>/attachments")
@login_required
def index(reference: str) -> str:
    """Show the incident's attachments by what they hang on, with an upload form where the viewer may add."""
    incident = _load(reference)
    holders = attachment_service.holders(incident, viewer=current_user, describe_entry=_entry_label)
    return render_template("attachment/index.html", incident=incident, holders=holders,
                           limits=attachment_service.limits(), form=forms.UploadForm(formdata=None),
                           delete_form=forms.DeleteForm(formdata=None), size_label=attachment_service.size_label)


@bp.route("/incidents/<reference>/attachments", methods=["POST"])
@login_required
def upload(reference: str) -> Response:
    """Keep an uploaded file as evidence, or say why it was refused; a refused file leaves nothing stored."""
    incident = _load(reference)
    attachment_service.require_attacher(current_user)
    allow_upload_size()
    back = url_for(".index", reference=incident.reference)
    form = forms.UploadForm()
    if not form.validate():
        flash("The form expired; reload the page and try again.", "error")
        return redirect(back)
    sent = request.files.get("file")
    try:
        target, key = attachment_service.parse_target(form.target.data)
        if sent is None or not sent.filename:
            raise ValidationError({"file": ["Choose a file to upload."]})
        attachment = attachment_service.upload(
            incident=incident, target=target, key=key, filename=sent.filename, data=sent.read(),
            actor=current_user)
        db.session.commit()
    except (ValidationError, ConflictError, NotFound, StorageUnavailable) as exc:
        db.session.rollback()
        for messages in exc.errors.values():
            for message in messages:
                flash(message, "error")
        if not exc.errors:
            flash(exc.detail, "error")
        return redirect(back)
    flash(f"Attached {attachment.filename} ({attachment_service.size_label(attachment.size)}, "
          f"SHA-256 {attachment.sha256}).", "success")
    return redirect(back + f"#attachment-{attachment.id}")


@bp.route("/incidents/<reference>/attachments/<int:attachment_id>")
@login_required
def download(reference: str, attachment_id: int) -> flask.Response:
    """Send the file as a download (never shown inline), under its safe name."""
    incident = _load(reference)
    attachment = attachment_service.get(incident, attachment_id)
    return send_attachment(attachment)


def send_attachment(attachment: attachment_service.Attachment) -> flask.Response:
    """Answer with the attachment's bytes as a download: safe name, nosniff, sandboxed, checked hash."""
    data = attachment_service.read(attachment)
    response = send_file(io.BytesIO(data), mimetype=attachment.media_type, as_attachment=True,
                         download_name=attachment_service.download_name(attachment), etag=attachment.sha256,
                         max_age=0)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = DOWNLOAD_POLICY
    return response


@bp.route("/incidents/<reference>/attachments/<int:attachment_id>/delete", methods=["POST"])
@login_required
def delete(reference: str, attachment_id: int) -> Response:
    """Delete an attachment; the audit trail keeps its name and SHA-256."""
    incident = _load(reference)
    attachment_service.require_attacher(current_user)
    back = url_for(".index", reference=incident.reference)
    if not forms.DeleteForm().validate():
        flash("The form expired; reload the page and try again.", "error")
        return redirect(back)
    try:
        attachment = attachment_service.delete(incident=incident, attachment_id=attachment_id, actor=current_user)
        db.session.commit()
    except (ConflictError, StorageUnavailable) as exc:
        db.session.rollback()
        flash(exc.detail, "error")
        return redirect(back)
    flash(f"Deleted {attachment.filename}; the audit trail keeps its SHA-256 {attachment.sha256}.", "success")
    return redirect(back)
