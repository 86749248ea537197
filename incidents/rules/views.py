"""The rule settings page: every configurable rule, its value and where it comes from."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template
from flask_login import current_user, login_required

from incidents import permissions
from incidents.config import PROVENANCE_LABELS
from incidents.principle import service as principle_service
from incidents.rules import service as rules_service
from incidents.timeutil import local_date, utcnow

bp = Blueprint("rules", __name__)


@bp.route("/rules")
@login_required
def settings() -> str:
    """Show the rules in force."""
    if not permissions.can_view_settings(current_user):
        abort(403)
    sources = current_app.extensions["incidents.config_sources"]
    return render_template(
        "rules/settings.html",
        rows=rules_service.settings_table(
            sources, include_internal=permissions.can_view_internal_rules(current_user)),
        holidays=rules_service.upcoming_holidays(local_date(utcnow())),
        # The principles are read by the teams that review incidents (as on the principles page), not SEC Parties.
        principles=principle_service.provenance_table() if (
            permissions.can_view_incidents(current_user) or permissions.can_manage_principles(current_user)) else None,
        provenance_labels=PROVENANCE_LABELS,
    )
