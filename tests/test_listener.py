"""Kept pages with no query: each process hears the change counter from PostgreSQL (LISTEN/NOTIFY).

Two apps on one database stand for two web workers. What is checked: a kept
page runs no statement; another worker's change, a deactivation and a token
revocation are heard; a person's own change shows at once on every worker,
even one that has not heard it yet; a lost connection and a lost announcement
each cost at most one read of the counter, never a stale page beyond
``CACHE_CONFIRM_SECONDS``.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from incidents import cache, create_app
from incidents.extensions import db
from incidents.incident.models import Incident
from incidents.ops.instrument import STATEMENT_HEADER
from incidents.user import service as user_service
from incidents.user.models import User
from tests import factories
from tests.test_cache import same_page


@pytest.fixture()
def app_config() -> dict[str, Any]:
    # Only announcements bring news here: the counter is not confirmed from the database during a test.
    return {"SQL_STATEMENT_HEADER": True, "CACHE_CONFIRM_SECONDS": 3600.0}


@pytest.fixture()
def pg(pg_schema: str | None) -> None:
    if pg_schema is None:
        pytest.skip("SQLite has no LISTEN/NOTIFY: every request reads the counter (tested in test_cache.py)")


def _worker(app: Flask) -> Flask:
    """Another app on the test's database, with its own engine and listener: a web worker. Its requests each
    run in their own app context, as in production (the test's own context stays with ``app``)."""
    keys = ("TESTING", "SECRET_KEY", "SERVER_NAME", "WTF_CSRF_ENABLED", "PASSWORD_HASH_METHOD",
            "SQLALCHEMY_DATABASE_URI", "SQLALCHEMY_ENGINE_OPTIONS", "SQL_STATEMENT_HEADER", "CACHE_CONFIRM_SECONDS")
    return create_app({key: app.config[key] for key in keys})


@pytest.fixture()
def workers(app: Flask) -> Iterator[tuple[Flask, Flask]]:
    """Two web workers."""
    made = (_worker(app), _worker(app))
    yield made
    for each in made:
        with each.app_context():
            db.engine.dispose()


def _login(client: FlaskClient, user: Any) -> None:
    assert client.post("/login", data={"email": user.email, "password": factories.PASSWORD}).status_code == 302


def _on_a_kept_page(client: FlaskClient, users: dict[str, Any]) -> str:
    """Sign the DCC user in, open a new incident's page "Carrier outage" (now kept) and return its reference."""
    reference = factories.incident(actor=users["dcc"], title="Carrier outage").reference
    db.session.commit()
    _login(client, users["dcc"])
    assert "Carrier outage" in client.get(f"/incidents/{reference}").text
    return reference


def _eventually(check: Callable[[], bool], *, seconds: float = 5.0) -> bool:
    """True once ``check()`` is (an announcement takes a moment to travel), False if it never is."""
    deadline = time.monotonic() + seconds
    while not check():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def _rename(app: Flask, reference: str, title: str) -> None:
    with app.app_context():
        db.session.scalar(sa.select(Incident).where(Incident.reference == reference)).title = title
        db.session.commit()


def _listener(app: Flask) -> cache.Listener:
    listener = app.extensions["incidents.listener"]
    assert isinstance(listener, cache.Listener)
    return listener


def test_a_kept_page_runs_no_statement_on_postgresql_and_one_on_sqlite(workers, users, pg_schema):
    client = workers[0].test_client()
    reference = factories.incident(actor=users["dcc"]).reference
    db.session.commit()
    _login(client, users["dcc"])
    first = client.get(f"/incidents/{reference}")
    again = client.get(f"/incidents/{reference}")
    assert same_page(again.text, first.text)
    # SQLite: the user and the counter, one statement. PostgreSQL: the counter was heard, the user row kept.
    assert again.headers[STATEMENT_HEADER] == ("1" if pg_schema is None else "0")


def test_another_workers_change_is_heard(pg, workers, users):
    other, client = workers[1], workers[0].test_client()
    reference = _on_a_kept_page(client, users)
    assert client.get(f"/incidents/{reference}").headers[STATEMENT_HEADER] == "0"

    _rename(other, reference, "Carrier outage, north")
    assert _eventually(lambda: "Carrier outage, north" in client.get(f"/incidents/{reference}").text)
    assert client.get(f"/incidents/{reference}").headers[STATEMENT_HEADER] == "0"


def test_a_deactivation_or_a_revoked_token_on_another_worker_is_heard(pg, workers, users):
    other, client = workers[1], workers[0].test_client()
    person = factories.user(role="dcc")
    db.session.commit()
    token = user_service.issue_token(user=users["opsg"])
    db.session.commit()
    _login(client, person)
    api = {"Authorization": f"Bearer {token}"}
    assert client.get("/").status_code == 200 and client.get("/api/v1/incidents", headers=api).status_code == 200
    assert client.get("/").headers[STATEMENT_HEADER] == "0"

    with other.app_context():
        admin = db.session.get(User, users["admin"].id)
        user_service.set_active(user=db.session.get(User, person.id), active=False, actor=admin)
        user_service.revoke_tokens(user=db.session.get(User, users["opsg"].id), actor=admin)
        db.session.commit()
    assert _eventually(lambda: client.get("/").status_code == 302)
    assert "/login" in client.get("/").headers["Location"]
    assert client.get("/api/v1/incidents", headers=api).status_code == 401


def test_your_own_change_shows_at_once_on_a_worker_that_has_not_heard_it(pg, workers, users):
    (one, other), client = workers, workers[0].test_client()
    reference = factories.incident(actor=users["dcc"], title="Carrier outage").reference
    db.session.commit()
    _login(client, users["dcc"])
    on_other, bystander = other.test_client(), other.test_client()
    _login(bystander, users["opsg"])
    cookie = client.get_cookie("session")
    on_other.set_cookie("session", cookie.value, domain=cookie.domain)
    for each in (on_other, bystander):
        assert "Carrier outage" in each.get(f"/incidents/{reference}").text  # kept on the other worker
    # The other worker's announcement is late (held back here: nothing is taken in until released).
    held = _listener(other)
    late = held._drain
    held._drain = lambda **_: True  # type: ignore[method-assign]

    _rename(one, reference, "Carrier outage, north")  # not through a request: the session learns nothing
    assert "Carrier outage, north" not in on_other.get(f"/incidents/{reference}").text  # not heard yet
    # Through a request, the session says a change was just made: the other worker reads the counter.
    assert client.post(f"/incidents/{reference}/timeline", data={
        "occurred_at": "2023-04-04 10:40", "kind": "restored", "cohort": "CSP N", "text": "NTE reset.",
        "csrf_token": ""}).status_code == 302
    cookie = client.get_cookie("session")
    on_other.set_cookie("session", cookie.value, domain=cookie.domain)
    assert "NTE reset." not in bystander.get(f"/incidents/{reference}").text  # a bystander waits to hear it
    mine = on_other.get(f"/incidents/{reference}")
    assert "NTE reset." in mine.text and "Carrier outage, north" in mine.text
    assert mine.headers[STATEMENT_HEADER] != "0"  # the counter was read from the database
    # What the database said, the worker now knows: the bystander has it too.
    assert "NTE reset." in bystander.get(f"/incidents/{reference}").text
    held._drain = late  # type: ignore[method-assign]


def test_a_lost_listening_connection_costs_a_read_not_a_stale_page(pg, workers, users):
    (one, other), client = workers, workers[0].test_client()
    reference = _on_a_kept_page(client, users)
    listening = _listener(one)
    pid = listening.connection.info.backend_pid
    assert db.session.scalar(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    assert _eventually(lambda: bool(listening._poll.poll(0)))  # the server's goodbye has arrived

    _rename(other, reference, "Carrier outage, north")  # announced to nobody in this worker
    page = client.get(f"/incidents/{reference}")
    assert page.status_code == 200 and "Carrier outage, north" in page.text
    assert page.headers[STATEMENT_HEADER] != "0"
    # The next request listens afresh, on a new connection, and is served from what is kept.
    again = client.get(f"/incidents/{reference}")
    assert same_page(again.text, page.text)
    assert listening.connection is not None and listening.connection.info.backend_pid != pid


def test_a_lost_announcement_delays_a_change_by_the_confirmation_interval_at_most(pg, workers, users):
    one, client = workers[0], workers[0].test_client()
    reference = _on_a_kept_page(client, users)
    listening = _listener(one)
    clock = _frozen(listening)
    pid = listening.connection.info.backend_pid
    # A writer that counts its change but whose announcement is lost (the counter moved, nothing was said).
    with db.engine.begin() as conn:
        conn.execute(sa.update(Incident).where(Incident.reference == reference).values(title="Renamed quietly"))
        conn.execute(sa.update(cache.version_table).values(counter=cache.version_table.c.counter + 1))
    time.sleep(0.05)
    assert "Renamed quietly" not in client.get(f"/incidents/{reference}").text  # kept: nothing was heard
    clock[0] += 2.5
    page = client.get(f"/incidents/{reference}")
    assert "Renamed quietly" in page.text and page.headers[STATEMENT_HEADER] != "0"
    # The database was ahead of what was heard: the connection is replaced, in case it is the one at fault.
    client.get(f"/incidents/{reference}")
    assert listening.connection.info.backend_pid != pid


def _frozen(listener: cache.Listener) -> list[float]:
    """Put the listener's confirmation clock in the test's hands; advance it with ``clock[0] += seconds``."""
    clock = [time.monotonic()]
    listener.clock = lambda: clock[0]
    listener.confirm_seconds = 2.0
    return clock


def test_an_announcement_on_its_way_is_waited_for_not_taken_for_a_lost_connection(pg, workers, users):
    one, client = workers[0], workers[0].test_client()
    _login(client, users["dcc"])
    assert client.get("/").status_code == 200
    listening = _listener(one)
    pid = listening.connection.info.backend_pid
    for _ in range(20):
        with db.engine.begin() as conn:  # another process's change
            counter = cache.count_change(conn)
        listening.confirm(counter)  # the database was read straight after: the announcement may not be here yet
        assert listening.known == counter
        assert listening.connection.info.backend_pid == pid


def test_a_forged_or_foreign_announcement_moves_nothing(pg, workers, users):
    one, client = workers[0], workers[0].test_client()
    _login(client, users["dcc"])
    assert client.get("/").status_code == 200
    listening = _listener(one)
    table, known = listening.table, listening.known
    forged = [f"{table}:{known + 1000}:{'0' * 32}",  # any role that can connect may NOTIFY
              cache.announcement("another-secret", table, known + 2000),
              cache.announcement(one.config["SECRET_KEY"], table + 1, known + 3000),  # another schema's counter
              f"{table}:{known + 4000}", "nonsense"]
    with db.engine.begin() as conn:
        for payload in forged:
            conn.execute(sa.select(sa.func.pg_notify(cache.CHANNEL, payload)))
        genuine = cache.count_change(conn)
    # Announcements arrive in order: once the genuine one is in, every forged one has been read and ignored.
    assert _eventually(lambda: client.get("/").status_code == 200 and listening.known >= genuine)
    assert listening.known == genuine


def test_the_database_has_the_last_word_when_its_counter_goes_back(pg, workers, users):
    one, client = workers[0], workers[0].test_client()
    reference = _on_a_kept_page(client, users)  # kept under the counter as it is
    clock = _frozen(_listener(one))
    before = cache.data_version()
    _rename(one, reference, "Carrier outage, north")
    assert _eventually(lambda: "Carrier outage, north" in client.get(f"/incidents/{reference}").text)
    # The database goes back (a restore): the counter is where it was when the first page was kept.
    with db.engine.begin() as conn:
        conn.execute(sa.update(Incident).where(Incident.reference == reference).values(title="Restored title"))
        conn.execute(sa.update(cache.version_table).values(counter=before))
    clock[0] += 2.5
    page = client.get(f"/incidents/{reference}").text
    assert "Restored title" in page and "Carrier outage<" not in page  # not the page kept under that counter
    assert _listener(one).known == before


def test_an_account_changed_outside_the_app_is_refused_within_the_interval(pg, workers, users):
    one, client = workers[0], workers[0].test_client()
    _login(client, users["dcc"])
    assert client.get("/").status_code == 200
    clock = _frozen(_listener(one))
    with db.engine.begin() as conn:  # by hand, uncounted
        conn.execute(sa.update(User).where(User.id == users["dcc"].id).values(is_active=False))
    assert client.get("/").status_code == 200  # the kept row, within the interval
    clock[0] += 2.5
    assert client.get("/").status_code == 302  # read afresh at the confirmation
    assert client.get("/").status_code == 302  # and not kept from before it


def test_listening_can_be_turned_off(pg, workers, users):
    one, client = workers[0], workers[0].test_client()
    one.config["CACHE_LISTEN"] = "False"  # as INCIDENTS_CACHE_LISTEN=False leaves it (not JSON)
    reference = factories.incident(actor=users["dcc"]).reference
    db.session.commit()
    _login(client, users["dcc"])
    client.get(f"/incidents/{reference}")
    assert client.get(f"/incidents/{reference}").headers[STATEMENT_HEADER] == "1"
    assert one.extensions["incidents.listener"] is False
