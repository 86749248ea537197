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
from incidents.review.models import (
    ExclusionProposal,
    ExclusionReview,
    ExclusionState,
    Review,
)
from incidents.timeutil import local_date, month_bounds, to_local

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


def measures(month: str, *, with_incidents: bool = True, limit: int | None = None) -> list[Measure]:
    """Compute every configured measure for a month, with its incidents (at most ``limit`` each, those that
    move the figure first: excluded, exclusion pending, outside the TRT; then the rest).

    The figures of every measure come from one grouped query (per Category); each measure adds up its own.
    """
    year, number = parse_month(month)
    start, end = month_bounds(year, number)
    specs = current_app.config["PMR_MEASURES"]
    sums = _sums_by_category(sorted({c for spec in specs.values() for c in spec["categories"]}), start, end)
    found = []
    for code, spec in specs.items():
        categories = list(spec["categories"])
        totals = [sum(column) for column in zip(*(sums.get(c, (0, 0, 0, 0, 0)) for c in categories), strict=True)]
        found.append(_measure(code, spec, categories, totals))
        if with_incidents:
            found[-1].incidents = _incidents(categories, start, end, limit)
    return found


# The PMR treatments that take an incident out of a measure, and those that may still do so.
EXCLUDED = (ExclusionState.AGREED,)
PENDING = (ExclusionState.PENDING, ExclusionState.INFORMATION_REQUESTED)


def _flags() -> tuple[Any, Any, Any]:
    """Return the SQL flags (1 or 0) of an incident within its TRT, excluded, and with an exclusion pending."""
    return (sa.case((Incident.resolved_at <= Incident.target_deadline_at, 1), else_=0),
            sa.case((Review.exclusion_state.in_(EXCLUDED), 1), else_=0),
            sa.case((Review.exclusion_state.in_(PENDING), 1), else_=0))


def _scope(categories: list[int], start: Any, end: Any) -> tuple[sa.ColumnElement[bool], ...]:
    return (Incident.category.in_(categories), Incident.dcc_responsible.is_(True),
            Incident.resolved_at >= start, Incident.resolved_at < end)


def _sums_by_category(categories: list[int], start: Any, end: Any) -> dict[int, tuple[int, int, int, int, int]]:
    """Per Category: incidents, within the TRT, excluded, excluded within the TRT, exclusion pending."""
    within, excluded, pending = _flags()
    rows = db.session.execute(
        sa.select(Incident.category, sa.func.count(), sa.func.coalesce(sa.func.sum(within), 0),
                  sa.func.coalesce(sa.func.sum(excluded), 0), sa.func.coalesce(sa.func.sum(excluded * within), 0),
                  sa.func.coalesce(sa.func.sum(pending), 0))
        .select_from(Incident).outerjoin(Review, Review.incident_id == Incident.id)
        .where(*_scope(categories, start, end)).group_by(Incident.category))
    return {int(category): (int(a), int(b), int(c), int(d), int(e)) for category, a, b, c, d, e in rows}


def _measure(code: str, spec: dict[str, Any], categories: list[int], totals: list[int]) -> Measure:
    total, total_within, n_excluded, excluded_within, n_pending = totals
    counted = total - n_excluded
    counted_within = total_within - excluded_within
    with_exclusions = _percent(counted_within, counted)
    target, minimum = float(spec["target"]), float(spec["minimum"])
    return Measure(
        code=code, label=spec["label"], categories=categories, counted=counted, within_target=counted_within,
        excluded=n_excluded, excluded_within_target=excluded_within, pending_exclusion=n_pending, total=total,
        total_within_target=total_within, percent_with_exclusions=with_exclusions,
        percent_without_exclusions=_percent(total_within, total), target_percent=target, minimum_percent=minimum,
        status=status_for(with_exclusions, target=target, minimum=minimum))


def _incidents(categories: list[int], start: Any, end: Any, limit: int | None) -> list[dict[str, Any]]:
    """List a measure's incidents (at most ``limit``, those that move the figure first)."""
    within, excluded, pending = _flags()
    scope = _scope(categories, start, end)
    found: list[dict[str, Any]] = []
    query = (sa.select(Incident.reference, Incident.title, Incident.category, Incident.started_at,
                       Incident.resolved_at, Incident.target_deadline_at, Review.exclusion_state)
             .select_from(Incident).outerjoin(Review, Review.incident_id == Incident.id))
    if limit is None:
        query = query.where(*scope)
    else:
        # A month can hold thousands of incidents: a page shows those that move the figure first. They are
        # picked from the PMR index (and each one's review) before any other column is read.
        first = (-excluded, -pending, within)
        picked = (sa.select(Incident.id).select_from(Incident).outerjoin(Review, Review.incident_id == Incident.id)
                  .where(*scope).order_by(*first, Incident.resolved_at, Incident.id).limit(limit))
        query = query.where(Incident.id.in_(picked.scalar_subquery())).order_by(*first)
    rows = db.session.execute(query.order_by(Incident.resolved_at, Incident.id))
    for ref, title, category, started, resolved, deadline, state in rows:
        assert resolved is not None  # the scope holds incidents resolved in the period
        state = state or ExclusionState.NOT_PROPOSED
        found.append({
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
    return found


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


# --- The monthly PMR page: labels, months, details, effects, the 12-month trend ------------------

STATUS_LABELS = {
    "met": "Met: at or above the Target Service Level",
    "below_target": "Below target: under the Target, at or above the Minimum Service Level",
    "below_minimum": "Below minimum: under the Minimum Service Level",
    "no_incidents": "No incidents counted this month",
}
TREATMENT_LABELS = {
    "counted": "Counted",
    "excluded": "Excluded",
    "exclusion_pending": "Counted: exclusion pending",
}
TREND_MONTHS = 12
_MONTH_NAMES = ["January", "February", "March", "April", "May", "June", "July", "August", "September",
                "October", "November", "December"]


@dataclass
class Effect:
    """What a measure would be if one agreed exclusion were not applied."""

    reference: str
    title: str
    within_target: bool
    percent_if_counted: float | None
    percent_with_exclusions: float | None
    status_if_counted: str

    @property
    def change(self) -> float | None:
        """Return the difference in percentage points (negative: the exclusion raises the figure)."""
        if self.percent_if_counted is None or self.percent_with_exclusions is None:
            return None
        return round(self.percent_if_counted - self.percent_with_exclusions, 2)


@dataclass
class TrendMonth:
    """One month of a measure in the trend."""

    month: str
    label: str
    total: int
    counted: int
    within_target: int
    excluded: int
    percent_with_exclusions: float | None
    percent_without_exclusions: float | None
    status: str


@dataclass
class MonthReport:
    """Everything the monthly PMR page and its CSV show."""

    month: str
    label: str
    previous: str
    next: str | None
    measures: list[Measure]
    details: dict[str, dict[str, Any]]
    effects: dict[str, list[Effect]]
    trend: dict[str, list[TrendMonth]]

    @property
    def previous_label(self) -> str:
        """Return the previous month's name, e.g. 'March 2023'."""
        return month_label(self.previous)

    @property
    def next_label(self) -> str | None:
        """Return the next month's name, or None when it has not started yet."""
        return month_label(self.next) if self.next else None


def month_label(month: str) -> str:
    """Return 'April 2023' for '2023-04'."""
    year, number = parse_month(month)
    return f"{_MONTH_NAMES[number - 1]} {year}"


def shift_month(month: str, delta: int) -> str:
    """Return the month ``delta`` months after (or before) ``month``."""
    year, number = parse_month(month)
    index = year * 12 + (number - 1) + delta
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def current_month(now: Any) -> str:
    """Return the UK calendar month of an instant as YYYY-MM."""
    local = local_date(now)
    return f"{local.year:04d}-{local.month:02d}"


def _all_categories() -> list[int]:
    return sorted({int(c) for spec in current_app.config["PMR_MEASURES"].values() for c in spec["categories"]})


def latest_month() -> str | None:
    """Return the latest month in which an incident the measures count was resolved."""
    latest = db.session.scalar(
        sa.select(sa.func.max(Incident.resolved_at))
        .where(Incident.category.in_(_all_categories()), Incident.dcc_responsible.is_(True)))
    return current_month(latest) if latest is not None else None


def exclusion_details(month: str, references: list[str] | None = None) -> dict[str, dict[str, Any]]:
    """Return, per incident resolved in the month (or only those in ``references``), the principle cited and
    SECAS's latest outcome (one query)."""
    year, number = parse_month(month)
    start, end = month_bounds(year, number)
    # The reviews in question first, so finding each one's last round and last SECAS review reads only theirs.
    reviews = (sa.select(Review.id).join(Incident, Incident.id == Review.incident_id)
               .where(Incident.category.in_(_all_categories()), Incident.dcc_responsible.is_(True),
                      Incident.resolved_at >= start, Incident.resolved_at < end,
                      Incident.reference.in_(references) if references is not None else sa.true()))
    last_round = (sa.select(ExclusionProposal.review_id, sa.func.max(ExclusionProposal.round).label("round"))
                  .where(ExclusionProposal.review_id.in_(reviews))
                  .group_by(ExclusionProposal.review_id).subquery())
    last_review = (sa.select(ExclusionReview.proposal_id, sa.func.max(ExclusionReview.id).label("id"))
                   .join(ExclusionProposal, ExclusionProposal.id == ExclusionReview.proposal_id)
                   .where(ExclusionProposal.review_id.in_(reviews))
                   .group_by(ExclusionReview.proposal_id).subquery())
    rows = db.session.execute(
        sa.select(Incident.reference, ExclusionProposal.exclude, ExclusionProposal.principle_code,
                  ExclusionProposal.principle_wording, ExclusionReview.outcome, ExclusionReview.comment,
                  ExclusionReview.reviewed_at)
        .select_from(Incident)
        .join(Review, Review.incident_id == Incident.id)
        .join(last_round, last_round.c.review_id == Review.id)
        .join(ExclusionProposal, sa.and_(ExclusionProposal.review_id == Review.id,
                                         ExclusionProposal.round == last_round.c.round))
        .outerjoin(last_review, last_review.c.proposal_id == ExclusionProposal.id)
        .outerjoin(ExclusionReview, ExclusionReview.id == last_review.c.id)
        .where(Review.id.in_(reviews)))
    return {
        reference: {"exclude": exclude, "principle_code": code if exclude else None,
                    "principle_wording": wording if exclude else None,
                    "secas_outcome": outcome.value if outcome is not None else None,
                    "secas_comment": comment, "secas_reviewed_at": reviewed_at}
        for reference, exclude, code, wording, outcome, comment, reviewed_at in rows
    }


def exclusion_effects(measure: Measure) -> list[Effect]:
    """Return, for each agreed exclusion, the measure had that one exclusion not been applied."""
    effects = []
    for row in measure.incidents:
        if row["treatment"] != "excluded":
            continue
        counted = measure.counted + 1
        within = measure.within_target + (1 if row["within_target"] else 0)
        percent = _percent(within, counted)
        effects.append(Effect(
            reference=row["reference"], title=row["title"], within_target=bool(row["within_target"]),
            percent_if_counted=percent, percent_with_exclusions=measure.percent_with_exclusions,
            status_if_counted=status_for(percent, target=measure.target_percent, minimum=measure.minimum_percent)))
    return effects


def trend(month: str, *, months: int = TREND_MONTHS) -> dict[str, list[TrendMonth]]:
    """Return every measure for the ``months`` months ending with ``month``, from two grouped queries."""
    names = [shift_month(month, offset) for offset in range(-(months - 1), 1)]
    edges = [month_bounds(*parse_month(name))[0] for name in names] + [month_bounds(*parse_month(month))[1]]
    within = sa.case((Incident.resolved_at <= Incident.target_deadline_at, 1), else_=0)
    scope = (Incident.category.in_(_all_categories()), Incident.dcc_responsible.is_(True))
    # The incidents alone, month by month: each month is one range of the PMR index, grouped by category (no
    # review looked up, no month worked out per row).
    monthly = [sa.select(sa.literal(i).label("slot"), Incident.category, sa.func.count(), sa.func.sum(within))
               .where(*scope, Incident.resolved_at >= edges[i], Incident.resolved_at < edges[i + 1])
               .group_by(Incident.category) for i in range(months)]
    # Then the agreed exclusions among them, found from the review state index (far fewer rows).
    slot = sa.case(*[(Incident.resolved_at < edges[i + 1], i) for i in range(months)], else_=months)
    # Grouping on a labelled column of a subquery keeps PostgreSQL happy with the CASE's parameters.
    inner = (sa.select(slot.label("slot"), Incident.category.label("category"), within.label("within"))
             .select_from(Review).join(Incident, Incident.id == Review.incident_id)
             .where(Review.exclusion_state.in_(EXCLUDED), *scope,
                    Incident.resolved_at >= edges[0], Incident.resolved_at < edges[-1])).subquery()
    excluded_rows = db.session.execute(
        sa.select(inner.c.slot, inner.c.category, sa.func.count(), sa.func.sum(inner.c.within))
        .group_by(inner.c.slot, inner.c.category))
    excluded = {(int(slot_index), int(category)): (int(n), int(n_within or 0))
                for slot_index, category, n, n_within in excluded_rows}
    rows = [(slot_index, category, total, total_within, *excluded.get((int(slot_index), int(category)), (0, 0)))
            for slot_index, category, total, total_within in db.session.execute(sa.union_all(*monthly))]
    cells: dict[tuple[int, int], tuple[int, int, int, int]] = {}
    for slot_index, category, total, total_within, n_excluded, excluded_within in rows:
        cells[(int(slot_index), int(category))] = (int(total), int(total_within or 0), int(n_excluded or 0),
                                                   int(excluded_within or 0))
    result: dict[str, list[TrendMonth]] = {}
    for code, spec in current_app.config["PMR_MEASURES"].items():
        target, minimum = float(spec["target"]), float(spec["minimum"])
        series = []
        for index, name in enumerate(names):
            total = total_within = n_excluded = excluded_within = 0
            for category in spec["categories"]:
                cell = cells.get((index, int(category)), (0, 0, 0, 0))
                total, total_within = total + cell[0], total_within + cell[1]
                n_excluded, excluded_within = n_excluded + cell[2], excluded_within + cell[3]
            counted, counted_within = total - n_excluded, total_within - excluded_within
            with_exclusions = _percent(counted_within, counted)
            series.append(TrendMonth(
                month=name, label=f"{_MONTH_NAMES[int(name[5:]) - 1][:3]} {name[:4]}", total=total, counted=counted,
                within_target=counted_within, excluded=n_excluded, percent_with_exclusions=with_exclusions,
                percent_without_exclusions=_percent(total_within, total),
                status=status_for(with_exclusions, target=target, minimum=minimum)))
        result[code] = series
    return result


def month_report(month: str, *, now: Any, with_trend: bool = True, limit: int | None = None) -> MonthReport:
    """Gather the monthly PMR page: measures (at most ``limit`` incidents each), exclusion details and effects,
    the 12-month trend."""
    parse_month(month)
    found = measures(month, limit=limit)
    shown = [row["reference"] for m in found for row in m.incidents] if limit is not None else None
    following = shift_month(month, 1)
    return MonthReport(
        month=month, label=month_label(month), previous=shift_month(month, -1),
        next=following if following <= current_month(now) else None,
        measures=found, details=exclusion_details(month, shown),
        effects={m.code: exclusion_effects(m) for m in found}, trend=trend(month) if with_trend else {})


PAGE_CSV_HEADER = [
    "row", "month", "measure", "reference", "title", "category", "resolved_at_uk", "trt_deadline_uk",
    "resolution_minutes", "within_trt", "pmr_treatment", "principle", "secas_outcome", "counted",
    "counted_within_trt", "excluded", "exclusion_pending", "total", "total_within_trt",
    "percent_with_exclusions", "percent_without_exclusions", "target_percent", "minimum_percent", "status",
]


def page_csv_rows(report: MonthReport) -> list[list[Any]]:
    """Return the PMR page as CSV rows: one 'measure' row per measure, then one 'incident' row per incident."""
    def number(value: float | None) -> Any:
        return "" if value is None else value

    rows: list[list[Any]] = [PAGE_CSV_HEADER]
    for m in report.measures:
        rows.append(["measure", report.month, m.code, "", m.label, "", "", "", "", "", "", "", "", m.counted,
                     m.within_target, m.excluded, m.pending_exclusion, m.total, m.total_within_target,
                     number(m.percent_with_exclusions), number(m.percent_without_exclusions), m.target_percent,
                     m.minimum_percent, m.status])
        for row in m.incidents:
            detail = report.details.get(row["reference"], {})
            rows.append([
                "incident", report.month, m.code, row["reference"], row["title"], row["category"],
                _local_iso(row["resolved_at"]), _local_iso(row["target_deadline_at"]), row["resolution_minutes"],
                "yes" if row["within_target"] else "no", row["treatment"],
                detail.get("principle_code") or "", detail.get("secas_outcome") or "",
                "", "", "", "", "", "", "", "", "", "", ""])
    return rows


def _local_iso(value: Any) -> str:
    return to_local(value).isoformat(timespec="minutes") if value is not None else ""
