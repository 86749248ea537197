"""Repeated failed logins are throttled per address, never per account alone."""
from __future__ import annotations

import sqlalchemy as sa

from incidents.extensions import db
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


def test_parallel_guesses_get_no_more_tries_than_the_limit(app, users, monkeypatch):
    """Many workers checking passwords at once: each attempt is counted in the database before its check."""
    import threading
    import time

    from incidents.user import service as user_service

    checking = user_service.authenticate

    def slow_check(email, password):
        time.sleep(0.3)  # a real scrypt check takes this long: every guess is in flight together
        return checking(email, password)

    monkeypatch.setattr(user_service, "authenticate", slow_check)
    email, limit, guesses = users["dcc"].email, app.config["LOGIN_MAX_FAILURES_PER_ACCOUNT"], 12
    clients = [app.test_client() for _ in range(guesses)]
    start = threading.Barrier(guesses)
    statuses: list[int] = []

    def guess(client):
        start.wait()
        statuses.append(_login(client, email, "wrong-password").status_code)

    threads = [threading.Thread(target=guess, args=(client,)) for client in clients]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # Never more checked guesses than the limit. A burst may be held to fewer, even to none: each attempt counts
    # every one in flight, so when all twelve are written before any counts, all twelve are refused.
    assert len(statuses) == guesses and set(statuses) <= {200, 429}
    assert statuses.count(200) <= limit < guesses, statuses
    assert statuses.count(429) >= guesses - limit, statuses
    # Only the checked guesses stay counted: the refused ones took their rows back.
    from incidents.auth.models import LoginFailure
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(LoginFailure)) == statuses.count(200)
