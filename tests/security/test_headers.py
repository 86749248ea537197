"""Session cookie flags, security headers, and pages free of inline script and style.

The Content Security Policy allows scripts and styles from the site's own
files only, so an inline ``<script>``, a ``style=`` attribute or an ``on...=``
handler in a page would be blocked in the browser: the crawl below looks for
them in every page each role can reach.
"""
from __future__ import annotations

from collections import deque
from collections.abc import Callable
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.exceptions import HTTPException
from werkzeug.routing import RequestRedirect

from incidents.demo import service as demo_service
from tests.security.support import DRAFT_REPORT, PUBLISHED, ROLES, Demo, inline_code

DOWNLOAD_SUFFIXES = (".pdf", ".csv", ".ics", ".svg")
PAGES_PER_ENDPOINT = 3


def session_cookie(response: Any, name: str = "session") -> dict[str, str]:
    """Return the attributes the response sets on a cookie, by lower-cased name (flags map to 'True')."""
    for header in response.headers.getlist("Set-Cookie"):
        cookie = SimpleCookie()
        cookie.load(header)
        if name in cookie:
            morsel = cookie[name]
            flags = {key: str(morsel[key]) for key in morsel if morsel[key]}
            return {key.lower(): value for key, value in flags.items()}
    raise AssertionError(f"no {name} cookie set: {response.headers.getlist('Set-Cookie')}")


def _log_in(client: FlaskClient, demo: Demo, **kwargs: Any) -> Any:
    return client.post("/login", data={"email": demo.emails["dcc"], "password": demo_service.DEMO_PASSWORD},
                       **kwargs)


# --- Cookies ----------------------------------------------------------------------------------

def test_session_cookie_is_httponly_and_samesite_lax(app: Flask, demo: Demo) -> None:
    client = app.test_client()
    response = _log_in(client, demo)
    assert response.status_code == 302
    flags = session_cookie(response)
    assert "httponly" in flags and flags["samesite"].lower() == "lax"
    assert "secure" not in flags  # plain http in development: a Secure cookie would never come back


def test_session_cookie_is_secure_when_configured(app: Flask, demo: Demo) -> None:
    # Production sets INCIDENTS_SESSION_COOKIE_SECURE=true (README, "Deploying on PostgreSQL with gunicorn").
    app.config["SESSION_COOKIE_SECURE"] = True
    flags = session_cookie(_log_in(app.test_client(), demo))
    assert "secure" in flags and flags["samesite"].lower() == "lax"


def test_session_cookie_is_secure_over_https_without_configuration(app: Flask, demo: Demo) -> None:
    assert not app.config["SESSION_COOKIE_SECURE"]
    flags = session_cookie(_log_in(app.test_client(), demo, base_url="https://localhost"))
    assert "secure" in flags and "httponly" in flags and flags["samesite"].lower() == "lax"


@pytest.mark.parametrize("app_config", [{"PROXY_FIX_X_FOR": 1}])
def test_session_cookie_is_secure_behind_a_tls_proxy(app: Flask, demo: Demo) -> None:
    client = app.test_client()
    flags = session_cookie(_log_in(client, demo, headers={"X-Forwarded-Proto": "https"}))
    assert "secure" in flags
    # The same proxy forwarding plain http: no Secure flag, or the browser would drop the session.
    assert "secure" not in session_cookie(_log_in(app.test_client(), demo, headers={"X-Forwarded-Proto": "http"}))


# --- Headers ------------------------------------------------------------------------------------

def csp_directives(value: str) -> dict[str, list[str]]:
    """Parse a Content-Security-Policy header into {directive: [sources]}."""
    directives = {}
    for part in value.split(";"):
        words = part.split()
        if words:
            directives[words[0].lower()] = words[1:]
    return directives


def assert_security_headers(response: Any, where: str) -> None:
    """Check the headers every answer carries, page, API, download or error alike."""
    headers = response.headers
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("X-Frame-Options") == "DENY", where
    assert headers.get("Referrer-Policy") in ("same-origin", "strict-origin", "no-referrer",
                                              "strict-origin-when-cross-origin"), where
    csp = csp_directives(headers.get("Content-Security-Policy", ""))
    assert csp.get("frame-ancestors") == ["'none'"], where
    assert csp.get("default-src") == ["'self'"], where
    for directive in ("script-src", "style-src"):
        sources = csp.get(directive, csp["default-src"])
        assert "'unsafe-inline'" not in sources and "'unsafe-eval'" not in sources, (where, directive)
        assert "*" not in sources and not any(s.startswith(("http:", "https:", "data:")) for s in sources), where
    assert csp.get("base-uri") == ["'self'"] and csp.get("form-action") == ["'self'"], where


def test_security_headers_on_pages_api_downloads_and_errors(
        app: Flask, demo: Demo, make_client: Callable[[str], FlaskClient], tokens: dict[str, str],
        no_pdf_drawing: list[str]) -> None:
    anon, dcc = make_client("anon"), make_client("dcc")
    bearer = {"Authorization": f"Bearer {tokens['dcc']}"}
    checks = {
        "login page": anon.get("/login"),
        "redirect to log in": anon.get("/incidents/"),
        "static file": anon.get("/static/style.css"),
        "404 page": dcc.get("/incidents/INC999999999999"),
        "403 page": dcc.get("/admin/users/"),
        "405 page": dcc.get("/logout"),
        "dashboard": dcc.get("/"),
        "report page": dcc.get("/incidents/INC000001001905/report"),
        "PDF": dcc.get("/incidents/INC000001001905/report.pdf"),
        "CSV": dcc.get("/incidents/export.csv", buffered=True),
        "SVG": dcc.get("/incidents/INC000001001905/restoration.svg"),
        "calendar feed": anon.get(f"/calendar/{demo.calendar_token}.ics"),
        "autosave JSON": dcc.post(f"/incidents/{DRAFT_REPORT}/report/autosave", data={}),
        "API answer": anon.get("/api/v1/incidents/INC000001001905", headers=bearer),
        "API 401": anon.get("/api/v1/incidents"),
        "API 404": anon.get("/api/v1/incidents/INC999999999999", headers=bearer),
        "API 405": anon.put("/api/v1/incidents", headers=bearer),
        "OpenAPI": anon.get("/api/v1/openapi.json"),
    }
    for where, response in checks.items():
        assert response.status_code < 500, where
        assert_security_headers(response, where)


def test_what_a_signed_in_person_sees_is_stored_in_no_cache(
        app: Flask, demo: Demo, make_client: Callable[[str], FlaskClient], tokens: dict[str, str],
        no_pdf_drawing: list[str]) -> None:
    dcc, party, anon = make_client("dcc"), make_client("party"), make_client("anon")
    bearer = {"Authorization": f"Bearer {tokens['dcc']}"}
    personal = {
        "dashboard": dcc.get("/"),
        "incident page": dcc.get("/incidents/INC000001001905"),
        "admin page refused": dcc.get("/admin/users/"),
        "report page": dcc.get("/incidents/INC000001001905/report"),
        "PDF": dcc.get("/incidents/INC000001001905/report.pdf"),
        "published PDF": party.get(f"/published/{PUBLISHED}.pdf"),
        "published list": party.get("/published"),
        "SVG": dcc.get("/incidents/INC000001001905/restoration.svg"),
        "CSV": dcc.get("/incidents/export.csv", buffered=True),
        "rules": party.get("/rules"),
        "API answer": anon.get("/api/v1/incidents/INC000001001905", headers=bearer),
        "API list": anon.get("/api/v1/published", headers=bearer),
    }
    for where, response in personal.items():
        assert response.status_code < 500, where
        assert "no-store" in response.headers.get("Cache-Control", ""), (where, response.headers.get("Cache-Control"))
    # The API keeps its validators: a client that holds the ETag still gets 304.
    answer = personal["API answer"]
    again = anon.get("/api/v1/incidents/INC000001001905", headers={**bearer, "If-None-Match": answer.headers["ETag"]})
    assert again.status_code == 304 and again.headers["Cache-Control"] == "no-store"
    # Nothing personal on the login page or the static files: they may be cached as before.
    assert "no-store" not in anon.get("/static/style.css").headers.get("Cache-Control", "")


def test_hsts_only_when_the_session_cookie_is_secure(app: Flask, demo: Demo,
                                                     make_client: Callable[[str], FlaskClient]) -> None:
    client = make_client("dcc")
    assert "Strict-Transport-Security" not in client.get("/").headers  # plain http in development
    app.config["SESSION_COOKIE_SECURE"] = True
    for path in ("/", "/login", "/static/style.css", "/api/v1/openapi.json", "/incidents/INC999999999999"):
        value = client.get(path, base_url="https://localhost").headers.get("Strict-Transport-Security", "")
        assert value.startswith("max-age=") and int(value.split("=")[1]) >= 180 * 24 * 3600, path


# --- No inline script or style in any page ---------------------------------------------------------

class _Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.links.extend(value for name, value in attrs if name == "href" and value)


def _start_pages(app: Flask, demo: Demo) -> list[str]:
    """Every page rule's GET address with demo arguments, and the DCC's report editor on a draft."""
    urls = [f"/incidents/{DRAFT_REPORT}/report/edit", "/incidents/INC000001001905/report/diff?from=1&to=1",
            "/incidents/INC999999999999", "/admin/users/"]
    for rule in app.url_map.iter_rules():
        if "GET" not in (rule.methods or set()) or rule.rule.startswith(("/api/", "/static/")):
            continue
        urls.append(demo.url(app, rule))
    return urls


def _endpoint(app: Flask, path: str) -> str | None:
    try:
        endpoint, _ = app.url_map.bind("localhost").match(urlsplit(path).path)
    except RequestRedirect:
        return None
    except HTTPException:
        return "(no route)"
    return str(endpoint)


def crawl(app: Flask, client: FlaskClient, start: list[str]) -> dict[str, list[str]]:
    """Follow same-site links from the start pages; return the inline code found, by page."""
    seen: set[str] = set()
    per_endpoint: dict[str | None, int] = {}
    queue = deque(start)
    found: dict[str, list[str]] = {}
    while queue:
        url = queue.popleft()
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost") or url in seen or parts.path.endswith(DOWNLOAD_SUFFIXES):
            continue
        endpoint = _endpoint(app, parts.path)
        if endpoint is None or endpoint == "static" or parts.path.startswith("/api/"):
            continue
        if per_endpoint.get(endpoint, 0) >= PAGES_PER_ENDPOINT:
            continue
        seen.add(url)
        per_endpoint[endpoint] = per_endpoint.get(endpoint, 0) + 1
        response = client.get(url, buffered=True)
        if response.status_code in (301, 302, 303):
            queue.append(urljoin(url, response.location))
            continue
        if response.mimetype != "text/html":
            continue
        html = response.get_data(as_text=True)
        problems = [str(finding) for finding in inline_code(html)]
        if problems:
            found[url] = problems
        parser = _Links()
        parser.feed(html)
        queue.extend(urljoin(url, link).split("#")[0] for link in parser.links)
    assert len(seen) > 5, seen
    return found


@pytest.mark.parametrize("role", ROLES)
def test_no_page_has_inline_script_style_or_event_handlers(
        app: Flask, demo: Demo, make_client: Callable[[str], FlaskClient], role: str) -> None:
    found = crawl(app, make_client(role), ["/"] + _start_pages(app, demo))
    assert not found, f"as {role}: " + "\n".join(f"{url}: {problems}" for url, problems in found.items())
