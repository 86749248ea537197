"""Open redirects after login, and path traversal through static files, downloads and documents.

tests/auth/test_views.py::test_login_ignores_next_that_leaves_the_site covers
the usual ``next`` values (//host, https://host, backslashes, tab and newline,
javascript:). Here: more encodings, judged as a browser would read the
Location header rather than by its exact text, and the login page itself.
"""
from __future__ import annotations

import builtins
import os
import re
from collections.abc import Callable
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
from flask import Flask
from flask.testing import FlaskClient

from incidents.document import service as document_service
from tests import factories
from tests.security.support import Demo, inline_code

SITE = "http://localhost/login"


def browser_target(location: str) -> str:
    """Return where a browser on http://localhost would go for this Location header (WHATWG parsing, simplified)."""
    # Browsers drop tab and newline anywhere, trim C0 controls and spaces, and read a backslash as '/' in http(s) URLs.
    url = re.sub(r"[\t\n\r]", "", location).strip("".join(map(chr, range(33)))).replace("\\", "/")
    scheme = re.match(r"([a-zA-Z][a-zA-Z0-9+.-]*):", url)
    if scheme:
        name, rest = scheme.group(1).lower(), url[scheme.end():]
        if name not in ("http", "https"):
            return name + ":"
        if name == "https" or rest.startswith("//"):
            # Another scheme than the page's, or an authority: any number of slashes, then the host.
            return f"{name}://{urlsplit('//' + rest.lstrip('/')).hostname}"
        url = rest  # 'http:path' on an http page is a path on the same site
    if url.startswith("//"):
        return f"http://{urlsplit('//' + url.lstrip('/')).hostname}"
    return f"http://{urlsplit(urljoin(SITE, url)).hostname}"


# Raw query strings, so each encoding reaches the app exactly as written.
HOSTILE_NEXT = [
    "next=%2F%2Fevil.example",
    "next=%2F%2F%2Fevil.example",
    "next=%2F%252F%252Fevil.example",
    "next=%252F%252Fevil.example",
    "next=%20%2F%2Fevil.example",
    "next=%2F%20%2Fevil.example",
    "next=%00%2F%2Fevil.example",
    "next=%2F%00%2Fevil.example",
    "next=%2F%5C%5Cevil.example",
    "next=%5C%2Fevil.example",
    "next=%2F%2F%5Cevil.example",
    "next=%2F%09%2Fevil.example",
    "next=%2F%0A%2Fevil.example",
    "next=%0D%0A%2F%2Fevil.example",
    "next=https%3A%2Fevil.example",
    "next=https%3A%5C%5Cevil.example",
    "next=HTTPS%3A%2F%2Fevil.example",
    "next=%2F%2Fevil.example%40localhost",
    "next=%2F%2Flocalhost%40evil.example",
    "next=%2F%2Fevil%E3%80%82example",
    "next=%EF%BC%8F%EF%BC%8Fevil.example",
    "next=javascript%3Aalert(1)",
    "next=%2Fjavascript%3Aalert(1)",
    "next=data%3Atext%2Fhtml%2C%3Cscript%3Ealert(1)%3C%2Fscript%3E",
    "next=%2Frules&next=%2F%2Fevil.example",
    "next=%2F%2Fevil.example&next=%2Frules",
]


def test_login_never_redirects_off_the_site(app: Flask, users: dict[str, Any]) -> None:
    wrong = []
    for query in HOSTILE_NEXT:
        client = app.test_client()
        response = client.post(f"/login?{query}",
                               data={"email": users["secas"].email, "password": factories.PASSWORD})
        location = response.headers.get("Location", "")
        if response.status_code != 302 or browser_target(location) != "http://localhost":
            wrong.append(f"?{query}: {response.status_code} to {location!r}")
    assert not wrong, "Login redirects off the site:\n" + "\n".join(wrong)


def test_the_browser_reading_of_locations() -> None:
    # The judge above must itself see through the tricks it judges.
    for location in ("//evil.example", "///evil.example", "/\\evil.example", "\\\\evil.example",
                     " //evil.example", "/\t/evil.example", "https:evil.example", "https:/evil.example",
                     "http://evil.example", "http:////evil.example"):
        assert browser_target(location) == "http://evil.example" or browser_target(location) == \
            "https://evil.example", location
    assert browser_target("javascript:alert(1)") == "javascript:"
    for location in ("/", "/rules?x=1", "/%2F%2Fevil.example", "http:evil.example", "rules"):
        assert browser_target(location) == "http://localhost", location


def test_login_page_does_not_reflect_next(app: Flask) -> None:
    payload = '"><script>alert(1)</script><img src=x onerror=alert(1)>'
    page = app.test_client().get("/login", query_string={"next": payload}).text
    assert "<script>alert" not in page and not inline_code(page)


# --- Path traversal ------------------------------------------------------------------------------

SECRET_MARKERS = ("create_app", "root:x:", "SECRET_KEY", "[tool.pytest")

TRAVERSALS = [
    "/static/../wsgi.py",
    "/static/../../wsgi.py",
    "/static/%2e%2e/wsgi.py",
    "/static/%2e%2e%2fwsgi.py",
    "/static/..%2fwsgi.py",
    "/static/..%2f..%2fpyproject.toml",
    "/static/%2e%2e%2f%2e%2e%2fpyproject.toml",
    "/static/..%5cwsgi.py",
    "/static/..\\wsgi.py",
    "/static/....//wsgi.py",
    "/static//etc/passwd",
    "/static/%2fetc%2fpasswd",
    "/static/%252e%252e/wsgi.py",
    "/static/%c0%ae%c0%ae/wsgi.py",
    "/static/style.css%00.py",
    "/static/../config.py",
    "/static/../__init__.py",
    "/incidents/..%2f..%2fwsgi.py/report.pdf",
    "/incidents/%2e%2e/report.pdf",
    "/incidents/../../etc/passwd/report.pdf",
    "/incidents/..%2F..%2Fetc%2Fpasswd/report/print",
    "/incidents/%2e%2e%2f%2e%2e%2fwsgi.py/audit.csv",
    "/incidents/..%5c..%5cwsgi.py/audit.csv",
    "/incidents/../restoration.svg",
    "/incidents/%2e%2e/restoration.svg",
    "/incidents/..%2fINC000001001905/restoration.svg",
    "/incidents/INC000001001905%2f..%2f..%2fwsgi.py/report.pdf",
    "/published/..%2f..%2fwsgi.py.pdf",
    "/published/%2e%2e.pdf",
    "/published/..%2fINC000001001905.pdf",
    "/published/..%2f..%2fwsgi.py",
    "/meetings/..%2f..%2fwsgi.py/pack.pdf",
    "/meetings/%2e%2e/pack",
    "/pmr/..%2f..%2fwsgi.py.csv",
    "/pmr/%2e%2e.csv",
    "/calendar/..%2f..%2fetc%2fpasswd.ics",
    "/calendar/%2e%2e.ics",
    "/api/v1/actions/../../../etc/passwd",
    "/api/v1/actions/..%2f..%2fwsgi.py",
    "/api/v1/published/..%2f..%2fwsgi.py",
    "/api/v1/incidents/%2e%2e",
]


@pytest.mark.parametrize("role", ["anon", "admin"])
def test_no_path_reaches_a_file_outside_the_static_folder(
        app: Flask, demo: Demo, make_client: Callable[[str], FlaskClient], tokens: dict[str, str],
        no_pdf_drawing: list[str], role: str) -> None:
    client = make_client(role)
    headers = {"Authorization": f"Bearer {tokens['admin']}"} if role == "admin" else {}
    wrong = []
    for path in TRAVERSALS:
        response = client.get(path, headers=headers, buffered=True)
        if response.status_code == 308 and browser_target(response.location) == "http://localhost":
            # Werkzeug merges doubled slashes with a permanent redirect; what is there must be nothing.
            response = client.get(urlsplit(response.location).path, headers=headers, buffered=True)
        body = response.get_data(as_text=True)
        leaked = [marker for marker in SECRET_MARKERS if marker in body]
        # Anonymous visitors are sent to log in first; logged in, nothing is there.
        refused = {400, 401, 404} | ({302} if role == "anon" else set())
        if response.status_code not in refused or leaked:
            wrong.append(f"{path}: {response.status_code} {response.location or ''} {leaked}")
        elif response.status_code == 302 and urlsplit(response.location).path != "/login":
            wrong.append(f"{path}: redirects to {response.location}")
    assert not wrong, "\n".join(wrong)


def test_the_static_file_itself_is_served(app: Flask) -> None:
    # The control for the traversals above: the folder is served, so their 404s are the guard at work.
    response = app.test_client().get("/static/style.css")
    assert response.status_code == 200 and response.mimetype == "text/css"
    response.close()


def test_pdf_drawing_reads_no_file_outside_the_static_folder(
        app: Flask, tmp_path: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    static = tmp_path / "static"
    static.mkdir()
    (static / "style.css").write_text("p { color: #123456 }")
    (tmp_path / "secret.css").write_text("p { color: #ff0000 }")
    opened: list[str] = []

    def spy(path: Any, *args: Any, **kwargs: Any) -> Any:
        opened.append(os.path.relpath(os.fspath(path), tmp_path))
        return builtins.open(path, *args, **kwargs)

    # The fetcher's own open(): a module global shadows the builtin for that module only.
    monkeypatch.setattr(document_service, "open", spy, raising=False)
    links = ["/static/style.css", "/static/../secret.css", "/static/%2e%2e/secret.css", "/static/..%2fsecret.css",
             "/static/%2e%2e%2fsecret.css", "/static/..%5csecret.css", "/static/....//secret.css",
             "/static//" + str(tmp_path / "secret.css"), "/static/%2f" + str(tmp_path / "secret.css").lstrip("/"),
             "file://" + str(tmp_path / "secret.css")]
    html = "".join(f'<link rel="stylesheet" href="{link}">' for link in links) + "<p>Hello</p>"
    pdf = document_service.render_pdf(html, base_url="http://localhost/", static_folder=str(static),
                                      static_url_path="/static")
    assert pdf.startswith(b"%PDF-")
    assert opened == [os.path.join("static", "style.css")], opened
