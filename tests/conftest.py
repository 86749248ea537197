"""Shared fixtures: a fresh database per test, on SQLite or on PostgreSQL.

Set TEST_DATABASE_URL to a PostgreSQL URL to run the suite there; each run
works in its own schema, dropped at the end, so runs never share state.
"""
from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from jinja2.bccache import Bucket, BytecodeCache

from incidents import create_app
from incidents.extensions import db
from tests import factories

PG_URL = os.environ.get("TEST_DATABASE_URL", "")
NOW = datetime(2023, 6, 1, 9, 0, tzinfo=UTC)


@pytest.fixture(scope="session")
def pg_schema() -> Iterator[str | None]:
    """Create a private schema for this run on PostgreSQL (None on SQLite)."""
    if not PG_URL:
        yield None
        return
    schema = f"t_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    engine = sa.create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    with engine.begin() as conn:
        conn.exec_driver_sql(f'CREATE SCHEMA "{schema}"')
    yield schema
    with engine.begin() as conn:
        conn.exec_driver_sql(f'DROP SCHEMA "{schema}" CASCADE')
    engine.dispose()


class _MemoryBytecodeCache(BytecodeCache):
    """Share compiled templates between the many test apps (each app has its own Jinja env)."""

    def __init__(self) -> None:
        self.store: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self.store:
            bucket.bytecode_from_string(self.store[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.store[bucket.key] = bucket.bytecode_to_string()


_bytecode = _MemoryBytecodeCache()
_created: set[str] = set()
_template: dict[str, str] = {}


def _sqlite_template(tmp_root: Any) -> str:
    """Build the schema once per run; each test starts from a copy of this file."""
    if "path" not in _template:
        path = tmp_root / f"template-{os.getpid()}-{uuid.uuid4().hex[:6]}.sqlite"
        app = create_app({"TESTING": True, "SECRET_KEY": "t", "SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}"})
        with app.app_context():
            db.create_all()
            db.engine.dispose()
        _template["path"] = str(path)
    return _template["path"]


def make_app(tmp_path: Any, pg_schema: str | None, **overrides: Any) -> Flask:
    """Build an app on a fresh database with tests' settings."""
    os.environ["INCIDENTS_INSTANCE_PATH"] = str(tmp_path)
    config: dict[str, Any] = {
        "TESTING": True,
        "WTF_CSRF_ENABLED": False,
        "SECRET_KEY": "test-secret",
        "SERVER_NAME": "localhost",
        # A cheap hash keeps the suite fast; production uses scrypt.
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",
        "SQLITE_SYNCHRONOUS": "OFF",
    }
    if pg_schema:
        config["SQLALCHEMY_DATABASE_URI"] = PG_URL
        config["SQLALCHEMY_ENGINE_OPTIONS"] = {"connect_args": {"options": f"-csearch_path={pg_schema}"}}
    else:
        target = tmp_path / "test.sqlite"
        shutil.copyfile(_sqlite_template(tmp_path.parent), target)
        config["SQLALCHEMY_DATABASE_URI"] = f"sqlite:///{target}"
    config.update(overrides)
    app = create_app(config)
    app.jinja_env.bytecode_cache = _bytecode
    with app.app_context():
        if pg_schema:
            if pg_schema not in _created:
                db.create_all()
                _created.add(pg_schema)
            else:
                names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
                db.session.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
                db.session.commit()
    return app


@pytest.fixture()
def app_config() -> dict[str, Any]:
    """Per-test config overrides; override this fixture to change settings."""
    return {}


@pytest.fixture()
def app(tmp_path: Any, pg_schema: str | None, app_config: dict[str, Any]) -> Iterator[Flask]:
    """An application on an empty database, inside an app context."""
    application = make_app(tmp_path, pg_schema, **app_config)
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    """A browser-like test client."""
    return app.test_client()


@pytest.fixture()
def runner(app: Flask) -> Any:
    """A CLI runner."""
    return app.test_cli_runner()


@pytest.fixture()
def now() -> datetime:
    """A fixed 'now' for time-dependent code (1 June 2023, 10:00 BST)."""
    return NOW


@pytest.fixture()
def users(app: Flask) -> dict[str, Any]:
    """One user per role, committed."""
    made = {role: factories.user(role=role) for role in ("dcc", "secas", "opsg", "party", "admin")}
    db.session.commit()
    return made


class Auth:
    """Log the test client in and out as a given user."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client

    def login(self, user: Any, password: str = factories.PASSWORD) -> Any:
        """Log in through the real login form."""
        return self.client.post("/login", data={"email": user.email, "password": password})

    def logout(self) -> Any:
        """Log out."""
        return self.client.post("/logout")


@pytest.fixture()
def auth(client: FlaskClient) -> Auth:
    """Login helper bound to the test client."""
    return Auth(client)
