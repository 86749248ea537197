"""The append-only audit trail."""
from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy import event
from sqlalchemy.orm import Mapped, mapped_column

from incidents.extensions import Base
from incidents.timeutil import UTCDateTime, utcnow

# Database triggers make the trail append-only even for direct SQL.
APPEND_ONLY_DDL = {
    "sqlite": [
        ("CREATE TRIGGER audit_entry_no_update BEFORE UPDATE ON audit_entry "
        "BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END"),
        ("CREATE TRIGGER audit_entry_no_delete BEFORE DELETE ON audit_entry "
        "BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END"),
    ],
    "postgresql": [
        ("CREATE OR REPLACE FUNCTION audit_entry_append_only() RETURNS trigger AS $$ "
        "BEGIN RAISE EXCEPTION 'audit trail is append-only'; END; $$ LANGUAGE plpgsql"),
        ("CREATE TRIGGER audit_entry_no_change BEFORE UPDATE OR DELETE ON audit_entry "
        "FOR EACH ROW EXECUTE FUNCTION audit_entry_append_only()"),
        # TRUNCATE fires no row triggers; SQLite has no TRUNCATE (its DELETE without WHERE is refused above).
        ("CREATE TRIGGER audit_entry_no_truncate BEFORE TRUNCATE ON audit_entry "
        "FOR EACH STATEMENT EXECUTE FUNCTION audit_entry_append_only()"),
    ],
}
DROP_DDL = {
    "sqlite": ["DROP TRIGGER IF EXISTS audit_entry_no_update", "DROP TRIGGER IF EXISTS audit_entry_no_delete"],
    "postgresql": ["DROP TRIGGER IF EXISTS audit_entry_no_truncate ON audit_entry",
                   "DROP TRIGGER IF EXISTS audit_entry_no_change ON audit_entry",
                   "DROP FUNCTION IF EXISTS audit_entry_append_only()"],
}


class AuditEntry(Base):
    """One create, change or delete, with old and new values field by field."""

    __tablename__ = "audit_entry"
    __table_args__ = (sa.Index("ix_audit_entry_incident_at", "incident_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(sa.ForeignKey("user.id", ondelete="SET NULL"))
    # The actor's name at the time, kept even if the user is later renamed.
    actor_name: Mapped[str] = mapped_column(sa.String(254), default="system")
    incident_id: Mapped[int | None] = mapped_column(sa.ForeignKey("incident.id", ondelete="RESTRICT"))
    entity_type: Mapped[str] = mapped_column(sa.String(40))
    entity_id: Mapped[int | None] = mapped_column()
    action: Mapped[str] = mapped_column(sa.String(20))
    summary: Mapped[str] = mapped_column(sa.String(300), default="")
    changes: Mapped[dict[str, Any]] = mapped_column(sa.JSON, default=dict)


@event.listens_for(AuditEntry, "before_update")
def _refuse_update(mapper: Any, connection: Any, target: AuditEntry) -> None:
    raise RuntimeError("The audit trail is append-only.")


@event.listens_for(AuditEntry, "before_delete")
def _refuse_delete(mapper: Any, connection: Any, target: AuditEntry) -> None:
    raise RuntimeError("The audit trail is append-only.")


def _install_triggers(target: sa.Table, connection: sa.Connection, **kw: Any) -> None:
    for statement in APPEND_ONLY_DDL.get(connection.dialect.name, []):
        connection.exec_driver_sql(statement)


# Tests build the schema with create_all; migrations run the same DDL explicitly.
event.listen(AuditEntry.__table__, "after_create", _install_triggers)
