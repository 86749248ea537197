"""Log in and log out (the home page is the dashboard: incidents.dashboard.views)."""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user, logout_user
from werkzeug.wrappers import Response

from incidents.auth import service as auth_service
from incidents.auth.forms import LoginForm
from incidents.extensions import db
from incidents.user import service as user_service

bp = Blueprint("auth", __name__)


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
            login_user(user)
            db.session.commit()
            return redirect(safe_next(request.args.get("next")) or url_for("dashboard.home"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    """Log out (POST, so a link elsewhere cannot log people out)."""
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))
