"""Flask extensions, created unbound and bound in ``create_app``."""
from __future__ import annotations

from typing import Any, ClassVar

import click
from flask import Flask
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData, Table
from sqlalchemy.orm import DeclarativeBase

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    """Declarative base of every model, with a stable constraint naming convention."""

    metadata = MetaData(naming_convention=NAMING)
    # Every model maps one table (SQLAlchemy types it as any FROM clause, which UPDATE and INSERT do not take).
    __table__: ClassVar[Table]


# Models subclass Base, not db.Model: db.Model is made at run time as an attribute of this object, which a type
# checker cannot follow as a base class, so its subclasses would not be checked. Passed here, Base lends db.Model
# its registry and metadata, so db.metadata (create_all, Flask-Migrate) holds every model's table.
db = SQLAlchemy(model_class=Base)
login_manager = LoginManager()
csrf = CSRFProtect()


class Migrations:
    """Flask-Migrate for one app, bound on first use: importing Alembic would add a third of a second to every
    command's start, and only ``flask db`` and the migration functions need it.

    It stands in ``app.extensions["migrate"]`` until then; reading any of Flask-Migrate's attributes from it
    (as ``flask_migrate.upgrade()`` and ``migrations/env.py`` do) binds the real one, which takes its place.
    """

    def __init__(self, app: Flask, **options: Any) -> None:
        self.app = app
        self.options = options
        self._bound: Any = None
        app.extensions["migrate"] = self
        app.cli.add_command(_MigrationCommands(self))

    def bind(self) -> Any:
        """Bind Flask-Migrate to the app (once) and return its configuration."""
        if self._bound is None:
            from flask_migrate import Migrate

            Migrate(self.app, db, **self.options)  # replaces this object and the "db" command group
            self._bound = self.app.extensions["migrate"]
        return self._bound

    def __getattr__(self, name: str) -> Any:
        """Read an attribute of Flask-Migrate's configuration (migrate, db, directory, configure_args)."""
        if name.startswith("_"):
            raise AttributeError(name)
        return getattr(self.bind(), name)


class _MigrationCommands(click.Group):
    """``flask db``: Flask-Migrate's command group, loaded when a ``db`` command runs, not to list the commands."""

    def __init__(self, migrations: Migrations) -> None:
        super().__init__("db", help="Perform database migrations.")
        self.migrations = migrations

    def make_context(self, info_name: str | None, args: list[str], parent: click.Context | None = None,
                     **extra: Any) -> click.Context:
        """Bind Flask-Migrate and let its own group parse the arguments and run."""
        self.migrations.bind()
        real: click.Command = self.migrations.app.cli.commands["db"]
        return real.make_context(info_name, args, parent=parent, **extra)


def sqlite_pragmas(synchronous: str) -> Any:
    """Return a connect hook: enforce foreign keys, wait for locks, write-ahead log for concurrent readers."""

    def on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA synchronous={synchronous}")
        cursor.close()

    return on_connect
