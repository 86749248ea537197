"""``flask backup PATH`` and ``flask restore PATH``: consistent online copies of the SQLite database."""
from __future__ import annotations

import os
import sqlite3

import click
from flask import current_app

from incidents.extensions import db


def _sqlite_path() -> str:
    url = db.engine.url
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        raise click.ClickException(
            "backup and restore work on the SQLite database; for PostgreSQL use pg_dump and pg_restore "
            "(see the README).")
    return url.database


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
def backup(path: str) -> None:
    """Copy the live SQLite database to PATH (safe while the app and scheduler run)."""
    source_path = _sqlite_path()
    if os.path.abspath(path) == os.path.abspath(source_path):
        raise click.ClickException("PATH is the live database itself; choose another file.")
    db.session.remove()
    tmp = path + ".partial"
    source = sqlite3.connect(source_path)
    target = sqlite3.connect(tmp)
    try:
        # The SQLite online backup API copies a consistent snapshot even while others write.
        source.backup(target)
    finally:
        target.close()
        source.close()
    os.replace(tmp, path)
    click.echo(f"Backed up {source_path} to {path} ({os.path.getsize(path):,} bytes).")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def restore(path: str, yes: bool) -> None:
    """Replace the SQLite database with the backup at PATH (stop the app and scheduler first)."""
    target_path = _sqlite_path()
    check = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        result = check.execute("PRAGMA integrity_check").fetchone()[0]
        tables = {row[0] for row in check.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as exc:
        raise click.ClickException(f"{path} is not a usable SQLite database: {exc}") from None
    finally:
        check.close()
    if result != "ok" or "incident" not in tables or "alembic_version" not in tables:
        raise click.ClickException(f"{path} is not a backup of this tool's database (integrity: {result}).")
    if not yes:
        click.confirm(f"Replace {target_path} with {path}?", abort=True)
    db.session.remove()
    db.engine.dispose()
    source = sqlite3.connect(path)
    target = sqlite3.connect(target_path)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()
    current_app.logger.info("Database restored from %s", path)
    click.echo(f"Restored {target_path} from {path}. Run `flask --app wsgi db upgrade` if the backup is older.")


@click.command("refresh-statistics")
def refresh_statistics() -> None:
    """Refresh the query planner's statistics (the scheduler does it nightly; run it after a bulk import)."""
    from incidents.ops import service as ops_service

    ops_service.refresh_statistics()
    click.echo("Query planner statistics refreshed.")
