"""Upkeep of the database itself."""
from __future__ import annotations

from incidents.extensions import db


def refresh_statistics() -> None:
    """Bring the query planner's statistics up to date.

    SQLite plans with the statistics only ANALYZE gathers (none after a bulk
    load or on a new database). A full ANALYZE reads every index: half a
    second for 100,000 incidents with their million timeline entries. A
    sampled one (``analysis_limit``) was tried and misjudged how many
    incidents share a Category, so the PMR's month scans took the wrong index
    and ran three times slower. PostgreSQL's autovacuum keeps its own
    statistics; there a VACUUM ANALYZE right after a bulk load also marks the
    table's pages all-visible, which lets the PMR's month scans read the index
    alone (autovacuum does the same, later).
    """
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            conn.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql("VACUUM ANALYZE")
        return
    with db.engine.begin() as conn:
        conn.exec_driver_sql("ANALYZE")
