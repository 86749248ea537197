"""The demo data for tests, seeded once per run and copied into each test's database (seeding takes seconds)."""
from __future__ import annotations

import os
import sqlite3
import uuid
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from flask import Flask

from incidents.demo import service as demo_service
from incidents.extensions import db

# The PostgreSQL schemas holding a seeded copy, dropped with the run's own schema.
pg_snapshots: list[str] = []

# The demo seeded once per run and key ("now", or "live" for the real clock): later tests start from a copy.
_demo_copies: dict[str, str] = {}


def _database_is_empty() -> bool:
    return all(db.session.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first() is None
               for table in db.metadata.sorted_tables)


def _copy_sqlite(source: str, target: str) -> None:
    """Copy a whole SQLite database, write-ahead log included, with SQLite's own backup."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def _pg_copy(source: str | None, target: str | None) -> None:
    """Copy every table's rows from schema ``source`` to ``target`` (None: the session's own schema).

    Generated columns (the search vectors) are left for the target to compute; sequences follow the copied ids.
    """
    def name(schema: str | None, table: sa.Table) -> str:
        return f'"{schema}"."{table.name}"' if schema else f'"{table.name}"'

    connection = db.session.connection()
    for table in db.metadata.sorted_tables:
        columns = ", ".join(f'"{column.name}"' for column in table.columns)
        if target and not source:
            connection.exec_driver_sql(f"CREATE TABLE {name(target, table)} AS SELECT {columns} "
                                       f"FROM {name(source, table)}")
            continue
        connection.exec_driver_sql(f"INSERT INTO {name(target, table)} ({columns}) "
                                   f"SELECT {columns} FROM {name(source, table)}")
        if "id" in table.columns:
            connection.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{name(target, table)}', 'id'), max(id)) "
                f"FROM {name(target, table)} HAVING max(id) IS NOT NULL")
    db.session.commit()


def load_demo(app: Flask, tmp_root: Any, *, now: datetime | None = None) -> None:
    """Seed the demo data as ``seed(now=now)`` would, into the test's empty database.

    Seeding takes seconds, so the first test of a run (per ``now``) seeds and keeps a copy, and later ones copy
    it: a SQLite file, or a PostgreSQL schema of plain tables beside the run's own. A database that is not
    empty, or an app with settings of its own, is seeded directly.
    """
    key = now.isoformat() if now else "live"
    if not _database_is_empty():
        demo_service.seed(now=now)
        db.session.commit()
        return
    dialect = db.engine.dialect.name
    if key in _demo_copies:
        if dialect == "sqlite":
            db.session.remove()
            db.engine.dispose()
            assert db.engine.url.database
            _copy_sqlite(_demo_copies[key], db.engine.url.database)
        else:
            _pg_copy(_demo_copies[key], None)
        return
    demo_service.seed(now=now)
    db.session.commit()
    if dialect == "sqlite":
        db.session.remove()
        db.engine.dispose()
        assert db.engine.url.database
        copy = str(tmp_root / f"demo-{os.getpid()}-{uuid.uuid4().hex[:6]}.sqlite")
        _copy_sqlite(db.engine.url.database, copy)
    else:
        copy = f"demo_{uuid.uuid4().hex[:10]}"
        db.session.execute(sa.text(f'CREATE SCHEMA "{copy}"'))
        _pg_copy(None, copy)
        pg_snapshots.append(copy)
    _demo_copies[key] = copy
