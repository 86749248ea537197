"""The monthly Performance Measurement Report page, its CSV, the month picker and recording a month as reported.

Readers of incidents only (DCC, SECAS, OPSG, administrators); SEC Parties get
404 as on every unpublished page. The DCC (and administrators) record a month's
figures as reported. Every figure comes from the PMR service.
"""
from __future__ import annotations

from typing import Any

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from markupsafe import Markup
from werkzeug.wrappers import Response

from incidents import permissions
from incidents.chart import svg
from incidents.errors import NotFound, PermissionDenied, ValidationError
from incidents.export import writer
from incidents.extensions import db
from incidents.pmr import service as pmr_service
from incidents.review.forms import ActionForm
from incidents.rules import service as rules_service
from incidents.timeutil import MONTH_EXAMPLE, parse_month, utcnow

bp = Blueprint("pmr", __name__, url_prefix="/pmr")
Html = str | tuple[str, int]


def _require_reader() -> None:
    if not permissions.can_view_incidents(current_user):
        raise NotFound("There is no such page.")


def _month(text: str) -> str:
    """Return the month from the address, or a 404 that says how to write one."""
    try:
        pmr_service.parse_month(text)
    except ValidationError:
        raise NotFound(f"There is no PMR month {text[:20]!r}: give the month as YYYY-MM, e.g. 2023-04.") from None
    return text


# Incidents listed per measure on the page; the CSV and the incident list have them all.
PAGE_INCIDENTS = 50


def _trend_charts(report: pmr_service.MonthReport) -> dict[str, Markup]:
    charts = {}
    for m in report.measures:
        points = [svg.TrendPoint(t.month, t.label, t.percent_with_exclusions, t.percent_without_exclusions,
                                 t.percent_with_dcc_exclusions)
                  for t in report.trend[m.code]]
        charts[m.code] = svg.trend_chart(code=m.code, label=m.label, points=points, target=m.target_percent,
                                         minimum=m.minimum_percent, selected=report.month,
                                         id_prefix=f"trend-{m.code}-{report.month}")
    return charts


def _picked(text: str) -> str:
    """Read the month picker's text (04/2023, Apr 2023, 2023-04) as YYYY-MM, or raise ValueError saying what to type."""
    year, number = parse_month(text)
    picked = f"{year:04d}-{number:02d}"
    try:
        pmr_service.parse_month(picked)
    except ValidationError:
        raise ValueError("Choose a month from 01/1990 to 12/2999.") from None
    return picked


@bp.route("/")
@login_required
def index() -> Html | Response:
    """Go to the chosen month, else the latest month with resolved incidents, else this month."""
    _require_reader()
    chosen = (request.args.get("month") or "").strip()
    if chosen:
        try:
            return redirect(url_for(".month", month=_picked(chosen)))
        except ValueError as exc:
            # Back on the page the person picked from (or the latest), the text kept and the error beside it.
            shown = (request.args.get("from") or "").strip()
            try:
                pmr_service.parse_month(shown)
            except ValidationError:
                shown = pmr_service.latest_month() or pmr_service.current_month(utcnow())
            return _render_month(shown, typed=chosen[:40], error=str(exc), status=422)
    month = pmr_service.latest_month() or pmr_service.current_month(utcnow())
    return redirect(url_for(".month", month=month))


@bp.route("/<month>")
@login_required
def month(month: str) -> Html:
    """Show the month's measures with and without exclusions, the effect of each exclusion and the trend."""
    _require_reader()
    return _render_month(_month(month))


def _render_month(month: str, *, typed: str | None = None, error: str = "", status: int = 200) -> Html:
    """Render a month's page; ``typed`` and ``error``: the month picker's text and what to fix in it."""
    now = utcnow()
    report = pmr_service.month_report(month, now=now, limit=PAGE_INCIDENTS)
    targets: dict[Any, str] = {}
    for m in report.measures:
        for category in m.categories:
            targets[category] = rules_service.describe_target(category)
    page = render_template(
        "pmr/month.html", label=pmr_service.month_label(month), report=report, charts=_trend_charts(report),
        targets=targets, status_labels=pmr_service.STATUS_LABELS, treatment_labels=pmr_service.TREATMENT_LABELS,
        standing_labels={state.value: label for state, label in pmr_service.STANDING_LABELS.items()},
        page_incidents=PAGE_INCIDENTS,
        month_input=f"{month[5:7]}/{month[:4]}" if typed is None else typed, month_error=error,
        month_hint=f"For example, {MONTH_EXAMPLE}",
        as_reported=pmr_service.as_reported(month, today=report.measures),
        may_record=permissions.can_record_pmr(current_user) and pmr_service.is_over(month, now=now),
        record_form=ActionForm())
    return (page, status) if status != 200 else page


@bp.route("/<month>/record", methods=["POST"])
@login_required
def record(month: str) -> Response:
    """Record the month's figures as the DCC reports them now: a frozen copy with its date."""
    _require_reader()
    month = _month(month)
    if not permissions.can_record_pmr(current_user):
        raise PermissionDenied("Only the DCC records the PMR figures as reported.")
    back = url_for(".month", month=month, _anchor="as-reported")
    if not ActionForm().validate():
        flash("The form expired; reload the page and try again.", "error")
        return redirect(back)
    try:
        recorded = pmr_service.record_month(month=month, actor=current_user, now=utcnow())
    except ValidationError as exc:
        db.session.rollback()
        flash(exc.detail, "error")
        return redirect(back)
    db.session.commit()
    flash(f"Recorded the figures for {pmr_service.month_label(month)} as reported "
          f"({pmr_service.recorded_label(recorded)}).", "success")
    return redirect(back)


@bp.route("/<month>.csv")
@login_required
def month_csv(month: str) -> Response:
    """Download the month's figures and incidents as CSV (the same numbers as the page)."""
    _require_reader()
    report = pmr_service.month_report(_month(month), now=utcnow(), with_trend=False)
    return writer.csv_response(pmr_service.page_csv_rows(report), f"pmr-{report.month}.csv")
