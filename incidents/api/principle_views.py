"""JSON API v1, exclusion principles: read by everyone who reads incidents, changed by administrators.

A rewording is a new version (decisions keep the exact wording they cited),
so two administrators rewording at once lose nothing: no If-Match here.
A code already used is 409, as a duplicate incident reference is.
"""
from __future__ import annotations

from flask import Response, url_for

from incidents import permissions
from incidents.api import auth, protocol
from incidents.api import principle_schemas as schemas
from incidents.api.blueprint import is_lookup_key
from incidents.errors import DuplicateError, NotFound, PermissionDenied, ValidationError
from incidents.extensions import db
from incidents.principle import service as principle_service
from incidents.principle.models import ExclusionPrinciple
from incidents.user.models import User
from incidents.validation import KEEP

MAX_CODE = 60  # the column's length


def _require_reader(user: User) -> None:
    # Principles belong to the unpublished review: a SEC Party sees none of them.
    if not permissions.can_view_principles(user):
        raise NotFound("No exclusion principles.")


def _require_admin(user: User) -> None:
    if not permissions.can_manage_principles(user):
        raise PermissionDenied("Only administrators can change exclusion principles.")


def _load(code: str, user: User) -> ExclusionPrinciple:
    if not permissions.can_view_principles(user) or not is_lookup_key(code, limit=MAX_CODE):
        raise NotFound(f"No exclusion principle {code!r}.")
    return principle_service.get_principle(code)


def _refuse_duplicate(code: str) -> None:
    """Raise DuplicateError (409) when the code sent already names a principle."""
    candidate = code.strip()  # the form the service stores
    if not candidate or len(candidate) > MAX_CODE:
        return
    try:
        principle_service.get_principle(candidate)
    except NotFound:
        return
    raise DuplicateError(f"An exclusion principle with code {candidate} already exists.",
                         {"code": [f"{candidate} is already used by another principle."]})


def list_principles() -> Response:
    """List every principle, live first then retired, each with every wording it has had."""
    _require_reader(auth.current_user())
    return protocol.respond(schemas.PrincipleList(
        items=[schemas.present_principle(p) for p in principle_service.list_principles()]))


def add_principle() -> Response:
    """Add a principle with its first wording (administrators)."""
    user = auth.current_user()
    _require_admin(user)  # as for incidents, a role that may not act is 403 here, even a SEC Party
    body = protocol.parse_body(schemas.PrincipleCreate)
    _refuse_duplicate(body.code)
    with protocol.write_guard():
        try:
            principle = principle_service.add_principle(code=body.code, wording=body.wording, basis=body.basis,
                                                        actor=user)
        except ValidationError:
            _refuse_duplicate(body.code)  # another request took it meanwhile
            raise
        answer = schemas.present_principle(principle)
        db.session.commit()
    return protocol.respond(answer, 201, location=url_for("api.get_principle", code=principle.code))


def get_principle(code: str) -> Response:
    """Read a principle with every wording it has had."""
    return protocol.respond(schemas.present_principle(_load(code, auth.current_user())))


def update_principle(code: str) -> Response:
    """Reword a principle (a new version), retire it or reinstate it (administrators)."""
    user = auth.current_user()
    principle = _load(code, user)
    _require_admin(user)
    data = protocol.parse_body(schemas.PrinciplePatch).model_dump(exclude_unset=True)
    with protocol.write_guard():
        # Reinstate before rewording and retire after it: a retired principle cannot be reworded.
        if data.get("retired") is False:
            principle_service.set_retired(principle=principle, retired=False, actor=user)
        if "wording" in data or "basis" in data:
            principle_service.reword(principle=principle, wording=data.get("wording", principle.current.wording),
                                     basis=data.get("basis", KEEP), actor=user)
        if data.get("retired") is True:
            principle_service.set_retired(principle=principle, retired=True, actor=user)
        db.session.flush()
        answer = schemas.present_principle(principle)
        db.session.commit()
    return protocol.respond(answer)
