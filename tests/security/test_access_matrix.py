"""Who gets what: every URL rule of the app, for every role and an anonymous visitor.

The table below is the access policy, written down. Each endpoint maps each of
its methods (HEAD and OPTIONS aside) to the outcome for, in order: an
anonymous visitor, the DCC, SECAS, an OPSG member, a SEC Party and an
administrator. A route added without a row here fails the test, naming it.

Outcomes:
- ``OK``: allowed. A read answers 2xx or 3xx (not to the login page). A
  change, sent with an empty body, gets past authentication and the role
  check, so anything but 401/403/404/405, a login redirect or a 5xx (typically
  302, 409, 422 or 428: the body, the step or the If-Match is missing).
- ``LOGIN``: sent to ``/login?next=...`` (pages, no session).
- ``401``: the API without a bearer token.
- ``403``: the role may not do this.
- ``404``: the role may not know the thing exists (SEC Parties and anything unpublished).

URL arguments come from the demo data: INC000001002401 (published), its
first timeline entry, report version 1, action OPSG 97/04, principle
third-party-infrastructure, meeting OPSG_97, PMR month 2023-04, the SEC
Party's user page and the DCC user's calendar feed.

A refused change must also leave the database exactly as it was. A SEC
Party gets 404 for every address about an unpublished incident, and nothing
it can read names one.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from incidents.action.models import Action
from incidents.extensions import db
from incidents.incident.models import Incident
from incidents.reminder import feed
from incidents.review.models import Publication, Review
from incidents.user.models import User
from tests.security.support import (
    AWAITING_SECAS,
    OTHER_REFERENCES,
    ROLES,
    Demo,
    fingerprint,
    is_login_redirect,
)

OK, LOGIN = "OK", "LOGIN"
IGNORED_METHODS = {"HEAD", "OPTIONS"}

READERS = (LOGIN, OK, OK, OK, 404, OK)            # the unpublished incident log and what hangs off it
EVERYONE = (LOGIN, OK, OK, OK, OK, OK)            # every logged-in role
ADMIN_ONLY = (LOGIN, 403, 403, 403, 403, OK)
INCIDENT_WRITERS = (LOGIN, OK, 403, 403, 404, OK)  # the DCC (and administrators)
ACTION_KEEPERS = (LOGIN, 403, OK, OK, 404, OK)     # SECAS, OPSG members, administrators: actions, meetings, decisions
API_READERS = (401, OK, OK, OK, 404, OK)
API_DCC = (401, OK, 403, 403, 404, OK)
API_ADMIN = (401, 403, 403, 403, 403, OK)

#            anon    dcc    secas  opsg   party  admin
TABLE: dict[str, dict[str, tuple[Any, ...]]] = {
    # --- Log in and the dashboard
    "auth.login": {"GET": (OK, OK, OK, OK, OK, OK), "POST": (OK, OK, OK, OK, OK, OK)},
    "auth.logout": {"POST": (OK, OK, OK, OK, OK, OK)},
    # Sign-in with an identity provider: none is configured here, so every address names an unknown one.
    "auth.sso_start": {"GET": (404,) * 6},
    "auth.sso_callback": {"GET": (404,) * 6},
    "auth.sessions": {"GET": EVERYONE},
    # The session is the SEC Party's; for the others it is one already ended (nothing changes, nothing leaks).
    "auth.end_session": {"POST": EVERYONE},
    "dashboard.home": {"GET": EVERYONE},
    # --- Incidents
    "incident.index": {"GET": READERS},
    "incident.detail": {"GET": READERS},
    "incident.audit": {"GET": READERS},
    "incident.create": {"GET": INCIDENT_WRITERS, "POST": INCIDENT_WRITERS},
    "importer.upload": {"GET": (LOGIN, OK, 403, 403, 403, OK), "POST": (LOGIN, OK, 403, 403, 403, OK)},
    "search.index": {"GET": EVERYONE},
    "incident.edit": {"GET": INCIDENT_WRITERS, "POST": INCIDENT_WRITERS},
    "incident.add_entry": {"POST": INCIDENT_WRITERS},
    "incident.edit_entry": {"GET": INCIDENT_WRITERS, "POST": INCIDENT_WRITERS},
    "incident.delete_entry": {"POST": INCIDENT_WRITERS},
    "incident.set_major": {"POST": INCIDENT_WRITERS},
    # --- Review workflow and the Review Report
    "review.show": {"GET": READERS},
    "review.propose": {"POST": INCIDENT_WRITERS},
    "review.review_exclusion": {"POST": (LOGIN, 403, OK, 403, 404, OK)},
    "review.summary_report": {"GET": READERS, "POST": INCIDENT_WRITERS},
    "review.decide": {"POST": ACTION_KEEPERS},
    "review.publish": {"GET": (LOGIN, 403, OK, 403, 404, OK), "POST": (LOGIN, 403, OK, 403, 404, OK)},
    "review.comment": {"POST": READERS},
    "report.report": {"GET": READERS},
    "report.edit_report": {"GET": INCIDENT_WRITERS, "POST": INCIDENT_WRITERS},
    "report.autosave": {"POST": INCIDENT_WRITERS},
    "report.submit_report": {"GET": INCIDENT_WRITERS, "POST": INCIDENT_WRITERS},
    "report.withdraw_report": {"GET": INCIDENT_WRITERS, "POST": INCIDENT_WRITERS},
    "report.preview": {"POST": INCIDENT_WRITERS},
    "report.versions": {"GET": READERS},
    "report.diff": {"GET": READERS},
    "report.published": {"GET": EVERYONE},
    "report.published_report": {"GET": EVERYONE},
    # --- Documents, pictures and downloads
    "document.report_print": {"GET": READERS},
    "document.report_pdf": {"GET": READERS},
    "document.published_pdf": {"GET": EVERYONE},
    "document.pack": {"GET": READERS},
    "document.pack_pdf": {"GET": READERS},
    "chart.restoration": {"GET": EVERYONE},  # SEC Parties: the published version only
    "export.incidents": {"GET": READERS},
    "export.actions": {"GET": READERS},
    "export.audit": {"GET": READERS},
    "attachment.index": {"GET": READERS},
    "attachment.upload": {"POST": INCIDENT_WRITERS},
    "attachment.download": {"GET": READERS},
    # The demo's attachment is frozen with its submitted version: the DCC's delete is refused (409, nothing changes).
    "attachment.delete": {"POST": INCIDENT_WRITERS},
    "redaction.index": {"GET": READERS},
    # No version waits for the group on the published incident: SECAS is told so (nothing changes).
    "redaction.mark": {"POST": (LOGIN, 403, OK, 403, 404, OK)},
    "redaction.remove": {"POST": (LOGIN, 403, OK, 403, 404, OK)},
    "pmr.index": {"GET": READERS},
    "pmr.month": {"GET": READERS},
    "pmr.month_csv": {"GET": READERS},
    "pmr.record": {"POST": INCIDENT_WRITERS},
    # --- Principles (the pages refuse SEC Parties with 403, the API with 404)
    "principle.index": {"GET": (LOGIN, OK, OK, OK, 403, OK)},
    "principle.add": {"POST": ADMIN_ONLY},
    "principle.reword": {"GET": ADMIN_ONLY, "POST": ADMIN_ONLY},
    "principle.retire": {"POST": ADMIN_ONLY},
    "principle.reinstate": {"POST": ADMIN_ONLY},
    # --- Actions, meetings, reminders, rules
    "action.index": {"GET": READERS},
    "action.detail": {"GET": READERS},
    "action.create": {"GET": ACTION_KEEPERS, "POST": ACTION_KEEPERS},
    "action.edit": {"GET": ACTION_KEEPERS, "POST": ACTION_KEEPERS},
    "meeting.index": {"GET": READERS},
    "meeting.schedule": {"POST": ACTION_KEEPERS},
    "reminder.incident_reminders": {"GET": READERS},
    "reminder.outbox": {"GET": ADMIN_ONLY},
    "reminder.calendar": {"GET": EVERYONE},
    "reminder.calendar_token": {"POST": EVERYONE},
    # The secret token in the address is the key: no login, whoever holds it.
    "reminder.calendar_feed": {"GET": (OK, OK, OK, OK, OK, OK)},
    "rules.settings": {"GET": EVERYONE},
    "rules.configuration": {"GET": ADMIN_ONLY},
    # --- Notifications: each person's own preferences; follow what you can see; webhooks for administrators
    "notification.preferences": {"GET": EVERYONE, "POST": EVERYONE},
    "notification.follow": {"POST": READERS},
    "notification.unfollow": {"POST": READERS},
    "notification.webhooks": {"GET": ADMIN_ONLY, "POST": ADMIN_ONLY},
    "notification.webhook": {"GET": ADMIN_ONLY},
    "notification.resend": {"POST": ADMIN_ONLY},
    "notification.remove": {"POST": ADMIN_ONLY},
    # --- User administration
    "user.index": {"GET": ADMIN_ONLY},
    "user.detail": {"GET": ADMIN_ONLY},
    "user.create": {"GET": ADMIN_ONLY, "POST": ADMIN_ONLY},
    "user.rename": {"POST": ADMIN_ONLY},
    "user.change_role": {"POST": ADMIN_ONLY},
    "user.reset_password": {"POST": ADMIN_ONLY},
    "user.deactivate": {"POST": ADMIN_ONLY},
    "user.activate": {"POST": ADMIN_ONLY},
    "user.issue_token": {"POST": ADMIN_ONLY},
    "user.revoke_tokens": {"POST": ADMIN_ONLY},
    "user.end_session": {"POST": ADMIN_ONLY},
    # --- JSON API (bearer tokens; a role that may not see incidents gets 404 for them)
    "api.openapi_document": {"GET": (OK, OK, OK, OK, OK, OK)},
    "api.list_incidents": {"GET": API_READERS},
    "api.create_incident": {"POST": (401, OK, 403, 403, 403, OK)},
    "api.get_incident": {"GET": API_READERS},
    "api.update_incident": {"PATCH": API_DCC},
    "api.set_major": {"POST": API_DCC},
    "api.list_timeline": {"GET": API_READERS},
    "api.add_timeline_entry": {"POST": API_DCC},
    "api.get_timeline_entry": {"GET": API_READERS},
    "api.update_timeline_entry": {"PATCH": API_DCC},
    "api.delete_timeline_entry": {"DELETE": API_DCC},
    "api.list_audit": {"GET": API_READERS},
    "api.get_exclusion": {"GET": API_READERS},
    "api.propose_exclusion": {"PUT": API_DCC},
    "api.review_exclusion": {"POST": (401, 403, OK, 403, 404, OK)},
    "api.get_summary_report": {"GET": API_READERS},
    "api.record_summary_report": {"POST": API_DCC},
    "api.get_report": {"GET": API_READERS},
    "api.save_report": {"PUT": API_DCC},
    "api.submit_report": {"POST": API_DCC},
    "api.withdraw_report": {"POST": API_DCC},
    "api.list_report_versions": {"GET": API_READERS},
    "api.get_report_version": {"GET": API_READERS},
    "api.list_decisions": {"GET": API_READERS},
    "api.record_decision": {"POST": (401, 403, OK, OK, 404, OK)},
    "api.publish_report": {"POST": (401, 403, OK, 403, 404, OK)},
    "api.list_published": {"GET": (401, OK, OK, OK, OK, OK)},
    "api.get_published": {"GET": (401, OK, OK, OK, OK, OK)},
    "api.list_principles": {"GET": API_READERS},
    "api.add_principle": {"POST": (401, 403, 403, 403, 403, OK)},
    "api.get_principle": {"GET": API_READERS},
    "api.update_principle": {"PATCH": (401, 403, 403, 403, 404, OK)},
    "api.list_actions": {"GET": API_READERS},
    "api.search": {"GET": (401, OK, OK, OK, OK, OK)},
    "api.create_action": {"POST": (401, 403, OK, OK, 403, OK)},
    "api.get_action": {"GET": API_READERS},
    "api.update_action": {"PATCH": (401, 403, OK, OK, 404, OK)},
    "api.list_meetings": {"GET": API_READERS},
    "api.schedule_meeting": {"POST": (401, 403, OK, OK, 404, OK)},
    "api.get_pmr": {"GET": API_READERS},
    "api.get_notification_settings": {"GET": (401, OK, OK, OK, OK, OK)},
    "api.update_notification_settings": {"PUT": (401, OK, OK, OK, OK, OK)},
    "api.follow": {"PUT": API_READERS},
    "api.unfollow": {"DELETE": API_READERS},
    "api.list_webhooks": {"GET": API_ADMIN},
    "api.create_webhook": {"POST": API_ADMIN},
    "api.get_webhook": {"GET": API_ADMIN},
    "api.delete_webhook": {"DELETE": API_ADMIN},
    "api.list_webhook_deliveries": {"GET": API_ADMIN},
    "api.resend_webhook_delivery": {"POST": API_ADMIN},
    "api.list_attachments": {"GET": API_READERS},
    "api.upload_attachment": {"POST": API_DCC},
    "api.download_attachment": {"GET": API_READERS},
    "api.list_pmr_recordings": {"GET": API_READERS},
}

def _rules(app: Flask) -> list[Rule]:
    return sorted((rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"),
                  key=lambda rule: rule.endpoint)


def _methods(rule: Rule) -> list[str]:
    return sorted((rule.methods or set()) - IGNORED_METHODS)


def _send(client: FlaskClient, url: str, method: str, token: str | None) -> Any:
    headers = {"Authorization": f"Bearer {token}"} if token and url.startswith("/api/") else {}
    # buffered: streamed downloads (CSV) are read within the request's own context.
    return client.open(url, method=method, headers=headers, buffered=True)


def outcome(response: Any, method: str) -> Any:
    """Classify an answer as the table's outcomes, or describe what is wrong with it."""
    code = response.status_code
    if is_login_redirect(response):
        return LOGIN
    if code in (401, 403, 404):
        return code
    if code >= 500 or code == 405:
        return f"{code} (broken)"
    if method == "GET":
        return OK if code < 400 else f"{code} (a read should answer 2xx/3xx)"
    return OK


def _changed(before: str | None, refused: list[str]) -> list[str]:
    """Say which refused requests may have changed the database, if it changed."""
    if before is None or not refused or fingerprint() == before:
        return []
    return ["the database changed although these requests were refused: " + "; ".join(refused)]


def _plan(app: Flask, column: int | None = None) -> list[tuple[Rule, str]]:
    """Order the requests: reads, then changes the role may not make, then the others, logging out last."""
    def key(step: tuple[Rule, str]) -> tuple[Any, ...]:
        rule, method = step
        allowed = column is not None and TABLE.get(rule.endpoint, {}).get(method, (OK,) * len(ROLES))[column] == OK
        return method != "GET", allowed, rule.endpoint == "auth.logout", rule.endpoint, method

    return sorted(((rule, method) for rule in _rules(app) for method in _methods(rule)), key=key)


def test_every_route_has_a_row_in_the_table(app: Flask) -> None:
    missing = [f"{rule.endpoint} {method} {rule.rule}" for rule in _rules(app) for method in _methods(rule)
               if method not in TABLE.get(rule.endpoint, {})]
    assert not missing, ("Routes with no row in the access table of tests/security/test_access_matrix.py; "
                         "add what each role should get: " + "; ".join(missing))
    known = {(rule.endpoint, method) for rule in _rules(app) for method in _methods(rule)}
    stale = [f"{endpoint} {method}" for endpoint, methods in TABLE.items() for method in methods
             if (endpoint, method) not in known]
    assert not stale, "Rows for routes the app no longer has: " + "; ".join(stale)
    assert all(len(row) == len(ROLES) for methods in TABLE.values() for row in methods.values())


@pytest.mark.parametrize("role", ROLES)
def test_each_role_gets_what_the_table_says(app: Flask, demo: Demo, make_client: Callable[[str], FlaskClient],
                                            tokens: dict[str, str], no_pdf_drawing: list[str], role: str) -> None:
    column = ROLES.index(role)
    client = make_client(role)
    token = tokens.get(role)
    wrong: list[str] = []
    # Changes the role may not make run after the reads and before the allowed ones, so that one
    # comparison shows whether any of them changed the database.
    refused: list[str] = []
    before: str | None = None
    for rule, method in _plan(app, column):
        expected = TABLE.get(rule.endpoint, {}).get(method)
        if expected is None:
            continue  # reported by test_every_route_has_a_row_in_the_table
        if method != "GET" and before is None:
            before = fingerprint()
        if method != "GET" and expected[column] == OK and refused:
            wrong.extend(_changed(before, refused))
            refused = []
        url = demo.url(app, rule, method)
        response = _send(client, url, method, token)
        got = outcome(response, method)
        if got != expected[column]:
            wrong.append(f"{method} {url} ({rule.endpoint}): expected {expected[column]}, got {got} "
                         f"[{response.status_code} {response.location or ''}]")
        elif method != "GET" and got != OK:
            refused.append(f"{method} {url}")
    wrong.extend(_changed(before, refused))
    assert not wrong, f"as {role}:\n" + "\n".join(wrong)


def test_a_sec_party_gets_404_for_everything_about_an_unpublished_incident(
        app: Flask, demo: Demo, make_client: Callable[[str], FlaskClient], tokens: dict[str, str]) -> None:
    client = make_client("party")
    before = fingerprint()
    wrong = []
    for rule, method in _plan(app):
        if "reference" not in rule.arguments or rule.endpoint in OTHER_REFERENCES:
            continue
        url = demo.url(app, rule, method, incident=AWAITING_SECAS)
        response = _send(client, url, method, tokens["party"])
        if response.status_code != 404:
            wrong.append(f"{method} {url} ({rule.endpoint}): {response.status_code}")
    assert not wrong, "An unpublished incident's existence leaks to a SEC Party:\n" + "\n".join(wrong)
    assert fingerprint() == before


def test_nothing_a_sec_party_reads_names_an_unpublished_incident_or_an_action(
        app: Flask, demo: Demo, make_client: Callable[[str], FlaskClient], tokens: dict[str, str],
        no_pdf_drawing: list[str]) -> None:
    published = sa.select(Review.incident_id).join(Publication, Publication.review_id == Review.id)
    # INC000001001905, the real case, is the API document's example reference (it names no demo record).
    secrets = set(db.session.scalars(sa.select(Incident.reference).where(
        Incident.id.not_in(published), Incident.reference != "INC000001001905")))
    # OPSG 97/04 is the API document's example and the address the party asks for; no other action may show.
    secrets |= set(db.session.scalars(sa.select(Action.reference).where(Action.reference != "OPSG 97/04")))
    assert len(secrets) >= 10
    party = db.session.scalar(sa.select(User).where(User.email == demo.emails["party"]))
    feed_token = feed.issue_token(user=party)
    db.session.commit()
    client = make_client("party")
    answers = {f"/calendar/{feed_token}.ics": client.get(f"/calendar/{feed_token}.ics")}
    for rule, method in _plan(app):
        if method == "GET" and rule.endpoint != "reminder.calendar_feed":
            url = demo.url(app, rule)
            answers[url] = _send(client, url, method, tokens["party"])
    wrong = [f"{url} names {sorted(found)}" for url, response in answers.items()
             if (found := {secret for secret in secrets if secret in response.get_data(as_text=True)})]
    assert not wrong, "\n".join(wrong)
