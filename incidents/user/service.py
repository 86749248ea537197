"""Create and administer users, passwords and API tokens."""
from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app, g, has_app_context
from werkzeug.security import check_password_hash, generate_password_hash

from incidents import validation
from incidents.audit import service as audit_service
from incidents.auth import service as auth_service
from incidents.errors import ConflictError, DuplicateError, NotFound, ValidationError
from incidents.extensions import db
from incidents.timeutil import utcnow
from incidents.user.models import ApiToken, Role, User

EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
MIN_PASSWORD = 10
TOKEN_USE_RESOLUTION = timedelta(minutes=1)  # how fine api_token.last_used_at is kept
MAX_NAME = 120
# A hash to compare against when the email is unknown, so timing does not tell.
_DUMMY_HASH = "scrypt:32768:8:1$oBfmV1B0HFRstyxo$4e0a4d5e7d0f2c3b4c1a9f1c9a3cb7b0b0de0b5c4a1f0c3e8d9f7a6b5c4d3e2f1a0b9c8d7e6f5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8"


def _hash(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def hash_token(token: str) -> str:
    """Return the stored form of an API token."""
    return hashlib.sha256(token.encode()).hexdigest()


def parse_role(value: Role | str | None) -> Role:
    """Turn text into a Role, or raise a ValidationError naming the choices."""
    try:
        return Role(value)
    except ValueError:
        raise ValidationError({"role": ["Role must be one of " + ", ".join(r.value for r in Role) + "."]}) from None


def check_password(password: Any) -> list[str]:
    """Return what is wrong with a proposed password."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD:
        return [f"Password must be at least {MIN_PASSWORD} characters."]
    if len(password) > 200:
        return ["Password can be at most 200 characters."]
    return []


def get_user(user_id: int) -> User:
    """Load a user by id, or raise NotFound."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound(f"No user {user_id}.")
    return user


def find_by_email(email: str) -> User | None:
    """Return the user with this email (case-insensitive), if any."""
    if validation.has_nul(email):
        return None  # no address holds one, and PostgreSQL cannot even compare it
    return db.session.scalar(sa.select(User).where(sa.func.lower(User.email) == email.strip().lower()))


def person(who: User | str | None) -> str:
    """Return how a person is shown: "Dana Clarke (DCC)", from a user or the email a record kept of them.

    Records keep the email of whoever acted (it never changes meaning); pages, the audit trail and CSV exports
    show the person's name and organisation instead. An email no account holds any more, and "system", show as
    they are. Look-ups are remembered for the rest of the request or command.
    """
    if who is None:
        return ""
    if isinstance(who, User):
        return who.person
    text = str(who)
    if "@" not in text:
        return "System" if text == "system" else text
    known: dict[str, str] = g.setdefault("people_by_email", {}) if has_app_context() else {}
    key = text.strip().lower()
    if key not in known:
        user = find_by_email(text)
        known[key] = user.person if user is not None else text
    return known[key]


def list_users() -> list[User]:
    """Return every user, by role then email."""
    return list(db.session.scalars(sa.select(User).order_by(User.role, User.email)))


def _name_errors(name: str) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    validation.check_text(errors, "name", name, limit=MAX_NAME)
    return errors


def create_user(*, email: str, role: Role | str | None, password: str, name: str = "", actor: User | None = None,
                now: datetime | None = None) -> User:
    """Create a user with a hashed password."""
    errors: dict[str, list[str]] = {}
    email = (email or "").strip().lower()
    if not EMAIL_RE.match(email) or not validation.is_lookup_key(email, 254):
        errors["email"] = ["Enter an email address such as name@example.org."]
    elif find_by_email(email) is not None:
        errors["email"] = [f"{email} already has an account."]
    name = (name or "").strip()
    errors.update(_name_errors(name))
    try:
        parsed = parse_role(role)
    except ValidationError as exc:
        errors.update(exc.errors)
    problems = check_password(password)
    if problems:
        errors["password"] = problems
    if errors:
        if any("already has an account" in m for m in errors.get("email", [])) and len(errors) == 1:
            raise DuplicateError(f"{email} already has an account.", errors)
        raise ValidationError(errors)
    user = User(email=email, name=name, role=parsed, password_hash=_hash(password),
                created_at=now or utcnow())
    db.session.add(user)
    db.session.flush()
    audit_service.record(actor=actor, action="create", entity_type="user", entity_id=user.id,
                         changes={"email": [None, email], "role": [None, parsed.value], "name": [None, name]},
                         summary=f"Created user {email}", now=now)
    return user


def set_role(*, user: User, role: Role | str | None, actor: User | None) -> User:
    """Change a user's role."""
    new = parse_role(role)
    if new != user.role:
        audit_service.record(actor=actor, action="update", entity_type="user", entity_id=user.id,
                             changes={"role": [user.role.value, new.value]},
                             summary=f"Changed role of {user.email}")
        user.role = new
        auth_service.end_sessions(user=user)  # the new role applies from their next login
    return user


def set_name(*, user: User, name: str, actor: User) -> User:
    """Change a user's display name."""
    name = (name or "").strip()
    if _name_errors(name):
        raise ValidationError(_name_errors(name))
    if name != user.name:
        audit_service.record(actor=actor, action="update", entity_type="user", entity_id=user.id,
                             changes={"name": [user.name, name]}, summary=f"Renamed {user.email}")
        user.name = name
    return user


def set_active(*, user: User, active: bool, actor: User | None) -> User:
    """Deactivate or reactivate a user; deactivation ends sessions and revokes API tokens and the calendar link."""
    if actor is not None and actor.id == user.id and not active:
        raise ValidationError({"active": ["You cannot deactivate your own account."]})
    if user.is_active != active:
        audit_service.record(actor=actor, action="update", entity_type="user", entity_id=user.id,
                             changes={"is_active": [user.is_active, active]},
                             summary=f"{'Reactivated' if active else 'Deactivated'} {user.email}")
        user.is_active = active
        if not active:
            # Nothing of the old account comes back to life on reactivation.
            auth_service.end_sessions(user=user)
            revoke_tokens(user=user, actor=actor)
            revoke_calendar_link(user=user, actor=actor)
    return user


def reset_password(*, user: User, password: str, actor: User | None) -> User:
    """Set a new password; end the user's sessions, revoke their API tokens and their calendar link.

    A reset is what follows a leaked or guessed password: whatever was obtained with the old one stops working.
    """
    problems = check_password(password)
    if problems:
        raise ValidationError({"password": problems})
    user.password_hash = _hash(password)
    audit_service.record(actor=actor, action="update", entity_type="user", entity_id=user.id,
                         changes={"password": ["(hidden)", "(reset)"]}, summary=f"Reset password of {user.email}")
    auth_service.end_sessions(user=user)
    revoke_tokens(user=user, actor=actor)
    revoke_calendar_link(user=user, actor=actor)
    return user


def authenticate(email: str, password: str) -> User | None:
    """Return the active user with these credentials, or None."""
    user = find_by_email(email or "")
    if user is None:
        check_password_hash(_DUMMY_HASH, password or "")
        return None
    if not check_password_hash(user.password_hash, password or "") or not user.is_active:
        return None
    return user


def issue_token(*, user: User, actor: User | None = None, now: datetime | None = None) -> str:
    """Create an API token for the user and return it (shown once, stored hashed)."""
    if not user.is_active:
        # A token issued now would come alive, unnoticed, when the account is reactivated.
        raise ConflictError(f"{user.email} is deactivated; reactivate the account before issuing an API token.")
    token = "inc_" + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user=user, token_hash=hash_token(token), prefix=token[:10],
                            created_at=now or utcnow()))
    audit_service.record(actor=actor, action="create", entity_type="api_token", entity_id=user.id,
                         changes={"prefix": [None, token[:10]]}, summary=f"Issued API token for {user.email}")
    return token


def revoke_tokens(*, user: User, actor: User | None = None, now: datetime | None = None) -> int:
    """Revoke all of a user's live tokens; return how many."""
    now = now or utcnow()
    count = 0
    for token in user.tokens:
        if token.revoked_at is None:
            token.revoked_at = now
            count += 1
    if count:
        audit_service.record(actor=actor, action="update", entity_type="api_token", entity_id=user.id,
                             changes={"revoked": [None, count]}, summary=f"Revoked {count} token(s) of {user.email}")
    return count


def revoke_calendar_link(*, user: User, actor: User | None = None, now: datetime | None = None) -> bool:
    """Revoke the user's calendar feed link, if they have one; tell whether they had."""
    if user.calendar_token_hash is None:
        return False
    user.calendar_token_hash = None
    audit_service.record(actor=actor, action="update", entity_type="user", entity_id=user.id,
                         changes={"calendar feed link": ["set", None]},
                         summary=f"Revoked the calendar feed link of {user.email}", now=now)
    return True


def _live_token(token: str) -> sa.Select[User, int, datetime | None] | None:
    """Select the active user of a live token, with the token's id and last use (None for what is no token)."""
    if not token or len(token) > 200 or "\x00" in token:
        return None
    return (sa.select(User, ApiToken.id, ApiToken.last_used_at).join(ApiToken, ApiToken.user_id == User.id)
            .where(ApiToken.token_hash == hash_token(token), ApiToken.revoked_at.is_(None), User.is_active.is_(True)))


def user_for_token(token: str) -> User | None:
    """Return the active user a live token belongs to, or None."""
    query = _live_token(token)
    row = db.session.execute(query).first() if query is not None else None
    return row.User if row is not None else None


def authenticate_token(token: str, *, now: datetime | None = None) -> User | None:
    """Return the active user a live token belongs to, noting when the token was used (at most once a minute).

    The note is its own small unit of work, committed here: a read answers
    without committing anything. It is written only when the last one is a
    minute old, and conditionally, so busy tokens and parallel workers write
    it once a minute, not on every request.
    """
    query = _live_token(token)
    row = db.session.execute(query).first() if query is not None else None
    if row is None:
        return None
    user, token_id, last_used_at = row
    now = now or utcnow()
    since = now - TOKEN_USE_RESOLUTION
    if last_used_at is None or last_used_at <= since:
        noted = db.session.execute(
            sa.update(ApiToken).where(ApiToken.id == token_id, sa.or_(ApiToken.last_used_at.is_(None),
                                                                      ApiToken.last_used_at <= since))
            .values(last_used_at=now).execution_options(synchronize_session=False))
        if noted.rowcount:  # type: ignore[attr-defined]
            db.session.commit()
        else:
            db.session.rollback()  # another request noted it meanwhile
    return user
