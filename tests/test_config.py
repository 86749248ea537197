"""Config layers: defaults, instance/config.py, environment, test overrides."""
from __future__ import annotations

import stat
from urllib.parse import urlsplit

import pytest
from flask import Flask
from flask.sessions import SecureCookieSessionInterface

from incidents import config as config_module
from incidents import create_app
from incidents.extensions import db
from tests import factories


def test_layers_and_sources(tmp_path, monkeypatch):
    (tmp_path / "config.py").write_text('REVIEW_REPORT_WORKING_DAYS = 15\nHOLIDAY_REGION = "SCT"\n')
    monkeypatch.setenv("INCIDENTS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("INCIDENTS_HOLIDAY_REGION", '"NIR"')
    monkeypatch.setenv("INCIDENTS_TARGET_RESOLUTION", '{"1": {"hours": 3}}')
    app = create_app({"SUMMARY_REPORT_WORKING_DAYS": 3})
    sources = app.extensions["incidents.config_sources"]
    assert app.config["REVIEW_REPORT_WORKING_DAYS"] == 15
    assert sources["REVIEW_REPORT_WORKING_DAYS"] == "instance/config.py"
    assert app.config["HOLIDAY_REGION"] == "NIR"
    assert sources["HOLIDAY_REGION"] == "environment"
    assert app.config["TARGET_RESOLUTION"] == {"1": {"hours": 3}}
    assert sources["SUMMARY_REPORT_WORKING_DAYS"] == "test override"
    assert sources["COHORTS"] == "default"
    assert app.config["SQLALCHEMY_DATABASE_URI"] == f"sqlite:///{tmp_path / 'incidents.sqlite'}"


def test_database_url_is_normalised_to_psycopg(tmp_path, monkeypatch):
    monkeypatch.setenv("INCIDENTS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("DATABASE_URL", "postgresql://u@db.example/incidents")
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example/incidents"
    # A database server's connections are checked when taken from the pool (a restart costs no request);
    # a setting of one's own wins.
    assert app.config["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_pre_ping": True}
    monkeypatch.setenv("INCIDENTS_SQLALCHEMY_ENGINE_OPTIONS", '{"pool_pre_ping": false, "pool_size": 3}')
    assert create_app().config["SQLALCHEMY_ENGINE_OPTIONS"] == {"pool_pre_ping": False, "pool_size": 3}
    monkeypatch.delenv("DATABASE_URL")
    monkeypatch.delenv("INCIDENTS_SQLALCHEMY_ENGINE_OPTIONS")
    assert create_app().config["SQLALCHEMY_ENGINE_OPTIONS"] == {}  # a SQLite file is never closed under us


def test_production_refuses_a_short_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("INCIDENTS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("INCIDENTS_ENV_NAME", "production")
    monkeypatch.setenv("INCIDENTS_SECRET_KEY", "too-short")
    with pytest.raises(RuntimeError, match="SECRET_KEY shorter than 32 characters"):
        create_app()
    monkeypatch.setenv("INCIDENTS_SECRET_KEY", "a-real-secret-from-the-environment")
    assert create_app().config["SECRET_KEY"] == "a-real-secret-from-the-environment"
    assert not (tmp_path / "secret_key").exists()


def test_without_a_secret_key_a_random_one_is_written_owner_only_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("INCIDENTS_INSTANCE_PATH", str(tmp_path / "instance"))
    monkeypatch.delenv("INCIDENTS_SECRET_KEY", raising=False)
    monkeypatch.setenv("INCIDENTS_ENV_NAME", "production")  # production starts with it too
    first = create_app().config["SECRET_KEY"]
    path = tmp_path / "instance" / "secret_key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_text().strip() == first and len(first) == 64
    assert create_app().config["SECRET_KEY"] == first  # the next start uses the same key
    assert sorted(p.name for p in path.parent.iterdir()) == ["secret_key"]  # nothing left half-written
    monkeypatch.setenv("INCIDENTS_INSTANCE_PATH", str(tmp_path / "elsewhere"))
    assert create_app().config["SECRET_KEY"] != first  # each deployment its own
    assert config_module.Defaults.SECRET_KEY is None  # there is no key in the source to fall back on


def test_a_damaged_secret_key_file_is_refused_not_used(tmp_path, monkeypatch):
    monkeypatch.setenv("INCIDENTS_INSTANCE_PATH", str(tmp_path))
    (tmp_path / "secret_key").write_text("\n")
    with pytest.raises(RuntimeError, match="empty or too short"):
        create_app()


def test_a_session_forged_with_the_old_constant_key_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("INCIDENTS_INSTANCE_PATH", str(tmp_path))
    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'forged.sqlite'}",
                      "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000"})
    with app.app_context():
        db.create_all()
        admin = factories.user(role="admin")
        db.session.commit()
        admin_id = admin.id
    # What anyone could sign before: the key that stood in the source, naming the administrator's first session.
    old = Flask("forger")
    old.secret_key = "dev-only-insecure-secret-key"
    serializer = SecureCookieSessionInterface().get_signing_serializer(old)
    assert serializer is not None
    client = app.test_client()
    for forged in (f"{admin_id}:1", f"{admin_id}"):
        client.set_cookie("session", serializer.dumps({"_user_id": forged, "_fresh": True}))
        response = client.get("/admin/users/")
        assert response.status_code == 302 and urlsplit(response.location).path == "/login", forged


@pytest.mark.parametrize("key, value", [("SESSION_IDLE_HOURS", 0), ("SESSION_IDLE_HOURS", "8"),
                                        ("SESSION_LIFETIME_DAYS", -1), ("SESSION_LIFETIME_DAYS", True),
                                        ("SESSION_LIFETIME_DAYS", float("nan"))])
def test_session_limits_must_be_positive_numbers(tmp_path, monkeypatch, key, value):
    monkeypatch.setenv("INCIDENTS_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match=f"{key} must be a positive number"):
        create_app({key: value})
    assert create_app({key: 0.25}).config[key] == 0.25


@pytest.mark.parametrize("value", ["Say what happened.", ["summary"], {"root-cause": "Why?"},
                                   {"summary": ["not", "text"]}])
def test_editor_prompts_that_are_not_text_per_report_section_are_refused_at_start(tmp_path, monkeypatch, value):
    monkeypatch.setenv("INCIDENTS_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="REPORT_SECTION_PROMPTS must map sections of the Review Report"):
        create_app({"REPORT_SECTION_PROMPTS": value})


def test_editor_prompts_for_some_sections_only_are_taken(tmp_path, monkeypatch):
    monkeypatch.setenv("INCIDENTS_INSTANCE_PATH", str(tmp_path))
    app = create_app({"REPORT_SECTION_PROMPTS": {"summary": "Two sentences."}})
    assert app.config["REPORT_SECTION_PROMPTS"] == {"summary": "Two sentences."}
