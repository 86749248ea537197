"""The rules pages: the rules in force in plain words for everyone, and the configuration behind them for
administrators (each key, its value, who set it and where its default comes from)."""
from __future__ import annotations

from flask import Blueprint, abort, current_app, render_template
from flask_login import current_user, login_required

from incidents import permissions
from incidents.config import PROVENANCE_LABELS
from incidents.principle import service as principle_service
from incidents.review.forms import CLASSIFICATION_NOTES
from incidents.rules import service as rules_service
from incidents.timeutil import local_date, utcnow

bp = Blueprint("rules", __name__)


@bp.route("/rules")
@login_required
def settings() -> str:
    """Show the rules in force, in words a party understands."""
    if not permissions.can_view_settings(current_user):
        abort(403)
    return render_template(
        "rules/settings.html",
        rules=rules_service.plain_rules(include_internal=permissions.can_view_internal_rules(current_user)),
        holidays=rules_service.upcoming_holidays(local_date(utcnow())),
        # The principles are shown to those who may read the principles page, and asked of the same rule.
        principles=principle_service.provenance_table() if permissions.can_view_principles(current_user) else None,
        shows_configuration=permissions.can_view_configuration(current_user),
        # What each classification means, as the report editor and the confirmations say it.
        classification_notes={level.value: note for level, note in CLASSIFICATION_NOTES.items()},
    )


@bp.route("/rules/configuration")
@login_required
def configuration() -> str:
    """Show every configured rule: its key, value, who set it, and where its default comes from (administrators)."""
    if not permissions.can_view_configuration(current_user):
        abort(403)
    sources = current_app.extensions["incidents.config_sources"]
    return render_template(
        "rules/configuration.html",
        rows=rules_service.settings_table(sources, include_internal=True),
        principles=principle_service.provenance_table(),
        provenance_labels=PROVENANCE_LABELS,
    )
