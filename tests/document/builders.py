"""Reviews in given states, built through the real services (shared by the chart, document and dashboard tests)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from incidents.incident.models import Incident
from incidents.report import service as report_service
from incidents.review import service as review_service
from tests import factories

SECTIONS = {
    "summary": "A nationwide outage of a national telecoms carrier. **CSP N took longest.**",
    "root_cause": "Carrier core network failure; CSP N NTE stuck and needed a reset.",
    "impact": "Smart meter communications unavailable.",
    "lessons_learned": "- Agree a remote NTE reset route.",
    "actions": "- OPSG 97/04: DCC to confirm its principles.",
}


def submitted(users: dict[str, Any], now: datetime, *, sections: dict[str, str] | None = None,
              classification: str = "AMBER", exclude: bool = False, **fields: Any) -> Incident:
    """Log an incident, settle its PMR treatment (include) and submit its Review Report."""
    incident = factories.incident(actor=users["dcc"], now=now, **fields)
    if exclude:
        review_service.propose(incident=incident, exclude=True, principle="force-majeure", rationale="Storm.",
                               actor=users["dcc"], now=now)
    else:
        review_service.propose(incident=incident, exclude=False, rationale="Counted.", actor=users["dcc"], now=now)
    report_service.save_draft(incident=incident, sections=sections or SECTIONS, classification=classification,
                              actor=users["dcc"], now=now)
    report_service.submit(incident=incident, actor=users["dcc"], now=now)
    return incident


def decided(incident: Incident, users: dict[str, Any], now: datetime, *, meeting: str = "OPSG_96",
            outcome: str = "agreed", meeting_on: date = date(2023, 5, 30), classification: str = "GREEN") -> None:
    """Record an Operations Group decision on the submitted report, at a meeting of the register."""
    factories.decision(incident, actor=users["secas"], now=now, meeting_ref=meeting, held_on=meeting_on,
                       outcome=outcome, classification=classification)


def published(users: dict[str, Any], now: datetime, *, classification: str = "GREEN", **fields: Any) -> Incident:
    """Take an incident all the way to publication to SEC Parties."""
    incident = submitted(users, now, **fields)
    factories.decision(incident, actor=users["secas"], now=now, meeting_ref="OPSG_96", held_on=date(2023, 5, 30),
                       classification=classification)
    review_service.publish(incident=incident, actor=users["secas"], now=now)
    return incident
