"""Config layers: defaults, instance/config.py, environment, test overrides."""
from __future__ import annotations

import pytest

from incidents import create_app


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


def test_production_refuses_default_secret(tmp_path, monkeypatch):
    monkeypatch.setenv("INCIDENTS_INSTANCE_PATH", str(tmp_path))
    monkeypatch.setenv("INCIDENTS_ENV_NAME", "production")
    with pytest.raises(RuntimeError, match="default SECRET_KEY"):
        create_app()
    monkeypatch.setenv("INCIDENTS_SECRET_KEY", "a-real-secret-from-the-environment")
    assert create_app().config["SECRET_KEY"] == "a-real-secret-from-the-environment"
