"""Cached heavy reads: a change to any record shows at once, in this process and in any other."""
from __future__ import annotations

import sqlalchemy as sa

from incidents import cache
from incidents.extensions import db
from incidents.reminder.models import Reminder
from incidents.review import service as review_service
from tests.pmr.test_views import client, figure, may  # noqa: F401  (fixtures and helpers)


def test_a_committed_change_moves_the_counter_and_reminder_work_does_not(app, users, now):
    from tests import factories

    before = cache.data_version()
    incident = factories.incident(actor=users["dcc"], now=now)
    db.session.commit()
    after_change = cache.data_version()
    assert after_change > before
    db.session.commit()  # nothing changed: no count
    assert cache.data_version() == after_change
    reminders = db.session.scalars(sa.select(Reminder)).all()
    assert reminders, "the incident's deadlines planned reminders"
    for reminder in reminders:
        reminder.attempts += 1
    db.session.commit()
    assert cache.data_version() == after_change
    incident.title = "Renamed"
    db.session.rollback()  # a change rolled back is no change
    db.session.commit()
    assert cache.data_version() == after_change


def test_the_pmr_page_follows_a_change_made_after_it_was_cached(client, auth, users, may, now):  # noqa: F811
    auth.login(users["opsg"])
    assert figure(client.get("/pmr/2023-05").text, "CPM4", "with") == "33.33 %"
    assert figure(client.get("/pmr/2023-05").text, "CPM4", "with") == "33.33 %"  # from the cache
    # SECAS agrees the pending exclusion (an incident outside its TRT): 1 of 2 counted within TRT.
    review_service.review_exclusion(incident=may["pending"], outcome="agreed", comment="Agreed.",
                                    actor=users["secas"], now=now)
    db.session.commit()
    assert figure(client.get("/pmr/2023-05").text, "CPM4", "with") == "50.00 %"


def test_a_change_committed_by_another_process_is_seen(client, auth, users, may):  # noqa: F811
    auth.login(users["opsg"])
    assert figure(client.get("/pmr/2023-05").text, "CPM4", "without") == "40.00 %"
    # Another process (a second worker, the CLI) commits through its own connection: its session hook
    # counts the change in the same transaction, as this raw SQL does.
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE incident SET resolved_at = started_at WHERE reference = :r"),
                     {"r": may["disagreed"].reference})
        conn.execute(sa.text("UPDATE data_version SET counter = counter + 1 WHERE id = 1"))
    assert figure(client.get("/pmr/2023-05").text, "CPM4", "without") == "60.00 %"


def test_the_cache_is_bounded(app):
    app.config["CACHE_ENTRIES"] = 3
    with app.test_request_context():
        for n in range(10):
            assert cache.cached(("n", n), lambda n=n: n * n) == n * n
        assert len(app.extensions["incidents.cache"]) == 3
