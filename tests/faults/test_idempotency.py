"""Two identical posts, one after the other or at the same instant, keep one: the database decides.

The API takes an ``Idempotency-Key`` header (IETF httpapi draft): the same key
and body replay the first answer, the same key with another body is 422. A
timeline entry or comment form carries the same kind of key in a hidden field
made when the page is shown. The key is a row unique per user, written with
the change in one transaction, so a second request under it waits for the
first's commit and answers as the first did. The concurrent cases run two
clients in two threads, the first held inside its transaction for a moment.
"""
from __future__ import annotations

import html
import re
import threading
import time
from typing import Any

import pytest
import sqlalchemy as sa

from incidents.audit import service as audit_service
from incidents.extensions import db
from tests.helpers import PG_URL

PUBLISHED = "INC000001001905"
ENTRY = {"occurred_at": "2023-04-04T10:40:00+01:00", "kind": "restored", "cohort": "CSP N", "text": "NTE reset."}
ENTRY_FORM = {"occurred_at": "2023-04-04 10:40", "kind": "restored", "cohort": "CSP N", "text": "NTE reset."}


def _count(table: str) -> int:
    db.session.rollback()
    return db.session.scalar(sa.text(f'SELECT COUNT(*) FROM "{table}"'))


def _hidden(page: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{re.escape(name)}"[^>]*value="([^"]*)"', page)
    assert match, f"no hidden {name}"
    return html.unescape(match.group(1))


def _api(client: Any, token: str, body: dict[str, Any], key: str | None = "8e03978e-40d5-43e8-bc93-6894a57f9324",
         path: str = f"/api/v1/incidents/{PUBLISHED}/timeline") -> Any:
    headers = {"Authorization": f"Bearer {token}"}
    if key is not None:
        headers["Idempotency-Key"] = key
    return client.post(path, json=body, headers=headers)


def _same_answer(first: Any, second: Any) -> None:
    assert (second.status_code, second.get_json(), second.headers.get("Location"), second.headers.get("ETag")) == \
        (first.status_code, first.get_json(), first.headers.get("Location"), first.headers.get("ETag"))


# --- One after the other ----------------------------------------------------------------------

@pytest.mark.parametrize("app_config", [{"DUPLICATE_SUBMISSION_SECONDS": 0}])  # only the key can tell
def test_the_same_key_and_body_replay_the_first_answer(app, demo_tokens):
    client, token = app.test_client(), demo_tokens["dcc"]
    before = _count("timeline_entry")
    first = _api(client, token, ENTRY, key='"retry-me-1"')  # as the draft writes it: a quoted string
    assert first.status_code == 201
    # Past the double-click window, the same key and body are still the same request: replayed, not added.
    second = _api(client, token, ENTRY, key="retry-me-1")
    _same_answer(first, second)
    assert _count("timeline_entry") == before + 1
    # Another key, or none, is another request: the same words are a new entry.
    assert _api(client, token, ENTRY, key="retry-me-2").status_code == 201
    assert _api(client, token, ENTRY, key=None).status_code == 201
    assert _count("timeline_entry") == before + 3


def test_the_same_key_with_another_body_is_422_and_a_bad_key_400(app, demo_tokens):
    client, token = app.test_client(), demo_tokens["dcc"]
    assert _api(client, token, ENTRY, key="key-a").status_code == 201
    before = _count("timeline_entry")
    refused = _api(client, token, {**ENTRY, "text": "Another entry."}, key="key-a")
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert "different request" in refused.get_json()["errors"]["Idempotency-Key"][0]
    for bad in ("", "has space", "a,b", '""', "x" * 256, "\x7f"):
        answer = _api(client, token, {**ENTRY, "text": f"Bad key {bad!r}."}, key=bad)
        assert answer.status_code == 400, bad
        assert "Idempotency-Key" in answer.get_json()["errors"]
    assert _count("timeline_entry") == before
    # Keys are each user's own: another person's same key is a request of theirs.
    admin = _api(client, demo_tokens["admin"], {**ENTRY, "text": "Admin's entry."}, key="key-a")
    assert admin.status_code == 201 and _count("timeline_entry") == before + 1


def test_a_failed_request_keeps_no_key(app, demo_tokens):
    client, token = app.test_client(), demo_tokens["dcc"]
    assert _api(client, token, {**ENTRY, "kind": "no-such-kind"}, key="k-1").status_code == 422
    assert _count("idempotency_key") == 0
    assert _api(client, token, ENTRY, key="k-1").status_code == 201


def test_a_form_sent_twice_is_kept_once_and_answered_as_the_first(browsers):
    dcc, opsg = browsers["dcc"], browsers["opsg"]
    page = dcc.get(f"/incidents/{PUBLISHED}").text
    data = {**ENTRY_FORM, "submission": _hidden(page, "submission")}
    before = _count("timeline_entry")
    first = dcc.post(f"/incidents/{PUBLISHED}/timeline", data=data)
    second = dcc.post(f"/incidents/{PUBLISHED}/timeline", data=data)
    assert first.status_code == second.status_code == 302 and first.location == second.location
    assert "Added a timeline entry" in dcc.get(second.location).text
    assert _count("timeline_entry") == before + 1

    review = opsg.get(f"/incidents/{PUBLISHED}/review").text
    comment = {"comment-body": "How long did CSP N take?", "comment-submission": _hidden(review, "comment-submission")}
    before = _count("review_comment")
    answers = [opsg.post(f"/incidents/{PUBLISHED}/review/comments", data=comment) for _ in range(2)]
    assert [a.status_code for a in answers] == [302, 302] and answers[0].location == answers[1].location
    assert _count("review_comment") == before + 1
    # The same form with other words under its key is refused, not saved.
    changed = opsg.post(f"/incidents/{PUBLISHED}/review/comments", data={**comment, "comment-body": "Other."})
    assert changed.status_code == 422 and "Reload the page" in changed.text
    assert _count("review_comment") == before + 1
    # A page shown again has a new key.
    assert _hidden(opsg.get(f"/incidents/{PUBLISHED}/review").text, "comment-submission") != \
        comment["comment-submission"]


# --- At the same instant ----------------------------------------------------------------------

@pytest.fixture()
def slow_audit(monkeypatch):
    """Hold each change inside its transaction for a moment, so that two requests overlap."""
    record = audit_service.record

    def slow(**kwargs):
        time.sleep(0.4)
        return record(**kwargs)

    monkeypatch.setattr(audit_service, "record", slow)


def _together(*calls):
    """Run the calls in threads released at the same instant; return their answers in order."""
    start, answers = threading.Barrier(len(calls)), [None] * len(calls)

    def run(n, call):
        start.wait()
        answers[n] = call()

    threads = [threading.Thread(target=run, args=(n, call)) for n, call in enumerate(calls)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


@pytest.mark.skipif(not PG_URL, reason="truly concurrent writers: PostgreSQL (SQLite takes one writer at a time)")
def test_two_identical_api_posts_at_the_same_instant_keep_one(app, demo_tokens, slow_audit):
    token, clients = demo_tokens["dcc"], [app.test_client(), app.test_client()]
    before = _count("timeline_entry")
    first, second = _together(*(lambda c=c: _api(c, token, ENTRY, key="same-instant") for c in clients))
    assert first.status_code == 201, first.text
    _same_answer(first, second)
    assert _count("timeline_entry") == before + 1


@pytest.mark.skipif(not PG_URL, reason="truly concurrent writers: PostgreSQL (SQLite takes one writer at a time)")
def test_two_identical_forms_at_the_same_instant_keep_one(app, demo, slow_audit):
    from incidents.demo import service as demo_service

    clients = []
    for _ in range(2):  # the same person in two tabs' worth of sessions
        client = app.test_client()
        assert client.post("/login", data={"email": "opsg@demo.example",
                                           "password": demo_service.DEMO_PASSWORD}).status_code == 302
        clients.append(client)
    review = clients[0].get(f"/incidents/{PUBLISHED}/review").text
    comment = {"comment-body": "Same instant.", "comment-submission": _hidden(review, "comment-submission")}
    before = _count("review_comment")
    answers = _together(*(lambda c=c: c.post(f"/incidents/{PUBLISHED}/review/comments", data=comment)
                          for c in clients))
    assert [a.status_code for a in answers] == [302, 302] and answers[0].location == answers[1].location
    assert _count("review_comment") == before + 1
