"""Turn an incident, live or as a report version froze it, into the restoration chart."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from markupsafe import Markup

from incidents import permissions, validation
from incidents.chart import svg
from incidents.errors import NotFound
from incidents.incident import service as incident_service
from incidents.incident.models import Incident
from incidents.review import edition
from incidents.review import service as review_service
from incidents.rules import service as rules_service
from incidents.timeutil import format_minutes, local_zone, utcnow


@dataclass
class Figure:
    """A chart ready for a page: the SVG and the sentence it calls out."""

    svg: Markup
    callout: str | None
    description: str


def _when(value: Any) -> datetime | None:
    """Read a time kept as ISO text in a frozen report (or already a datetime)."""
    if isinstance(value, datetime):
        return value
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return None
    return None


def _callout(cohorts: list[svg.CohortSpan], open_label: str, open_until: datetime) -> tuple[str | None, str | None]:
    """Return (longest cohort, the sentence that calls it out)."""
    waiting = [c.name for c in cohorts if c.restored_at is None]
    if waiting:
        names = ", ".join(waiting)
        verb = "was" if len(waiting) == 1 else "were"
        clock = svg.clock(open_until, local_zone())
        return None, f"{names} {verb} not restored by {open_label} ({clock})."
    restorations = [
        incident_service.CohortRestoration(c.name, c.impact_started_at, c.restored_at,
                                           int((c.restored_at - c.impact_started_at).total_seconds() // 60))
        for c in cohorts if c.restored_at is not None
    ]
    longest = incident_service.longest_restoration(restorations)
    if longest is None:
        return None, None
    if longest.next_cohort is None:
        # One cohort: nothing to compare it with, so nothing is marked as longest.
        return None, f"{longest.cohort} restored after {format_minutes(longest.restoration_minutes)}."
    if longest.restored_after_others_minutes is not None and longest.restored_after_others_minutes > 0:
        return longest.cohort, (f"{longest.cohort} restored {format_minutes(longest.restored_after_others_minutes)} "
                                f"after the last other cohort ({format_minutes(longest.restoration_minutes)} in all).")
    return longest.cohort, (f"{longest.cohort} took longest to restore: "
                            f"{format_minutes(longest.restoration_minutes)}.")


def _restoration(*, reference: str, started_at: datetime, resolved_at: datetime | None,
                 deadline_at: datetime | None, cohorts: list[svg.CohortSpan], events: list[svg.Event],
                 now: datetime) -> svg.Restoration:
    open_until = resolved_at or max(now, started_at)
    open_label = "resolution" if resolved_at else "now"
    longest, callout = _callout(cohorts, open_label, open_until)
    return svg.Restoration(reference=reference, zone=local_zone(), started_at=started_at, resolved_at=resolved_at,
                           deadline_at=deadline_at, open_until=open_until, open_label=open_label, cohorts=cohorts,
                           events=events, longest_cohort=longest, callout=callout)


def from_incident(incident: Incident, *, now: datetime | None = None) -> svg.Restoration:
    """Return the chart data of the incident as recorded now."""
    derived = incident_service.derive(incident)
    return _restoration(
        reference=incident.reference, started_at=incident.started_at, resolved_at=incident.resolved_at,
        deadline_at=derived.target_deadline_at,
        cohorts=[svg.CohortSpan(c.name, c.impact_started_at, c.restored_at) for c in incident.cohorts],
        events=[svg.Event(e.occurred_at, e.kind.value, e.cohort, e.text) for e in incident.timeline],
        now=now or utcnow())


def from_generated(incident: Incident | None, generated: dict[str, Any], *,
                   now: datetime | None = None) -> svg.Restoration:
    """Return the chart data as a report version captured it (a frozen version keeps its own times).

    A published edition is drawn from its snapshot alone (``incident`` None): nothing of the live record.
    """
    facts = generated.get("facts") or {}
    started = _when(facts.get("started_at")) or (incident.started_at if incident is not None else None)
    if started is None:
        raise ValueError("A report's generated sections give no start time.")
    resolved = _when(facts.get("resolved_at"))
    deadline = _when(facts.get("target_deadline_at"))
    if deadline is None and "target_deadline_at" not in facts:
        # Captured before the deadline was kept with the facts: work it out from the captured category.
        category = facts.get("category", incident.category if incident is not None else None)
        clock_start = started
        if (current_app.config["RESOLUTION_CLOCK_START"] == "detected" and incident is not None
                and incident.detected_at is not None):
            clock_start = incident.detected_at
        deadline = rules_service.target_deadline(category, clock_start) if isinstance(category, int) else None
    cohorts = []
    for item in generated.get("cohorts") or []:
        impact = _when(item.get("impact_started_at"))
        if impact is not None:
            cohorts.append(svg.CohortSpan(str(item.get("name") or ""), impact, _when(item.get("restored_at"))))
    events = []
    for item in generated.get("timeline") or []:
        at = _when(item.get("occurred_at"))
        if at is not None:
            events.append(svg.Event(at, str(item.get("kind") or ""), item.get("cohort") or None,
                                    str(item.get("text") or "")))
    reference = str(facts.get("reference") or (incident.reference if incident is not None else ""))
    return _restoration(reference=reference, started_at=started, resolved_at=resolved, deadline_at=deadline,
                        cohorts=cohorts, events=events, now=now or utcnow())


def figure(data: svg.Restoration, *, id_prefix: str | None = None) -> Figure:
    """Draw the restoration chart and keep its callout for the caption."""
    return Figure(svg=svg.restoration_chart(data, id_prefix=id_prefix), callout=data.callout,
                  description=svg.describe_restoration(data))


def report_figure(incident: Incident | None, generated: dict[str, Any] | None = None, *,
                  now: datetime | None = None) -> Figure:
    """Draw the chart for a report: from its generated sections when given, else from the live record."""
    if generated:
        data = from_generated(incident, generated, now=now)
    elif incident is not None:
        data = from_incident(incident, now=now)
    else:
        raise ValueError("A chart needs a record or a report's generated sections.")
    return figure(data, id_prefix=f"restoration-{data.reference}")


def restoration_for(reference: str, *, viewer: Any, now: datetime | None = None) -> Markup:
    """Return the restoration SVG a viewer may see: the live record, or for SEC Parties the published version."""
    if not validation.is_lookup_key(reference, 40):
        raise NotFound(f"No incident {reference!r}.")
    if permissions.can_view_incidents(viewer):
        incident = incident_service.get_incident(reference, viewer=viewer)
        return svg.restoration_chart(from_incident(incident, now=now))
    publication = review_service.get_published(reference, viewer=viewer)
    return svg.restoration_chart(from_generated(None, edition.generated(publication), now=now))
