"""JSON API v1, attachments: list, upload (multipart/form-data: ``target`` and ``file``) and download.

The same service as the pages decides: who may see (the incident's readers), who may add (the rules of the thing
it hangs on), what is accepted (size, and the type found from the content).
"""
from __future__ import annotations

from flask import Response, request, url_for

from incidents.api import attachment_schemas as schemas
from incidents.api import auth, protocol
from incidents.api.blueprint import load_incident
from incidents.attachment import service as attachment_service
from incidents.attachment.models import Attachment
from incidents.attachment.views import allow_upload_size, send_attachment
from incidents.errors import ValidationError
from incidents.extensions import db
from incidents.incident.models import Incident


def _present(incident: Incident, attachment: Attachment) -> schemas.Attachment:
    return schemas.present_attachment(
        attachment, target=attachment_service.target_name(attachment),
        is_frozen=attachment_service.frozen(attachment),
        download_url=url_for("api.download_attachment", reference=incident.reference, attachment_id=attachment.id))


def list_attachments(reference: str) -> Response:
    """List the incident's attachments with their SHA-256 and what each hangs on."""
    incident = load_incident(reference, auth.current_user())
    items = [_present(incident, a) for a in attachment_service.for_incident(incident)]
    return protocol.respond(schemas.AttachmentList(items=items))


def upload_attachment(reference: str) -> Response:
    """Upload a file (multipart/form-data: ``target``, ``file``); refused whole, with a reason, if any check fails."""
    user = auth.current_user()
    incident = load_incident(reference, user)
    attachment_service.require_attacher(user)
    allow_upload_size()
    if request.mimetype != "multipart/form-data":
        raise ValidationError({"file": ["Send the file as multipart/form-data with the fields 'target' and 'file'."]})
    target, key = attachment_service.parse_target(request.form.get("target"))
    sent = request.files.get("file")
    if sent is None or not sent.filename:
        raise ValidationError({"file": ["Send one file in the field 'file', with its file name."]})
    with protocol.write_guard():
        attachment = attachment_service.upload(incident=incident, target=target, key=key, filename=sent.filename,
                                               data=sent.read(), actor=user)
        db.session.commit()
    answer = _present(incident, attachment)
    return protocol.respond(answer, 201, location=answer.download_url)


def download_attachment(reference: str, attachment_id: int) -> Response:  # flask's Response, as send_file's
    """Download a file: always as an attachment, under a safe name, never to be run by a browser."""
    incident = load_incident(reference, auth.current_user())
    return send_attachment(attachment_service.get(incident, attachment_id))
