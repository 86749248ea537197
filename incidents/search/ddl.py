"""The full-text indexes, one per searched table, in each database's own engine.

SQLite: an FTS5 table per source (Porter stemming), kept in step by triggers
on the source table. Plain text columns are indexed as *external content*
(the FTS table stores only the index; ``snippet()`` reads the text from the
source row); report text kept as JSON is extracted into an FTS table of its
own content. PostgreSQL: a stored generated ``tsvector`` column
(``search_vector``, English stemming) on each source table with a GIN index
on it; the database keeps a generated column in step itself, so no trigger is
needed there, and ranking reads the stored vector instead of parsing the text
again for every candidate row.

Why triggers and not the writing services: every path that writes these
tables (the forms, the API, the importer, the demo, the benchmark's bulk
load, a cascade delete) is covered by the database itself, so the index can
never drift from the text. Tests build their schema with ``create_all()``;
``install`` hangs the same statements on the metadata's ``after_create``;
migration 0022 holds a frozen copy of them (a test checks that the two agree).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

PG_CONFIG = "english"
# The stored tsvector column of each searched table on PostgreSQL.
PG_COLUMN = "search_vector"


@dataclass(frozen=True)
class Source:
    """One searched table: its FTS table's name, the text columns, or the JSON path its text is kept under."""

    kind: str
    table: str
    columns: tuple[str, ...] = ()
    # A JSON column whose string values are the text (report sections), with the JSON path to them.
    json_column: str | None = None
    json_path: str = "$"

    @property
    def fts(self) -> str:
        """Name the SQLite FTS5 table and the PostgreSQL index."""
        return f"search_{self.kind}"


SOURCES: tuple[Source, ...] = (
    Source("incident", "incident", ("reference", "title", "cause", "impact")),
    Source("timeline", "timeline_entry", ("text",)),
    Source("rationale", "exclusion_proposal", ("rationale", "response")),
    Source("secas_comment", "exclusion_review", ("comment",)),
    Source("comment", "review_comment", ("body",)),
    Source("report", "report_version", json_column="sections"),
    Source("decision", "decision", ("minute", "actions_text")),
    Source("action", "action", ("reference", "text", "closing_note")),
    Source("publication", "publication", ("reference", "title"), json_column="snapshot", json_path="$.sections"),
)
BY_KIND = {source.kind: source for source in SOURCES}


def _q(name: str) -> str:
    return f'"{name}"'


# --- SQLite --------------------------------------------------------------------------------------------

def sqlite_json_text(source: Source, row: str) -> str:
    """Return the SQL that joins the JSON text values of ``row`` (NEW, OLD, or a table alias) with newlines."""
    return (f"coalesce((SELECT group_concat(value, char(10)) FROM json_each({row}.{_q(source.json_column or '')}, "
            f"'{source.json_path}') WHERE type = 'text'), '')")


def sqlite_fts_columns(source: Source) -> list[str]:
    """Name the FTS table's columns (the text columns, then ``body`` for JSON text)."""
    return list(source.columns) + (["body"] if source.json_column else [])


def _sqlite_values(source: Source, row: str) -> list[str]:
    values = [f"coalesce({row}.{_q(column)}, '')" for column in source.columns]
    if source.json_column:
        values.append(sqlite_json_text(source, row))
    return values


def _sqlite_create(source: Source) -> list[str]:
    fts, table = source.fts, source.table
    columns = sqlite_fts_columns(source)
    options = ["tokenize = 'porter unicode61'"]
    if not source.json_column:
        options += [f"content = '{table}'", "content_rowid = 'id'"]
    names = ", ".join(columns)
    insert = (f"INSERT INTO {fts} (rowid, {names}) VALUES (NEW.id, {', '.join(_sqlite_values(source, 'NEW'))});")
    if source.json_column:
        remove = f"DELETE FROM {fts} WHERE rowid = OLD.id;"
    else:
        remove = (f"INSERT INTO {fts} ({fts}, rowid, {names}) "
                  f"VALUES ('delete', OLD.id, {', '.join(_sqlite_values(source, 'OLD'))});")
    watched = ", ".join(_q(c) for c in [*source.columns, *([source.json_column] if source.json_column else [])])
    return [
        f"CREATE VIRTUAL TABLE {fts} USING fts5({names}, {', '.join(options)})",
        f"CREATE TRIGGER {fts}_ai AFTER INSERT ON {_q(table)} BEGIN {insert} END",
        f"CREATE TRIGGER {fts}_ad AFTER DELETE ON {_q(table)} BEGIN {remove} END",
        f"CREATE TRIGGER {fts}_au AFTER UPDATE OF {watched} ON {_q(table)} BEGIN {remove} {insert} END",
        # Rows already there (a migrated database) are indexed once.
        (f"INSERT INTO {fts} (rowid, {names}) SELECT id, {', '.join(_sqlite_values(source, _q(table)))} "
         f"FROM {_q(table)}"),
    ]


# --- PostgreSQL ----------------------------------------------------------------------------------------

def pg_text(source: Source, row: str) -> str:
    """Return the SQL text of ``row``'s plain columns joined by spaces (immutable, so an index can use it)."""
    return " || ' ' || ".join(f"coalesce({row}.{_q(c)}, '')" for c in source.columns) or "''"


def pg_json(source: Source, row: str) -> str:
    """Return the SQL of the JSON value whose strings are ``row``'s JSON text."""
    column = f"{row}.{_q(source.json_column or '')}"
    if source.json_path == "$":
        return column
    return f"({column} -> '{source.json_path.removeprefix('$.')}')"


def pg_vector(source: Source, row: str) -> str:
    """Return the tsvector expression of a source row (the expression its stored ``search_vector`` is generated by)."""
    parts = []
    if source.columns:
        parts.append(f"to_tsvector('{PG_CONFIG}'::regconfig, {pg_text(source, row)})")
    if source.json_column:
        parts.append(f"json_to_tsvector('{PG_CONFIG}'::regconfig, {pg_json(source, row)}, '[\"string\"]'::jsonb)")
    return "(" + " || ".join(parts) + ")"


def _pg_create(source: Source) -> list[str]:
    bare = pg_vector(source, _q(source.table)).replace(f"{_q(source.table)}.", "")
    return [
        f"ALTER TABLE {_q(source.table)} ADD COLUMN {PG_COLUMN} tsvector GENERATED ALWAYS AS ({bare}) STORED",
        f"CREATE INDEX {source.fts} ON {_q(source.table)} USING gin ({PG_COLUMN})",
    ]


# --- Both ----------------------------------------------------------------------------------------------

def create_statements(dialect: str) -> list[str]:
    """Return the statements that build every full-text index on this dialect."""
    build = _pg_create if dialect == "postgresql" else _sqlite_create
    return [statement for source in SOURCES for statement in build(source)]


def drop_statements(dialect: str) -> list[str]:
    """Return the statements that remove every full-text index on this dialect."""
    if dialect == "postgresql":
        return [statement for source in SOURCES for statement in (
            f"DROP INDEX IF EXISTS {source.fts}",
            f"ALTER TABLE {_q(source.table)} DROP COLUMN IF EXISTS {PG_COLUMN}")]
    statements = []
    for source in SOURCES:
        statements += [f"DROP TRIGGER IF EXISTS {source.fts}_{suffix}" for suffix in ("ai", "ad", "au")]
        statements.append(f"DROP TABLE IF EXISTS {source.fts}")
    return statements


def is_search_object(name: str | None) -> bool:
    """Tell whether a name is one of ours (FTS5 tables and their shadow tables; the tsvector columns, GIN indexes)."""
    return bool(name) and (str(name) == PG_COLUMN or any(str(name) == s.fts or str(name).startswith(f"{s.fts}_") for s in SOURCES))


def _after_create(target: Any, connection: sa.engine.Connection, **_: Any) -> None:
    # ``create_all`` on a schema already built (it checks first) adds nothing: neither do we.
    if sa.inspect(connection).has_table(SOURCES[0].fts) or _pg_index_exists(connection):
        return
    for statement in create_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)


def _pg_index_exists(connection: sa.engine.Connection) -> bool:
    if connection.dialect.name != "postgresql":
        return False
    return bool(connection.exec_driver_sql(
        f"SELECT to_regclass('{SOURCES[0].fts}') IS NOT NULL").scalar())


def _before_drop(target: Any, connection: sa.engine.Connection, **_: Any) -> None:
    for statement in drop_statements(connection.dialect.name):
        connection.exec_driver_sql(statement)


def install(metadata: sa.MetaData) -> None:
    """Build the indexes whenever ``create_all`` builds the schema (tests), and drop them with it."""
    sa.event.listen(metadata, "after_create", _after_create)
    sa.event.listen(metadata, "before_drop", _before_drop)
