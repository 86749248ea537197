"""The database going away: a clear 503 to people and to API clients, and never a half-written change.

Three faults, on SQLite and PostgreSQL alike: the engine pointed at an
address where nothing answers (a closed port; a file in a missing folder),
a statement cut off in the middle of a unit of work, and the COMMIT itself
failing. Once the database is back, the rows are counted: a change is
either wholly there or not at all.
"""
from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import event

from incidents.extensions import db
from incidents.user import service as user_service
from tests import factories

DOWN = "The database is not answering"


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def database_unreachable(engine: sa.Engine, tmp_path: Any) -> Iterator[None]:
    """Make every new connection go where nothing answers, with no connection left in the pool."""
    port, missing = _closed_port(), str(tmp_path / "no-such-folder" / "gone.sqlite")

    def redirect(dialect: Any, record: Any, cargs: list[Any], cparams: dict[str, Any]) -> None:
        if dialect.name == "sqlite":
            cargs[:] = [missing]
        else:
            cparams.update(host="127.0.0.1", port=port, connect_timeout=2)

    engine.dispose()
    event.listen(engine, "do_connect", redirect)
    try:
        yield
    finally:
        event.remove(engine, "do_connect", redirect)
        engine.dispose()


@contextmanager
def failing(engine: sa.Engine, *, statement: str | None = None, rollback_too: bool = False) -> Iterator[list[str]]:
    """Cut the connection at the first statement starting with ``statement``, or at COMMIT when None.

    With ``rollback_too`` the first ROLLBACK after that fails as well, as it does on a connection that is gone.
    """
    hits: list[str] = []

    def lost() -> sa.exc.OperationalError:
        return sa.exc.OperationalError(statement or "COMMIT", None,
                                       ConnectionError("server closed the connection unexpectedly"))

    def on_execute(conn: Any, cursor: Any, text: str, *args: Any) -> None:
        if statement and text.lstrip().upper().startswith(statement.upper()) and not hits:
            hits.append(text)
            raise lost()

    def on_commit(conn: Any) -> None:
        if statement is None and not hits:
            hits.append("COMMIT")
            raise lost()

    def on_rollback(conn: Any) -> None:
        if rollback_too and hits and "ROLLBACK" not in hits:
            hits.append("ROLLBACK")
            raise lost()

    event.listen(engine, "before_cursor_execute", on_execute)
    event.listen(engine, "commit", on_commit)
    event.listen(engine, "rollback", on_rollback)
    try:
        yield hits
    finally:
        event.remove(engine, "before_cursor_execute", on_execute)
        event.remove(engine, "commit", on_commit)
        event.remove(engine, "rollback", on_rollback)


def row_counts() -> dict[str, int]:
    """Count the rows of every table, on a fresh connection."""
    db.session.rollback()
    with db.engine.connect() as conn:
        return {table.name: conn.scalar(sa.select(sa.func.count()).select_from(table))
                for table in db.metadata.sorted_tables}


@pytest.fixture()
def browser(app, users):
    """A DCC user logged in through the login form."""
    client = app.test_client()
    assert client.post("/login", data={"email": users["dcc"].email, "password": factories.PASSWORD}).status_code == 302
    return client


@pytest.fixture()
def token(users):
    """An API token of the DCC user."""
    made = user_service.issue_token(user=users["dcc"])
    db.session.commit()
    return made


@pytest.fixture()
def case(users):
    """The real case, logged."""
    incident = factories.incident(actor=users["dcc"])
    db.session.commit()
    return incident.reference


def _assert_503_page(response: Any) -> None:
    page = response.get_data(as_text=True)
    assert response.status_code == 503, page[:2000]
    assert response.mimetype == "text/html" and DOWN in page and "Nothing was saved" in page
    assert response.headers.get("Retry-After")


def _assert_503_problem(response: Any) -> None:
    assert response.status_code == 503, response.get_data(as_text=True)[:2000]
    assert response.mimetype == "application/problem+json"
    body = response.get_json(force=True)
    assert body["status"] == 503 and DOWN in body["detail"]
    assert response.headers.get("Retry-After")


def test_pages_while_the_database_is_unreachable_are_a_clear_503(app, browser, case, tmp_path):
    with database_unreachable(db.engine, tmp_path):
        for path in ("/", "/incidents/", f"/incidents/{case}", "/incidents/new"):
            _assert_503_page(browser.get(path))
        _assert_503_page(browser.post(f"/incidents/{case}/timeline", data={
            "occurred_at": "2023-04-04 10:40", "kind": "restored", "text": "NTE reset."}))
        # The login form itself needs no database; logging in does.
        visitor = app.test_client()
        assert visitor.get("/login").status_code == 200
        _assert_503_page(visitor.post("/login", data={"email": "dcc1@example.org", "password": "x" * 12}))
    assert browser.get(f"/incidents/{case}").status_code == 200


def test_api_requests_while_the_database_is_unreachable_are_a_503_problem(app, browser, case, token, tmp_path):
    headers = {"Authorization": f"Bearer {token}"}
    with database_unreachable(db.engine, tmp_path):
        _assert_503_problem(browser.get("/api/v1/incidents", headers=headers))
        _assert_503_problem(browser.post(f"/api/v1/incidents/{case}/timeline", headers=headers, json={
            "occurred_at": "2023-04-04T10:40:00+01:00", "kind": "restored", "text": "NTE reset."}))
        # The document needs no database.
        assert browser.get("/api/v1/openapi.json").status_code == 200
    assert browser.get("/api/v1/incidents", headers=headers).status_code == 200


@pytest.mark.parametrize("app_config", [
    {"SQLALCHEMY_ENGINE_OPTIONS": {"pool_size": 1, "max_overflow": 0, "pool_timeout": 0.2}}])
def test_an_exhausted_connection_pool_is_a_503_not_a_500(app, client):
    with db.engine.connect():  # the only connection, held by someone else
        _assert_503_problem(client.get("/api/v1/incidents", headers={"Authorization": "Bearer x"}))


def test_a_database_restart_costs_no_request(app, browser, case, token, pg_schema):
    """Every connection the app holds is closed by the server (as a restart does): the next requests are
    answered all the same, on fresh connections."""
    if pg_schema is None:
        pytest.skip("a SQLite file never closes a connection")
    headers = {"Authorization": f"Bearer {token}"}
    pages = (lambda: browser.get(f"/incidents/{case}"), lambda: browser.get("/api/v1/incidents", headers=headers),
             lambda: browser.get(f"/incidents/{case}/edit"))
    for _ in range(2):
        for page in pages:
            assert page().status_code == 200
        with app.app_context():
            with db.engine.connect() as conn:  # the pool's connection: requests here run one at a time
                pids = [conn.scalar(sa.text("SELECT pg_backend_pid()"))]
            outside = sa.create_engine(db.engine.url, poolclass=sa.pool.NullPool)
            with outside.connect() as conn:
                assert all(conn.scalar(sa.text("SELECT pg_terminate_backend(:pid)"), {"pid": pid}) for pid in pids)
            outside.dispose()
        for page in pages:
            response = page()
            assert response.status_code == 200, response.get_data(as_text=True)[:500]


def _create_incident_page(browser: Any, token: str) -> Any:
    data = {"reference": "INC000000009999", "title": "Carrier outage", "category": "1",
            "started_at": "2023-04-04 06:15", "resolved_at": "2023-04-04 10:40", "cause_category": "third_party",
            "cohorts-0-affected": "y", "cohorts-0-impact_started_at": "2023-04-04 06:15",
            "cohorts-0-restored_at": "2023-04-04 10:40"}
    return browser.post("/incidents/new", data=data)


def _create_incident_api(browser: Any, token: str) -> Any:
    body = {"reference": "INC000000009999", "title": "Carrier outage", "category": 1,
            "started_at": "2023-04-04T05:15:00Z", "resolved_at": "2023-04-04T09:40:00Z",
            "cohorts": [{"name": "CSP N", "impact_started_at": "2023-04-04T05:15:00Z",
                         "restored_at": "2023-04-04T09:40:00Z"}]}
    return browser.post("/api/v1/incidents", json=body, headers={"Authorization": f"Bearer {token}"})


def _timeline_page(browser: Any, token: str, case: str) -> Any:
    return browser.post(f"/incidents/{case}/timeline", data={
        "occurred_at": "2023-04-04 10:40", "kind": "restored", "cohort": "CSP N", "text": "NTE reset."})


def _proposal_api(browser: Any, token: str, case: str) -> Any:
    return browser.put(f"/api/v1/incidents/{case}/exclusion", headers={"Authorization": f"Bearer {token}"}, json={
        "exclude": True, "principle": "third-party-infrastructure", "rationale": "A national carrier outage."})


WRITES = {
    "create incident (page)": (lambda b, t, c: _create_incident_page(b, t), "INSERT INTO incident_cohort", False),
    "create incident (API)": (lambda b, t, c: _create_incident_api(b, t), "INSERT INTO audit_entry", True),
    "add timeline entry (page)": (_timeline_page, "INSERT INTO audit_entry", False),
    "propose exclusion (API)": (_proposal_api, "INSERT INTO exclusion_proposal", True),
}


FAULTS = {"cut-mid-transaction": (False, False), "commit-fails": (True, False),
          "connection-gone-rollback-fails-too": (False, True)}


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("write", sorted(WRITES))
def test_a_write_the_database_drops_leaves_nothing_half_written(app, browser, case, token, principles_seeded,
                                                                 write, fault):
    send, statement, is_api = WRITES[write]
    at_commit, rollback_too = FAULTS[fault]
    before = row_counts()
    with failing(db.engine, statement=None if at_commit else statement, rollback_too=rollback_too) as hits:
        response = send(browser, token, case)
    assert hits and (not rollback_too or "ROLLBACK" in hits), f"the fault was never injected ({write}): {hits}"
    (_assert_503_problem if is_api else _assert_503_page)(response)
    assert row_counts() == before
    # With the database back, the same request succeeds whole.
    again = send(browser, token, case)
    assert again.status_code in (200, 201, 302), again.get_data(as_text=True)[:2000]
    after = row_counts()
    assert after != before and all(after[name] >= before[name] for name in before)


@pytest.fixture()
def principles_seeded(app):
    """The default exclusion principles."""
    from incidents.principle import service as principle_service

    principle_service.seed_defaults()
    db.session.commit()
