"""Imported once by the forkserver that starts worker processes (see test_delivery).

Building a throwaway app imports every module a worker needs (views, API,
templates' helpers) in the server, so each forked worker starts with them
loaded. The app uses an in-memory SQLite URL and never connects, so the server
holds no database connection for workers to inherit.
"""
from __future__ import annotations

from incidents import create_app
from tests.reminder import workers  # noqa: F401  (the workers' own module, imported once here too)

create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://", "SECRET_KEY": "forkserver-warm-up"})
