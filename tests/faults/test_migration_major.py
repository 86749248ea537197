"""The Major Incident migration backfills the rows already there, and its downgrade keeps what was there before.

Incidents logged at Category 1 or 2 become declared Major Incidents as of the time they were logged; a Summary
Report recorded as sent (only its time was kept) becomes version 1, sent then, marked as recorded before
contents were kept. Runs on SQLite and, with TEST_DATABASE_URL, on PostgreSQL.
"""
from __future__ import annotations

import json
from datetime import datetime

import sqlalchemy as sa
from flask_migrate import downgrade, upgrade

from incidents.extensions import db
from tests.faults.test_migrations_data import _insert
from tests.test_migrations import migrated_app  # noqa: F401  (fixture)

BEFORE, THIS = "0020", "0021"
LOGGED = datetime(2023, 4, 4, 9, 0)  # naive UTC, as stored
SENT = datetime(2023, 4, 5, 15, 0)


def _incident(conn: sa.Connection, user: int | None, reference: str, category: int) -> int | None:
    return _insert(conn, "incident", reference=reference, title="Outage", category=category, status="resolved",
                   started_at=LOGGED, resolved_at=LOGGED, cause_category="unknown", cause="", impact="",
                   dcc_responsible=True, created_at=LOGGED, updated_at=LOGGED, created_by_id=user, version=1)


def _as_json(value: object) -> object:
    return json.loads(value) if isinstance(value, str) else value


def test_existing_rows_are_declared_by_category_and_sent_summaries_kept(migrated_app):  # noqa: F811
    upgrade(revision=BEFORE)
    with db.engine.begin() as conn:
        user = _insert(conn, "user", email="dcc@example.org", name="Dana", role="dcc", password_hash="x" * 60,
                       is_active=True, created_at=LOGGED)
        sent_case = _incident(conn, user, "INC000001001905", 1)
        unsent_case = _incident(conn, user, "INC000001001906", 2)
        minor = _incident(conn, user, "INC000001001907", 3)
        for incident, category, sent in ((sent_case, 1, SENT), (unsent_case, 2, None)):
            _insert(conn, "review", incident_id=incident, incident_category=category, exclusion_state="not_proposed",
                    report_state="not_started", summary_submitted_at=sent, created_at=LOGGED, updated_at=LOGGED,
                    version=1)
    upgrade(revision=THIS)
    with db.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT id, is_major, major_declared_at, major_reason FROM incident "
                                    "ORDER BY id")).all()
        assert [(bool(major), str(at)[:19] if at else None, reason) for _, major, at, reason in rows] == [
            (True, "2023-04-04 09:00:00", ""), (True, "2023-04-04 09:00:00", ""), (False, None, "")]
        assert [bool(v) for v in conn.scalars(sa.text("SELECT incident_is_major FROM review ORDER BY id"))] == [
            True, True]
        versions = conn.execute(sa.text(
            "SELECT v.number, v.sent_at, v.has_contents, v.sections, v.recipients, r.incident_id "
            "FROM summary_report_version v JOIN review r ON r.id = v.review_id")).all()
        assert len(versions) == 1
        number, sent_at, has_contents, sections, recipients, incident_id = versions[0]
        assert (number, str(sent_at)[:19], bool(has_contents), incident_id) == (
            1, "2023-04-05 15:00:00", False, sent_case)
        assert (_as_json(sections), _as_json(recipients)) == ({}, [])

    # The application reads them: the sent one waits on nobody, the unsent one on the DCC and SECAS.
    from incidents.incident.models import Incident
    from incidents.review import service as review_service
    from incidents.review import workflow

    found = {i.reference: i for i in db.session.scalars(sa.select(Incident))}
    sent_review = review_service.get_review(found["INC000001001905"])
    assert sent_review is not None and not sent_review.summary_versions[0].has_contents
    assert not workflow.summary_pending(found["INC000001001905"], sent_review)
    assert workflow.summary_pending(found["INC000001001906"], review_service.get_review(found["INC000001001906"]))
    assert not workflow.needs_review(found["INC000001001907"]) and minor == found["INC000001001907"].id
    assert unsent_case == found["INC000001001906"].id
    db.session.rollback()
    db.session.remove()

    downgrade(revision=BEFORE)
    with db.engine.connect() as conn:
        assert "summary_report_version" not in sa.inspect(conn).get_table_names()
        assert "is_major" not in {c["name"] for c in sa.inspect(conn).get_columns("incident")}
        kept = conn.execute(sa.text("SELECT summary_submitted_at FROM review ORDER BY id")).scalars().all()
        assert [str(at)[:19] if at else None for at in kept] == ["2023-04-05 15:00:00", None]
