"""A form's submission key: a hidden field made when the form is shown, claimed as an idempotency key when sent.

The same page sent twice (a double click, a resend, two tabs at once) carries
the same key, so the second is answered as the first was (the same redirect
and message) and nothing is saved twice; a form shown again has a new key.
"""
from __future__ import annotations

import re
import secrets

from flask import flash, redirect, request
from werkzeug.wrappers import Response
from wtforms import HiddenField

from incidents.errors import ValidationError
from incidents.idempotency import service as idempotency_service
from incidents.idempotency.models import IdempotencyKey
from incidents.user.models import User

FIELD = "submission"
_TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16,64}")


def new_token() -> str:
    """Return a fresh submission key for a form being shown."""
    return secrets.token_urlsafe(18)


def submission_field() -> HiddenField:
    """Return the hidden field that carries a form's submission key."""
    return HiddenField(default=new_token)


def claim(token: str | None, *, actor: User) -> idempotency_service.Claim | None:
    """Claim the form's submission key before its change (None for a form sent without a valid one)."""
    if not token or not _TOKEN_RE.fullmatch(token):
        return None
    # What was sent, but the keys themselves: the CSRF token changes with the session, not with the form.
    fields = sorted((name, value) for name, value in request.form.items(multi=True)
                    if name != "csrf_token" and name.rpartition("-")[2] != FIELD)
    fingerprint = idempotency_service.request_fingerprint(
        request.method, request.path, [f"{name}={value}".encode() for name, value in fields])
    try:
        return idempotency_service.claim(user=actor, key=idempotency_service.FORM_PREFIX + token,
                                         fingerprint=fingerprint)
    except idempotency_service.KeyReused:
        message = "This form was already sent with other text. Reload the page to send a new one."
        raise ValidationError({FIELD: [message]}, message) from None


def record(claimed: idempotency_service.Claim | None, *, location: str, message: str) -> None:
    """Keep the answer (the redirect and its message) with the change, for a repeat to replay."""
    if claimed is not None:
        idempotency_service.record(claimed, status=302, body=message, location=location)


def replay(row: IdempotencyKey) -> Response:
    """Answer a form sent again as the first was answered: its message and its redirect."""
    if row.body:
        flash(row.body, "success")
    return redirect(row.location or "/", row.status or 302)
