"""The audit trail as people read it: who (name and organisation), what happened in a sentence, and each
changed field with its old and new value in words. The audit page and the audit CSV both read it from here."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app

from incidents import labels
from incidents.audit.models import AuditEntry
from incidents.principle.models import title_for
from incidents.timeutil import format_local
from incidents.user import service as user_service

# Snapshot keys of a cohort's times look like 'cohort CSP N impact_started_at'.
_COHORT_PARTS = {"impact_started_at": "impact start", "restored_at": "restored"}
# An update names at most this many other changed fields in its sentence; the table lists them all.
_NAMED_FIELDS = 4


@dataclass(frozen=True)
class Change:
    """One changed field: its name and both values, in words."""

    field: str
    before: str
    after: str


@dataclass(frozen=True)
class Described:
    """One audit entry in words."""

    entry: AuditEntry
    who: str
    heading: str
    description: str
    changes: list[Change]


def field_label(name: str) -> str:
    """Return a recorded field's name for people (a cohort's times included)."""
    if name.startswith("cohort "):
        cohort, _, attribute = name[len("cohort "):].rpartition(" ")
        return f"{cohort} {_COHORT_PARTS.get(attribute, labels.humanise(attribute).lower())}"
    return labels.field_label(name)


def value_words(name: str, value: Any) -> str:
    """Show one recorded value for people: states and kinds in words, UK local times, Yes/No, '(empty)'."""
    if value is None or value == "" or value == []:
        return "(empty)"
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list):
        return ", ".join(value_words(name, item) for item in value)
    if isinstance(value, dict):
        return "; ".join(f"{labels.humanise(str(k))}: {value_words(str(k), v)}" for k, v in value.items())
    if isinstance(value, str):
        state = labels.state(name, value)
        if state is not None:
            return state
        if name == "cause_category":
            return str(current_app.config.get("CAUSE_CATEGORIES", {}).get(value, labels.humanise(value)))
        if name == "owner_org":
            return labels.organisation(value)
        if name == "principle":
            return title_for(value)
        if name.endswith(("_user", "_by")) and "@" in value:
            return user_service.person(value)
        if len(value) >= 19 and value[4:5] == "-" and value[10:11] == "T":
            try:
                moment = datetime.fromisoformat(value)
            except ValueError:
                return value
            if moment.tzinfo is not None:
                return format_local(moment)
    return str(value)


def _sentence(entry: AuditEntry, heading: str) -> str:
    """Say what the entry did: each state change from and to, then which other fields changed."""
    parts: list[str] = []
    others: list[str] = []
    for name, values in sorted((entry.changes or {}).items()):
        before, after = (list(values) + [None, None])[:2] if isinstance(values, list | tuple) else (None, values)
        if labels.FIELD_STATES.get(name) is not None:
            if before in (None, ""):
                parts.append(f"{field_label(name).lower()} set to {value_words(name, after)}")
            else:
                parts.append(f"{field_label(name).lower()} changed from {value_words(name, before)} "
                             f"to {value_words(name, after)}")
        elif entry.action == "update":
            others.append(field_label(name).lower())
    if others:
        named = ", ".join(others[:_NAMED_FIELDS])
        more = len(others) - _NAMED_FIELDS
        parts.append(("also changed: " if parts else "changed: ") + named + (f" and {more} more" if more > 0 else ""))
    return f"{heading}: {'; '.join(parts)}" if parts else heading


def heading(entry: AuditEntry, reference: str | None = None) -> str:
    """Name what the entry is about and what was done to it: "Review of INC000001001905 updated"."""
    what = labels.entity_label(entry.entity_type)
    done = labels.action_label(entry.action)
    if entry.entity_type == "incident" and reference:
        return f"Incident {reference} {done}"
    own = _side((entry.changes or {}).get("reference"), 1)
    if entry.entity_type == "action" and isinstance(own, str) and own:
        return f"Action {own} {done}"
    return f"{what} of {reference} {done}" if reference else f"{what} {done}"


def describe(entry: AuditEntry, *, reference: str | None = None) -> Described:
    """Return the entry in words (``reference``: the incident it belongs to, if any)."""
    title = heading(entry, reference)
    changes = [Change(field_label(name), value_words(name, _side(values, 0)), value_words(name, _side(values, 1)))
               for name, values in sorted((entry.changes or {}).items())]
    return Described(entry=entry, who=user_service.person(entry.actor_name), heading=title,
                     description=_sentence(entry, title), changes=changes)


def _side(values: Any, index: int) -> Any:
    try:
        return values[index]
    except (IndexError, KeyError, TypeError):
        return None
