"""JSON API v1, the monthly PMR measures and the months as reported: read by everyone who reads incidents."""
from __future__ import annotations

from dataclasses import asdict

from flask import Response

from incidents import permissions
from incidents.api import auth, protocol
from incidents.api.pmr_schemas import PmrMonth, PmrRecordingList
from incidents.errors import NotFound
from incidents.pmr import service as pmr_service


def get_pmr(month: str) -> Response:
    """Read the incident measures (CPM4, CPM5) of a month, YYYY-MM: without, with the DCC's, with agreed exclusions."""
    if not permissions.can_view_incidents(auth.current_user()):
        raise NotFound("No PMR figures.")
    return protocol.respond(PmrMonth.model_validate(pmr_service.as_json(month, pmr_service.measures(month))))


def list_pmr_recordings(month: str) -> Response:
    """Read every recording of a month's figures as reported, latest first, and what changed since the latest."""
    if not permissions.can_view_incidents(auth.current_user()):
        raise NotFound("No PMR figures.")
    found = pmr_service.recordings(month)
    compared = pmr_service.as_reported(month) if found else None
    return protocol.respond(PmrRecordingList.model_validate({
        "month": month,
        "recordings": [{"recorded_at": r.recorded_at, "recorded_by": r.recorded_by_name,
                        "measures": r.figures.get("measures", {})} for r in found],
        "changes_since_latest": {m.code: [asdict(c) for c in m.changes] for m in compared.measures}
        if compared else {},
    }))
