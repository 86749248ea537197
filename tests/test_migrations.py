"""Migrations build the same schema as the models, and downgrade cleanly."""
from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade

from incidents import create_app
from incidents.extensions import db
from incidents.search import ddl as search_ddl
from tests.helpers import PG_URL


@pytest.fixture()
def migrated_app(tmp_path, monkeypatch):
    """An app whose database starts empty and is built only by migrations."""
    monkeypatch.setenv("INCIDENTS_INSTANCE_PATH", str(tmp_path))
    config = {"TESTING": True, "SECRET_KEY": "test"}
    schema = None
    if PG_URL:
        schema = f"m_{uuid.uuid4().hex[:10]}"
        engine = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
        with engine.begin() as conn:
            conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
        config["SQLALCHEMY_DATABASE_URI"] = PG_URL
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"options": f"-csearch_path={schema}"}}
    else:
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{tmp_path / 'migrated.sqlite'}"
    app = create_app(config)
    with app.app_context():
        yield app
        db.session.remove()
        db.engine.dispose()
    if schema:
        with engine.begin() as conn:
            conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
        engine.dispose()


def _not_search(name, type_, parent_names):
    return not search_ddl.is_search_object(name)


def test_upgrade_matches_models_and_downgrades(migrated_app):
    upgrade()
    with db.engine.connect() as conn:
        # The full-text objects (FTS5 tables and their shadow tables; tsvector columns and their GIN indexes) are no
        # model's: migration 0022 and create_all build the same ones (tests/search/test_ddl.py).
        context = MigrationContext.configure(conn, opts={"compare_type": True, "include_name": _not_search})
        differences = compare_metadata(context, db.metadata)
    assert differences == []
    tables = set(sa.inspect(db.engine).get_table_names())
    assert {"incident", "incident_cohort", "timeline_entry", "audit_entry", "user", "api_token"} <= tables

    # The audit trail is append-only at the database level after migrating too.
    with db.engine.begin() as conn:
        conn.execute(sa.text("INSERT INTO audit_entry (at, actor_name, entity_type, action, summary, changes) "
                             "VALUES (CURRENT_TIMESTAMP, 'x', 'test', 'create', '', '{}')"))
    with pytest.raises(sa.exc.DatabaseError), db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE audit_entry SET summary = 'changed'"))

    downgrade(revision="base")
    remaining = set(sa.inspect(db.engine).get_table_names()) - {"alembic_version"}
    assert remaining == set()


def test_demo_seed_after_migration_is_idempotent(migrated_app):
    from incidents.demo import service as demo_service
    from incidents.incident.models import Incident

    upgrade()
    first = demo_service.seed()
    db.session.commit()
    second = demo_service.seed()
    db.session.commit()
    assert first.incidents_created == 15 and first.users_created == 5
    assert second.incidents_created == 0 and second.users_created == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Incident)) == 15
