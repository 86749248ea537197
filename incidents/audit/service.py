"""Write and read the audit trail."""
from __future__ import annotations

from datetime import date, datetime
from enum import Enum
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa

from incidents.audit.models import AuditEntry
from incidents.extensions import db
from incidents.timeutil import utcnow

if TYPE_CHECKING:
    from incidents.user.models import User


def plain(value: Any) -> Any:
    """Turn a field value into something JSON can hold and people can read."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    return value


def diff(old: dict[str, Any], new: dict[str, Any]) -> dict[str, list[Any]]:
    """Return {field: [old, new]} for each field whose value changed."""
    changes: dict[str, list[Any]] = {}
    for key in sorted(set(old) | set(new)):
        before, after = plain(old.get(key)), plain(new.get(key))
        if before != after:
            changes[key] = [before, after]
    return changes


def record(*, actor: User | None, action: str, entity_type: str, entity_id: int | None,
           changes: dict[str, list[Any]], incident_id: int | None = None, summary: str = "",
           now: datetime | None = None) -> AuditEntry:
    """Add an audit entry to the session (committed with the change it describes)."""
    entry = AuditEntry(
        at=now or utcnow(),
        actor_id=actor.id if actor is not None else None,
        actor_name=actor.email if actor is not None else "system",
        incident_id=incident_id,
        entity_type=entity_type,
        entity_id=entity_id,
        action=action,
        summary=summary[:300],
        changes=changes,
    )
    db.session.add(entry)
    return entry


def entries_for_incident(incident_id: int, *, limit: int | None = None) -> list[AuditEntry]:
    """Return the incident's trail, oldest first."""
    query = (sa.select(AuditEntry).where(AuditEntry.incident_id == incident_id)
             .order_by(AuditEntry.at, AuditEntry.id))
    if limit:
        query = query.limit(limit)
    return list(db.session.scalars(query))


def entries_for_entity(entity_type: str, *, limit: int = 200) -> list[AuditEntry]:
    """Return the newest entries about one kind of thing (users, for example)."""
    query = (sa.select(AuditEntry).where(AuditEntry.entity_type == entity_type)
             .order_by(AuditEntry.at.desc(), AuditEntry.id.desc()).limit(limit))
    return list(db.session.scalars(query))
