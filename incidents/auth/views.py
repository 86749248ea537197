"""Log in and log out, and each person's own login sessions (the home page is the dashboard)."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from incidents.auth import service as auth_service
from incidents.auth.forms import LoginForm
from incidents.auth.models import LoginSession
from incidents.extensions import db
from incidents.user import service as user_service
from incidents.user.models import User

bp = Blueprint("auth", __name__)

# Where Flask-Login keeps what its user loader is given: here the login session's key, nothing else of the user.
SESSION_KEY = "_user_id"


def session_key() -> str | None:
    """Return the key of the request's login session, from the cookie."""
    key = session.get(SESSION_KEY)
    return key if isinstance(key, str) else None


@dataclass(frozen=True)
class SessionRow:
    """One line of a list of login sessions."""

    row: LoginSession
    where: str
    is_current: bool
    end_url: str


def session_rows(user: User, end: Callable[[LoginSession], str]) -> list[SessionRow]:
    """Return the user's live sessions as lines to show; ``end(row)`` gives the address that ends one."""
    key = session_key()
    return [SessionRow(row=row, where=auth_service.summary(row), is_current=auth_service.is_current(row, key),
                       end_url=end(row)) for row in auth_service.live_sessions(user=user)]


def safe_next(target: str | None) -> str | None:
    """Return ``target`` if it is a path on this site, else None (no open redirects)."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return None
    return target


@bp.route("/login", methods=["GET", "POST"])
def login() -> Any:
    """Show the login form and log the user in."""
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.home"))
    form = LoginForm()
    if form.validate_on_submit():
        email, ip = form.email.data or "", request.remote_addr or "unknown"
        wait = auth_service.start_attempt(ip=ip, email=email)  # counted (and committed) before the check
        if wait:
            minutes = max(1, round(wait / 60))
            form.password.errors = [f"Too many failed logins from here. Try again in about {minutes} minute(s)."]
            return render_template("auth/login.html", form=form), 429, {"Retry-After": str(wait)}
        user = user_service.authenticate(email, form.password.data or "")
        if user is None:
            form.password.errors = ["Email or password is not right, or the account is deactivated."]
        else:
            auth_service.clear_failures(ip=ip, email=email)
            key = auth_service.start_session(user=user, user_agent=request.headers.get("User-Agent", ""),
                                             address=ip)
            db.session.commit()
            session.clear()  # nothing from before the login (a key planted by someone else) carries over
            login_user(user)
            session[SESSION_KEY] = key  # login_user wrote the user's id there; the cookie names the session instead
            return redirect(safe_next(request.args.get("next")) or url_for("dashboard.home"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    """Log out, ending the session on the server for good (POST, so a link elsewhere cannot log people out)."""
    key = session_key()
    logout_user()
    auth_service.end_session(key)
    db.session.commit()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/sessions")
@login_required
def sessions() -> Any:
    """List the person's live login sessions, each with a button that ends it."""
    rows = session_rows(current_user, lambda row: url_for(".end_session", session_id=row.id))
    return render_template("auth/sessions.html", sessions=rows)


@bp.route("/sessions/<int:session_id>/end", methods=["POST"])
@login_required
def end_session(session_id: int) -> Response:
    """End one of the person's own sessions (ending this one logs them out)."""
    if not auth_service.end_session_of(user=current_user, session_id=session_id, actor=current_user):
        flash("That session had already ended.", "info")
        return redirect(url_for(".sessions"))
    db.session.commit()
    if auth_service.load_session(session_key()) is None:
        logout_user()
        flash("You ended this session: you are logged out.", "info")
        return redirect(url_for(".login"))
    flash("Session ended.", "success")
    return redirect(url_for(".sessions"))
