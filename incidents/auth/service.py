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
