"""CSV downloads that stream: the incident log, the actions register, an incident's audit trail.

Access and filters are checked before the first byte goes out, so a refusal
or a bad filter is an ordinary error page; the rows then stream as they are read.
"""
from __future__ import annotations

from flask import Blueprint, Response, request
from flask_login import current_user, login_required

from incidents.export import service as export_service
from incidents.export import writer
from incidents.timeutil import local_date, utcnow

bp = Blueprint("export", __name__)


# Registered as its own static rule: Werkzeug prefers it to /incidents/<reference>.
@bp.route("/incidents/export.csv")
@login_required
def incidents() -> Response:
    """Download the incident log as CSV, with the list's filters."""
    rows = export_service.incident_rows(request.args, viewer=current_user)
    return writer.csv_response(rows, f"incidents-{local_date(utcnow()).isoformat()}.csv")


@bp.route("/actions/export.csv")
@login_required
def actions() -> Response:
    """Download the actions register as CSV, with the register's filters."""
    rows = export_service.action_rows(request.args, viewer=current_user)
    return writer.csv_response(rows, f"actions-{local_date(utcnow()).isoformat()}.csv")


@bp.route("/incidents/<reference>/audit.csv")
@login_required
def audit(reference: str) -> Response:
    """Download an incident's audit trail as CSV, oldest first."""
    rows = export_service.audit_rows(reference, viewer=current_user)
    return writer.csv_response(rows, f"{reference}-audit.csv")
