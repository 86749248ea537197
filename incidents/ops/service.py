"""Upkeep of the database itself."""
from __future__ import annotations

from incidents.extensions import db


def refresh_statistics() -> None:
    """Bring the query planner's statistics up to date.

    SQLite plans with the statistics only ANALYZE gathers (none after a bulk
    load or on a new database); ``analysis_limit`` makes it sample each index
    rather than read it all, so it stays quick however large the tables grow.
    PostgreSQL's autovacuum keeps its own; an ANALYZE there is harmless and
    helps right after a bulk load.
    """
    with db.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            conn.exec_driver_sql("PRAGMA analysis_limit=1000")
        conn.exec_driver_sql("ANALYZE")
