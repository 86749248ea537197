"""The app as the benchmark serves it: ``gunicorn 'bench.app:create_app()'``.

It is the production app from ``incidents.create_app()`` with two measuring
aids installed on it here, so the app itself carries no benchmark code:

- every response carries ``X-SQL-Statements``, the number of SQL statements
  its request ran, so a run can show that a page's cost does not grow with
  the data or the page size;
- ``/_bench/ceiling`` answers a constant string through the same app,
  middleware and server: the least any request can cost on this machine.
"""
from __future__ import annotations

from typing import Any

from flask import Flask, Response, has_request_context, request
from sqlalchemy import event

STATEMENT_HEADER = "X-SQL-Statements"
CEILING_PATH = "/_bench/ceiling"
# Kept in the WSGI environ: one count per request, whatever the app context.
_COUNTER = "bench.sql_statements"


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    """Build the production app and install the benchmark's statement counter and bare endpoint on it."""
    from incidents import create_app as create_incidents_app

    return instrument(create_incidents_app(test_config))


def instrument(app: Flask) -> Flask:
    """Install the statement counter and the bare endpoint on ``app``; return it."""
    from incidents.extensions import db

    with app.app_context():
        engine = db.engine
    event.listen(engine, "before_cursor_execute", _count_statement)
    app.after_request(_statement_header)
    app.add_url_rule(CEILING_PATH, "bench_ceiling", _ceiling)
    return app


def _count_statement(*_: Any) -> None:
    if has_request_context():
        request.environ[_COUNTER] = request.environ.get(_COUNTER, 0) + 1


def _statement_header(response: Response) -> Response:
    response.headers[STATEMENT_HEADER] = str(request.environ.get(_COUNTER, 0))
    return response


def _ceiling() -> Response:
    return Response("ok", mimetype="text/plain")
