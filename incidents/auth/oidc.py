"""Sign-in with an organisation's OpenID Connect provider: the providers configured, and who a sign-in makes.

Each provider in ``OIDC_PROVIDERS`` is one organisation's identity provider.
Authlib's Flask client runs the authorization code flow with PKCE (S256),
reads the provider's discovery document, and checks ``state``, ``nonce``, the
ID token's signature (the provider's published keys), issuer, audience and
expiry; this module decides what a checked ID token means here.

Rules (README, "Signing in with your organisation"):

- A person is known by the (issuer, subject) pair of their ID token, kept in
  ``identity_link``: an email address can be reassigned or reused by another
  organisation, a subject cannot. An email match links a first sign-in to an
  existing account only where the provider is configured with
  ``link_by_email`` (a provider that controls and verifies its users'
  addresses, such as the organisation's own tenant); otherwise it is refused.
- The role comes from the provider's group or role claim, mapped by the
  provider's ``roles`` table: the first entry (in configured order) whose
  value the person holds wins. No mapped value: refused. The role is set from
  the claims on every sign-in (the organisation controls starters, movers and
  leavers), audited when it changes.
- An unknown person is created on first sign-in only where the provider has
  ``create_users``; otherwise an administrator creates the account first.
"""
from __future__ import annotations

import ipaddress
import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

import sqlalchemy as sa
from flask import Flask, current_app

from incidents.audit import service as audit_service
from incidents.auth.models import IdentityLink
from incidents.errors import ValidationError
from incidents.extensions import db
from incidents.timeutil import utcnow
from incidents.user.models import Role, User

# Where the app keeps its Authlib registry of provider clients.
EXTENSION = "incidents.oidc"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,39}$")
PROVIDER_KEYS = {"label", "metadata_url", "client_id", "client_secret", "scope", "email_claim", "roles_claim",
                 "roles", "create_users", "link_by_email"}
DEFAULT_SCOPE = "openid email profile"
# A password hash no password matches: an account made by a sign-in has no local password until one is set.
NO_PASSWORD = "!signed-in-with-an-identity-provider"


class SignInRefused(Exception):
    """A checked sign-in that this tool refuses; the message says why, for the person."""


@dataclass(frozen=True)
class Provider:
    """One configured identity provider."""

    name: str
    label: str
    metadata_url: str
    client_id: str
    client_secret: str
    scope: str
    email_claim: str
    roles_claim: str
    roles: tuple[tuple[str, Role], ...]
    create_users: bool
    link_by_email: bool


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def config_problems(value: Any) -> list[str]:
    """Return what is wrong with an ``OIDC_PROVIDERS`` setting, each problem naming the key to fix."""
    if not isinstance(value, dict):
        return [f"OIDC_PROVIDERS must be a mapping of provider name to its settings (it is {type(value).__name__})."]
    problems: list[str] = []
    roles = ", ".join(role.value for role in Role)
    for name, settings in value.items():
        where = f"OIDC_PROVIDERS[{name!r}]"
        if not isinstance(name, str) or not NAME_RE.match(name):
            problems.append(f"{where}: a provider name is 1 to 40 lower-case letters, digits or hyphens "
                            "(it appears in the sign-in address), such as 'entra' or 'keycloak'.")
            continue
        if not isinstance(settings, dict):
            problems.append(f"{where} must be a mapping of settings (label, metadata_url, client_id, ...).")
            continue
        unknown = sorted(set(settings) - PROVIDER_KEYS)
        if unknown:
            problems.append(f"{where}: unknown setting(s) {', '.join(map(str, unknown))}; the settings are "
                            f"{', '.join(sorted(PROVIDER_KEYS))}.")
        for key in ("label", "metadata_url", "client_id", "client_secret"):
            if not isinstance(settings.get(key), str) or not settings[key].strip():
                hint = (" (keep it out of the repository: instance/config.py or the environment variable "
                        f"INCIDENTS_OIDC_PROVIDERS__{name}__client_secret)") if key == "client_secret" else ""
                problems.append(f"{where}['{key}'] must be set to a non-empty text{hint}.")
        url = settings.get("metadata_url")
        if isinstance(url, str) and url.strip():
            parts = urlsplit(url)
            if parts.scheme != "https" and not (parts.scheme == "http" and _is_loopback(parts.hostname or "")):
                problems.append(f"{where}['metadata_url'] must be an https:// address of the provider's "
                                "discovery document (…/.well-known/openid-configuration); plain http only on "
                                f"loopback. It is {url!r}.")
        for key in ("scope", "email_claim", "roles_claim"):
            if key in settings and (not isinstance(settings[key], str) or not settings[key].strip()):
                problems.append(f"{where}['{key}'] must be a non-empty text when set.")
        scope = settings.get("scope", DEFAULT_SCOPE)
        if isinstance(scope, str) and "openid" not in scope.split():
            problems.append(f"{where}['scope'] must include 'openid' (it is {scope!r}).")
        mapping = settings.get("roles")
        if not isinstance(mapping, dict) or not mapping:
            problems.append(f"{where}['roles'] must map claim values to roles, such as "
                            "{'incidents-dcc': 'dcc'}; the roles are " + roles + ".")
        else:
            for claim_value, role in mapping.items():
                if not isinstance(claim_value, str) or not claim_value or role not in {r.value for r in Role}:
                    problems.append(f"{where}['roles'][{claim_value!r}] is {role!r}: map a non-empty claim value "
                                    f"to one of {roles}.")
        for key in ("create_users", "link_by_email"):
            if key in settings and not isinstance(settings[key], bool):
                problems.append(f"{where}['{key}'] must be true or false (it is {settings[key]!r}).")
    return problems


def password_roles_problems(value: Any) -> list[str]:
    """Return what is wrong with a ``PASSWORD_LOGIN_DISABLED_ROLES`` setting."""
    roles = {role.value for role in Role}
    if not isinstance(value, list) or any(item not in roles for item in value):
        return [(f"PASSWORD_LOGIN_DISABLED_ROLES must be a list of roles among {', '.join(sorted(roles))} "
                 f"(it is {value!r}).")]
    return []


def providers(app: Flask | None = None) -> dict[str, Provider]:
    """Return the configured providers by name, in configured order (already checked at start)."""
    config = (app or current_app).config
    found = {}
    for name, settings in (config.get("OIDC_PROVIDERS") or {}).items():
        found[name] = Provider(
            name=name, label=settings["label"].strip(), metadata_url=settings["metadata_url"].strip(),
            client_id=settings["client_id"].strip(), client_secret=settings["client_secret"],
            scope=settings.get("scope", DEFAULT_SCOPE), email_claim=settings.get("email_claim", "email"),
            roles_claim=settings.get("roles_claim", "groups"),
            roles=tuple((value, Role(role)) for value, role in settings["roles"].items()),
            create_users=bool(settings.get("create_users", False)),
            link_by_email=bool(settings.get("link_by_email", False)))
    return found


def init_app(app: Flask) -> None:
    """Register a client per configured provider in an Authlib registry kept on ``app`` (nothing is fetched)."""
    from authlib.integrations.flask_client import OAuth

    oauth = OAuth(app)
    for provider in providers(app).values():
        # PKCE with S256; Authlib adds a nonce for the openid scope and keeps state, nonce and verifier in the
        # signed session cookie until the callback.
        oauth.register(name=provider.name, client_id=provider.client_id, client_secret=provider.client_secret,
                       server_metadata_url=provider.metadata_url,
                       client_kwargs={"scope": provider.scope, "code_challenge_method": "S256"})
    app.extensions[EXTENSION] = oauth


def client(name: str) -> Any:
    """Return the Authlib client of the provider ``name``."""
    return current_app.extensions[EXTENSION].create_client(name)


def claims_options(name: str) -> dict[str, Any]:
    """Return the ID token checks beyond signature, nonce and expiry: issued by this provider, to this client.

    Authlib checks the issuer against the metadata but the audience only through ``azp``; both are made explicit.
    """
    provider = providers()[name]
    issuer = client(name).load_server_metadata().get("issuer")
    return {"iss": {"essential": True, "values": [issuer]},
            "aud": {"essential": True, "values": [provider.client_id]}}


def end_session_endpoint(name: str) -> str | None:
    """Return the provider's RP-initiated logout address from its metadata, or None (also when it cannot answer)."""
    try:
        metadata = client(name).load_server_metadata()
    except Exception:  # noqa: BLE001  (an unreachable provider only means no logout there is offered)
        return None
    endpoint = metadata.get("end_session_endpoint")
    return endpoint if isinstance(endpoint, str) and endpoint.startswith(("https://", "http://")) else None


def _claim(claims: dict[str, Any], path: str) -> Any:
    """Read a claim, following dots into nested objects (Keycloak's ``realm_access.roles``)."""
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict):
            return None
        value = value.get(part)
    return value


def mapped_role(provider: Provider, claims: dict[str, Any]) -> Role | None:
    """Return the role the claims map to: the first of the provider's mapped values the person holds, or None."""
    held = _claim(claims, provider.roles_claim)
    values = {held} if isinstance(held, str) else {v for v in held if isinstance(v, str)} \
        if isinstance(held, list) else set()
    return next((role for value, role in provider.roles if value in values), None)


def _email(provider: Provider, claims: dict[str, Any]) -> str:
    value = _claim(claims, provider.email_claim)
    return value.strip().lower() if isinstance(value, str) else ""


def sign_in(*, provider: Provider, claims: dict[str, Any], now: datetime | None = None) -> User:
    """Return the user a checked ID token's claims sign in, linking or creating them; raise SignInRefused.

    The caller has had Authlib check the token (signature, issuer, audience, nonce, expiry) and commits.
    """
    from incidents.user import service as user_service

    now = now or utcnow()
    issuer, subject = claims.get("iss"), claims.get("sub")
    if not isinstance(issuer, str) or not isinstance(subject, str) or not issuer or not subject \
            or len(issuer) > 255 or len(subject) > 255:
        raise SignInRefused(f"{provider.label} did not say who you are (no issuer or subject in its answer).")
    role = mapped_role(provider, claims)
    if role is None:
        raise SignInRefused(f"Your account at {provider.label} gives you no role in this tool: none of its "
                            f"'{provider.roles_claim}' values is one this tool knows. Ask your organisation's "
                            "administrator to add you to the right group.")
    link = db.session.scalar(sa.select(IdentityLink).where(IdentityLink.issuer == issuer,
                                                             IdentityLink.subject == subject))
    if link is not None:
        user = link.user
    else:
        user = _first_sign_in(provider=provider, claims=claims, role=role, issuer=issuer, subject=subject, now=now)
    if not user.is_active:
        raise SignInRefused("This account is deactivated here. Ask an administrator of this tool.")
    if user.role != role:
        # Audited by set_role (actor "system"), which also ends the person's other sessions under the old role.
        user_service.set_role(user=user, role=role, actor=None)
    link = link or db.session.scalar(sa.select(IdentityLink).where(IdentityLink.issuer == issuer,
                                                                     IdentityLink.subject == subject))
    if link is not None:
        link.last_sign_in_at = now
    return user


def _first_sign_in(*, provider: Provider, claims: dict[str, Any], role: Role, issuer: str, subject: str,
                   now: datetime) -> User:
    """Link a first sign-in to an account (by email where the provider is trusted for it) or create one."""
    from incidents.user import service as user_service

    email = _email(provider, claims)
    if not email:
        raise SignInRefused(f"{provider.label} did not give your email address (claim '{provider.email_claim}').")
    user = user_service.find_by_email(email)
    if user is not None and not provider.link_by_email:
        raise SignInRefused(f"An account for {email} exists here but is not linked to {provider.label}; this "
                            "provider is not trusted to link accounts by email. Sign in with your password, or "
                            "ask an administrator of this tool.")
    if user is None:
        if not provider.create_users:
            raise SignInRefused(f"There is no account here for {email}, and accounts are not created on first "
                                f"sign-in with {provider.label}. Ask an administrator of this tool.")
        name = claims.get("name")
        try:
            user = user_service.create_user(email=email, role=role, password=secrets.token_urlsafe(24),
                                            name=name.strip()[:120] if isinstance(name, str) else "", now=now)
        except ValidationError as exc:
            problems = "; ".join(message for messages in exc.errors.values() for message in messages)
            raise SignInRefused(f"An account could not be made from what {provider.label} sent: {problems}") \
                from None
        user.password_hash = NO_PASSWORD
    db.session.add(IdentityLink(user_id=user.id, provider=provider.name, issuer=issuer, subject=subject,
                                created_at=now, last_sign_in_at=now))
    audit_service.record(actor=None, action="update", entity_type="user", entity_id=user.id,
                         changes={"identity": [None, f"{provider.name}: {subject}"]},
                         summary=f"Linked {email} to {provider.label}", now=now)
    db.session.flush()
    return user
