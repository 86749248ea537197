"""Repeated failed logins are throttled per address, never per account alone."""
from __future__ import annotations

from tests import factories


def _login(client, email, password, ip="10.0.0.1"):
    return client.post("/login", data={"email": email, "password": password},
                       environ_overrides={"REMOTE_ADDR": ip})


def test_account_guessing_is_throttled_from_one_address_but_not_others(client, users):
    user = users["dcc"]
    for _ in range(5):
        assert _login(client, user.email, "wrong-password").status_code == 200
    blocked = _login(client, user.email, factories.PASSWORD)
    assert blocked.status_code == 429
    assert b"Too many failed logins" in blocked.data
    assert int(blocked.headers["Retry-After"]) > 0
    # The same account from another address is not locked out.
    elsewhere = _login(client, user.email, factories.PASSWORD, ip="10.0.0.2")
    assert elsewhere.status_code == 302


def test_success_clears_the_count(client, users):
    user = users["secas"]
    for _ in range(4):
        _login(client, user.email, "wrong-password")
    assert _login(client, user.email, factories.PASSWORD).status_code == 302
    client.post("/logout")
    for _ in range(4):
        assert _login(client, user.email, "wrong-password").status_code == 200
    assert _login(client, user.email, factories.PASSWORD).status_code == 302
