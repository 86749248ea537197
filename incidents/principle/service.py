"""Administer exclusion principles; every rewording keeps the old wording."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import NamedTuple

import sqlalchemy as sa

from incidents import permissions, validation
from incidents.audit import service as audit_service
from incidents.config import Provenance
from incidents.errors import ConflictError, NotFound, PermissionDenied, ValidationError
from incidents.extensions import db
from incidents.principle.models import ExclusionPrinciple, PrincipleVersion
from incidents.timeutil import utcnow
from incidents.user.models import User
from incidents.validation import KEEP, Keep

CODE_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,58}[a-z0-9]$")
MAX_WORDING = 2000

MAX_BASIS = 2000

_ASSUMED_BASIS = ("Assumed: neither the OPSG_97 minutes nor the public SEC material found states it; confirm it "
                  "against the Incident Management Policy and the DCC's principles (action OPSG 97/04).")


class DefaultPrinciple(NamedTuple):
    """A principle the tool starts with: its wording, what it rests on, and where that comes from."""

    code: str
    wording: str
    basis: str
    provenance: Provenance


DEFAULT_PRINCIPLES = [
    DefaultPrinciple(
        "third-party-infrastructure",
        ("Caused by a failure of third-party national infrastructure outside the control of the DCC and its "
         "Service Providers, where neither had commercial leverage over the third party to speed restoration."),
        ("The DCC's reasoning for excluding INC000001001905, as minuted at OPSG_97 (26 June 2023): restoration "
         "outside the control of the DCC and its Service Providers, a national carrier over which it had no "
         "commercial leverage. OPSG asked the DCC for its principles (action OPSG 97/04)."),
        Provenance.MINUTES),
    DefaultPrinciple(
        "planned-maintenance",
        "Planned maintenance agreed in advance with SEC Parties through the agreed notification process.",
        _ASSUMED_BASIS, Provenance.ASSUMED),
    DefaultPrinciple("user-action", "Caused by a SEC Party's (User's) own action or system.", _ASSUMED_BASIS,
                     Provenance.ASSUMED),
    DefaultPrinciple(
        "force-majeure", "Force majeure as defined in the Smart Energy Code.",
        ("Services Force Majeure (SEC Section M3); since SECMP0043 (2019) the DCC may also apply to the SEC Panel "
         "for relief for OPR Exceptional Events outside its control, modelled on it."),
        Provenance.SEC),
]


@dataclass(frozen=True)
class PrincipleProvenance:
    """A principle as the rules page lists it: its wording and basis now, and whether they are still the default's."""

    code: str
    wording: str
    basis: str
    is_retired: bool
    provenance: Provenance | None  # None: added by an administrator, not a default
    is_default_wording: bool  # the wording and basis are still the default's


def provenance_table() -> list[PrincipleProvenance]:
    """List every principle with where its default comes from, for an administrator to confirm."""
    defaults = {d.code: d for d in DEFAULT_PRINCIPLES}
    rows = []
    for principle in list_principles():
        default = defaults.get(principle.code)
        current = principle.current
        rows.append(PrincipleProvenance(
            code=principle.code, wording=current.wording, basis=current.basis, is_retired=principle.is_retired,
            provenance=default.provenance if default else None,
            is_default_wording=default is not None and (current.wording, current.basis) == (default.wording,
                                                                                              default.basis)))
    return rows


def list_principles(*, include_retired: bool = True) -> list[ExclusionPrinciple]:
    """Return the principles, live first then retired, by code."""
    query = sa.select(ExclusionPrinciple).order_by(ExclusionPrinciple.is_retired, ExclusionPrinciple.code)
    if not include_retired:
        query = query.where(ExclusionPrinciple.is_retired.is_(False))
    return list(db.session.scalars(query))


def get_principle(code: str) -> ExclusionPrinciple:
    """Load a principle by code, or raise NotFound."""
    if not validation.is_lookup_key(code):
        raise NotFound(f"No exclusion principle {code!r}.")
    principle = db.session.scalar(sa.select(ExclusionPrinciple).where(ExclusionPrinciple.code == code))
    if principle is None:
        raise NotFound(f"No exclusion principle {code!r}.")
    return principle


def _check_wording(errors: dict[str, list[str]], wording: str) -> str:
    return validation.check_text(errors, "wording", wording, limit=MAX_WORDING, required=True)


def _check_basis(errors: dict[str, list[str]], basis: str) -> str:
    return validation.check_text(errors, "basis", basis, limit=MAX_BASIS, label="Basis")


def _require_admin(actor: User) -> None:
    if not permissions.can_manage_principles(actor):
        raise PermissionDenied("Only administrators can change exclusion principles.")


def add_principle(*, code: str, wording: str, basis: str = "", actor: User,
                  now: datetime | None = None) -> ExclusionPrinciple:
    """Add a principle with its first wording and what it rests on."""
    _require_admin(actor)
    errors: dict[str, list[str]] = {}
    code = code.strip()
    if not CODE_RE.match(code):
        errors["code"] = ["Code must be 3-60 lower-case letters, digits and hyphens, e.g. force-majeure."]
    wording = _check_wording(errors, wording)
    basis = _check_basis(errors, basis)
    if errors:
        raise ValidationError(errors)
    if db.session.scalar(sa.select(ExclusionPrinciple.id).where(ExclusionPrinciple.code == code)):
        raise ValidationError({"code": [f"{code} is already used by another principle."]})
    now = now or utcnow()
    principle = ExclusionPrinciple(code=code, created_at=now)
    principle.versions.append(PrincipleVersion(number=1, wording=wording, basis=basis, created_at=now,
                                                created_by_id=actor.id))
    db.session.add(principle)
    db.session.flush()
    audit_service.record(actor=actor, action="create", entity_type="exclusion_principle", entity_id=principle.id,
                         changes={"code": [None, code], "wording": [None, wording], "basis": [None, basis]},
                         summary=f"Added exclusion principle {code}", now=now)
    return principle


def reword(*, principle: ExclusionPrinciple, wording: str, basis: str | Keep = KEEP, actor: User,
           now: datetime | None = None) -> PrincipleVersion:
    """Give a principle a new wording or basis (a new version); decisions keep the version they cited."""
    _require_admin(actor)
    if principle.is_retired:
        raise ConflictError(f"{principle.code} is retired; reinstate it before rewording it.")
    errors: dict[str, list[str]] = {}
    wording = _check_wording(errors, wording)
    old_basis = principle.current.basis
    new_basis = old_basis if isinstance(basis, Keep) else _check_basis(errors, basis)
    if errors:
        raise ValidationError(errors)
    if wording == principle.current.wording and new_basis == old_basis:
        return principle.current
    now = now or utcnow()
    version = PrincipleVersion(number=principle.current.number + 1, wording=wording, basis=new_basis,
                               created_at=now, created_by_id=actor.id)
    old = principle.current.wording
    principle.versions.append(version)
    db.session.flush()
    changes: dict[str, list[str | None]] = {}
    if wording != old:
        changes["wording"] = [old, wording]
    if new_basis != old_basis:
        changes["basis"] = [old_basis, new_basis]
    audit_service.record(actor=actor, action="update", entity_type="exclusion_principle", entity_id=principle.id,
                         changes=changes,
                         summary=f"Reworded {principle.code} (version {version.number})", now=now)
    return version


def set_retired(*, principle: ExclusionPrinciple, retired: bool, actor: User, now: datetime | None = None) -> None:
    """Retire a principle (it can no longer be cited) or reinstate it."""
    _require_admin(actor)
    if principle.is_retired == retired:
        return
    now = now or utcnow()
    principle.is_retired = retired
    principle.retired_at = now if retired else None
    audit_service.record(actor=actor, action="update", entity_type="exclusion_principle", entity_id=principle.id,
                         changes={"is_retired": [not retired, retired]},
                         summary=f"{'Retired' if retired else 'Reinstated'} {principle.code}", now=now)


def seed_defaults(*, actor: User | None = None, now: datetime | None = None) -> int:
    """Add the default principles that are missing; return how many were added."""
    added = 0
    for default in DEFAULT_PRINCIPLES:
        code = default.code
        if db.session.scalar(sa.select(ExclusionPrinciple.id).where(ExclusionPrinciple.code == code)) is None:
            principle = ExclusionPrinciple(code=code, created_at=now or utcnow())
            principle.versions.append(PrincipleVersion(number=1, wording=default.wording, basis=default.basis,
                                                       created_at=now or utcnow()))
            db.session.add(principle)
            added += 1
    db.session.flush()
    return added
