"""BASE_URL, the start of every emailed link: an absolute http(s) address, refused at start otherwise."""
from __future__ import annotations

import pytest

from incidents import create_app


@pytest.mark.parametrize("value", ["reviews.example", "ftp://reviews.example", "https://", "/mir",
                                   "https://reviews.example/?x=1", 5000])
def test_a_base_url_no_email_link_could_start_with_is_refused_at_start(tmp_path, monkeypatch, value):
    monkeypatch.setenv("INCIDENTS_INSTANCE_PATH", str(tmp_path))
    with pytest.raises(RuntimeError, match="BASE_URL must be the address people reach the app at"):
        create_app({"BASE_URL": value})


def test_the_default_is_where_make_run_serves_and_any_http_address_is_taken(tmp_path, monkeypatch):
    monkeypatch.setenv("INCIDENTS_INSTANCE_PATH", str(tmp_path))
    assert create_app().config["BASE_URL"] == "http://127.0.0.1:5000"
    monkeypatch.setenv("INCIDENTS_BASE_URL", "https://reviews.secas.example/mir")
    assert create_app().config["BASE_URL"] == "https://reviews.secas.example/mir"
