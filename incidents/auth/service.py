"""Login sessions held on the server, secrets shown once, and the throttle on failed logins.

Sessions: logging in makes a row whose random key only the browser's cookie
holds (the table keeps its SHA-256); each request finds its row by that hash,
joined to its user, in one indexed read. A session ends for good when its row
goes: at logout, when its owner or an administrator ends it, on a password
reset, a role change or deactivation; and it lapses after SESSION_IDLE_HOURS
without a request or SESSION_LIFETIME_DAYS after login.

Throttle: throttling by account alone would let anyone lock a person out by
guessing wrongly on purpose; counting per source address (and per address and
account) slows a guesser without that.
"""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import contains_eager
from sqlalchemy.orm.attributes import set_committed_value

from incidents.audit import service as audit_service
from incidents.auth.models import IssuedSecret, LoginFailure, LoginSession
from incidents.extensions import db
from incidents.timeutil import utcnow
from incidents.user.models import User

# A request writes its session's last-seen time only when the stored one is older than this.
LAST_SEEN_STEP = timedelta(minutes=1)
# A secret not shown within this long (the page was never opened) is deleted unseen.
SHOWN_ONCE_MINUTES = 10
KEY_BYTES = 32


def _email_hash(email: str) -> str:
    return hashlib.sha256((email or "").strip().lower().encode()).hexdigest()


def _window() -> timedelta:
    return timedelta(seconds=int(current_app.config["LOGIN_THROTTLE_WINDOW_SECONDS"]))


def start_attempt(*, ip: str, email: str, now: datetime | None = None) -> int:
    """Count a login attempt before its password is checked; return seconds to wait first (0: go ahead).

    The attempt is written as a failure and committed first, then the window's
    attempts are counted, this one included. Of attempts made at the same
    moment, whichever counts last sees every other one (each committed before
    it counted), so no more than the limit get through, however many workers
    check passwords in parallel; a read-then-write count let them all through.
    A refused attempt takes its row back: it never reached a password.
    A checked password that is right clears the rows (``clear_failures``);
    one that is wrong leaves this row as its failure.
    """
    now = now or utcnow()
    since = now - _window()
    db.session.execute(sa.delete(LoginFailure).where(LoginFailure.at < since))
    attempt = LoginFailure(at=now, ip=ip[:64], email_hash=_email_hash(email))
    db.session.add(attempt)
    db.session.commit()
    per_ip = sa.select(sa.func.count(), sa.func.min(LoginFailure.at)).where(
        LoginFailure.ip == attempt.ip, LoginFailure.at >= since)
    per_ip_count, per_ip_oldest = db.session.execute(per_ip).one()
    per_account_count, per_account_oldest = db.session.execute(
        per_ip.where(LoginFailure.email_hash == attempt.email_hash)).one()
    waits = []
    # This attempt is counted: it may go ahead while the failures before it are fewer than the limit.
    if per_account_count > int(current_app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]):
        waits.append(per_account_oldest + _window() - now)
    if per_ip_count > int(current_app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"]):
        waits.append(per_ip_oldest + _window() - now)
    if not waits:
        return 0
    db.session.execute(sa.delete(LoginFailure).where(LoginFailure.id == attempt.id))
    db.session.commit()
    return max(1, max(int(w.total_seconds()) + 1 for w in waits))


def clear_failures(*, ip: str, email: str) -> None:
    """Forget an address's failures for an account after it logs in."""
    db.session.execute(sa.delete(LoginFailure).where(LoginFailure.ip == ip[:64],
                                                      LoginFailure.email_hash == _email_hash(email)))


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def _limits(now: datetime) -> tuple[datetime, datetime]:
    """Return the oldest last-seen and the oldest login time a live session may have at ``now``."""
    idle = timedelta(hours=float(current_app.config["SESSION_IDLE_HOURS"]))
    lifetime = timedelta(days=float(current_app.config["SESSION_LIFETIME_DAYS"]))
    return now - idle, now - lifetime


def _is_live(row: LoginSession, now: datetime) -> bool:
    seen_since, created_since = _limits(now)
    return row.last_seen_at >= seen_since and row.created_at >= created_since


def start_session(*, user: User, user_agent: str, address: str, provider: str | None = None,
                  now: datetime | None = None) -> str:
    """Start a login session for ``user`` and return its key (for the cookie; the table keeps its hash).

    ``provider`` names the identity provider the person signed in with (None: a password).
    """
    now = now or utcnow()
    seen_since, created_since = _limits(now)
    # Lapsed sessions of everyone go as anyone logs in, so the table holds little more than the live ones.
    db.session.execute(sa.delete(LoginSession).where(
        sa.or_(LoginSession.last_seen_at < seen_since, LoginSession.created_at < created_since)))
    key = secrets.token_urlsafe(KEY_BYTES)
    db.session.add(LoginSession(key_hash=_key_hash(key), user_id=user.id, created_at=now, last_seen_at=now,
                                user_agent=(user_agent or "")[:255], address=(address or "")[:64],
                                provider=provider))
    return key


def load_session(key: str | None, *, now: datetime | None = None) -> LoginSession | None:
    """Return the live session with this key, its active user loaded with it (one indexed read), or None.

    Its last-seen time is written, in a transaction of its own, only when the stored one is a minute old.
    """
    if not isinstance(key, str) or not 0 < len(key) <= 100 or "\x00" in key:
        return None
    now = now or utcnow()
    row = db.session.scalar(
        sa.select(LoginSession).join(LoginSession.user).options(contains_eager(LoginSession.user))
        .where(LoginSession.key_hash == _key_hash(key), User.is_active.is_(True)))
    if row is None or not _is_live(row, now):
        return None
    if now - row.last_seen_at >= LAST_SEEN_STEP:
        _record_seen(row, now)
    return row


def _record_seen(row: LoginSession, now: datetime) -> None:
    """Write a session's last-seen time in a short transaction of its own; skip it if the row is busy.

    Its own transaction: a page that only reads still records that its session is in use, and the request's own
    work (committed or rolled back later) is not mixed with it. Flask-Login loads the user when a request first
    asks for it, which every view does before it changes anything; should the request itself hold the row (its
    session ended in the same request), PostgreSQL gives up after the lock timeout rather than wait for ever, and
    the time is written by a later request.
    """
    try:
        with db.engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                connection.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
            connection.execute(sa.update(LoginSession).where(
                LoginSession.id == row.id, LoginSession.last_seen_at < now - LAST_SEEN_STEP).values(last_seen_at=now))
    except OperationalError:
        return  # the session stays valid: its idle timeout is hours away, and the next request tries again
    set_committed_value(row, "last_seen_at", now)


def end_session(key: str | None) -> None:
    """End the session with this key for good (logging out)."""
    if isinstance(key, str) and key:
        db.session.execute(sa.delete(LoginSession).where(LoginSession.key_hash == _key_hash(key)))


def live_sessions(*, user: User, now: datetime | None = None) -> list[LoginSession]:
    """Return the user's live sessions, the most recently used first."""
    seen_since, created_since = _limits(now or utcnow())
    return list(db.session.scalars(
        sa.select(LoginSession).where(LoginSession.user_id == user.id, LoginSession.last_seen_at >= seen_since,
                                      LoginSession.created_at >= created_since)
        .order_by(LoginSession.last_seen_at.desc(), LoginSession.id.desc())))


def is_current(row: LoginSession, key: str | None) -> bool:
    """Tell whether ``row`` is the session with this key."""
    return isinstance(key, str) and hmac.compare_digest(row.key_hash, _key_hash(key))


def end_session_of(*, user: User, session_id: int, actor: User, now: datetime | None = None) -> bool:
    """End one of ``user``'s sessions (by its id), as ``actor`` (the user, or an administrator).

    Tell whether it was there to end: asking again (a double click) changes nothing, and an id that is not the
    user's is answered as one already ended, so no one learns whether someone else's session exists.
    """
    row = db.session.get(LoginSession, session_id)
    if row is None or row.user_id != user.id:
        return False
    audit_service.record(actor=actor, action="update", entity_type="user", entity_id=user.id,
                         changes={"session": [f"from {summary(row)}", "ended"]},
                         summary=f"Ended a session of {user.email}", now=now)
    db.session.delete(row)
    return True


def end_sessions(*, user: User) -> int:
    """End every session of ``user`` (the caller's own audit entry says why); return how many."""
    result = db.session.execute(sa.delete(LoginSession).where(LoginSession.user_id == user.id))
    return int(getattr(result, "rowcount", 0) or 0)


_BROWSERS = (("Edg/", "Edge"), ("OPR/", "Opera"), ("Firefox/", "Firefox"), ("Chrome/", "Chrome"),
             ("Chromium/", "Chromium"), ("Safari/", "Safari"))
_SYSTEMS = (("Windows", "Windows"), ("iPhone", "iOS"), ("iPad", "iOS"), ("Android", "Android"),
            ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


def summary(row: LoginSession) -> str:
    """Describe where a session is used, for people: browser, system and address ("Firefox on Linux, 10.0.0.7")."""
    agent = row.user_agent or ""
    browser = next((name for mark, name in _BROWSERS if mark in agent), None)
    system = next((name for mark, name in _SYSTEMS if mark in agent), None)
    if browser or system:
        what = f"{browser or 'a browser'} on {system}" if system else browser or ""
    else:
        what = re.sub(r"[^\x20-\x7e]", "", agent)[:40] or "an unknown browser"
    return f"{what}, {row.address}" if row.address else what


def _keystream(key: str, nonce: str, length: int) -> bytes:
    return hmac.new(key.encode(), b"issued-secret:" + nonce.encode(), hashlib.sha512).digest()[:length]


def keep_secret(*, key: str, purpose: str, value: str, now: datetime | None = None) -> None:
    """Keep a just-issued secret for the session with this key to show once (sealed with that key)."""
    now = now or utcnow()
    data = value.encode()
    if len(data) > 64:
        raise ValueError("a secret shown once is at most 64 bytes")  # one HMAC-SHA-512 block seals it
    row = db.session.scalar(sa.select(LoginSession).where(LoginSession.key_hash == _key_hash(key)))
    if row is None:
        return
    db.session.execute(sa.delete(IssuedSecret).where(
        sa.or_(IssuedSecret.created_at < now - timedelta(minutes=SHOWN_ONCE_MINUTES),
               sa.and_(IssuedSecret.login_session_id == row.id, IssuedSecret.purpose == purpose))))
    nonce = secrets.token_hex(16)
    sealed = bytes(a ^ b for a, b in zip(data, _keystream(key, nonce, len(data)), strict=True))
    db.session.add(IssuedSecret(login_session_id=row.id, purpose=purpose, nonce=nonce, sealed=sealed.hex(),
                                created_at=now))


def take_secret(*, key: str | None, purpose: str, now: datetime | None = None) -> str | None:
    """Return the secret kept for this session and purpose, deleting it (it is shown once), or None."""
    if not isinstance(key, str) or not key:
        return None
    now = now or utcnow()
    row = db.session.scalar(
        sa.select(IssuedSecret).join(LoginSession, LoginSession.id == IssuedSecret.login_session_id)
        .where(LoginSession.key_hash == _key_hash(key), IssuedSecret.purpose == purpose))
    if row is None:
        return None
    db.session.delete(row)
    if row.created_at < now - timedelta(minutes=SHOWN_ONCE_MINUTES):
        return None
    sealed = bytes.fromhex(row.sealed)
    return bytes(a ^ b for a, b in zip(sealed, _keystream(key, row.nonce, len(sealed)), strict=True)).decode()
