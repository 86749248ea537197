"""Who may do what: plain functions used by views, API, services and templates alike."""
from __future__ import annotations

from typing import Any

from incidents.user.models import Role

INCIDENT_READERS = {Role.DCC, Role.SECAS, Role.OPSG, Role.ADMIN}
INCIDENT_WRITERS = {Role.DCC, Role.ADMIN}


def _role(user: Any) -> Role | None:
    if user is None or not getattr(user, "is_authenticated", False) or not getattr(user, "is_active", False):
        return None
    role: Role = user.role
    return role


def can_view_incidents(user: Any) -> bool:
    """Tell whether the user may see the (unpublished) incident log."""
    return _role(user) in INCIDENT_READERS


def can_view_incident(user: Any, incident: Any) -> bool:
    """Tell whether the user may see this incident."""
    return can_view_incidents(user)


def can_edit_incidents(user: Any) -> bool:
    """Tell whether the user may create and change incidents and timelines."""
    return _role(user) in INCIDENT_WRITERS


def can_declare_major(user: Any) -> bool:
    """Tell whether the user may declare or undeclare a Major Incident (DCC)."""
    return _role(user) in {Role.DCC, Role.ADMIN}


def can_manage_users(user: Any) -> bool:
    """Tell whether the user may administer users and tokens."""
    return _role(user) == Role.ADMIN


def can_view_settings(user: Any) -> bool:
    """Tell whether the user may read the rule settings page."""
    return _role(user) is not None


def can_view_internal_rules(user: Any) -> bool:
    """Tell whether the user may read the teams' own rules (reminder schedule and addresses): not SEC Parties."""
    return _role(user) in INCIDENT_READERS


def can_view_configuration(user: Any) -> bool:
    """Tell whether the user may read the configuration behind the rules (keys, values, where each is set)."""
    return _role(user) == Role.ADMIN


def can_manage_principles(user: Any) -> bool:
    """Tell whether the user may add, reword and retire exclusion principles."""
    return _role(user) == Role.ADMIN


def can_propose_exclusion(user: Any) -> bool:
    """Tell whether the user may propose the PMR treatment (DCC)."""
    return _role(user) in {Role.DCC, Role.ADMIN}


def can_record_pmr(user: Any) -> bool:
    """Tell whether the user may record a month's PMR figures as the DCC reported them (DCC)."""
    return _role(user) in {Role.DCC, Role.ADMIN}


def can_review_exclusion(user: Any) -> bool:
    """Tell whether the user may review an exclusion (SECAS)."""
    return _role(user) in {Role.SECAS, Role.ADMIN}


def can_write_report(user: Any) -> bool:
    """Tell whether the user may write and submit the Review Report (DCC)."""
    return _role(user) in {Role.DCC, Role.ADMIN}


def can_record_decision(user: Any) -> bool:
    """Tell whether the user may record an OPSG decision (SECAS as secretary, OPSG members)."""
    return _role(user) in {Role.SECAS, Role.OPSG, Role.ADMIN}


def can_publish(user: Any) -> bool:
    """Tell whether the user may publish an agreed report to SEC Parties (SECAS)."""
    return _role(user) in {Role.SECAS, Role.ADMIN}


def can_comment(user: Any) -> bool:
    """Tell whether the user may comment on reviews (anyone who can see them)."""
    return can_view_incidents(user)


def can_read_published(user: Any) -> bool:
    """Tell whether the user may read published reports (every logged-in role)."""
    return _role(user) is not None


def can_view_actions(user: Any) -> bool:
    """Tell whether the user may read the actions register."""
    return can_view_incidents(user)


def can_view_meetings(user: Any) -> bool:
    """Tell whether the user may read the meeting register (those who read the actions it minutes)."""
    return can_view_actions(user)


def can_view_principles(user: Any) -> bool:
    """Tell whether the user may read the exclusion principles (those who review incidents, and administrators)."""
    return can_view_incidents(user) or can_manage_principles(user)


def can_use_calendar(user: Any) -> bool:
    """Tell whether the user may see their deadlines page and calendar feed link (every logged-in role)."""
    return _role(user) is not None


def can_manage_actions(user: Any) -> bool:
    """Tell whether the user may raise, revise and close actions (SECAS, OPSG, admin)."""
    return _role(user) in {Role.SECAS, Role.OPSG, Role.ADMIN}
