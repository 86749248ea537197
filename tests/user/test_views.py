"""User administration in the browser: every action, its audit entry, access and validation."""
from __future__ import annotations

import re
from datetime import UTC, datetime
from urllib.parse import urlsplit

import pytest
import sqlalchemy as sa

from incidents.audit.models import AuditEntry
from incidents.extensions import db
from incidents.user import service as user_service
from incidents.user.models import ApiToken, Role, User
from tests import factories

NON_ADMIN_ROLES = ["dcc", "secas", "opsg", "party"]


@pytest.fixture()
def admin(client, auth, users):
    """Log the client in as the administrator and return that user."""
    response = auth.login(users["admin"])
    assert response.status_code == 302
    return users["admin"]


def fresh(user: User) -> User:
    """Reload a user after requests changed it in their own database sessions."""
    db.session.expire_all()
    return db.session.get(User, user.id)


def audit_entries(entity_type: str, entity_id: int) -> list[AuditEntry]:
    """Return the audit entries about one user or their tokens, oldest first."""
    db.session.expire_all()
    return list(db.session.scalars(
        sa.select(AuditEntry).where(AuditEntry.entity_type == entity_type, AuditEntry.entity_id == entity_id)
        .order_by(AuditEntry.id)))


def field_html(html: str, field_id: str) -> str:
    """Return the page text from a field's wrapper up to the next field."""
    parts = html.split('id="field-')
    for part in parts[1:]:
        if part.startswith(field_id + '"'):
            return part
    raise AssertionError(f"no field {field_id} on the page")


def issued_token(html: str) -> str | None:
    """Return the token shown once on the user page, if any."""
    match = re.search(r'<code id="issued-token">([^<]+)</code>', html)
    return match.group(1) if match else None


def user_row(html: str, user: User) -> str:
    """Return one user's row of the user list."""
    match = re.search(rf'<tr id="user-{user.id}">(.*?)</tr>', html, re.DOTALL)
    assert match, f"no row for {user.email}"
    return match.group(1)


# --- Access -----------------------------------------------------------------

def _admin_routes(app, user_id):
    """Yield (method, path) for every route of the user blueprint."""
    for rule in app.url_map.iter_rules():
        if rule.endpoint.startswith("user."):
            path = rule.rule.replace("<int:user_id>", str(user_id)).replace("<int:session_id>", "1")
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                yield method, path


def test_the_blueprint_has_the_routes_these_tests_expect(app):
    routes = set(_admin_routes(app, 1))
    assert ("GET", "/admin/users/") in routes
    assert ("POST", "/admin/users/new") in routes
    assert ("POST", "/admin/users/1/deactivate") in routes
    assert ("POST", "/admin/users/1/tokens") in routes
    assert len(routes) >= 10


@pytest.mark.parametrize("role", NON_ADMIN_ROLES)
def test_other_roles_get_403_on_every_route(app, client, auth, users, role):
    auth.login(users[role])
    target = users["dcc"] if role != "dcc" else users["secas"]
    before = db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry))
    form = {"email": "new@example.org", "role": "admin", "password": "long-enough-password",
            "name-name": "X", "role-role": "admin", "password-password": "long-enough-password"}
    for method, path in _admin_routes(app, target.id):
        response = client.open(path, method=method, data=form if method == "POST" else None)
        assert response.status_code == 403, (method, path)
    # Even for a user id that does not exist: no hint whether it does.
    assert client.get("/admin/users/99999").status_code == 403
    assert client.post(f"/admin/users/{users[role].id}/role", data={"role-role": "admin"}).status_code == 403
    assert fresh(users[role]).role == Role(role)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == before


def test_anonymous_visitors_are_sent_to_log_in(app, client, users):
    for method, path in _admin_routes(app, users["dcc"].id):
        response = client.open(path, method=method)
        assert response.status_code == 302, (method, path)
        assert urlsplit(response.location).path == "/login"
    assert fresh(users["dcc"]).is_active


def test_admin_sees_the_users_link_and_others_do_not(client, auth, users):
    auth.login(users["dcc"])
    assert 'href="/admin/users/"' not in client.get("/rules").text
    auth.logout()
    auth.login(users["admin"])
    assert 'href="/admin/users/"' in client.get("/rules").text


def test_unknown_user_is_404_for_admin(client, admin):
    assert client.get("/admin/users/99999").status_code == 404
    assert client.post("/admin/users/99999/deactivate").status_code == 404


def test_state_changes_are_post_only(client, admin, users):
    dcc = users["dcc"]
    for action in ("deactivate", "activate", "tokens", "tokens/revoke", "name", "role", "password"):
        assert client.get(f"/admin/users/{dcc.id}/{action}").status_code == 405, action
    assert fresh(dcc).is_active
    assert db.session.query(ApiToken).count() == 0


# --- The list ---------------------------------------------------------------

def test_list_shows_role_state_live_tokens_and_last_token(client, admin, users):
    dcc, party = users["dcc"], users["party"]
    user_service.issue_token(user=dcc, actor=admin, now=datetime(2023, 4, 3, 8, 0, tzinfo=UTC))
    user_service.issue_token(user=dcc, actor=admin, now=datetime(2023, 4, 4, 9, 40, tzinfo=UTC))
    user_service.issue_token(user=party, actor=admin, now=datetime(2023, 1, 10, 12, 0, tzinfo=UTC))
    user_service.revoke_tokens(user=party, actor=admin)
    user_service.set_active(user=users["opsg"], active=False, actor=admin)
    db.session.commit()

    page = client.get("/admin/users/")
    assert page.status_code == 200
    row = user_row(page.text, dcc)
    assert dcc.email in row
    assert "DCC incident manager" in row
    assert "active" in row
    assert '<td class="num">2</td>' in row
    assert "Tue 4 Apr 2023 10:40 BST" in row  # the newer of the two, in UK time
    party_row = user_row(page.text, party)
    assert '<td class="num">0</td>' in party_row
    assert "Tue 10 Jan 2023 12:00 GMT" in party_row  # revoked, but that is when the last one was issued
    assert "deactivated" in user_row(page.text, users["opsg"])
    assert "never" in user_row(page.text, users["secas"])
    for user in users.values():
        assert user.email in page.text


def test_list_shows_recent_user_administration(client, admin, users):
    client.post(f"/admin/users/{users['secas'].id}/name", data={"name-name": "Sam Secretariat"})
    client.post(f"/admin/users/{users['secas'].id}/tokens")
    page = client.get("/admin/users/").text
    recent = page.split("Recent user administration", 1)[1]
    assert f"Renamed {users['secas'].email}" in recent
    assert f"Issued API token for {users['secas'].email}" in recent
    assert admin.email in recent
    # Newest first.
    assert recent.index("Issued API token") < recent.index("Renamed")


# --- Create -----------------------------------------------------------------

def test_create_form_renders_every_field_through_the_macro(client, admin):
    page = client.get("/admin/users/new")
    assert page.status_code == 200
    for name in ("email", "name", "role", "password"):
        assert f'id="field-{name}"' in page.text
    for role in Role:
        assert f'value="{role.value}"' in page.text


def test_admin_creates_a_user(client, admin):
    response = client.post("/admin/users/new", data={
        "email": "Olive.Opsg@Example.org", "name": "Olive", "role": "opsg", "password": "initial-password-1"})
    assert response.status_code == 302
    created = user_service.find_by_email("olive.opsg@example.org")
    assert created is not None
    assert response.location == f"/admin/users/{created.id}"
    assert (created.email, created.name, created.role, created.is_active) == (
        "olive.opsg@example.org", "Olive", Role.OPSG, True)
    assert "initial-password-1" not in created.password_hash
    assert user_service.authenticate("olive.opsg@example.org", "initial-password-1") == created
    [entry] = audit_entries("user", created.id)
    assert (entry.action, entry.actor_id, entry.actor_name) == ("create", admin.id, admin.email)
    assert entry.changes["role"] == [None, "opsg"]
    page = client.get(response.location)
    assert "Created olive.opsg@example.org as OPSG member." in page.text


def test_create_shows_each_service_message_next_to_its_field(client, admin):
    response = client.post("/admin/users/new", data={
        "email": "not-an-email", "name": "N" * 121, "role": "wizard", "password": "short"})
    assert response.status_code == 422
    assert "Enter an email address such as name@example.org." in field_html(response.text, "email")
    assert "Name can be at most 120 characters (it has 121)." in field_html(response.text, "name")
    assert "Role must be one of dcc, secas, opsg, party, admin." in field_html(response.text, "role")
    assert "Password must be at least 10 characters." in field_html(response.text, "password")
    assert "Password must be" not in field_html(response.text, "email")
    assert 'class="error-summary"' in response.text
    # What was typed is kept, except the password.
    assert 'value="not-an-email"' in response.text
    assert 'value="short"' not in response.text
    assert db.session.query(User).count() == 5


@pytest.mark.parametrize("email", ["bad email@example.org", "no-at-sign.example.org", "x@y"])
def test_create_refuses_a_bad_email(client, admin, email):
    response = client.post("/admin/users/new", data={"email": email, "role": "dcc",
                                                     "password": "long-enough-password"})
    assert response.status_code == 422
    assert "Enter an email address such as name@example.org." in field_html(response.text, "email")
    assert user_service.find_by_email(email) is None


def test_create_refuses_a_duplicate_email_whatever_its_case(client, admin, users):
    taken = users["dcc"].email.upper()
    response = client.post("/admin/users/new", data={"email": taken, "role": "secas",
                                                     "password": "long-enough-password"})
    assert response.status_code == 409
    assert f"{taken.lower()} already has an account." in field_html(response.text, "email")
    assert fresh(users["dcc"]).role == Role.DCC
    assert db.session.query(User).count() == 5


def test_create_refuses_a_short_password(client, admin):
    response = client.post("/admin/users/new", data={"email": "p@example.org", "role": "party",
                                                     "password": "123456789"})
    assert response.status_code == 422
    assert "Password must be at least 10 characters." in field_html(response.text, "password")
    assert user_service.find_by_email("p@example.org") is None


def test_create_refuses_an_unknown_role(client, admin):
    response = client.post("/admin/users/new", data={"email": "r@example.org", "role": "superuser",
                                                     "password": "long-enough-password"})
    assert response.status_code == 422
    assert "Role must be one of" in field_html(response.text, "role")
    assert user_service.find_by_email("r@example.org") is None


def test_create_asks_for_missing_fields(client, admin):
    response = client.post("/admin/users/new", data={"role": "dcc"})
    assert response.status_code == 422
    assert "Enter an email address." in field_html(response.text, "email")
    assert "Enter an initial password." in field_html(response.text, "password")


# --- Change name and role ---------------------------------------------------

def test_admin_renames_a_user(client, admin, users):
    dcc = users["dcc"]
    response = client.post(f"/admin/users/{dcc.id}/name", data={"name-name": "  Dana Cole  "})
    assert response.status_code == 302
    assert response.location == f"/admin/users/{dcc.id}"
    assert fresh(dcc).name == "Dana Cole"
    entry = audit_entries("user", dcc.id)[-1]
    assert entry.changes == {"name": ["DCC", "Dana Cole"]}
    assert entry.actor_id == admin.id
    page = client.get(response.location).text
    assert f"Name of {dcc.email} saved." in page
    assert 'value="Dana Cole"' in field_html(page, "name-name")


def test_rename_too_long_shows_the_message_next_to_the_name(client, admin, users):
    dcc = users["dcc"]
    response = client.post(f"/admin/users/{dcc.id}/name", data={"name-name": "N" * 121})
    assert response.status_code == 422
    assert "Name can be at most 120 characters (it has 121)." in field_html(response.text, "name-name")
    assert "Name can be" not in field_html(response.text, "role-role")
    assert fresh(dcc).name == "DCC"


def test_admin_changes_a_role_and_the_users_sessions_end(app, client, admin, users):
    dcc = users["dcc"]
    other = app.test_client()
    other.post("/login", data={"email": dcc.email, "password": factories.PASSWORD})
    assert other.get("/rules").status_code == 200

    response = client.post(f"/admin/users/{dcc.id}/role", data={"role-role": "secas"})
    assert response.status_code == 302
    assert fresh(dcc).role == Role.SECAS
    entry = audit_entries("user", dcc.id)[-1]
    assert entry.changes == {"role": ["dcc", "secas"]}
    assert f"{dcc.email} is now SECAS reviewer." in client.get(response.location).text
    assert other.get("/rules").status_code == 302


def test_unknown_role_shows_the_message_next_to_the_role(client, admin, users):
    dcc = users["dcc"]
    response = client.post(f"/admin/users/{dcc.id}/role", data={"role-role": "root"})
    assert response.status_code == 422
    assert "Role must be one of dcc, secas, opsg, party, admin." in field_html(response.text, "role-role")
    assert fresh(dcc).role == Role.DCC
    assert len(audit_entries("user", dcc.id)) == 1


# --- Passwords --------------------------------------------------------------

def test_admin_resets_a_password(app, client, admin, users):
    party = users["party"]
    other = app.test_client()
    other.post("/login", data={"email": party.email, "password": factories.PASSWORD})
    assert other.get("/").status_code == 200

    response = client.post(f"/admin/users/{party.id}/password", data={"password-password": "a-new-password-2"})
    assert response.status_code == 302
    party = fresh(party)
    assert user_service.authenticate(party.email, "a-new-password-2") is not None
    assert user_service.authenticate(party.email, factories.PASSWORD) is None
    entry = audit_entries("user", party.id)[-1]
    assert entry.changes == {"password": ["(hidden)", "(reset)"]}
    assert "a-new-password-2" not in str(entry.changes) + entry.summary
    assert other.get("/").status_code == 302
    assert "their sessions have ended and their API tokens and calendar link are revoked" in client.get(
        response.location).text


def test_short_password_reset_is_refused_next_to_the_field(client, admin, users):
    party = users["party"]
    response = client.post(f"/admin/users/{party.id}/password", data={"password-password": "short"})
    assert response.status_code == 422
    assert "Password must be at least 10 characters." in field_html(response.text, "password-password")
    assert user_service.authenticate(party.email, factories.PASSWORD) is not None
    assert len(audit_entries("user", party.id)) == 1


# --- Deactivate and reactivate ----------------------------------------------

def test_admin_deactivates_and_reactivates_a_user(app, client, admin, users):
    opsg = users["opsg"]
    token = user_service.issue_token(user=opsg, actor=admin)
    db.session.commit()
    other = app.test_client()
    other.post("/login", data={"email": opsg.email, "password": factories.PASSWORD})
    assert other.get("/rules").status_code == 200  # logged in

    response = client.post(f"/admin/users/{opsg.id}/deactivate")
    assert response.status_code == 302
    assert fresh(opsg).is_active is False
    assert user_service.user_for_token(token) is None
    assert other.get("/rules").status_code == 302
    assert user_service.authenticate(opsg.email, factories.PASSWORD) is None
    assert audit_entries("user", opsg.id)[-1].changes == {"is_active": [True, False]}
    assert audit_entries("api_token", opsg.id)[-1].changes == {"revoked": [None, 1]}
    page = client.get(response.location).text
    assert f"Deactivated {opsg.email}" in page
    assert "Reactivate" in page

    response = client.post(f"/admin/users/{opsg.id}/activate")
    assert response.status_code == 302
    assert fresh(opsg).is_active is True
    assert audit_entries("user", opsg.id)[-1].changes == {"is_active": [False, True]}
    assert user_service.authenticate(opsg.email, factories.PASSWORD) is not None
    assert user_service.user_for_token(token) is None
    assert f"Reactivated {opsg.email}." in client.get(response.location).text


def test_admin_cannot_deactivate_themself(client, admin):
    page = client.get(f"/admin/users/{admin.id}").text
    assert f'action="/admin/users/{admin.id}/deactivate"' not in page
    assert "This is your own account" in page

    response = client.post(f"/admin/users/{admin.id}/deactivate")
    assert response.status_code == 422
    assert "You cannot deactivate your own account." in response.text.split('id="account-state"', 1)[1]
    assert fresh(admin).is_active is True
    assert len(audit_entries("user", admin.id)) == 1
    assert client.get("/admin/users/").status_code == 200


# --- API tokens -------------------------------------------------------------

def test_token_issued_in_the_ui_is_shown_once_works_and_stops_after_revoke(client, admin, users):
    secas = users["secas"]
    response = client.post(f"/admin/users/{secas.id}/tokens")
    assert response.status_code == 302
    assert response.location == f"/admin/users/{secas.id}"

    page = client.get(response.location)
    token = issued_token(page.text)
    assert token and token.startswith("inc_")
    assert "Copy this token now" in page.text
    assert page.headers["Cache-Control"] == "no-store"
    assert user_service.user_for_token(token) == secas
    # Stored hashed: the page can never show it again.
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ApiToken)
                             .where(ApiToken.token_hash == token)) == 0
    again = client.get(response.location).text
    assert issued_token(again) is None
    assert token not in again
    assert token not in client.get("/admin/users/").text
    assert audit_entries("api_token", secas.id)[-1].summary == f"Issued API token for {secas.email}"
    assert '<td class="num">1</td>' in user_row(client.get("/admin/users/").text, secas)

    response = client.post(f"/admin/users/{secas.id}/tokens/revoke")
    assert response.status_code == 302
    db.session.expire_all()
    assert user_service.user_for_token(token) is None
    assert audit_entries("api_token", secas.id)[-1].changes == {"revoked": [None, 1]}
    page = client.get(response.location).text
    assert f"Revoked 1 API token of {secas.email}." in page
    assert '<td class="num">0</td>' in user_row(client.get("/admin/users/").text, secas)


def test_token_is_shown_only_on_its_own_users_page(client, admin, users):
    client.post(f"/admin/users/{users['dcc'].id}/tokens")
    # It never shows on another user's page; on its own user's page it shows once, then never again.
    assert issued_token(client.get(f"/admin/users/{users['opsg'].id}").text) is None
    assert issued_token(client.get(f"/admin/users/{users['dcc'].id}").text) is not None
    assert issued_token(client.get(f"/admin/users/{users['dcc'].id}").text) is None


def test_revoke_all_revokes_every_live_token(client, admin, users):
    dcc = users["dcc"]
    tokens = [user_service.issue_token(user=dcc, actor=admin) for _ in range(3)]
    db.session.commit()
    response = client.post(f"/admin/users/{dcc.id}/tokens/revoke")
    assert f"Revoked 3 API tokens of {dcc.email}." in client.get(response.location).text
    db.session.expire_all()
    assert all(user_service.user_for_token(t) is None for t in tokens)


def test_no_token_for_a_deactivated_user_in_the_ui(client, admin, users):
    party = users["party"]
    user_service.set_active(user=party, active=False, actor=admin)
    db.session.commit()
    page = client.get(f"/admin/users/{party.id}").text
    assert f'action="/admin/users/{party.id}/tokens"' not in page
    response = client.post(f"/admin/users/{party.id}/tokens")
    assert response.status_code == 409
    assert "reactivate the account before issuing an API token" in response.text
    assert db.session.query(ApiToken).count() == 0
