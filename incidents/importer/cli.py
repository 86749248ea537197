"""``flask incidents import FILE``: import incidents from an ITSM export, or (``--dry-run``) say what it would do."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import AppGroup

from incidents.errors import ServiceError
from incidents.extensions import db
from incidents.importer import service as import_service
from incidents.user import service as user_service

incidents_cli = AppGroup("incidents", help="Import incidents from the ITSM.")


@incidents_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Say what would be created, changed or refused; change nothing.")
@click.option("--mapping", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="A JSON file mapping the export's column names to the documented ones.")
@click.option("--actor", required=True, help="The email of the DCC user (or administrator) the import is made as.")
def import_command(file: Path, dry_run: bool, mapping: Path | None, actor: str) -> None:
    """Import a CSV or JSON export of incidents, cohorts and timeline entries (idempotent by reference)."""
    user = user_service.find_by_email(actor)
    if user is None:
        raise click.ClickException(f"No user {actor}.")
    try:
        columns = import_service.read_mapping(mapping.read_text(encoding="utf-8")) if mapping else None
        rows, notes = import_service.read_file(file.read_bytes(), name=file.name, mapping=columns)
        report = import_service.run(rows, actor=user, dry_run=dry_run, source=file.name, notes=notes)
    except ServiceError as exc:
        db.session.rollback()
        raise click.ClickException("; ".join(m for messages in exc.errors.values() for m in messages)
                                   or exc.detail) from None
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    for note in report.notes:
        click.echo(note)
    for row in report.rows:
        click.echo(f"{row.where}\t{row.reference}\t{row.record}\t{row.outcome}\t{' '.join(row.reasons)}".rstrip())
    click.echo(("Dry run, nothing changed: " if dry_run else "Imported: ") + report.summary())
