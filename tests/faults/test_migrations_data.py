"""Migrations move a database that holds data: every row survives each upgrade, and each downgrade step runs.

tests/test_migrations.py checks the schema on an empty database. Here the
database is filled as it goes: rows typical of each revision are inserted
with plain SQL right after it (the real case, its review, its meeting and
action), then the next revision runs over them. At head the rows must all
be there, unchanged and readable by the application; then the database is
downgraded one revision at a time to base, keeping the older rows at each
step. Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL.
"""
from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from incidents.extensions import db
from tests.test_migrations import migrated_app  # noqa: F401  (fixture)

T = datetime(2023, 4, 4, 5, 15)  # naive UTC, as stored
TABLES = {
    "0001": ["user", "api_token", "incident", "incident_cohort", "timeline_entry", "audit_entry"],
    "0002": ["exclusion_principle", "principle_version", "review", "exclusion_proposal", "exclusion_review",
             "report_version", "decision", "publication", "review_comment"],
    "0003": ["login_failure", "meeting", "action", "action_incident", "action_target_revision", "reminder"],
}
TEXT = "CSP N’s NTE stuck — reset at 10:40 BST ✓ 😀\nsecond line"


def _insert(conn: sa.Connection, table_name: str, **values: Any) -> int | None:
    """Insert one row with SQL built from the table as the database describes it now; return its id."""
    table = sa.Table(table_name, sa.MetaData(), autoload_with=conn)
    result = conn.execute(table.insert().values(**values))
    return result.inserted_primary_key[0] if result.inserted_primary_key else None


def _counts(conn: sa.Connection) -> dict[str, int]:
    present = set(sa.inspect(conn).get_table_names())
    names = [name for revision in TABLES.values() for name in revision if name in present]
    return {name: conn.scalar(sa.text(f'SELECT COUNT(*) FROM "{name}"')) for name in names}


def _fill_0001(conn: sa.Connection) -> dict[str, int]:
    user = _insert(conn, "user", email="dcc@example.org", name="Dana", role="dcc", password_hash="x" * 60,
                   is_active=True, created_at=T, session_version=0)
    _insert(conn, "api_token", user_id=user, token_hash="a" * 64, prefix="abcdef", created_at=T)
    incident = _insert(conn, "incident", reference="INC000001001905", title="National carrier outage ✓",
                       category=1, status="resolved", started_at=T, detected_at=T.replace(minute=25),
                       resolved_at=T.replace(hour=9, minute=40), cause_category="third_party", cause=TEXT,
                       impact="Meters unreachable.", devices_affected=10**12, dcc_responsible=True, created_at=T,
                       updated_at=T, created_by_id=user, version=2)
    _insert(conn, "incident_cohort", incident_id=incident, name="CSP N", impact_started_at=T,
            restored_at=T.replace(hour=9, minute=40))
    _insert(conn, "incident_cohort", incident_id=incident, name="CSP C&S", impact_started_at=T, restored_at=None)
    _insert(conn, "timeline_entry", incident_id=incident, occurred_at=T.replace(hour=9, minute=40), kind="restored",
            cohort="CSP N", text=TEXT, created_at=T, created_by_id=user, version=1)
    _insert(conn, "audit_entry", at=T, actor_id=user, actor_name="dcc@example.org", incident_id=incident,
            entity_type="incident", entity_id=incident, action="create", summary="Logged INC000001001905",
            changes={"title": [None, "National carrier outage ✓"], "devices_affected": [None, 10**12]})
    return {"user": user, "incident": incident}


def _fill_0002(conn: sa.Connection, ids: dict[str, int]) -> dict[str, int]:
    wording = conn.execute(sa.text("SELECT v.id, v.wording FROM principle_version v JOIN exclusion_principle p "
                                   "ON p.id = v.principle_id WHERE p.code = 'third-party-infrastructure'")).one()
    review = _insert(conn, "review", incident_id=ids["incident"], exclusion_state="agreed", report_state="published",
                     created_at=T, updated_at=T, version=5)
    proposal = _insert(conn, "exclusion_proposal", review_id=review, round=1, exclude=True,
                       principle_version_id=wording[0], principle_code="third-party-infrastructure",
                       principle_wording=wording[1], rationale="Outside the DCC's control.",
                       evidence_links=["https://example.org/notice"], response="", proposed_by_id=ids["user"],
                       proposed_by_name="dcc@example.org", proposed_at=T)
    _insert(conn, "exclusion_review", proposal_id=proposal, outcome="agreed", comment="Agreed.",
            reviewed_by_name="secas@example.org", reviewed_at=T)
    version = _insert(conn, "report_version", review_id=review, number=1, is_frozen=True, classification="GREEN",
                      sections={"summary": TEXT, "root_cause": "Carrier."}, generated=None, created_at=T,
                      created_by_name="dcc@example.org", submitted_at=T, submitted_by_name="dcc@example.org")
    decision = _insert(conn, "decision", review_id=review, meeting="OPSG_97", meeting_on=date(2023, 6, 26),
                       outcome="agreed", minute="Agreed for publication.", actions_text="OPSG 97/04",
                       report_version_id=version, recorded_by_name="secas@example.org", recorded_at=T)
    _insert(conn, "publication", review_id=review, report_version_id=version, classification="GREEN",
            published_by_name="secas@example.org", published_at=T)
    _insert(conn, "review_comment", review_id=review, author_id=ids["user"], author_name="dcc@example.org",
            body=TEXT, created_at=T)
    return {**ids, "review": review, "decision": decision}


def _fill_0003(conn: sa.Connection, ids: dict[str, int]) -> None:
    _insert(conn, "login_failure", at=T, ip="127.0.0.1", email_hash="b" * 64)
    _insert(conn, "meeting", reference="OPSG_97", group="OPSG", number=97, held_on=date(2023, 6, 26), created_at=T)
    action = _insert(conn, "action", reference="OPSG 97/04", group="OPSG", meeting_number=97, text=TEXT,
                     owner_org="dcc", owner_user_id=ids["user"], raised_on=date(2023, 6, 26),
                     target_on=date(2023, 9, 25), original_target_on=date(2023, 7, 24), status="open",
                     closing_note="", decision_id=ids["decision"], created_at=T, updated_at=T, version=2)
    _insert(conn, "action_incident", action_id=action, incident_id=ids["incident"])
    _insert(conn, "action_target_revision", action_id=action, previous_on=date(2023, 7, 24),
            target_on=date(2023, 9, 25), reason="Agree with SECAS first.", revised_by_name="secas@example.org",
            revised_at=T)
    _insert(conn, "reminder", key="action:1:2023-09-18", kind="action", incident_id=None, action_id=action,
            subject="[OPSG 97/04] due", label="5 Working Days before", recipients=["dcc@example.org"],
            link_path="/actions/OPSG%2097-04", deadline_on=date(2023, 9, 25), send_at=T, state="pending",
            attempts=0, message_id="<r1@incidents.example>", created_at=T)
    conn.execute(sa.text('UPDATE "user" SET calendar_token = :token'), {"token": "c" * 43})


def _check_rows_of_0001_and_0002(conn: sa.Connection, *, with_review: bool = True) -> None:
    incident = conn.execute(sa.text("SELECT reference, devices_affected, cause, started_at, resolved_at "
                                    "FROM incident")).one()
    assert incident[:3] == ("INC000001001905", 10**12, TEXT)
    # SQLite answers plain SQL with text, PostgreSQL with a datetime.
    assert [str(value)[:19] for value in incident[3:]] == ["2023-04-04 05:15:00", "2023-04-04 09:40:00"]
    assert conn.scalar(sa.text("SELECT text FROM timeline_entry")) == TEXT
    changes = conn.scalar(sa.text("SELECT changes FROM audit_entry"))
    assert (json.loads(changes) if isinstance(changes, str) else changes)["devices_affected"] == [None, 10**12]
    sections = conn.scalar(sa.text("SELECT sections FROM report_version")) if with_review else None
    if with_review:
        assert (json.loads(sections) if isinstance(sections, str) else sections)["summary"] == TEXT


def test_rows_survive_every_upgrade_and_each_downgrade_step(migrated_app):  # noqa: F811
    upgrade(revision="0001")
    with db.engine.begin() as conn:
        ids = _fill_0001(conn)
    upgrade(revision="0002")
    with db.engine.begin() as conn:
        _check_rows_of_0001_and_0002(conn, with_review=False)
        ids = _fill_0002(conn, ids)
    upgrade(revision="0003")
    with db.engine.begin() as conn:
        _fill_0003(conn, ids)
    upgrade()  # head, whatever revisions come later
    with db.engine.connect() as conn:
        at_head = _counts(conn)
        _check_rows_of_0001_and_0002(conn)
    expected = {"user": 1, "api_token": 1, "incident": 1, "incident_cohort": 2, "timeline_entry": 1,
                "audit_entry": 1, "exclusion_principle": 4, "principle_version": 4, "review": 1,
                "exclusion_proposal": 1, "exclusion_review": 1, "report_version": 1, "decision": 1, "publication": 1,
                "review_comment": 1, "login_failure": 1, "meeting": 1, "action": 1, "action_incident": 1,
                "action_target_revision": 1, "reminder": 1}
    assert at_head == expected

    _the_application_reads_the_migrated_rows()
    # A feed link made before its token was kept hashed still works.
    from incidents.reminder import feed
    assert feed.user_for_token("c" * 43) is not None
    db.session.rollback()  # the session's read lock would hold up the downgrade's ALTER TABLE
    with db.engine.connect() as conn:
        assert conn.scalar(sa.text('SELECT calendar_token_hash FROM "user"')) == hashlib.sha256(b"c" * 43).hexdigest()

    downgrade(revision="0002")
    with db.engine.connect() as conn:
        assert _counts(conn) == {name: expected[name] for name in TABLES["0001"] + TABLES["0002"]}
        _check_rows_of_0001_and_0002(conn)
        assert "calendar_token" not in {c["name"] for c in sa.inspect(conn).get_columns("user")}
    downgrade(revision="0001")
    with db.engine.connect() as conn:
        assert _counts(conn) == {name: expected[name] for name in TABLES["0001"]}
        _check_rows_of_0001_and_0002(conn, with_review=False)
    downgrade(revision="base")
    with db.engine.connect() as conn:
        assert set(sa.inspect(conn).get_table_names()) - {"alembic_version"} == set()


def _the_application_reads_the_migrated_rows() -> None:
    """The models, the derived values and the review read what plain SQL put there."""
    from incidents.action.models import Action
    from incidents.incident import service as incident_service
    from incidents.incident.models import Incident
    from incidents.review import service as review_service

    incident = db.session.scalar(sa.select(Incident))
    derived = incident_service.derive(incident)
    assert derived.duration_minutes == 265 and derived.pmr_month == "2023-04"
    assert {c.name for c in incident.cohorts} == {"CSP N", "CSP C&S"} and incident.timeline[0].text == TEXT
    review = review_service.get_review(incident)
    assert review is not None and review.decisions[0].meeting == "OPSG_97"
    action = db.session.scalar(sa.select(Action))
    assert [i.reference for i in action.incidents] == ["INC000001001905"]
    # The publication made before editions were frozen is backfilled with its snapshot (0012).
    from incidents.review import edition
    publication = review.publications[0]
    assert (publication.reference, publication.title, publication.version_number) == (
        "INC000001001905", "National carrier outage ✓", 1)
    assert edition.sections(publication)["summary"] == TEXT
    assert [e["text"] for e in edition.generated(publication)["timeline"]] == [TEXT]
    db.session.rollback()
    db.session.remove()
