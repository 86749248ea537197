"""JSON API v1, the monthly PMR measures: read by everyone who reads incidents."""
from __future__ import annotations

from flask import Response

from incidents import permissions
from incidents.api import auth, protocol
from incidents.api.pmr_schemas import PmrMonth
from incidents.errors import NotFound
from incidents.pmr import service as pmr_service


def get_pmr(month: str) -> Response:
    """Read the incident measures (CPM4, CPM5) of a month, YYYY-MM, with and without exclusions."""
    if not permissions.can_view_incidents(auth.current_user()):
        raise NotFound("No PMR figures.")
    return protocol.respond(PmrMonth.model_validate(pmr_service.as_json(month, pmr_service.measures(month))))
