"""Throttle repeated failed logins by address, and by address and account together.

Throttling by account alone would let anyone lock a person out by guessing
wrongly on purpose; counting per source address (and per address and account)
slows a guesser without that.
"""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app

from incidents.auth.models import LoginFailure
from incidents.extensions import db
from incidents.timeutil import utcnow


def _email_hash(email: str) -> str:
    return hashlib.sha256((email or "").strip().lower().encode()).hexdigest()


def retry_after(*, ip: str, email: str, now: datetime | None = None) -> int:
    """Return seconds to wait before another attempt is allowed (0 when allowed)."""
    now = now or utcnow()
    window = timedelta(seconds=int(current_app.config["LOGIN_THROTTLE_WINDOW_SECONDS"]))
    since = now - window
    per_ip = db.session.scalars(sa.select(LoginFailure.at).where(LoginFailure.ip == ip, LoginFailure.at >= since)
                                .order_by(LoginFailure.at)).all()
    per_account = [at for at in db.session.scalars(
        sa.select(LoginFailure.at).where(LoginFailure.ip == ip, LoginFailure.email_hash == _email_hash(email),
                                         LoginFailure.at >= since).order_by(LoginFailure.at))]
    waits = []
    if len(per_account) >= int(current_app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"]):
        waits.append(per_account[0] + window - now)
    if len(per_ip) >= int(current_app.config["LOGIN_MAX_FAILURES_PER_ADDRESS"]):
        waits.append(per_ip[0] + window - now)
    return max([int(w.total_seconds()) + 1 for w in waits], default=0)


def record_failure(*, ip: str, email: str, now: datetime | None = None) -> None:
    """Remember a failed login, and forget ones older than the window."""
    now = now or utcnow()
    window = timedelta(seconds=int(current_app.config["LOGIN_THROTTLE_WINDOW_SECONDS"]))
    db.session.execute(sa.delete(LoginFailure).where(LoginFailure.at < now - window))
    db.session.add(LoginFailure(at=now, ip=ip[:64], email_hash=_email_hash(email)))


def clear_failures(*, ip: str, email: str) -> None:
    """Forget an address's failures for an account after it logs in."""
    db.session.execute(sa.delete(LoginFailure).where(LoginFailure.ip == ip,
                                                      LoginFailure.email_hash == _email_hash(email)))
