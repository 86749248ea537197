"""The benchmark data generator: what it adds, how it grows a set, and that the app reads the result."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from bench import generate as bench
from incidents.demo import service as demo_service
from incidents.extensions import db
from incidents.incident.models import Incident, TimelineEntry
from incidents.pmr import service as pmr_service
from incidents.reminder.models import Reminder, ReminderState
from incidents.review.models import Review
from incidents.user import service as user_service
from tests import factories

GENERATED = Incident.reference.like(f"{bench.REFERENCE_PREFIX}%")


def _grow(incidents: int, now: datetime) -> bench.Generated:
    result = bench.generate(db.session.connection(), incidents=incidents, now=now)
    db.session.commit()
    return result


def _count(query: sa.Select[tuple[int]]) -> int:
    return db.session.scalar(query) or 0


def test_generate_adds_the_missing_incidents_only(app: Flask, now: datetime) -> None:
    demo_service.seed(now=now)
    db.session.commit()
    demo_reminders = _count(sa.select(sa.func.max(Reminder.id)))

    first = _grow(300, now)

    assert (first.incidents, first.actions) == (300, 60)
    assert first.pmr_month == "2023-05"
    assert _count(sa.select(sa.func.count()).where(GENERATED)) == 300
    assert _count(sa.select(sa.func.count(TimelineEntry.id)).join(Incident).where(GENERATED)) == first.timeline_entries
    assert 2000 < first.timeline_entries < 4000
    detail = db.session.scalar(sa.select(Incident).where(Incident.reference == first.detail_reference))
    assert detail is not None and len(detail.timeline) == 50
    reviewed = _count(sa.select(sa.func.count()).select_from(Review).join(Incident).where(GENERATED))
    assert reviewed == first.reviews > 0
    generated = Reminder.id > demo_reminders
    reminders = _count(sa.select(sa.func.count(sa.distinct(Reminder.key))).where(generated))
    assert reminders == first.reminders
    assert _count(sa.select(sa.func.count()).select_from(Reminder).where(
        generated, Reminder.state == ReminderState.PENDING, Reminder.send_at > now)) > reminders / 3
    cpm4 = next(m for m in pmr_service.measures(first.pmr_month) if m.code == "CPM4")
    assert cpm4.excluded >= 3

    again = _grow(300, now)
    assert (again.incidents, again.timeline_entries, again.actions, again.reviews, again.reminders) == (0, 0, 0, 0, 0)

    more = _grow(400, now)
    assert (more.incidents, more.actions) == (100, 20)
    assert _count(sa.select(sa.func.count()).where(GENERATED)) == 400
    assert _count(sa.select(sa.func.max(Incident.reference)).where(GENERATED)) == bench.reference(399)

    # The app inserts after the generated ids (PostgreSQL sequences were moved past them).
    dcc = user_service.find_by_email("dcc@demo.example")
    assert factories.incident(actor=dcc, now=now).id > _count(sa.select(sa.func.max(Incident.id)).where(GENERATED))
    db.session.commit()


def test_pages_answer_on_a_generated_set(app: Flask, client: FlaskClient, now: datetime) -> None:
    demo_service.seed(now=now)
    db.session.commit()
    result = _grow(300, now)
    dcc = user_service.find_by_email("dcc@demo.example")
    token = user_service.issue_token(user=dcc)
    db.session.commit()

    client.post("/login", data={"email": "dcc@demo.example", "password": demo_service.DEMO_PASSWORD})
    for path in ("/", "/incidents/", f"/incidents/{result.detail_reference}",
                 f"/incidents/{result.detail_reference}/review", f"/pmr/{result.pmr_month}", "/actions/"):
        response = client.get(path)
        assert response.status_code == 200, path
    assert bench.reference(bench.PMR_OFFSET) in client.get(f"/pmr/{result.pmr_month}").get_data(as_text=True)
    api = client.get("/api/v1/incidents", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 200
