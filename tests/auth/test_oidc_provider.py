"""Signing in through a real OpenID Connect provider on loopback, over HTTP (both databases).

The provider is Node.js ``oidc-provider`` (tests/e2e/oidc_provider.mjs); the app talks to it for real: discovery,
its keys, the code exchange. These tests drive the browser's part with plain HTTP; tests/e2e/test_oidc_sign_in.py
drives the same flow in Chromium.
"""
from __future__ import annotations

import secrets
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
import sqlalchemy as sa
from joserfc.errors import InvalidClaimError

from incidents.audit.models import AuditEntry
from incidents.auth import oidc
from incidents.auth.models import IdentityLink, LoginSession
from incidents.extensions import db
from incidents.user import service as user_service
from incidents.user.models import Role, User
from tests.auth.oidc_support import (
    CLIENT_ID,
    CLIENT_SECRET,
    OTHER_CLIENT_ID,
    OTHER_CLIENT_SECRET,
    RealProvider,
    at_provider,
    direct_tokens,
    running_provider,
)

APP = "http://localhost"
CALLBACK = f"{APP}/login/sso/idp/callback"
REFUSED = "could not be accepted"


@pytest.fixture(scope="module")
def real_provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RealProvider]:
    with running_provider(tmp_path_factory.mktemp("oidc"), [CALLBACK], [f"{APP}/login"]) as provider:
        yield provider


@pytest.fixture()
def app_config(real_provider: RealProvider) -> dict[str, Any]:
    return {"OIDC_PROVIDERS": {"idp": real_provider.settings()}}


def _start(client: Any) -> str:
    """Press the provider's button on the login page; return the provider address the app sends the browser to."""
    response = client.get("/login/sso/idp")
    assert response.status_code == 302, response.text
    return str(response.location)


def _callback(client: Any, url: str) -> Any:
    parts = urlsplit(url)
    return client.get(f"{parts.path}?{parts.query}")


def _signed_in_user(client: Any) -> User | None:
    with client.session_transaction() as sess:
        key = sess.get("_user_id")
    from incidents.auth import service as auth_service

    found = auth_service.load_session(key)
    return found.user if found is not None else None


def test_the_authorization_request_uses_pkce_state_and_nonce(client):
    query = parse_qs(urlsplit(_start(client)).query)
    assert query["client_id"] == [CLIENT_ID]
    assert query["response_type"] == ["code"]
    assert query["code_challenge_method"] == ["S256"] and len(query["code_challenge"][0]) >= 43
    assert len(query["state"][0]) >= 20 and len(query["nonce"][0]) >= 20
    assert query["redirect_uri"] == [CALLBACK]


def test_a_mapped_person_signs_in_with_their_role_and_is_linked_by_issuer_and_subject(client, real_provider):
    response = _callback(client, at_provider(_start(client), APP, "dana"))
    assert response.status_code == 302 and response.location == "/"
    user = _signed_in_user(client)
    assert user is not None and user.email == "dana.clarke@dcc.example" and user.role is Role.DCC
    assert user.name == "Dana Clarke"
    link = db.session.scalar(sa.select(IdentityLink))
    assert (link.issuer, link.subject, link.user_id, link.provider) == (real_provider.issuer, "dana", user.id, "idp")
    session_row = db.session.scalar(sa.select(LoginSession).where(LoginSession.user_id == user.id))
    assert session_row.provider == "idp"
    assert "Linked dana.clarke@dcc.example to Test Provider" in db.session.scalars(
        sa.select(AuditEntry.summary)).all()
    # No password opens the account made by the sign-in.
    assert user_service.authenticate(user.email, "") is None
    assert client.get("/").status_code == 200


def test_the_first_mapped_group_in_configured_order_gives_the_role(client):
    _callback(client, at_provider(_start(client), APP, "sam"))
    user = _signed_in_user(client)
    assert user is not None and user.role is Role.SECAS  # incidents-secas comes first in the role map


def test_an_unmapped_person_is_refused_with_a_page_saying_why(client):
    response = _callback(client, at_provider(_start(client), APP, "una"))
    assert response.status_code == 403
    assert "gives you no role in this tool" in response.text
    assert _signed_in_user(client) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(User)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(IdentityLink)) == 0


def test_a_tampered_state_is_refused(client):
    back = at_provider(_start(client), APP, "dana")
    parts = urlsplit(back)
    query = {key: values[0] for key, values in parse_qs(parts.query).items()}
    query["state"] = query["state"][:-2] + ("AA" if not query["state"].endswith("AA") else "BB")
    response = client.get(f"{parts.path}?{urlencode(query)}")
    assert response.status_code == 400 and REFUSED in response.text
    assert _signed_in_user(client) is None


def test_a_sign_in_answer_sent_to_another_browser_is_refused(client, app):
    back = at_provider(_start(client), APP, "dana")
    other = app.test_client()
    response = _callback(other, back)
    assert response.status_code == 400 and REFUSED in response.text
    assert _signed_in_user(other) is None


def test_a_replayed_code_is_refused(client):
    back = at_provider(_start(client), APP, "dana")
    assert _callback(client, back).location == "/"
    client.post("/logout")
    # The same answer again: its state was used up with the first sign-in.
    again = _callback(client, back)
    assert again.status_code == 400 and REFUSED in again.text
    # The old code under a fresh, valid state of this browser: the provider refuses a code used before.
    fresh_state = parse_qs(urlsplit(_start(client)).query)["state"][0]
    code = parse_qs(urlsplit(back).query)["code"][0]
    replay = client.get("/login/sso/idp/callback?" + urlencode({"code": code, "state": fresh_state}))
    assert replay.status_code == 400 and REFUSED in replay.text
    assert _signed_in_user(client) is None


def test_an_id_token_for_another_audience_is_refused(app, real_provider):
    nonce = secrets.token_urlsafe(16)
    theirs = direct_tokens(real_provider.issuer, client_id=OTHER_CLIENT_ID, client_secret=OTHER_CLIENT_SECRET,
                           redirect_uri=CALLBACK, login="dana", nonce=nonce)
    ours = direct_tokens(real_provider.issuer, client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                         redirect_uri=CALLBACK, login="dana", nonce=nonce)
    # The check the callback makes (Authlib's, through this provider's client): signature, issuer, nonce, audience.
    with app.test_request_context("/"):
        checker, options = oidc.client("idp"), oidc.claims_options("idp")
        assert checker.parse_id_token(ours, nonce=nonce, claims_options=options)["sub"] == "dana"
        with pytest.raises(InvalidClaimError, match="aud"):
            checker.parse_id_token(theirs, nonce=nonce, claims_options=options)
        with pytest.raises(InvalidClaimError, match="nonce"):
            checker.parse_id_token(ours, nonce="another-nonce", claims_options=options)



def test_a_code_issued_to_another_client_is_refused(client, real_provider):
    """A code for another application, delivered to this one's callback with a valid state, opens nothing."""
    state = parse_qs(urlsplit(_start(client)).query)["state"][0]
    query = urlencode({"client_id": OTHER_CLIENT_ID, "response_type": "code", "scope": "openid", "nonce": "n",
                       "redirect_uri": CALLBACK, "state": "s", "code_challenge_method": "S256",
                       "code_challenge": "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"})
    back = at_provider(f"{real_provider.issuer}/auth?{query}", APP, "dana")
    code = parse_qs(urlsplit(back).query)["code"][0]
    response = client.get("/login/sso/idp/callback?" + urlencode({"code": code, "state": state}))
    assert response.status_code == 400 and REFUSED in response.text
    assert _signed_in_user(client) is None


def test_an_error_from_the_provider_is_a_page_not_a_500(client):
    state = parse_qs(urlsplit(_start(client)).query)["state"][0]
    response = client.get("/login/sso/idp/callback?" + urlencode({"error": "access_denied", "state": state}))
    assert response.status_code == 400 and REFUSED in response.text


def test_logging_out_offers_the_providers_own_logout(client, real_provider):
    _callback(client, at_provider(_start(client), APP, "dana"))
    response = client.post("/logout")
    assert response.status_code == 200
    assert "Also sign out of Test Provider" in response.text
    link = next(part for part in response.text.split('"') if part.startswith(f"{real_provider.issuer}/session/end"))
    query = parse_qs(urlsplit(link.replace("&amp;", "&")).query)
    assert query == {"client_id": [CLIENT_ID], "post_logout_redirect_uri": [f"{APP}/login"]}
    assert _signed_in_user(client) is None
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginSession)) == 0
