"""Online backup and restore of the SQLite database."""
from __future__ import annotations

import pytest
import sqlalchemy as sa

from incidents.extensions import db
from incidents.incident.models import Incident
from incidents.user import service as user_service
from tests import factories
from tests.helpers import PG_URL


@pytest.mark.skipif(not PG_URL, reason="PostgreSQL run only")
def test_backup_on_postgresql_points_to_pg_dump(app, runner, tmp_path):
    result = runner.invoke(args=["backup", str(tmp_path / "b.sqlite")])
    assert result.exit_code != 0 and "pg_dump" in result.output


@pytest.mark.skipif(bool(PG_URL), reason="SQLite backup API")
def test_backup_then_restore_round_trip(app, runner, users, now, tmp_path):
    # Migrations record alembic_version; the test schema is built without them, so add it as a real DB has it.
    db.session.execute(sa.text("CREATE TABLE IF NOT EXISTS alembic_version (version_num VARCHAR(32) NOT NULL)"))
    dcc_email = users["dcc"].email
    kept = factories.incident(actor=users["dcc"], now=now)
    kept_reference = kept.reference
    db.session.commit()
    backup = tmp_path / "backup.sqlite"
    result = runner.invoke(args=["backup", str(backup)])
    assert result.exit_code == 0, result.output
    # The backup ends the session, so load the author again.
    factories.incident(actor=user_service.find_by_email(dcc_email), now=now)  # written after the backup
    db.session.commit()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Incident)) == 2
    result = runner.invoke(args=["restore", str(backup), "--yes"])
    assert result.exit_code == 0, result.output
    refs = list(db.session.scalars(sa.select(Incident.reference)))
    assert refs == [kept_reference]


@pytest.mark.skipif(bool(PG_URL), reason="SQLite backup API")
def test_restore_refuses_a_file_that_is_not_a_backup(app, runner, tmp_path):
    bogus = tmp_path / "bogus.sqlite"
    bogus.write_bytes(b"not a database at all" * 100)
    result = runner.invoke(args=["restore", str(bogus), "--yes"])
    assert result.exit_code != 0
    assert "not a usable SQLite database" in result.output or "not a backup" in result.output
