"""The inputs the fuzz tests found that failed the server, kept as plain examples so they stay fixed.

The NUL cases failed only on PostgreSQL, which refuses a NUL character in
text even in a comparison: run with TEST_DATABASE_URL to see them bite.
"""
from __future__ import annotations

import pytest

from tests.fuzz.strategies import assert_api_answer, assert_html_answer

NUL_EMAIL = "dcc\x00@demo.example"


def test_logging_in_with_a_nul_in_the_email_is_refused_not_a_500(app, demo):
    response = app.test_client().post("/login", data={"email": NUL_EMAIL, "password": "demo-password"})
    assert response.status_code == 200 and 'class="errors"' in response.get_data(as_text=True)


@pytest.mark.parametrize("path, data, field", [
    ("/admin/users/new", {"email": NUL_EMAIL, "role": "dcc", "password": "correct-horse-battery"}, "email"),
    ("/admin/users/new", {"email": "n@example.org", "name": "a\x00b", "role": "dcc",
                          "password": "correct-horse-battery"}, "name"),
    ("/admin/users/1/name", {"name-name": "a\x00b"}, "name"),
])
def test_user_administration_refuses_a_nul_by_the_field(browsers, path, data, field):
    response = browsers["admin"].post(path, data=data)
    assert response.status_code == 422, response.get_data(as_text=True)[:2000]
    assert_html_answer(response)


@pytest.mark.parametrize("field, value", [("owner_user", "\x00"), ("incidents", "INC000001001905 INC\x00")])
def test_raising_an_action_refuses_a_nul_by_the_field(browsers, field, value):
    data = {"reference": "OPSG 97/09", "text": "Check.", "owner_org": "dcc", "raised_on": "2023-06-26",
            "target_on": "2030-01-31", field: value}
    response = browsers["secas"].post("/actions/new", data=data)
    assert response.status_code == 422, response.get_data(as_text=True)[:2000]
    assert f'id="{field}-error"' in response.get_data(as_text=True)


@pytest.mark.parametrize("method, path", [
    ("DELETE", "/incidents/INC000001001905/timeline/175243760083"),
    ("PATCH", "/incidents/INC000001001905/timeline/2147483648"),
    ("GET", "/incidents/INC000001001905/report/versions/99999999999"),
])
def test_an_id_past_32_bits_is_not_found_whatever_the_method(browsers, demo_tokens, method, path):
    """Werkzeug answered 405 for these when the route's converter had a maximum: the id is simply unknown."""
    response = browsers["dcc"].open("/api/v1" + path, method=method, json={},
                                    headers={"Authorization": f"Bearer {demo_tokens['dcc']}", "If-Match": '"x"'})
    assert response.status_code == 404
    assert_api_answer(response)


ARABIC_INDIC_97 = "\u0669\u0667"  # "97" in Arabic-Indic digits: Python's \d matches them unless told ASCII only


@pytest.mark.parametrize("role, path, data, field", [
    ("secas", "/meetings/", {"reference": f"OPSG_{ARABIC_INDIC_97}", "held_on": "2030-01-29"}, "reference"),
    ("secas", "/actions/new", {"reference": f"OPSG {ARABIC_INDIC_97}/04", "text": "Check.", "owner_org": "dcc",
                               "raised_on": "2023-06-26", "target_on": "2030-01-31"}, "reference"),
    ("dcc", "/incidents/new", {"reference": "INC" + "\u0661" * 12, "title": "Outage", "category": "1",
                               "started_at": "2023-04-04 06:15"}, "reference"),
])
def test_references_take_ascii_digits_only(browsers, demo, role, path, data, field):
    response = browsers[role].post(path, data=data)
    assert response.status_code == 422, response.get_data(as_text=True)[:2000]
    assert f'id="{field}-error"' in response.get_data(as_text=True)
