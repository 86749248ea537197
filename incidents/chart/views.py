"""The restoration chart as an SVG file, and the template helper that puts it in report pages."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, Response
from flask_login import current_user, login_required

from incidents.chart import service as chart_service
from incidents.incident.models import Incident

bp = Blueprint("chart", __name__)


@bp.app_template_global("restoration_figure")
def restoration_figure(incident: Incident | None, generated: dict[str, Any] | None = None) -> chart_service.Figure:
    """Draw the restoration chart for a report page (its generated sections, or the live record)."""
    return chart_service.report_figure(incident, generated)


@bp.route("/incidents/<reference>/restoration.svg")
@login_required
def restoration(reference: str) -> Response:
    """Serve the restoration timeline as image/svg+xml (SEC Parties: published incidents only)."""
    picture = chart_service.restoration_for(reference, viewer=current_user)
    response = Response(str(picture), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Content-Disposition"] = f'inline; filename="{reference}-restoration.svg"'
    return response
