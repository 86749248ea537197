"""The wheel is the whole application: installed away from the checkout, it migrates a database and serves pages.

The wheel is built from a copy of the sources (so the checkout gains no build/ or egg-info), installed with
``pip install --target`` into a folder of its own, and run with only that folder on the path, from another directory.
The dependencies come from the interpreter running the tests.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ("pyproject.toml", "README.md", "incidents", "templates", "migrations")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build")

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("TEST_DATABASE_URL")),
    reason="does not depend on the database: runs once, in the SQLite pass")

# Run inside the installed package: seed the demo data, log in, visit every page, print one line per page.
WALK = r"""
import os, sys
import incidents
from incidents import create_app
from incidents.demo import service as demo_service
from incidents.extensions import db

site = os.environ["PYTHONPATH"]
print("package", incidents.__file__)
print("checkout on path", any(os.path.abspath(p or ".") == os.environ["CHECKOUT"] for p in sys.path))
app = create_app({"WTF_CSRF_ENABLED": False})
print("database", app.config["SQLALCHEMY_DATABASE_URI"])
with app.app_context():
    demo_service.seed()
    # A webhook endpoint, so its page (and the delivery log's template) is served from the wheel too.
    from incidents.notification import service as notification_service
    from incidents.user import service as user_service
    notification_service.create_webhook(notification_service.WebhookDraft(
        url="https://hooks.example.org/incidents", events=["report_published"]),
        actor=user_service.find_by_email("admin@demo.example"))
    db.session.commit()
client = app.test_client()
answer = client.get("/login")
print("GET", answer.status_code, "/login", b"Log in" in answer.data)
answer = client.get("/no-such-page")
print("GET", answer.status_code, "/no-such-page", b"Back to the start page" in answer.data)
answer = client.post("/login", data={"email": "admin@demo.example", "password": demo_service.DEMO_PASSWORD})
print("POST", answer.status_code, "/login", answer.location)
values = {"reference": "INC000001001905", "entry_id": 1, "number": 1, "slug": "OPSG 97-04", "month": "2023-04",
          "code": "third-party-infrastructure", "user_id": 1, "webhook_id": 1, "token": "unknown", "filename": "style.css",
          "provider": "no-such-provider", "attachment_id": 1}
# The pack of the real case's meeting; a published report of the demo's live part.
other_references = {"document.pack": "OPSG_97", "report.published_report": "INC000001002401"}
adapter = app.url_map.bind("localhost")
for rule in sorted(app.url_map.iter_rules(), key=lambda rule: rule.rule):
    # PDFs are WeasyPrint's reading of the print pages, which are visited; the API renders no template.
    # Attachment downloads send a stored file, and the demo keeps none.
    if "GET" not in rule.methods or rule.endpoint.startswith("api.") or rule.rule.endswith(".pdf") \
            or rule.endpoint == "attachment.download":
        continue
    args = {name: values[name] for name in rule.arguments}
    if rule.endpoint in other_references:
        args["reference"] = other_references[rule.endpoint]
    path = adapter.build(rule.endpoint, args)
    answer = client.get(path)
    page = answer.status_code == 200 and answer.mimetype == "text/html"
    print("GET", answer.status_code, path, not page or b"</html>" in answer.data)
"""


def _clean_env(**extra: str) -> dict[str, str]:
    """Return the environment without the test run's database or instance settings, plus ``extra``."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith("INCIDENTS_") and key not in ("DATABASE_URL", "PYTHONPATH", "FLASK_APP")}
    return {**env, **extra}


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> str:
    """Run a command, failing the test with its output when it fails."""
    result = subprocess.run(args, check=False, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, f"{args} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the wheel from a copy of the sources, as ``pip install .`` would."""
    source = tmp_path_factory.mktemp("source")
    for name in SOURCES:
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, source / name, ignore=IGNORED)
        else:
            shutil.copy2(ROOT / name, source / name)
    out = tmp_path_factory.mktemp("dist")
    _run([sys.executable, "-m", "pip", "wheel", "--quiet", "--no-deps", "--wheel-dir", str(out), str(source)],
         cwd=source, env=_clean_env())
    (built,) = out.glob("incidents-*.whl")
    return built


def _checkout_files(folder: str, pattern: str = "*") -> set[str]:
    return {path.relative_to(ROOT / folder).as_posix() for path in (ROOT / folder).rglob(pattern)
            if path.is_file() and "__pycache__" not in path.parts}


def test_wheel_carries_every_module_template_and_migration(wheel: Path) -> None:
    names = set(zipfile.ZipFile(wheel).namelist())
    modules = {f"incidents/{name}" for name in _checkout_files("incidents", "*.py")}
    templates = {f"incidents/templates/{name}" for name in _checkout_files("templates")}
    migrations = {f"incidents/migrations/{name}" for name in _checkout_files("migrations")}
    assert "incidents/templates/error.html" in templates and "incidents/migrations/alembic.ini" in migrations
    assert modules - names == set()
    assert templates - names == set()
    assert migrations - names == set()


def test_installed_wheel_migrates_and_serves_every_page_from_elsewhere(wheel: Path, tmp_path: Path) -> None:
    site = tmp_path / "site"
    _run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-compile", "--target", str(site),
          str(wheel)], cwd=tmp_path, env=_clean_env())
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # A cheap hash for the demo users' passwords; the instance folder is the package's default one.
    env = _clean_env(PYTHONPATH=str(site), CHECKOUT=str(ROOT), INCIDENTS_PASSWORD_HASH_METHOD="pbkdf2:sha256:1000")

    _run([sys.executable, "-m", "flask", "--app", "incidents", "db", "upgrade"], cwd=elsewhere, env=env)
    assert (site / "instance" / "incidents.sqlite").is_file()

    lines = _run([sys.executable, "-c", WALK], cwd=elsewhere, env=env).splitlines()
    assert lines[0] == f"package {site / 'incidents' / '__init__.py'}"
    assert lines[1] == "checkout on path False"
    assert lines[2] == f"database sqlite:///{site / 'instance' / 'incidents.sqlite'}"
    visits = [line.split(" ") for line in lines[3:]]
    assert ["GET", "200", "/login", "True"] in visits
    assert ["GET", "404", "/no-such-page", "True"] in visits
    assert ["POST", "302", "/login", "/"] in visits
    pages = {path: (status, complete) for method, status, path, complete in visits[3:]}
    assert len(pages) > 30
    # No identity provider is configured here: the sign-in addresses name an unknown one.
    assert {path for path, (status, _) in pages.items() if status not in ("200", "302")} == {
        "/calendar/unknown.ics", "/login/sso/no-such-provider", "/login/sso/no-such-provider/callback"}
    assert all(complete == "True" for _, complete in pages.values())
    assert pages["/incidents/INC000001001905/review"] == ("200", "True")
    assert pages["/meetings/OPSG_97/pack"] == ("200", "True")
