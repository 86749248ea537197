"""What a checked ID token means here: linking, creating, refusing, roles; the settings; password login per role.

The flow itself (discovery, PKCE, state, nonce, token checks) runs against a real provider in
test_oidc_provider.py; these tests give ``oidc.sign_in`` claims as a checked ID token carries them.
"""
from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from incidents import create_app
from incidents.audit.models import AuditEntry
from incidents.auth import oidc
from incidents.auth import service as auth_service
from incidents.auth.models import IdentityLink, LoginSession
from incidents.extensions import db
from incidents.user import service as user_service
from incidents.user.models import Role
from tests import factories
from tests.helpers import NOW

ISSUER = "https://login.example.org/tenant/v2.0"
SETTINGS = {"label": "Example Org", "metadata_url": f"{ISSUER}/.well-known/openid-configuration",
            "client_id": "incidents", "client_secret": "not-a-real-secret", "roles_claim": "groups",
            "roles": {"mi-secas": "secas", "mi-dcc": "dcc", "mi-admin": "admin"}, "create_users": True}


@pytest.fixture()
def app_config() -> dict[str, Any]:
    return {"OIDC_PROVIDERS": {"example": dict(SETTINGS),
                               "strict": {**SETTINGS, "label": "Strict Org", "create_users": False},
                               "trusted": {**SETTINGS, "label": "Trusted Org", "link_by_email": True,
                                           "roles_claim": "realm_access.roles"}},
            "PASSWORD_LOGIN_DISABLED_ROLES": ["dcc"]}


def claims(**overrides: Any) -> dict[str, Any]:
    return {"iss": ISSUER, "sub": "subject-1", "email": "Pat.Lee@Example.org", "name": "Pat Lee",
            "groups": ["everyone", "mi-dcc"], **overrides}


def provider(name: str = "example") -> oidc.Provider:
    return oidc.providers()[name]


def test_a_first_sign_in_creates_the_person_with_the_mapped_role_and_links_issuer_and_subject(app):
    user = oidc.sign_in(provider=provider(), claims=claims(), now=NOW)
    db.session.commit()
    assert (user.email, user.name, user.role) == ("pat.lee@example.org", "Pat Lee", Role.DCC)
    link = db.session.scalar(sa.select(IdentityLink))
    assert (link.issuer, link.subject, link.user_id, link.created_at) == (ISSUER, "subject-1", user.id, NOW)
    assert user_service.authenticate(user.email, "") is None  # no password opens it
    summaries = db.session.scalars(sa.select(AuditEntry.summary)).all()
    assert "Created user pat.lee@example.org" in summaries
    assert "Linked pat.lee@example.org to Example Org" in summaries


def test_the_person_is_found_by_issuer_and_subject_even_when_their_email_changes(app):
    first = oidc.sign_in(provider=provider(), claims=claims(), now=NOW)
    db.session.commit()
    again = oidc.sign_in(provider=provider(), claims=claims(email="pat.lee@renamed.example"), now=NOW)
    assert again.id == first.id


def test_the_same_subject_at_another_issuer_is_another_identity(app):
    user = oidc.sign_in(provider=provider(), claims=claims(), now=NOW)
    db.session.commit()
    with pytest.raises(oidc.SignInRefused, match="not trusted to link accounts by email"):
        oidc.sign_in(provider=provider(), claims=claims(iss="https://other.example"), now=NOW)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IdentityLink)) == 1
    assert user.email == "pat.lee@example.org"


def test_an_email_match_links_only_where_the_provider_is_trusted_for_it(app):
    existing = factories.user(role="secas", email="pat.lee@example.org")
    db.session.commit()
    with pytest.raises(oidc.SignInRefused, match="not trusted to link accounts by email"):
        oidc.sign_in(provider=provider(), claims=claims(), now=NOW)
    db.session.rollback()
    trusted = claims(realm_access={"roles": ["mi-secas"]})
    user = oidc.sign_in(provider=provider("trusted"), claims=trusted, now=NOW)
    assert user.id == existing.id and user.role is Role.SECAS


def test_without_create_users_an_unknown_person_is_refused(app):
    with pytest.raises(oidc.SignInRefused, match="accounts are not created on first sign-in"):
        oidc.sign_in(provider=provider("strict"), claims=claims(), now=NOW)


@pytest.mark.parametrize("groups", [[], ["everyone"], "everyone", None, [{"mi-dcc": True}]])
def test_claims_that_map_to_no_role_are_refused(app, groups):
    with pytest.raises(oidc.SignInRefused, match="gives you no role in this tool"):
        oidc.sign_in(provider=provider(), claims=claims(groups=groups), now=NOW)


@pytest.mark.parametrize("missing", ["iss", "sub"])
def test_claims_without_issuer_or_subject_are_refused(app, missing):
    data = claims()
    del data[missing]
    with pytest.raises(oidc.SignInRefused, match="did not say who you are"):
        oidc.sign_in(provider=provider(), claims=data, now=NOW)


def test_a_first_sign_in_without_an_email_is_refused(app):
    with pytest.raises(oidc.SignInRefused, match="did not give your email address"):
        oidc.sign_in(provider=provider(), claims=claims(email=None), now=NOW)


def test_the_first_mapped_value_in_configured_order_gives_the_role(app):
    held = claims(groups=["mi-admin", "mi-dcc", "mi-secas"])
    assert oidc.mapped_role(provider(), held) is Role.SECAS
    assert oidc.mapped_role(provider(), claims(groups="mi-admin")) is Role.ADMIN
    assert oidc.mapped_role(provider("trusted"), {"realm_access": {"roles": ["mi-dcc"]}}) is Role.DCC


def test_the_role_follows_the_claims_at_each_sign_in_audited_and_ending_sessions_under_the_old_role(app):
    user = oidc.sign_in(provider=provider(), claims=claims(), now=NOW)
    auth_service.start_session(user=user, user_agent="", address="", provider="example", now=NOW)
    db.session.commit()
    user = oidc.sign_in(provider=provider(), claims=claims(groups=["mi-secas"]), now=NOW)
    db.session.commit()
    assert user.role is Role.SECAS
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.summary == f"Changed role of {user.email}"))
    assert entry is not None and entry.changes["role"] == ["dcc", "secas"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginSession)) == 0


def test_a_deactivated_person_is_refused(app):
    user = oidc.sign_in(provider=provider(), claims=claims(), now=NOW)
    admin = factories.user(role="admin", email="admin@example.org")
    user_service.set_active(user=user, active=False, actor=admin)
    db.session.commit()
    with pytest.raises(oidc.SignInRefused, match="deactivated"):
        oidc.sign_in(provider=provider(), claims=claims(), now=NOW)


def test_the_login_page_has_a_button_per_provider(client):
    page = client.get("/login").text
    for label, name in (("Example Org", "example"), ("Strict Org", "strict"), ("Trusted Org", "trusted")):
        assert f"Sign in with {label}" in page
        assert f'href="/login/sso/{name}"' in page


def test_an_unknown_provider_is_404(client):
    assert client.get("/login/sso/nowhere").status_code == 404
    assert client.get("/login/sso/nowhere/callback?code=x&state=y").status_code == 404


def test_a_provider_that_does_not_answer_is_a_page_not_a_500(client, app):
    app.config["OIDC_PROVIDERS"]["example"]["metadata_url"] = "http://127.0.0.1:9/.well-known/openid-configuration"
    fresh = create_app({**app.config, "SQLALCHEMY_ENGINE_OPTIONS": {}})
    response = fresh.test_client().get("/login/sso/example")
    assert response.status_code == 502
    assert "Example Org did not answer" in response.text


def test_password_login_is_refused_for_a_role_switched_to_sign_in(client):
    dcc = factories.user(role="dcc", email="dcc@example.org")
    secas = factories.user(role="secas", email="secas@example.org")
    db.session.commit()
    refused = client.post("/login", data={"email": dcc.email, "password": factories.PASSWORD})
    assert refused.status_code == 200
    assert "Password login is switched off for DCC incident manager accounts" in refused.text
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginSession)) == 0
    allowed = client.post("/login", data={"email": secas.email, "password": factories.PASSWORD})
    assert allowed.status_code == 302 and allowed.location == "/"


@pytest.mark.parametrize(("settings", "message"), [
    ({"x": 1}, "OIDC_PROVIDERS['x'] must be a mapping of settings"),
    ({"Entra ID": SETTINGS}, "a provider name is 1 to 40 lower-case letters"),
    ({"entra": {**SETTINGS, "client_secret": ""}}, "INCIDENTS_OIDC_PROVIDERS__entra__client_secret"),
    ({"entra": {**SETTINGS, "metadata_url": "http://login.example.org/"}}, "must be an https:// address"),
    ({"entra": {**SETTINGS, "roles": {"g": "boss"}}}, "['roles']['g'] is 'boss'"),
    ({"entra": {**SETTINGS, "roles": {}}}, "['roles'] must map claim values to roles"),
    ({"entra": {**SETTINGS, "create_users": "yes"}}, "['create_users'] must be true or false"),
    ({"entra": {**SETTINGS, "scope": "email"}}, "['scope'] must include 'openid'"),
    ({"entra": {**SETTINGS, "tenant": "x"}}, "unknown setting(s) tenant"),
    ([SETTINGS], "OIDC_PROVIDERS must be a mapping"),
])
def test_provider_settings_that_cannot_work_stop_the_start_with_a_message(tmp_path, settings, message):
    with pytest.raises(RuntimeError) as refused:
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}", "SECRET_KEY": "k" * 32,
                    "OIDC_PROVIDERS": settings})
    assert message in str(refused.value)


def test_password_roles_must_be_roles(tmp_path):
    with pytest.raises(RuntimeError, match="PASSWORD_LOGIN_DISABLED_ROLES must be a list of roles"):
        create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}", "SECRET_KEY": "k" * 32,
                    "PASSWORD_LOGIN_DISABLED_ROLES": "dcc"})


def test_a_client_secret_can_come_from_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("INCIDENTS_OIDC_PROVIDERS__entra__client_secret", "from-the-environment")
    without_secret = {key: value for key, value in SETTINGS.items() if key != "client_secret"}
    (tmp_path / "config.py").write_text(f"OIDC_PROVIDERS = {{'entra': {without_secret!r}}}\n")
    monkeypatch.setenv("INCIDENTS_INSTANCE_PATH", str(tmp_path))
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'x.sqlite'}", "SECRET_KEY": "k" * 32})
    assert oidc.providers(app)["entra"].client_secret == "from-the-environment"
