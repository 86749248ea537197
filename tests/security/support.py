"""Helpers shared by the security tests: demo keys, logging in, and reading HTML for script and handlers."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.routing import Rule

from incidents.attachment import service as attachment_service
from incidents.attachment.models import Target
from incidents.auth import service as auth_service
from incidents.demo import service as demo_service
from incidents.extensions import db
from incidents.incident.models import Incident, TimelineEntry
from incidents.notification import service as notification_service
from incidents.notification.models import EventKind, WebhookDelivery
from incidents.reminder import feed
from incidents.report.models import ReportVersion
from incidents.review.models import Review
from incidents.timeutil import utcnow
from incidents.user.models import User

ROLES = ("anon", "dcc", "secas", "opsg", "party", "admin")
PUBLISHED = "INC000001002401"  # the demo's live part: published to SEC Parties as GREEN
AWAITING_SECAS = "INC000001002405"  # exclusion proposed, SECAS has not answered; never published
DRAFT_REPORT = "INC000001002404"  # Review Report saved as a draft, still editable by the DCC
MEETING = "OPSG_97"
ACTION_SLUG = "OPSG 97-04"  # action OPSG 97/04 in an address
# Rules whose <reference> is not an incident's, and what it is there.
OTHER_REFERENCES: dict[str, str] = {
    "document.pack": MEETING,
    "document.pack_pdf": MEETING,
    "api.get_action": ACTION_SLUG,
    "api.update_action": ACTION_SLUG,
}


@dataclass(frozen=True)
class Demo:
    """Keys of the seeded demo data that URL arguments are built from."""

    emails: dict[str, str]
    entry_id: int
    target_user_id: int
    calendar_token: str
    # A login session of the SEC Party user (target_user_id), which its owner and administrators may end.
    session_id: int
    # A webhook endpoint and one delivery in its log.
    webhook_id: int
    delivery_id: int
    # A file attached to the published report's version 1, frozen with it: readers download it, nobody deletes it.
    attachment_id: int = 0

    @classmethod
    def load(cls) -> Demo:
        """Read the keys from the seeded database (and give the DCC user a calendar feed link)."""
        emails = {role: email for email, role, _ in demo_service.DEMO_USERS}
        entry_id = db.session.scalar(
            sa.select(sa.func.min(TimelineEntry.id)).join(Incident).where(Incident.reference == PUBLISHED))
        party = db.session.scalar(sa.select(User).where(User.email == emails["party"]))
        dcc = db.session.scalar(sa.select(User).where(User.email == emails["dcc"]))
        token = feed.issue_token(user=dcc)
        key = auth_service.start_session(user=party, user_agent="Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0",
                                         address="192.0.2.7")
        db.session.commit()
        found = auth_service.load_session(key)
        assert found is not None
        webhook_id, delivery_id = _webhook(emails)
        return cls(emails=emails, entry_id=entry_id, target_user_id=party.id, calendar_token=token,
                   session_id=found.id, webhook_id=webhook_id, delivery_id=delivery_id,
                   attachment_id=_frozen_attachment(dcc))

    def url(self, app: Flask, rule: Rule, method: str = "GET", *, incident: str = PUBLISHED) -> str:
        """Build the rule's address from demo data; ``incident`` names the incident where it takes one."""
        values = {
            "reference": OTHER_REFERENCES.get(rule.endpoint, incident), "entry_id": self.entry_id, "number": 1,
            "slug": ACTION_SLUG, "code": "third-party-infrastructure", "month": "2023-04",
            "user_id": self.target_user_id, "token": self.calendar_token, "filename": "style.css",
            "session_id": self.session_id, "provider": "no-such-provider", "webhook_id": self.webhook_id,
            "delivery_id": self.delivery_id, "attachment_id": self.attachment_id, "redaction_id": 1,
        }
        url = app.url_map.bind("localhost").build(
            rule.endpoint, {name: values[name] for name in rule.arguments}, method=method)
        # A search needs its words (without them the API answers 422, as it documents).
        return url + "?q=carrier" if rule.endpoint in ("api.search", "search.index") else url


def _webhook(emails: dict[str, str]) -> tuple[int, int]:
    """Register a webhook endpoint and owe it one delivery (the publication of the published incident)."""
    admin = db.session.scalar(sa.select(User).where(User.email == emails["admin"]))
    secas = db.session.scalar(sa.select(User).where(User.email == emails["secas"]))
    incident = db.session.scalar(sa.select(Incident).where(Incident.reference == PUBLISHED))
    assert admin is not None and incident is not None
    webhook = notification_service.create_webhook(notification_service.WebhookDraft(
        url="https://hooks.example.org/incidents", events=["report_published"]), actor=admin)
    notification_service.record(EventKind.REPORT_PUBLISHED, incident=incident, actor=secas, now=utcnow())
    delivery = db.session.scalar(sa.select(WebhookDelivery).where(WebhookDelivery.webhook_id == webhook.id))
    assert delivery is not None
    db.session.commit()
    return webhook.id, delivery.id


def _frozen_attachment(dcc: User) -> int:
    """Attach a text file to the published report's version 1 (as if before it was submitted); return its id."""
    incident = db.session.scalar(sa.select(Incident).where(Incident.reference == PUBLISHED))
    attachment = attachment_service.upload(incident=incident, target=Target.INCIDENT, key=None,
                                           filename="carrier-notice.txt", data=b"Carrier notice.\n", actor=dcc)
    version = db.session.scalar(sa.select(ReportVersion).join(Review).where(
        Review.incident_id == incident.id, ReportVersion.number == 1))
    attachment.target, attachment.report_version_id = Target.REPORT_VERSION, version.id
    db.session.commit()
    return attachment.id


def login(client: FlaskClient, email: str, password: str, csrf_token: str | None = None) -> None:
    """Log in through the real /login form and check it worked."""
    data = {"email": email, "password": password}
    if csrf_token is not None:
        data["csrf_token"] = csrf_token
    response = client.post("/login", data=data)
    assert response.status_code == 302 and response.location == "/", (email, response.status_code)


# Written by any request that uses a token, refused or not: when the token was last used (once a minute at most).
NOTED_ON_USE = {("api_token", "last_used_at"), ("login_session", "last_seen_at")}


def fingerprint() -> str:
    """Hash every row of every table, read through a connection of its own (what is committed).

    Left out: what a request notes by being made (``NOTED_ON_USE``), which changes nothing it could be refused.
    """
    digest = hashlib.sha256()
    with db.engine.connect() as conn:
        for table in db.metadata.sorted_tables:
            columns = [c for c in table.columns if (table.name, c.name) not in NOTED_ON_USE]
            order = list(table.primary_key.columns) or columns
            for row in conn.execute(sa.select(*columns).order_by(*order)):
                digest.update(repr(tuple(row)).encode())
    return digest.hexdigest()


def is_login_redirect(response: Any) -> bool:
    """Tell whether the answer sends the visitor to log in first (what ``login_required`` does)."""
    if response.status_code not in (301, 302, 303, 307, 308):
        return False
    parts = urlsplit(response.location or "")
    return parts.path == "/login" and "next=" in parts.query


@dataclass(frozen=True)
class Finding:
    """Something in a page that a Content Security Policy without 'unsafe-inline' would block, or a script."""

    tag: str
    problem: str

    def __str__(self) -> str:
        return f"<{self.tag}>: {self.problem}"


class _Inspector(HTMLParser):
    """Collect inline scripts, inline styles, event-handler attributes and javascript: URLs."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.findings: list[Finding] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {name.lower(): value for name, value in attrs}
        if tag == "script" and not names.get("src"):
            self.findings.append(Finding(tag, "inline script (no src)"))
        if tag == "style":
            self.findings.append(Finding(tag, "inline <style> element"))
        for name, value in names.items():
            if name.startswith("on"):
                self.findings.append(Finding(tag, f"event-handler attribute {name}={value!r}"))
            if name == "style":
                self.findings.append(Finding(tag, f"style attribute {value!r}"))
            if name in ("href", "src", "action", "formaction", "xlink:href") and value \
                    and "".join(value.split()).lower().startswith(("javascript:", "vbscript:", "data:text/html")):
                self.findings.append(Finding(tag, f"script URL {name}={value!r}"))


def inline_code(html: str) -> list[Finding]:
    """Return every inline script, style or event handler in an HTML document."""
    inspector = _Inspector()
    inspector.feed(html)
    inspector.close()
    return inspector.findings
