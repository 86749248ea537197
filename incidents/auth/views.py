"""Log in, log out, and the home page."""
from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from werkzeug.wrappers import Response

from incidents import permissions
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
def login() -> str | Response:
    """Show the login form and log the user in."""
    if current_user.is_authenticated:
        return redirect(url_for("auth.home"))
    form = LoginForm()
    if form.validate_on_submit():
        user = user_service.authenticate(form.email.data or "", form.password.data or "")
        if user is None:
            form.password.errors = ["Email or password is not right, or the account is deactivated."]
        else:
            login_user(user)
            db.session.commit()
            return redirect(safe_next(request.args.get("next")) or url_for("auth.home"))
    return render_template("auth/login.html", form=form)


@bp.route("/logout", methods=["POST"])
def logout() -> Response:
    """Log out (POST, so a link elsewhere cannot log people out)."""
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("auth.login"))


@bp.route("/")
@login_required
def home() -> str | Response:
    """Send each role to where its work starts."""
    if permissions.can_view_incidents(current_user):
        return redirect(url_for("incident.index"))
    return render_template("auth/home.html")
