"""Cached heavy reads: a change to any record shows at once, in this process and in any other."""
from __future__ import annotations

import re
import time

import sqlalchemy as sa

from incidents import cache
from incidents.extensions import db
from incidents.reminder.models import Reminder
from incidents.review import service as review_service
from tests import factories
from tests.fuzz.browser import Browser
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
    # counts the change in the same transaction (and on PostgreSQL announces it), as done here.
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE incident SET resolved_at = started_at WHERE reference = :r"),
                     {"r": may["disagreed"].reference})
        cache.count_change(conn)
    # On SQLite the next request reads the counter; on PostgreSQL the announcement takes a moment to arrive.
    deadline = time.monotonic() + 5
    while figure(client.get("/pmr/2023-05").text, "CPM4", "without") != "60.00 %":
        assert time.monotonic() < deadline, "the change was never seen"
        time.sleep(0.01)


def test_the_cache_is_bounded(app):
    app.config["CACHE_ENTRIES"] = 3
    with app.test_request_context():
        for n in range(10):
            assert cache.cached(("n", n), lambda n=n: n * n) == n * n
        assert len(app.extensions["incidents.cache"]) == 3


def _signed_in(app, user):
    """A browser signed in as ``user`` through the login form, CSRF checks on."""
    browser = Browser(app, app.response_class, use_cookies=True)
    token = _csrf(browser.get("/login").text)
    assert browser.post("/login", data={"email": user.email, "password": factories.PASSWORD,
                                        "csrf_token": token}).status_code == 302
    return browser


def same_page(one: str, other: str) -> bool:
    """The same page but for the CSRF token's signature, whose timestamp moves on each second."""
    token = re.compile(r'(name="csrf_token"[^>]*value=)"[^"]+"')
    return token.sub(r"\1-", one) == token.sub(r"\1-", other)


def _csrf(page: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert found, "the page has a form with a CSRF token"
    return found.group(1)


def _add_entry(browser, reference: str, page: str, text: str):
    return browser.post(f"/incidents/{reference}/timeline", data={
        "occurred_at": "2023-04-04 10:40", "kind": "restored", "cohort": "CSP N", "text": text,
        "csrf_token": _csrf(page)})


def test_a_kept_page_is_each_persons_own_with_their_sessions_csrf_token(app, users):
    app.config["WTF_CSRF_ENABLED"] = True
    alice = factories.user(role="dcc", name="Alice Example")
    bob = factories.user(role="dcc", name="Bob Example")
    reference = factories.incident(actor=users["dcc"]).reference
    db.session.commit()
    as_alice, as_bob = _signed_in(app, alice), _signed_in(app, bob)

    first = as_alice.get(f"/incidents/{reference}").text
    assert "Alice Example" in first
    # A change that skips the change counter (no process of the app makes one) is not seen: the page is kept.
    with db.engine.begin() as conn:
        conn.execute(sa.text("UPDATE incident SET title = 'Renamed unseen' WHERE reference = :r"), {"r": reference})
    assert same_page(as_alice.get(f"/incidents/{reference}").text, first)
    for_bob = as_bob.get(f"/incidents/{reference}").text
    assert "Bob Example" in for_bob and "Alice Example" not in for_bob
    assert _csrf(for_bob) != _csrf(first)
    # Bob's copy carries Bob's token: his form is accepted (and Alice's token is not his).
    assert _add_entry(as_bob, reference, first, "With Alice's token.").status_code == 400
    assert _add_entry(as_bob, reference, for_bob, "NTE reset.").status_code == 302
    # The same person signed in elsewhere (another session) gets the kept page with that session's token.
    elsewhere = _signed_in(app, alice)
    page = elsewhere.get(f"/incidents/{reference}").text
    assert _csrf(page) != _csrf(as_alice.get(f"/incidents/{reference}").text)
    assert _add_entry(elsewhere, reference, page, "Second session.").status_code == 302


def test_a_page_with_a_message_shows_it_once_and_a_change_shows_at_once(app, users):
    app.config["WTF_CSRF_ENABLED"] = True
    reference = factories.incident(actor=users["dcc"]).reference
    db.session.commit()
    browser = _signed_in(app, users["dcc"])
    page = browser.get(f"/incidents/{reference}").text
    assert "NTE reset." not in page

    assert _add_entry(browser, reference, page, "NTE reset.").status_code == 302
    with_message = browser.get(f"/incidents/{reference}").text
    assert "Added a timeline entry" in with_message and "NTE reset." in with_message
    after = browser.get(f"/incidents/{reference}").text
    assert "Added a timeline entry" not in after and "NTE reset." in after
    assert same_page(browser.get(f"/incidents/{reference}").text, after)
