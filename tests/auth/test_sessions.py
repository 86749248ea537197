"""Login sessions held on the server: logout, idle and absolute expiry, ending sessions, what a reset revokes."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from incidents.auth import service as auth_service
from incidents.auth.models import LoginSession
from incidents.extensions import db
from incidents.reminder import feed
from incidents.user import service as user_service
from tests import factories
from tests.helpers import NOW

FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0"
EDGE_ON_WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
                   "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.0.0")


def _is_login(response) -> bool:
    return response.status_code == 302 and urlsplit(response.location).path == "/login"


def _stored(session_id: int) -> LoginSession | None:
    db.session.expire_all()
    return db.session.get(LoginSession, session_id)


def _key(client) -> str:
    with client.session_transaction() as sess:
        return sess["_user_id"]


# --- Logout -----------------------------------------------------------------

def test_a_cookie_replayed_after_logout_is_refused(app, client, auth, users):
    auth.login(users["admin"])
    assert client.get("/admin/users/").status_code == 200
    copied = client.get_cookie("session").value
    assert auth.logout().status_code == 302

    thief = app.test_client()
    thief.set_cookie("session", copied)
    assert _is_login(thief.get("/admin/users/"))
    assert _is_login(thief.get("/rules"))
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginSession)) == 0


def test_logging_out_ends_only_that_session(app, client, auth, users):
    other = app.test_client()
    other.post("/login", data={"email": users["dcc"].email, "password": factories.PASSWORD})
    auth.login(users["dcc"])
    auth.logout()
    assert other.get("/rules").status_code == 200


# --- Expiry -----------------------------------------------------------------

def test_a_session_lapses_after_the_idle_timeout(app, users):
    key = auth_service.start_session(user=users["opsg"], user_agent=FIREFOX, address="192.0.2.1", now=NOW)
    db.session.commit()
    idle = timedelta(hours=8)
    # Used within the timeout, each use moves the idle clock on.
    seen = NOW + idle - timedelta(minutes=1)
    assert auth_service.load_session(key, now=seen) is not None
    assert auth_service.load_session(key, now=seen + idle) is not None
    seen += idle
    assert auth_service.load_session(key, now=seen + idle + timedelta(seconds=1)) is None
    assert auth_service.live_sessions(user=users["opsg"], now=seen + idle + timedelta(seconds=1)) == []


def test_a_session_ends_at_its_absolute_lifetime_however_much_it_is_used(app, users):
    key = auth_service.start_session(user=users["opsg"], user_agent=FIREFOX, address="192.0.2.1", now=NOW)
    db.session.commit()
    at = NOW
    while at + timedelta(hours=7) < NOW + timedelta(days=7):
        at += timedelta(hours=7)
        assert auth_service.load_session(key, now=at) is not None, at
    assert auth_service.load_session(key, now=NOW + timedelta(days=7)) is not None
    assert auth_service.load_session(key, now=NOW + timedelta(days=7, seconds=1)) is None


@pytest.mark.parametrize("app_config", [{"SESSION_IDLE_HOURS": 0.5, "SESSION_LIFETIME_DAYS": 1}])
def test_both_limits_are_configuration(app, users):
    key = auth_service.start_session(user=users["opsg"], user_agent="", address="", now=NOW)
    db.session.commit()
    assert auth_service.load_session(key, now=NOW + timedelta(minutes=31)) is None
    assert auth_service.load_session(key, now=NOW + timedelta(minutes=29)) is not None
    for minutes in range(29 + 25, 24 * 60, 25):
        assert auth_service.load_session(key, now=NOW + timedelta(minutes=minutes)) is not None
    assert auth_service.load_session(key, now=NOW + timedelta(days=1, seconds=1)) is None


def test_an_idle_session_sends_the_browser_to_log_in(client, auth, users):
    auth.login(users["secas"])
    assert client.get("/rules").status_code == 200
    row = db.session.scalars(sa.select(LoginSession)).one()
    row.last_seen_at -= timedelta(hours=8, minutes=1)
    db.session.commit()
    assert _is_login(client.get("/rules"))


def test_last_seen_is_written_at_most_once_a_minute(app, users):
    key = auth_service.start_session(user=users["dcc"], user_agent="", address="", now=NOW)
    db.session.commit()
    found = auth_service.load_session(key, now=NOW + timedelta(seconds=59))
    assert found is not None
    assert _stored(found.id).last_seen_at == NOW
    assert auth_service.load_session(key, now=NOW + timedelta(seconds=61)) is not None
    assert _stored(found.id).last_seen_at == NOW + timedelta(seconds=61)
    assert auth_service.load_session(key, now=NOW + timedelta(seconds=100)) is not None
    assert _stored(found.id).last_seen_at == NOW + timedelta(seconds=61)


def test_lapsed_sessions_are_deleted_as_anyone_logs_in(app, users):
    auth_service.start_session(user=users["dcc"], user_agent="", address="", now=NOW)
    db.session.commit()
    auth_service.start_session(user=users["opsg"], user_agent="", address="", now=NOW + timedelta(hours=9))
    db.session.commit()
    assert db.session.scalars(sa.select(LoginSession.user_id)).all() == [users["opsg"].id]


# --- Seeing and ending sessions ---------------------------------------------

def test_a_person_sees_their_sessions_and_ends_another(app, client, auth, users):
    laptop = app.test_client()
    laptop.post("/login", data={"email": users["dcc"].email, "password": factories.PASSWORD},
                headers={"User-Agent": EDGE_ON_WINDOWS})
    assert laptop.get("/rules").status_code == 200
    client.post("/login", data={"email": users["dcc"].email, "password": factories.PASSWORD},
                headers={"User-Agent": FIREFOX})
    # Someone else's session is not listed.
    auth_service.start_session(user=users["opsg"], user_agent="Opera", address="198.51.100.9")
    db.session.commit()

    page = client.get("/sessions").text
    assert "Edge on Windows, 127.0.0.1" in page
    assert "Firefox on Linux, 127.0.0.1" in page and "this session" in page
    assert "198.51.100.9" not in page

    laptop_session = next(row for row in auth_service.live_sessions(user=users["dcc"])
                          if "Edg/" in row.user_agent)
    response = client.post(f"/sessions/{laptop_session.id}/end")
    assert response.status_code == 302
    assert "Session ended." in client.get(response.location).text
    assert _is_login(laptop.get("/rules"))
    assert client.get("/rules").status_code == 200
    assert "Edge on Windows" not in client.get("/sessions").text
    # Again (a double click): nothing more happens.
    again = client.post(f"/sessions/{laptop_session.id}/end")
    assert "That session had already ended." in client.get(again.location).text


def test_a_person_cannot_end_someone_elses_session(app, client, auth, users):
    victim = app.test_client()
    victim.post("/login", data={"email": users["secas"].email, "password": factories.PASSWORD})
    victim_session = auth_service.live_sessions(user=users["secas"])[0]
    auth.login(users["dcc"])
    response = client.post(f"/sessions/{victim_session.id}/end")
    assert "That session had already ended." in client.get(response.location).text
    assert victim.get("/rules").status_code == 200


def test_an_administrator_ends_anyones_session(app, client, auth, users):
    party = app.test_client()
    party.post("/login", data={"email": users["party"].email, "password": factories.PASSWORD},
               headers={"User-Agent": FIREFOX})
    assert party.get("/published").status_code == 200
    auth.login(users["admin"])
    page = client.get(f"/admin/users/{users['party'].id}").text
    assert "Firefox on Linux, 127.0.0.1" in page
    row = auth_service.live_sessions(user=users["party"])[0]
    assert f'action="/admin/users/{users["party"].id}/sessions/{row.id}/end"' in page

    response = client.post(f"/admin/users/{users['party'].id}/sessions/{row.id}/end")
    assert f"Ended a session of {users['party'].email}." in client.get(response.location).text
    assert _is_login(party.get("/published"))
    entry = db.session.scalars(sa.text("SELECT summary FROM audit_entry ORDER BY id DESC")).first()
    assert entry == f"Ended a session of {users['party'].email}"


# --- What a reset, a role change and deactivation end -----------------------

def test_a_password_reset_ends_sessions_and_revokes_tokens_and_the_calendar_link(app, client, auth, users):
    dcc = users["dcc"]
    browser = app.test_client()
    browser.post("/login", data={"email": dcc.email, "password": factories.PASSWORD})
    api_token = user_service.issue_token(user=dcc)
    link = feed.issue_token(user=dcc)
    db.session.commit()
    headers = {"Authorization": f"Bearer {api_token}"}
    assert browser.get("/rules").status_code == 200
    assert browser.get("/api/v1/incidents", headers=headers).status_code == 200
    assert browser.get(f"/calendar/{link}.ics").status_code == 200

    auth.login(users["admin"])
    response = client.post(f"/admin/users/{dcc.id}/password", data={"password-password": "a-brand-new-pass"})
    assert response.status_code == 302

    assert _is_login(browser.get("/rules"))
    assert browser.get("/api/v1/incidents", headers=headers).status_code == 401
    assert browser.get(f"/calendar/{link}.ics").status_code == 404


def test_deactivation_revokes_the_calendar_link_for_good(app, users):
    opsg = users["opsg"]
    link = feed.issue_token(user=opsg)
    key = auth_service.start_session(user=opsg, user_agent="", address="")
    db.session.commit()
    user_service.set_active(user=opsg, active=False, actor=users["admin"])
    db.session.commit()
    user_service.set_active(user=opsg, active=True, actor=users["admin"])
    db.session.commit()
    assert feed.user_for_token(link) is None
    assert auth_service.load_session(key) is None


def test_a_role_change_ends_sessions(app, users):
    key = auth_service.start_session(user=users["opsg"], user_agent="", address="")
    db.session.commit()
    user_service.set_role(user=users["opsg"], role="secas", actor=users["admin"])
    db.session.commit()
    assert auth_service.load_session(key) is None


def test_summary_names_browser_system_and_address():
    def summary(agent: str, address: str = "") -> str:
        return auth_service.summary(LoginSession(user_agent=agent, address=address))

    assert summary(FIREFOX, "10.0.0.7") == "Firefox on Linux, 10.0.0.7"
    assert summary(EDGE_ON_WINDOWS) == "Edge on Windows"
    assert summary("curl/8.5.0") == "curl/8.5.0"
    assert summary("", "10.0.0.7") == "an unknown browser, 10.0.0.7"


def test_ending_this_session_from_the_list_logs_out(client, auth, users):
    auth.login(users["opsg"])
    row = auth_service.live_sessions(user=users["opsg"])[0]
    response = client.post(f"/sessions/{row.id}/end")
    assert response.location == "/login"
    assert "you are logged out" in client.get("/login").text
    assert _is_login(client.get("/rules"))
