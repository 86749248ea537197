"""The home page after login: the dashboard for each role (SEC Parties: the published reports)."""
from __future__ import annotations

from flask import Blueprint, render_template
from flask_login import current_user, login_required

from incidents import permissions
from incidents.dashboard import service as dashboard_service

bp = Blueprint("dashboard", __name__)


@bp.route("/")
@login_required
def home() -> str:
    """Show the dashboard: what this person must do next and where things stand (SEC Parties: published reports)."""
    board = dashboard_service.build(user=current_user)
    if not permissions.can_view_incidents(current_user):
        return render_template("auth/home.html", board=board)
    return render_template("dashboard/home.html", role=current_user.role, board=board)
