"""Idempotency keys: claim one before a change, record the answer with the change, replay it for a repeat.

The API takes the ``Idempotency-Key`` header (IETF httpapi draft
"The Idempotency-Key HTTP Header Field"): the same key and the same request
replay the first answer; the same key with another request is 422. A form
carries the same kind of key in a hidden field, made when the form is shown,
so a form sent twice (a double click, a resend) is saved once.

The claim is a row in ``idempotency_key``, unique per user and key, inserted
in the request's transaction before the change and committed with it. Two
requests under one key at the same instant: the second's insert waits for the
first's commit, then fails on the unique key, and the second reads the first's
answer. Nothing is read first and then written: the database decides.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from incidents.errors import ConflictError, ValidationError
from incidents.extensions import db
from incidents.idempotency.models import IdempotencyKey
from incidents.timeutil import utcnow
from incidents.user.models import User

MAX_KEY_LENGTH = 255
FORM_PREFIX = "form:"  # form keys and API keys never meet


class KeyReused(ValidationError):
    """The key was sent before with another request (the draft's 422)."""

    def __init__(self) -> None:
        message = "This key was already used for a different request; send a new key for a new request."
        super().__init__({"Idempotency-Key": [message]},
                         "The Idempotency-Key was already used for a different request.")


@dataclass
class Claim:
    """A key claimed for this request: ``replay`` holds the first answer when the request was seen before."""

    row: IdempotencyKey
    replay: bool


def request_fingerprint(method: str, path: str, parts: Iterable[bytes]) -> str:
    """Return the fingerprint of a request: its method, path and body."""
    digest = hashlib.sha256(f"{method} {path}\n".encode())
    for part in parts:
        digest.update(len(part).to_bytes(8, "big"))
        digest.update(part)
    return digest.hexdigest()


def claim(*, user: User, key: str, fingerprint: str, now: datetime | None = None) -> Claim:
    """Claim ``key`` for this request, or return the first request's row to replay.

    Call it before any other write of the request: when the key is taken, the
    transaction is rolled back (nothing of this request is lost by that) and
    the first answer read. Raise KeyReused when the first request was another.
    """
    now = now or utcnow()
    kept = timedelta(hours=float(current_app.config["IDEMPOTENCY_KEY_HOURS"]))
    # A key past its time is forgotten (the user's others too): reused later, it is a new request.
    db.session.execute(sa.delete(IdempotencyKey).where(IdempotencyKey.user_id == user.id,
                                                       IdempotencyKey.created_at < now - kept))
    row = IdempotencyKey(user_id=user.id, key=key, fingerprint=fingerprint, created_at=now)
    db.session.add(row)
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        first = db.session.scalar(sa.select(IdempotencyKey).where(IdempotencyKey.user_id == user.id,
                                                                  IdempotencyKey.key == key))
        if first is None:  # forgotten at this very moment: the client may simply retry
            raise ConflictError("The request clashed with another under the same key. Retry it.") from None
        if first.fingerprint != fingerprint:
            raise KeyReused() from None
        if first.status is None:
            raise ConflictError("A request under this Idempotency-Key is still being processed. Retry it shortly.") \
                from None
        return Claim(row=first, replay=True)
    return Claim(row=row, replay=False)


def record(claimed: Claim, *, status: int, body: str | None, content_type: str | None = None,
           location: str | None = None, etag: str | None = None) -> None:
    """Keep the answer to a claimed key, to be committed with the change it reports."""
    row = claimed.row
    row.status, row.body, row.content_type, row.location, row.etag = status, body, content_type, location, etag
