"""The monthly Performance Measurement Report measures for incidents (CPM4, CPM5), computed in SQL."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from flask import current_app

from incidents.errors import ValidationError
from incidents.extensions import db
from incidents.incident.models import Incident
from incidents.review.models import ExclusionState, Review
from incidents.timeutil import month_bounds

MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass
class Measure:
    """One measure for one month, with and without exclusions."""

    code: str
    label: str
    categories: list[int]
    counted: int
    within_target: int
    excluded: int
    excluded_within_target: int
    pending_exclusion: int
    total: int
    total_within_target: int
    percent_with_exclusions: float | None
    percent_without_exclusions: float | None
    target_percent: float
    minimum_percent: float
    status: str
    incidents: list[dict[str, Any]] = field(default_factory=list)


def parse_month(text: str) -> tuple[int, int]:
    """Read 'YYYY-MM' or raise a ValidationError saying how to write it."""
    match = MONTH_RE.match(text or "")
    if not match or not 1990 <= int(match.group(1)) <= 2999:
        raise ValidationError({"month": ["Give the month as YYYY-MM, e.g. 2023-04."]})
    return int(match.group(1)), int(match.group(2))


def _percent(part: int, whole: int) -> float | None:
    return round(100.0 * part / whole, 2) if whole else None


def status_for(percent: float | None, *, target: float, minimum: float) -> str:
    """Return 'met', 'below_target', 'below_minimum' or 'no_incidents'."""
    if percent is None:
        return "no_incidents"
    if percent >= target:
        return "met"
    if percent >= minimum:
        return "below_target"
    return "below_minimum"


def measures(month: str, *, with_incidents: bool = True) -> list[Measure]:
    """Compute every configured measure for a month."""
    year, number = parse_month(month)
    start, end = month_bounds(year, number)
    return [_measure(code, spec, start, end, with_incidents)
            for code, spec in current_app.config["PMR_MEASURES"].items()]


def _measure(code: str, spec: dict[str, Any], start: Any, end: Any, with_incidents: bool) -> Measure:
    categories = list(spec["categories"])
    within = sa.case((Incident.resolved_at <= Incident.target_deadline_at, 1), else_=0)
    excluded = sa.case((Review.exclusion_state == ExclusionState.AGREED, 1), else_=0)
    pending = sa.case((Review.exclusion_state.in_([ExclusionState.PENDING, ExclusionState.INFORMATION_REQUESTED]), 1),
                      else_=0)
    scope = (Incident.category.in_(categories), Incident.dcc_responsible.is_(True),
             Incident.resolved_at >= start, Incident.resolved_at < end)
    row = db.session.execute(
        sa.select(sa.func.count(Incident.id), sa.func.coalesce(sa.func.sum(within), 0),
                  sa.func.coalesce(sa.func.sum(excluded), 0),
                  sa.func.coalesce(sa.func.sum(excluded * within), 0),
                  sa.func.coalesce(sa.func.sum(pending), 0))
        .select_from(Incident).outerjoin(Review, Review.incident_id == Incident.id).where(*scope)).one()
    total, total_within, n_excluded, excluded_within, n_pending = (int(v) for v in row)
    counted = total - n_excluded
    counted_within = total_within - excluded_within
    with_exclusions = _percent(counted_within, counted)
    target, minimum = float(spec["target"]), float(spec["minimum"])
    result = Measure(
        code=code, label=spec["label"], categories=categories, counted=counted, within_target=counted_within,
        excluded=n_excluded, excluded_within_target=excluded_within, pending_exclusion=n_pending, total=total,
        total_within_target=total_within, percent_with_exclusions=with_exclusions,
        percent_without_exclusions=_percent(total_within, total), target_percent=target, minimum_percent=minimum,
        status=status_for(with_exclusions, target=target, minimum=minimum))
    if with_incidents:
        rows = db.session.execute(
            sa.select(Incident.reference, Incident.title, Incident.category, Incident.started_at,
                      Incident.resolved_at, Incident.target_deadline_at, Review.exclusion_state)
            .select_from(Incident).outerjoin(Review, Review.incident_id == Incident.id).where(*scope)
            .order_by(Incident.resolved_at, Incident.id))
        for ref, title, category, started, resolved, deadline, state in rows:
            state = state or ExclusionState.NOT_PROPOSED
            result.incidents.append({
                "reference": ref, "title": title, "category": category, "started_at": started,
                "resolved_at": resolved, "target_deadline_at": deadline,
                "resolution_minutes": int((resolved - started).total_seconds() // 60),
                "within_target": resolved <= deadline if deadline else False,
                "treatment": ("excluded" if state == ExclusionState.AGREED else
                              "exclusion_pending" if state in (ExclusionState.PENDING,
                                                               ExclusionState.INFORMATION_REQUESTED) else
                              "counted"),
                "exclusion_state": state.value,
            })
    return result


CSV_HEADER = ["month", "measure", "reference", "title", "category", "resolution_minutes", "within_target",
              "treatment"]


def csv_rows(measures_: list[Measure], month: str = "") -> list[list[Any]]:
    """Flatten measures into CSV rows, one per incident."""
    rows = []
    for m in measures_:
        for row in m.incidents:
            rows.append([month or (row["resolved_at"].strftime("%Y-%m") if row["resolved_at"] else ""), m.code,
                         row["reference"], row["title"], row["category"], row["resolution_minutes"],
                         "yes" if row["within_target"] else "no", row["treatment"]])
    return rows


def as_json(month: str, measures_: list[Measure]) -> dict[str, Any]:
    """Return the API form of a month's measures."""
    return {
        "month": month,
        "measures": {
            m.code: {
                "label": m.label, "categories": m.categories, "counted": m.counted,
                "within_target": m.within_target, "excluded": m.excluded,
                "pending_exclusion": m.pending_exclusion, "total": m.total,
                "percent_with_exclusions": m.percent_with_exclusions,
                "percent_without_exclusions": m.percent_without_exclusions,
                "target_percent": m.target_percent, "minimum_percent": m.minimum_percent, "status": m.status,
                "incidents": [
                    {"reference": r["reference"], "title": r["title"], "category": r["category"],
                     "resolved_at": r["resolved_at"].isoformat().replace("+00:00", "Z"),
                     "resolution_minutes": r["resolution_minutes"], "within_target": r["within_target"],
                     "treatment": r["treatment"]}
                    for r in m.incidents
                ],
            }
            for m in measures_
        },
    }
