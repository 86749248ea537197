"""A real OpenID Connect provider on loopback (Node.js ``oidc-provider``), and helpers that sign in through it.

The provider is started by ``tests/e2e/oidc_provider.mjs`` with the clients and accounts below. Without Node.js or
the package the tests that need it are skipped with how to install them, except under CI (``CI=true``), where
they fail: there they must run.
"""
from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import pytest
import requests

ROOT = Path(__file__).resolve().parent.parent.parent
SCRIPT = ROOT / "tests" / "e2e" / "oidc_provider.mjs"
PACKAGE = ROOT / "tests" / "e2e" / "node_modules" / "oidc-provider"
CLIENT_ID, CLIENT_SECRET = "incidents", "loopback-client-secret-0123456789"
OTHER_CLIENT_ID, OTHER_CLIENT_SECRET = "other-app", "another-client-secret-0123456789"
PROVIDER_PASSWORD = "provider-password"
# At the provider: a person the tool maps to the DCC, one in two mapped groups, and one in no group it knows.
ACCOUNTS = {
    "dana": {"email": "dana.clarke@dcc.example", "email_verified": True, "name": "Dana Clarke",
             "groups": ["staff", "incidents-dcc"]},
    "sam": {"email": "sam.ellis@secas.example", "email_verified": True, "name": "Sam Ellis",
            "groups": ["incidents-opsg", "incidents-secas"]},
    "una": {"email": "una.mapped-not@supplier.example", "email_verified": True, "name": "Una Known",
            "groups": ["staff"]},
}
ROLE_MAP = {"incidents-secas": "secas", "incidents-opsg": "opsg", "incidents-dcc": "dcc"}


def require_node() -> str:
    """Return the node executable, or skip (fail under CI) saying how to install what is missing."""
    node = shutil.which("node")
    problems = []
    if node is None:
        problems.append("Node.js is missing (Debian: apt-get install nodejs npm)")
    if not (PACKAGE / "package.json").is_file():
        problems.append("the oidc-provider package is missing: `make test` installs it, or run "
                        "`npm ci --prefix tests/e2e`")
    if problems:
        message = "The OpenID Connect provider tests need a real provider: " + "; ".join(problems)
        if os.environ.get("CI") == "true":
            pytest.fail(message + " (under CI these tests must run).", pytrace=False)
        pytest.skip(message)
    assert node is not None
    return node


@dataclass
class RealProvider:
    """A running provider: its issuer and the settings that configure this tool for it."""

    issuer: str

    def settings(self, **overrides: Any) -> dict[str, Any]:
        """Return an OIDC_PROVIDERS entry for this provider."""
        return {"label": "Test Provider", "metadata_url": f"{self.issuer}/.well-known/openid-configuration",
                "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET, "scope": "openid email profile groups",
                "roles_claim": "groups", "roles": dict(ROLE_MAP), "create_users": True, **overrides}


@contextmanager
def running_provider(tmp_path: Path, redirect_uris: list[str], post_logout_uris: list[str]) -> Iterator[RealProvider]:
    """Start the provider with this tool's client (and another one) registered for these addresses."""
    node = require_node()
    clients = [{"client_id": client_id, "client_secret": secret, "redirect_uris": redirect_uris,
                "post_logout_redirect_uris": post_logout_uris, "grant_types": ["authorization_code"],
                "response_types": ["code"], "token_endpoint_auth_method": "client_secret_basic"}
               for client_id, secret in ((CLIENT_ID, CLIENT_SECRET), (OTHER_CLIENT_ID, OTHER_CLIENT_SECRET))]
    accounts = {login: {"password": PROVIDER_PASSWORD, **claims} for login, claims in ACCOUNTS.items()}
    config = tmp_path / "oidc-provider.json"
    config.write_text(json.dumps({"clients": clients, "accounts": accounts,
                                  "cookieKey": secrets.token_hex(16)}))
    process = subprocess.Popen([node, str(SCRIPT), str(config)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, cwd=SCRIPT.parent)
    ready: list[str] = []
    reader = threading.Thread(target=lambda: ready.append(process.stdout.readline() if process.stdout else ""),
                              daemon=True)
    reader.start()
    reader.join(timeout=30)
    try:
        if not ready or not ready[0].strip():
            process.kill()
            _, errors = process.communicate(timeout=10)
            pytest.fail(f"The OpenID provider did not start:\n{errors}", pytrace=False)
        yield RealProvider(issuer=json.loads(ready[0])["issuer"])
    finally:
        if process.poll() is None:
            if process.stdin:
                process.stdin.close()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def at_provider(start_url: str, app_base: str, login: str, password: str = PROVIDER_PASSWORD,
                http: requests.Session | None = None) -> str:
    """Follow an authorization request at the provider, signing in as ``login``; return the callback address.

    The address is where the provider sends the browser back to (``app_base``...?code=...&state=...).
    """
    http = http or requests.Session()
    url, method, data = start_url, "GET", None
    for _ in range(12):
        response = http.request(method, url, data=data, allow_redirects=False, timeout=20)
        location = response.headers.get("Location")
        if location:
            target = urljoin(url, location)
            if target.startswith(app_base):
                return target
            url, method, data = target, "GET", None
        elif response.status_code == 200 and 'name="login"' in response.text:
            url, method = urljoin(url, f"{urlsplit(url).path}/login"), "POST"
            data = {"login": login, "password": password}
        else:
            raise AssertionError(f"unexpected answer from the provider: {response.status_code} {response.text[:500]}")
    raise AssertionError("the provider never sent the browser back")


def direct_tokens(issuer: str, *, client_id: str, client_secret: str, redirect_uri: str, login: str,
                  nonce: str) -> dict[str, Any]:
    """Run the whole code flow at the provider as client ``client_id`` (PKCE, nonce); return its token answer."""
    metadata = requests.get(f"{issuer}/.well-known/openid-configuration", timeout=20).json()
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    query = urlencode({"client_id": client_id, "response_type": "code", "scope": "openid email profile groups",
                       "redirect_uri": redirect_uri, "state": secrets.token_urlsafe(16), "nonce": nonce,
                       "code_challenge": challenge, "code_challenge_method": "S256"})
    back = at_provider(f"{metadata['authorization_endpoint']}?{query}", redirect_uri, login)
    code = parse_qs(urlsplit(back).query)["code"][0]
    answer = requests.post(metadata["token_endpoint"], auth=(client_id, client_secret), timeout=20, data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri, "code_verifier": verifier})
    assert answer.status_code == 200, answer.text
    tokens: dict[str, Any] = answer.json()
    return tokens
