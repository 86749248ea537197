"""The shared fixtures run each request as production does: in its own app context, apart from the test's."""
from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask, Response, g, stream_with_context
from flask.testing import FlaskClient, FlaskCliRunner

from incidents.extensions import db


def test_each_request_gets_its_own_g_and_database_session(app: Flask, client: FlaskClient) -> None:
    seen: list[tuple[object, int]] = []

    @app.get("/probe")
    def probe() -> str:
        seen.append((g.get("marker"), id(db.session())))
        g.marker = "set by a request"
        return ""

    g.marker = "set by the test"
    client.get("/probe")
    client.get("/probe")
    assert [marker for marker, _ in seen] == [None, None]
    assert g.marker == "set by the test"
    assert id(db.session()) not in {session for _, session in seen}


def test_a_streamed_body_is_read_in_its_requests_context(app: Flask, client: FlaskClient) -> None:
    @app.get("/with-context")
    def with_context() -> Response:
        g.marker = "set by the request"
        return app.response_class(stream_with_context(iter([g.marker])))

    @app.get("/without-context")
    def without_context() -> Response:
        def body() -> Iterator[str]:
            yield "the first chunk, "  # drawn by the test client before it answers
            yield g.marker  # no context here in production: the view has returned

        return app.response_class(body())

    g.marker = "set by the test"
    assert client.get("/with-context").text == "set by the request"
    response = client.get("/without-context")
    assert response.is_streamed
    with pytest.raises(RuntimeError, match="application context"):
        response.get_data()


def test_each_command_gets_its_own_app_context(app: Flask, runner: FlaskCliRunner) -> None:
    seen: list[tuple[object, int]] = []

    @app.cli.command("probe")
    def probe() -> None:
        seen.append((g.get("marker"), id(db.session())))

    g.marker = "set by the test"
    assert runner.invoke(args=["probe"]).exit_code == 0
    assert seen[0][0] is None and seen[0][1] != id(db.session())
