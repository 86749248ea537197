"""The words people read for every state, kind and recorded field: pages, the audit trail, CSV exports and mail.

One place for them, so a state reads the same everywhere a person sees it. The API and the database keep the
machine values (``information_requested``); only what is shown to a person goes through here. Longer sentences
that say where a review stands (``review.workflow.EXCLUSION_LABELS``) and what a PMR standing means
(``pmr.service.STANDING_LABELS``) stay with the rules they describe.
"""
from __future__ import annotations

import enum
import re
from typing import Any

from flask import current_app

from incidents.action.models import ActionStatus
from incidents.incident.models import IncidentStatus, TimelineKind
from incidents.meeting.models import MeetingKind
from incidents.notification.models import SendState
from incidents.reminder.models import ReminderKind, ReminderState
from incidents.review.models import (
    DecisionOutcome,
    ExclusionState,
    ReportState,
    ReviewOutcome,
)

ENUM_LABELS: dict[type[enum.Enum], dict[str, str]] = {
    ExclusionState: {
        "not_proposed": "Not proposed",
        "included": "Included in the PMR",
        "pending": "Exclusion proposed, waiting for SECAS",
        "information_requested": "Information requested",
        "agreed": "Exclusion agreed by SECAS",
        "disagreed": "Exclusion disagreed by SECAS",
    },
    ReportState: {
        "not_started": "Not started",
        "draft": "Draft",
        "submitted": "Submitted to the Operations Group",
        "agreed": "Publication agreed",
        "not_agreed": "Publication not agreed",
        "deferred": "Decision deferred",
        "published": "Published",
    },
    ReviewOutcome: {"agreed": "Agreed", "disagreed": "Disagreed", "information_requested": "Information requested"},
    DecisionOutcome: {"agreed": "Agreed", "not_agreed": "Not agreed", "deferred": "Deferred"},
    IncidentStatus: {"open": "Open", "resolved": "Resolved", "closed": "Closed"},
    TimelineKind: {"detected": "Detected", "escalated": "Escalated", "mitigation": "Mitigation",
                   "restored": "Restored", "communication": "Communication", "update": "Update"},
    ActionStatus: {"open": "Open", "closed": "Closed"},
    MeetingKind: {"main": "Main meeting", "reporting": "Reporting meeting"},
    ReminderState: {"pending": "Waiting", "sending": "Being sent", "sent": "Sent", "cancelled": "Cancelled"},
    ReminderKind: {"summary_report": "Summary Report due", "review_report": "Review Report due",
                   "secas_review": "SECAS review due", "opsg_decision": "Operations Group decision due",
                   "action": "Action due"},
    SendState: {"pending": "Waiting", "sending": "Being sent", "sent": "Sent", "failed": "Failed",
                "cancelled": "Cancelled"},
}

# A PMR treatment as the PMR page and its CSV give it (plain strings there, not an enum).
TREATMENT_LABELS = {"counted": "Counted", "excluded": "Excluded",
                    "exclusion_pending": "Excluded by the DCC, under SECAS's review"}

# Which states a recorded field holds: the audit trail keeps values, and names each field.
FIELD_STATES: dict[str, dict[str, str]] = {
    "exclusion_state": ENUM_LABELS[ExclusionState],
    "report_state": ENUM_LABELS[ReportState],
    "outcome": {**ENUM_LABELS[ReviewOutcome], **ENUM_LABELS[DecisionOutcome]},
    "kind": {**ENUM_LABELS[TimelineKind], **ENUM_LABELS[MeetingKind]},
    "status": {**ENUM_LABELS[IncidentStatus], **ENUM_LABELS[ActionStatus]},
    "treatment": TREATMENT_LABELS,
    "pmr_treatment": TREATMENT_LABELS,
}

# Field names of the audit trail, as a person reads them.
FIELD_LABELS = {
    "reference": "Reference", "title": "Title", "category": "Category", "status": "Status",
    "started_at": "Started", "detected_at": "Detected", "resolved_at": "Resolved",
    "cause_category": "Cause category", "cause": "Cause", "impact": "Impact",
    "devices_affected": "Devices or users affected", "dcc_responsible": "DCC responsible for resolving",
    "occurred_at": "When", "kind": "Kind", "cohort": "Cohort", "text": "What happened",
    "exclusion_state": "Exclusion state", "report_state": "Report state", "principle": "Principle",
    "owner_org": "Owner", "owner_user": "Owner (person)", "target_on": "Target date", "raised_on": "Raised on",
    "is_major": "Major Incident", "major_declared_at": "Declared major", "major_reason": "Why major",
    "sec_party": "SEC Party", "report_version": "Report version", "summary_submitted_at": "Summary Report sent",
}

# What an audit entry is about, and what was done to it.
ENTITY_LABELS = {
    "incident": "Incident", "timeline_entry": "Timeline entry", "review": "Review", "report": "Review Report",
    "report_version": "Review Report version", "summary_report": "Summary Report", "action": "Action",
    "attachment": "Attachment", "comment": "Comment", "meeting": "Meeting", "principle": "Exclusion principle",
    "user": "User", "redaction": "Withheld passage", "publication": "Publication",
}
ACTION_LABELS = {"create": "created", "update": "updated", "delete": "deleted"}

_WORDS = re.compile(r"[_\-]+")


def humanise(value: str) -> str:
    """Turn a machine word (``not_started``) into words (``Not started``): the fallback for unknown values."""
    words = _WORDS.sub(" ", value).strip()
    return words[:1].upper() + words[1:]


def label(value: Any) -> str:
    """Return the words for a state or kind (an enum member, or its value with no type known: humanised)."""
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        own = getattr(value, "label", None)
        if isinstance(own, str):
            return own
        words = ENUM_LABELS.get(type(value), {})
        return words.get(str(value.value), humanise(str(value.value)))
    return humanise(str(value))


def state(field: str, value: Any) -> str | None:
    """Return the words for a value of a recorded field that holds a state, or None if the field holds none."""
    states = FIELD_STATES.get(field)
    if states is None or not isinstance(value, str):
        return None
    return states.get(value, humanise(value))


def organisation(code: str | None) -> str:
    """Return an organisation's name from its code (``opsg``: "Operations Group"), as configured."""
    if not code:
        return ""
    names: dict[str, str] = current_app.config.get("ORGANISATIONS", {})
    return str(names.get(code, code))


def field_label(field: str) -> str:
    """Return a recorded field's name for people."""
    return FIELD_LABELS.get(field, humanise(field))


def entity_label(entity_type: str) -> str:
    """Return the name of what an audit entry is about."""
    return ENTITY_LABELS.get(entity_type, humanise(entity_type))


def action_label(action: str) -> str:
    """Return what an audit entry did, as a past participle (``updated``)."""
    return ACTION_LABELS.get(action, humanise(action).lower())
