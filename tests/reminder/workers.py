"""Code that runs in other processes: sweeps against the test's own database.

Worker processes import this module on their own, so it holds only plain
functions taking picklable arguments; each worker builds its own app from the
parent's database and mail settings.
"""
from __future__ import annotations

import os
import time
from datetime import datetime
from typing import Any

import sqlalchemy as sa

from incidents import create_app
from incidents.extensions import db
from incidents.reminder import jobs, mail

SHARED_KEYS = ("SQLALCHEMY_DATABASE_URI", "SQLALCHEMY_ENGINE_OPTIONS", "MAIL_SERVER", "MAIL_PORT", "MAIL_TIMEOUT",
               "REMINDER_LEASE_SECONDS", "TIMEZONE", "HOLIDAY_REGION", "SECRET_KEY", "SQLITE_SYNCHRONOUS")


def child_config(config: Any, instance_path: str) -> dict[str, Any]:
    """Return the settings a worker needs to reach the same database, instance folder and SMTP server."""
    shared = {key: config[key] for key in SHARED_KEYS if key in config}
    return {"TESTING": True, "INSTANCE_PATH": instance_path, **shared}


def _app(config: dict[str, Any]) -> Any:
    config = dict(config)
    os.environ["INCIDENTS_INSTANCE_PATH"] = config.pop("INSTANCE_PATH")
    return create_app(config)


def sweep(config: dict[str, Any], now: str, worker: str, barrier: Any, results: Any) -> None:
    """Build the app, wait for the other sweepers, sweep once and report what this worker did."""
    app = _app(config)
    with app.app_context():
        db.session.execute(sa.text("SELECT 1"))  # connect before the race starts
        db.session.rollback()
        barrier.wait(timeout=60)
        result = jobs.sweep(now=datetime.fromisoformat(now), worker=worker)
        results.put((worker, len(result.sent), len(result.failed)))
        db.session.remove()
        db.engine.dispose()


def sweep_and_hang(config: dict[str, Any], now: str, worker: str) -> None:
    """Sweep with a mail server that never answers, so the claim stays 'sending' until this process is killed."""

    def never_returns(message: Any, **_: Any) -> None:
        time.sleep(600)

    mail.deliver = never_returns  # type: ignore[assignment]
    app = _app(config)
    with app.app_context():
        jobs.sweep(now=datetime.fromisoformat(now), worker=worker)
