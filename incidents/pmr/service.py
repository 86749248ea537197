"""The monthly Performance Measurement Report measures for incidents (CPM4, CPM5), computed in SQL."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import current_app

from incidents import labels, permissions
from incidents.audit import service as audit_service
from incidents.errors import PermissionDenied, ValidationError
from incidents.extensions import db
from incidents.incident.models import Incident
from incidents.pmr.models import RecordedMonth
from incidents.principle.models import title_for
from incidents.review import workflow
from incidents.review.models import (
    ExclusionProposal,
    ExclusionReview,
    ExclusionState,
    Review,
)
from incidents.timeutil import format_local, local_date, month_bounds, to_local
from incidents.user import service as user_service

MONTH_RE = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


@dataclass
class Measure:
    """One measure for one month, three ways: without exclusions, with the DCC's, with the agreed ones.

    ``counted``, ``within_target``, ``excluded`` and ``status`` are the agreed figure's (SECAS agreed the
    exclusion); the ``dcc_`` fields are the figure the DCC reports (every exclusion it applied that SECAS has not
    disagreed with); ``total`` and ``total_within_target`` apply no exclusion.
    """

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
    dcc_counted: int = 0
    dcc_within_target: int = 0
    dcc_excluded: int = 0
    percent_with_dcc_exclusions: float | None = None
    status_with_dcc_exclusions: str = "no_incidents"
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
        totals = [sum(column) for column in zip(*(sums.get(c, _NO_SUMS) for c in categories), strict=True)]
        found.append(_measure(code, spec, categories, totals))
        if with_incidents:
            found[-1].incidents = _incidents(categories, start, end, limit)
    return found


# Which exclusion states take an incident out of which figure: the review workflow says (one rule, one place).
EXCLUDED = workflow.EXCLUDED_AS_AGREED
EXCLUDED_BY_DCC = workflow.EXCLUDED_BY_DCC
PENDING = workflow.EXCLUSION_UNDER_REVIEW
_NO_SUMS = (0, 0, 0, 0, 0, 0)


def _flags() -> tuple[Any, Any, Any]:
    """Return the SQL flags (1 or 0) of an incident within its TRT, excluded as agreed, and excluded by the DCC."""
    return (sa.case((Incident.resolved_at <= Incident.target_deadline_at, 1), else_=0),
            sa.case((Review.exclusion_state.in_(EXCLUDED), 1), else_=0),
            sa.case((Review.exclusion_state.in_(EXCLUDED_BY_DCC), 1), else_=0))


def _scope(categories: list[int], start: Any, end: Any) -> tuple[sa.ColumnElement[bool], ...]:
    return (Incident.category.in_(categories), Incident.dcc_responsible.is_(True),
            Incident.resolved_at >= start, Incident.resolved_at < end)


def _sums_by_category(categories: list[int], start: Any, end: Any) -> dict[int, tuple[int, ...]]:
    """Per Category: incidents, within the TRT, excluded as agreed (and of those within the TRT), excluded by the
    DCC (and of those within the TRT)."""
    within, excluded, by_dcc = _flags()

    def total(value: Any) -> Any:
        return sa.func.coalesce(sa.func.sum(value), 0)

    rows = db.session.execute(
        sa.select(Incident.category, sa.func.count(), total(within), total(excluded), total(excluded * within),
                  total(by_dcc), total(by_dcc * within))
        .select_from(Incident).outerjoin(Review, Review.incident_id == Incident.id)
        .where(*_scope(categories, start, end)).group_by(Incident.category))
    return {int(category): tuple(int(n) for n in numbers) for category, *numbers in rows}


def _measure(code: str, spec: dict[str, Any], categories: list[int], totals: list[int]) -> Measure:
    total, total_within, n_excluded, excluded_within, n_by_dcc, by_dcc_within = totals
    counted, counted_within = total - n_excluded, total_within - excluded_within
    dcc_counted, dcc_within = total - n_by_dcc, total_within - by_dcc_within
    with_exclusions, with_dcc = _percent(counted_within, counted), _percent(dcc_within, dcc_counted)
    target, minimum = float(spec["target"]), float(spec["minimum"])
    return Measure(
        code=code, label=spec["label"], categories=categories, counted=counted, within_target=counted_within,
        excluded=n_excluded, excluded_within_target=excluded_within, pending_exclusion=n_by_dcc - n_excluded,
        total=total, total_within_target=total_within, percent_with_exclusions=with_exclusions,
        percent_without_exclusions=_percent(total_within, total), target_percent=target, minimum_percent=minimum,
        status=status_for(with_exclusions, target=target, minimum=minimum),
        dcc_counted=dcc_counted, dcc_within_target=dcc_within, dcc_excluded=n_by_dcc,
        percent_with_dcc_exclusions=with_dcc, status_with_dcc_exclusions=status_for(with_dcc, target=target,
                                                                                    minimum=minimum))


def treatment(state: ExclusionState) -> str:
    """Return how the agreed figure treats an incident: 'excluded', 'exclusion_pending' or 'counted'."""
    if state in EXCLUDED:
        return "excluded"
    return "exclusion_pending" if state in PENDING else "counted"


def _incidents(categories: list[int], start: Any, end: Any, limit: int | None) -> list[dict[str, Any]]:
    """List a measure's incidents (at most ``limit``, those that move the figure first)."""
    within, excluded, by_dcc = _flags()
    scope = _scope(categories, start, end)
    found: list[dict[str, Any]] = []
    query = (sa.select(Incident.reference, Incident.title, Incident.category, Incident.started_at,
                       Incident.resolved_at, Incident.target_deadline_at, Review.exclusion_state,
                       Incident.created_at)
             .select_from(Incident).outerjoin(Review, Review.incident_id == Incident.id))
    if limit is None:
        query = query.where(*scope)
    else:
        # A month can hold thousands of incidents: a page shows those that move the figure first. They are
        # picked from the PMR index (and each one's review) before any other column is read.
        first = (-excluded, -by_dcc, within)
        picked = (sa.select(Incident.id).select_from(Incident).outerjoin(Review, Review.incident_id == Incident.id)
                  .where(*scope).order_by(*first, Incident.resolved_at, Incident.id).limit(limit))
        query = query.where(Incident.id.in_(picked.scalar_subquery())).order_by(*first)
    rows = db.session.execute(query.order_by(Incident.resolved_at, Incident.id))
    for ref, title, category, started, resolved, deadline, state, logged in rows:
        assert resolved is not None  # the scope holds incidents resolved in the period
        state = state or ExclusionState.NOT_PROPOSED
        found.append({
            "reference": ref, "title": title, "category": category, "started_at": started,
            "resolved_at": resolved, "target_deadline_at": deadline,
            "resolution_minutes": int((resolved - started).total_seconds() // 60),
            "within_target": resolved <= deadline if deadline else False,
            "treatment": treatment(state), "excluded_by_dcc": state in EXCLUDED_BY_DCC,
            "exclusion_state": state.value, "logged_at": logged,
        })
    return found


CSV_HEADER = ["month", "measure", "reference", "title", "category", "resolution_minutes", "within_target",
              "treatment", "exclusion_state", "excluded_by_dcc"]


def csv_rows(measures_: list[Measure], month: str = "") -> list[list[Any]]:
    """Flatten measures into CSV rows, one per incident."""
    rows = []
    for m in measures_:
        for row in m.incidents:
            rows.append([month or (row["resolved_at"].strftime("%Y-%m") if row["resolved_at"] else ""), m.code,
                         row["reference"], row["title"], row["category"], row["resolution_minutes"],
                         "yes" if row["within_target"] else "no", row["treatment"], row["exclusion_state"],
                         "yes" if row["excluded_by_dcc"] else "no"])
    return rows


def figures(m: Measure) -> dict[str, Any]:
    """Return a measure's figures and the counts behind them, as the API shows them and a recording keeps them."""
    return {
        "label": m.label, "categories": m.categories, "total": m.total, "total_within_target": m.total_within_target,
        "percent_without_exclusions": m.percent_without_exclusions,
        "dcc_counted": m.dcc_counted, "dcc_within_target": m.dcc_within_target, "dcc_excluded": m.dcc_excluded,
        "percent_with_dcc_exclusions": m.percent_with_dcc_exclusions,
        "status_with_dcc_exclusions": m.status_with_dcc_exclusions,
        "counted": m.counted, "within_target": m.within_target, "excluded": m.excluded,
        "pending_exclusion": m.pending_exclusion, "percent_with_exclusions": m.percent_with_exclusions,
        "target_percent": m.target_percent, "minimum_percent": m.minimum_percent, "status": m.status,
    }


def as_json(month: str, measures_: list[Measure]) -> dict[str, Any]:
    """Return the API form of a month's measures."""
    return {
        "month": month,
        "measures": {
            m.code: {
                **figures(m),
                "incidents": [
                    {"reference": r["reference"], "title": r["title"], "category": r["category"],
                     "resolved_at": r["resolved_at"].isoformat().replace("+00:00", "Z"),
                     "resolution_minutes": r["resolution_minutes"], "within_target": r["within_target"],
                     "treatment": r["treatment"], "exclusion_state": r["exclusion_state"],
                     "excluded_by_dcc": r["excluded_by_dcc"]}
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
TREATMENT_LABELS = labels.TREATMENT_LABELS
# Where each incident's exclusion stands, in the terms of the three figures.
STANDING_LABELS = {
    ExclusionState.NOT_PROPOSED: "Counted in every figure: no PMR treatment proposed yet",
    ExclusionState.INCLUDED: "Counted in every figure: the DCC proposes no exclusion",
    ExclusionState.PENDING: "Excluded by the DCC, SECAS reviewing: counted in the agreed figure until SECAS agrees",
    ExclusionState.INFORMATION_REQUESTED: ("Excluded by the DCC, SECAS asked for more information: counted in the "
                                           "agreed figure until SECAS agrees"),
    ExclusionState.AGREED: "Excluded from the DCC's and the agreed figure: SECAS agreed",
    ExclusionState.DISAGREED: "Counted in every figure: SECAS disagreed with the DCC's exclusion",
}


def standing(state: str) -> str:
    """Say where an exclusion in this state stands in the three figures."""
    return STANDING_LABELS[ExclusionState(state)]
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
    dcc_excluded: int = 0
    percent_with_dcc_exclusions: float | None = None


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
    # Then the DCC's exclusions among them (the agreed ones included), found from the review state index (far
    # fewer rows).
    slot = sa.case(*[(Incident.resolved_at < edges[i + 1], i) for i in range(months)], else_=months)
    agreed = sa.case((Review.exclusion_state.in_(EXCLUDED), 1), else_=0)
    # Grouping on a labelled column of a subquery keeps PostgreSQL happy with the CASE's parameters.
    inner = (sa.select(slot.label("slot"), Incident.category.label("category"), within.label("within"),
                       agreed.label("agreed"))
             .select_from(Review).join(Incident, Incident.id == Review.incident_id)
             .where(Review.exclusion_state.in_(EXCLUDED_BY_DCC), *scope,
                    Incident.resolved_at >= edges[0], Incident.resolved_at < edges[-1])).subquery()
    excluded_rows = db.session.execute(
        sa.select(inner.c.slot, inner.c.category, sa.func.count(), sa.func.sum(inner.c.within),
                  sa.func.sum(inner.c.agreed), sa.func.sum(inner.c.agreed * inner.c.within))
        .group_by(inner.c.slot, inner.c.category))
    excluded = {(int(slot_index), int(category)): (int(n_agreed or 0), int(agreed_within or 0), int(n),
                                                   int(n_within or 0))
                for slot_index, category, n, n_within, n_agreed, agreed_within in excluded_rows}
    cells: dict[tuple[int, int], tuple[int, ...]] = {}
    for slot_index, category, total, total_within in db.session.execute(sa.union_all(*monthly)):
        key = (int(slot_index), int(category))
        cells[key] = (int(total), int(total_within or 0), *excluded.get(key, (0, 0, 0, 0)))
    result: dict[str, list[TrendMonth]] = {}
    for code, spec in current_app.config["PMR_MEASURES"].items():
        target, minimum = float(spec["target"]), float(spec["minimum"])
        series = []
        for index, name in enumerate(names):
            sums = [sum(column) for column in zip(*(cells.get((index, int(c)), _NO_SUMS) for c in spec["categories"]),
                                                 strict=True)]
            total, total_within, n_excluded, excluded_within, n_by_dcc, by_dcc_within = sums
            counted, counted_within = total - n_excluded, total_within - excluded_within
            with_exclusions = _percent(counted_within, counted)
            series.append(TrendMonth(
                month=name, label=f"{_MONTH_NAMES[int(name[5:]) - 1][:3]} {name[:4]}", total=total, counted=counted,
                within_target=counted_within, excluded=n_excluded, percent_with_exclusions=with_exclusions,
                percent_without_exclusions=_percent(total_within, total),
                status=status_for(with_exclusions, target=target, minimum=minimum), dcc_excluded=n_by_dcc,
                percent_with_dcc_exclusions=_percent(total_within - by_dcc_within, total - n_by_dcc)))
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
    "exclusion_state", "excluded_by_dcc", "dcc_counted", "dcc_counted_within_trt", "percent_with_dcc_exclusions",
    "status_with_dcc_exclusions",
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
                     m.minimum_percent, labels.humanise(m.status), "", m.dcc_excluded, m.dcc_counted,
                     m.dcc_within_target, number(m.percent_with_dcc_exclusions),
                     labels.humanise(m.status_with_dcc_exclusions)])
        for row in m.incidents:
            detail = report.details.get(row["reference"], {})
            rows.append([
                "incident", report.month, m.code, row["reference"], row["title"], row["category"],
                _local_iso(row["resolved_at"]), _local_iso(row["target_deadline_at"]), row["resolution_minutes"],
                "yes" if row["within_target"] else "no", labels.state("treatment", row["treatment"]),
                title_for(detail.get("principle_code")), labels.state("outcome", detail.get("secas_outcome")) or "",
                "", "", "", "", "", "", "", "", "", "", "",
                labels.state("exclusion_state", row["exclusion_state"]), "yes" if row["excluded_by_dcc"] else "no",
                "", "", "", ""])
    return rows


def _local_iso(value: Any) -> str:
    return to_local(value).isoformat(timespec="minutes") if value is not None else ""


# --- The month as reported: a frozen copy of the figures, and what changed since -----------------
#
# Recording a month again keeps every copy (the DCC may republish a corrected PMR); the page shows the latest,
# with its date, and says how many there are.

def freeze(measures_: list[Measure]) -> dict[str, Any]:
    """Return the figures of every measure, and each incident's line, as a recording keeps them."""
    return {"measures": {m.code: {
        **figures(m),
        "incidents": [{"reference": r["reference"], "title": r["title"], "category": r["category"],
                       "within_target": r["within_target"], "exclusion_state": r["exclusion_state"],
                       "excluded_by_dcc": r["excluded_by_dcc"]} for r in m.incidents],
    } for m in measures_}}


def record_month(*, month: str, actor: Any, now: datetime) -> RecordedMonth:
    """Record the month's figures as the DCC reports them now (the CLI passes no actor), with an audit entry."""
    if actor is not None and not permissions.can_record_pmr(actor):
        raise PermissionDenied("Only the DCC records the PMR figures as reported.")
    if not is_over(month, now=now):
        message = (f"{month_label(month)} is not over yet (UK time): record its figures as reported once the "
                   "month has ended.")
        raise ValidationError({"month": [message]}, message)
    found = measures(month)
    recorded = RecordedMonth(month=month, recorded_at=now, recorded_by_id=actor.id if actor is not None else None,
                             recorded_by_name=actor.email if actor is not None else "system", figures=freeze(found))
    db.session.add(recorded)
    db.session.flush()
    said = "; ".join(f"{m.code} {_said(m.percent_with_dcc_exclusions)} with the DCC's exclusions "
                     f"({_said(m.percent_with_exclusions)} agreed, {_said(m.percent_without_exclusions)} without)"
                     for m in found)
    audit_service.record(actor=actor, action="create", entity_type="pmr_recorded_month", entity_id=recorded.id,
                         changes={"month": [None, month]}, now=now,
                         summary=f"Recorded the PMR figures for {month_label(month)} as reported: {said}")
    return recorded


def is_over(month: str, *, now: datetime) -> bool:
    """Tell whether the month has ended (UK time), so its figures can be recorded as reported."""
    return now >= month_bounds(*parse_month(month))[1]


def recorded_label(recorded: RecordedMonth) -> str:
    """Say when and by whom a month was recorded."""
    return f"recorded on {format_local(recorded.recorded_at)} by {user_service.person(recorded.recorded_by_name)}"


def _said(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} %"


def recordings(month: str) -> list[RecordedMonth]:
    """Return every recording of the month, latest first."""
    parse_month(month)
    return list(db.session.scalars(sa.select(RecordedMonth).where(RecordedMonth.month == month)
                                   .order_by(RecordedMonth.id.desc())))


@dataclass
class Change:
    """One thing about an incident that differs from the figures as reported."""

    reference: str
    title: str
    kind: str  # logged_late, added, removed, exclusion, within_target
    text: str


@dataclass
class ReportedMeasure:
    """A measure as reported beside today's, and what changed since."""

    code: str
    reported: dict[str, Any]
    today: Measure
    changes: list[Change]

    def moved(self, key: str) -> float | None:
        """Return today's figure minus the reported one, in percentage points (None when either is n/a)."""
        before, after = self.reported.get(key), getattr(self.today, key)
        return None if before is None or after is None else round(after - before, 2)


@dataclass
class AsReported:
    """The latest recording of a month, how many there are, and each measure beside today's."""

    recorded: RecordedMonth
    recordings: int
    measures: list[ReportedMeasure]


def as_reported(month: str, *, today: list[Measure] | None = None) -> AsReported | None:
    """Compare the latest recording of the month with today's figures (``today``: the measures already computed,
    if any) and today's incident lines; None when the month was never recorded."""
    found = recordings(month)
    if not found:
        return None
    latest = found[0]
    today = today if today is not None else measures(month, with_incidents=False)
    lines = _lines(month)
    kept = latest.figures.get("measures", {})
    compared = []
    for m in today:
        reported = kept.get(m.code, {})
        now_lines = [row for row in lines if row["category"] in m.categories]
        compared.append(ReportedMeasure(code=m.code, reported=reported, today=m, changes=changes_since(
            reported.get("incidents", []), now_lines, recorded_at=latest.recorded_at)))
    return AsReported(recorded=latest, recordings=len(found), measures=compared)


def _lines(month: str) -> list[dict[str, Any]]:
    """Return every incident line of the month that a comparison needs, from one query (no more columns)."""
    start, end = month_bounds(*parse_month(month))
    within, _, _ = _flags()
    rows = db.session.execute(
        sa.select(Incident.reference, Incident.title, Incident.category, within, Review.exclusion_state,
                  Incident.created_at)
        .select_from(Incident).outerjoin(Review, Review.incident_id == Incident.id)
        .where(*_scope(_all_categories(), start, end)).order_by(Incident.resolved_at, Incident.id))
    return [{"reference": reference, "title": title, "category": category, "within_target": bool(is_within),
             "exclusion_state": (state or ExclusionState.NOT_PROPOSED).value, "logged_at": logged}
            for reference, title, category, is_within, state, logged in rows]


def changes_since(reported: list[dict[str, Any]], today: list[dict[str, Any]], *,
                  recorded_at: datetime) -> list[Change]:
    """Say, incident by incident, what differs between the lines as reported and today's."""
    before = {row["reference"]: row for row in reported}
    after = {row["reference"]: row for row in today}
    found = []
    for reference, row in after.items():
        was = before.get(reference)
        if was is None:
            if row.get("logged_at") is not None and row["logged_at"] > recorded_at:
                found.append(Change(reference, row["title"], "logged_late",
                                    f"Logged on {format_local(row['logged_at'])}, after the figures were recorded. "
                                    + standing(row["exclusion_state"]) + "."))
            else:
                found.append(Change(reference, row["title"], "added",
                                    "Not in the figures as reported: its resolution, Category or the DCC's "
                                    "responsibility changed since. " + standing(row["exclusion_state"]) + "."))
            continue
        if was["exclusion_state"] != row["exclusion_state"]:
            old, new = ExclusionState(was["exclusion_state"]), ExclusionState(row["exclusion_state"])
            if old in EXCLUDED_BY_DCC and new not in EXCLUDED_BY_DCC:
                text = ("SECAS disagreed with the DCC's exclusion: now counted in every figure"
                        if new == ExclusionState.DISAGREED else
                        f"No longer excluded by the DCC ({workflow.EXCLUSION_LABELS[new]})")
            else:
                text = f"Exclusion was: {workflow.EXCLUSION_LABELS[old]}; now: {workflow.EXCLUSION_LABELS[new]}"
            found.append(Change(reference, row["title"], "exclusion", text + "."))
        if bool(was["within_target"]) != bool(row["within_target"]):
            found.append(Change(reference, row["title"], "within_target",
                                "Now resolved within its TRT (reported outside it)." if row["within_target"] else
                                "Now outside its TRT (reported within it)."))
    for reference, was in before.items():
        if reference not in after:
            found.append(Change(reference, was["title"], "removed",
                                "In the figures as reported, no longer in this measure: its resolution, Category or "
                                "the DCC's responsibility changed since, or it was deleted."))
    return found
