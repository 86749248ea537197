"""``flask pmr report YYYY-MM``, ``flask pmr record YYYY-MM`` and ``flask pmr recompute``."""
from __future__ import annotations

import csv
import json
import sys

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from incidents.errors import ValidationError
from incidents.extensions import db
from incidents.incident import service as incident_service
from incidents.incident.models import Incident
from incidents.pmr import service as pmr_service
from incidents.timeutil import format_local, utcnow

pmr_cli = AppGroup("pmr", help="Performance Measurement Report figures.")


def _fmt(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f} %"


@pmr_cli.command("report")
@click.argument("month")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table", show_default=True)
def report(month: str, fmt: str) -> None:
    """Print the incident measures for MONTH (YYYY-MM)."""
    try:
        measures = pmr_service.measures(month)
    except ValidationError as exc:
        raise click.ClickException(exc.errors["month"][0]) from None
    if fmt == "json":
        click.echo(json.dumps(pmr_service.as_json(month, measures), indent=2))
        return
    if fmt == "csv":
        writer = csv.writer(sys.stdout)
        writer.writerow(pmr_service.CSV_HEADER)
        writer.writerows(pmr_service.csv_rows(measures, month))
        return
    for m in measures:
        click.echo(f"{m.code} {m.label} ({month})")
        click.echo(f"  without exclusions:       {_fmt(m.percent_without_exclusions)} "
                   f"({m.total_within_target} of {m.total} within TRT)")
        click.echo(f"  with the DCC's exclusions: {_fmt(m.percent_with_dcc_exclusions)} "
                   f"({m.dcc_within_target} of {m.dcc_counted} counted within TRT; {m.dcc_excluded} excluded "
                   f"by the DCC): {m.status_with_dcc_exclusions.replace('_', ' ')}")
        click.echo(f"  with agreed exclusions:   {_fmt(m.percent_with_exclusions)} "
                   f"({m.within_target} of {m.counted} counted within TRT; {m.excluded} agreed): "
                   f"{m.status.replace('_', ' ')}")
        click.echo(f"  exclusion under SECAS's review: {m.pending_exclusion}; "
                   f"target {m.target_percent:g} %, minimum {m.minimum_percent:g} %")
        for row in m.incidents:
            mark = "within" if row["within_target"] else "outside"
            click.echo(f"    {row['reference']}  Cat {row['category']}  {mark:<7} {row['exclusion_state']:<21} "
                       f"{pmr_service.standing(row['exclusion_state'])}")


@pmr_cli.command("record")
@click.argument("month")
def record(month: str) -> None:
    """Record MONTH's figures (YYYY-MM) as the DCC reports them now: a frozen copy with its date.

    Recording a month again keeps the earlier copy; the PMR page shows the latest.
    """
    now = utcnow()
    try:
        recorded = pmr_service.record_month(month=month, actor=None, now=now)
    except ValidationError as exc:
        raise click.ClickException(exc.errors["month"][0]) from None
    db.session.commit()
    count = len(pmr_service.recordings(month))
    click.echo(f"Recorded the figures for {pmr_service.month_label(month)} as reported on "
               f"{format_local(recorded.recorded_at)} (recording {count} of the month).")
    for code, kept in recorded.figures["measures"].items():
        click.echo(f"  {code}: {_fmt(kept['percent_with_dcc_exclusions'])} with the DCC's exclusions, "
                   f"{_fmt(kept['percent_with_exclusions'])} with agreed exclusions, "
                   f"{_fmt(kept['percent_without_exclusions'])} without")


@pmr_cli.command("recompute")
def recompute() -> None:
    """Recompute every incident's stored TRT deadline (run after changing TARGET_RESOLUTION)."""
    count = 0
    for incident in db.session.scalars(sa.select(Incident)):
        incident_service.refresh_target(incident)
        count += 1
    db.session.commit()
    click.echo(f"Recomputed the TRT deadline of {count} incident(s).")
