"""The benchmark's app (bench/app.py): the production app plus a statement counter and a bare endpoint."""
from __future__ import annotations

from typing import Any

from flask import Flask

from bench import app as bench_app
from tests import factories


def test_the_production_app_has_no_benchmark_hooks(app: Flask, users: dict[str, Any]) -> None:
    client = app.test_client()
    client.post("/login", data={"email": users["dcc"].email, "password": factories.PASSWORD})

    page = client.get("/incidents/")

    assert page.status_code == 200
    assert bench_app.STATEMENT_HEADER not in page.headers
    assert client.get(bench_app.CEILING_PATH).status_code == 404


def test_each_response_counts_its_own_statements(app: Flask, users: dict[str, Any]) -> None:
    bench_app.instrument(app)
    client = app.test_client()
    client.post("/login", data={"email": users["dcc"].email, "password": factories.PASSWORD})

    page = client.get("/incidents/")
    ceiling = client.get(bench_app.CEILING_PATH)

    # A page reads at least its user and its rows; the next request's count starts afresh.
    assert int(page.headers[bench_app.STATEMENT_HEADER]) >= 2
    assert (ceiling.status_code, ceiling.get_data(as_text=True)) == (200, "ok")
    assert ceiling.headers[bench_app.STATEMENT_HEADER] == "0"
