"""Shared fixtures: a fresh app and database per test, on SQLite or on PostgreSQL.

Set TEST_DATABASE_URL to a PostgreSQL URL to run the suite there; each run
works in its own schema, dropped at the end, so runs never share state.

Contexts, as in production. The ``app`` fixture keeps an application
context pushed for the test's own body, so a test uses ``db.session`` and
the factories directly to arrange data and check results. Every request a
test client sends (``client``, or any ``app.test_client()``) runs in an
empty ``contextvars`` context instead, so Flask pushes a fresh application
context for it: the request gets its own ``g`` (where Flask-Login keeps the
user) and its own database session, and nothing it loads outlives it; a
streamed body is read and closed in that request's context too. Likewise
each command the ``runner`` invokes gets an app context of its own, as the
``flask`` command gives it. So production code needs no allowance for
tests. The test's session sees what a request committed as any other
session would: objects it already holds keep what they loaded until
expired or refreshed (``db.session.expire_all()``, ``refresh``, ``rollback``).
"""
from __future__ import annotations

import contextvars
import os
import shutil
import uuid
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient, FlaskCliRunner
from jinja2.bccache import Bucket, BytecodeCache

from incidents import create_app
from incidents.demo import service as demo_service
from incidents.extensions import db
from incidents.incident.models import Incident
from incidents.user import service as user_service
from tests import factories
from tests.helpers import NOW, PG_URL, Auth
from tests.seeded import load_demo, pg_snapshots


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
        for snapshot in pg_snapshots:
            conn.exec_driver_sql(f'DROP SCHEMA IF EXISTS "{snapshot}" CASCADE')
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


class _RequestContextBody:
    """A streamed response body read inside the context its request ran in."""

    def __init__(self, context: contextvars.Context, body: Iterable[Any]) -> None:
        self.context = context
        self.body = iter(body)
        self.closable: Iterable[Any] | None = body

    def __iter__(self) -> Iterator[Any]:
        return self

    def __next__(self) -> Any:
        return self.context.run(next, self.body)

    def close(self) -> None:
        """Close the body (running its close callbacks) in the request's context."""
        close, self.closable = getattr(self.closable, "close", None), None
        if close is not None:
            self.context.run(close)

    def __del__(self) -> None:
        # A server always closes what it served; a test that never read the body leaves that to us.
        self.close()


class Client(FlaskClient):
    """A test client whose every request gets a fresh app context, ``g`` and database session."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        """Send the request from an empty context, so nothing of the test's own context is reused."""
        context = contextvars.Context()
        response = context.run(super().open, *args, **kwargs)
        if response.is_streamed:
            response.response = _RequestContextBody(context, response.response)
        return response


class CliRunner(FlaskCliRunner):
    """A CLI runner whose every command gets a fresh app context and database session, as a new process would."""

    def invoke(self, *args: Any, **kwargs: Any) -> Any:
        """Run the command in a new app context of its own, as ``flask`` pushes for every command."""
        return contextvars.Context().run(self._invoke_in_app_context, *args, **kwargs)

    def _invoke_in_app_context(self, *args: Any, **kwargs: Any) -> Any:
        with self.app.app_context():
            return super().invoke(*args, **kwargs)


def make_app(tmp_path: Any, pg_schema: str | None, **overrides: Any) -> Flask:
    """Build an app on a fresh database with tests' settings (the instance folder comes from the environment)."""
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
    engine_options = overrides.pop("SQLALCHEMY_ENGINE_OPTIONS", {})
    config.update(overrides)
    config["SQLALCHEMY_ENGINE_OPTIONS"] = {**config.get("SQLALCHEMY_ENGINE_OPTIONS", {}), **engine_options}
    app = create_app(config)
    app.test_client_class = Client
    app.test_cli_runner_class = CliRunner
    app.jinja_env.bytecode_cache = _bytecode
    with app.app_context():
        if pg_schema:
            if pg_schema not in _created:
                db.create_all()
                _created.add(pg_schema)
            else:
                names = ", ".join(f'"{t.name}"' for t in db.metadata.sorted_tables)
                # The audit trail refuses TRUNCATE (its trigger); a test's fresh start lifts that for a moment.
                db.session.execute(sa.text("ALTER TABLE audit_entry DISABLE TRIGGER audit_entry_no_truncate"))
                db.session.execute(sa.text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
                db.session.execute(sa.text("ALTER TABLE audit_entry ENABLE TRIGGER audit_entry_no_truncate"))
                db.session.commit()
    return app


@pytest.fixture()
def app_config() -> dict[str, Any]:
    """Per-test config overrides; override this fixture to change settings."""
    return {}


@pytest.fixture()
def app(tmp_path: Any, pg_schema: str | None, app_config: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch) -> Iterator[Flask]:
    """An application on an empty database; the test's body runs inside its app context (requests do not)."""
    monkeypatch.setenv("INCIDENTS_INSTANCE_PATH", str(tmp_path))
    application = make_app(tmp_path, pg_schema, **app_config)
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture()
def client(app: Flask) -> FlaskClient:
    """A browser-like test client; each request runs in its own app context, as in production."""
    return app.test_client()


@pytest.fixture()
def runner(app: Flask) -> FlaskCliRunner:
    """A CLI runner; each command runs in its own app context, as in production."""
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


@pytest.fixture()
def auth(client: FlaskClient) -> Auth:
    """Login helper bound to the test client."""
    return Auth(client)


ROLES = ("dcc", "secas", "opsg", "party", "admin")


@pytest.fixture()
def demo(app: Flask, app_config: dict[str, Any], tmp_path: Any) -> list[str]:
    """Seed the demo data (reviews in every state, meetings, actions); return the incident references."""
    if app_config:
        demo_service.seed()
        db.session.commit()
    else:
        load_demo(app, tmp_path.parent)
    return list(db.session.scalars(sa.select(Incident.reference).order_by(Incident.reference)))


@pytest.fixture()
def browsers(app: Flask, demo: list[str]) -> dict[str, FlaskClient]:
    """One client per demo role, logged in through the login form."""
    made: dict[str, FlaskClient] = {}
    for role in ROLES:
        client = app.test_client()
        response = client.post("/login", data={"email": f"{role}@demo.example", "password": demo_service.DEMO_PASSWORD})
        assert response.status_code == 302, response.get_data(as_text=True)
        made[role] = client
    return made


@pytest.fixture()
def demo_tokens(app: Flask, demo: list[str]) -> dict[str, str]:
    """One committed API token per demo role."""
    made: dict[str, str] = {}
    for role in ROLES:
        user = user_service.find_by_email(f"{role}@demo.example")
        assert user is not None, role
        made[role] = user_service.issue_token(user=user)
    db.session.commit()
    return made
