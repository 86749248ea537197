"""Measurement hooks for the benchmark (bench/): off unless configured, so production pays nothing for them.

``SQL_STATEMENT_HEADER``: each response carries ``X-SQL-Statements``, the
number of SQL statements the request ran, so a load run can prove a page's
cost does not grow with the data. ``BENCH_CEILING_ENDPOINT``: ``/_bench/ceiling``
answers a constant string through the same app, middleware and server,
the ceiling every page's throughput is compared with.
"""
from __future__ import annotations

from typing import Any

from flask import Flask, Response, has_request_context, request
from sqlalchemy import event

STATEMENT_HEADER = "X-SQL-Statements"
_COUNTER = "incidents.sql_statements"  # kept in the WSGI environ: one per request, even under one app context
CEILING_PATH = "/_bench/ceiling"


def install(app: Flask, engine: Any) -> None:
    """Add the hooks that ``app``'s configuration asks for."""
    if app.config["SQL_STATEMENT_HEADER"]:
        _count_statements(app, engine)
    if app.config["BENCH_CEILING_ENDPOINT"]:
        app.add_url_rule(CEILING_PATH, "bench_ceiling", _ceiling)


def _ceiling() -> Response:
    return Response("ok", mimetype="text/plain")


def _count_statements(app: Flask, engine: Any) -> None:
    @event.listens_for(engine, "before_cursor_execute")
    def count(*_: Any) -> None:
        if has_request_context():
            request.environ[_COUNTER] = request.environ.get(_COUNTER, 0) + 1

    @app.after_request
    def header(response: Response) -> Response:
        response.headers[STATEMENT_HEADER] = str(request.environ.get(_COUNTER, 0))
        return response
