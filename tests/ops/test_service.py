"""Database upkeep: the planner's statistics."""
from __future__ import annotations

import sqlalchemy as sa

from incidents.extensions import db
from incidents.ops import service as ops_service
from tests import factories


def test_refreshing_statistics_gives_the_planner_figures(app, users, now):
    factories.incident(actor=users["dcc"], now=now)
    db.session.commit()
    ops_service.refresh_statistics()
    with db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            tables = set(conn.scalars(sa.text("SELECT tbl FROM sqlite_stat1")))
        else:
            # The statistics themselves (pg_stats), written by ANALYZE as it ends; pg_stat_user_tables'
            # last_analyze is reported later, when the analysing connection gets round to it.
            tables = set(conn.scalars(sa.text(
                "SELECT DISTINCT tablename FROM pg_stats WHERE schemaname = current_schema()")))
    assert {"incident", "user"} <= tables


def test_the_cli_refreshes_statistics(app, runner, users):
    result = runner.invoke(args=["refresh-statistics"])
    assert result.exit_code == 0 and "statistics refreshed" in result.output
    with db.engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            assert conn.scalar(sa.text("SELECT COUNT(*) FROM sqlite_stat1")) > 0
