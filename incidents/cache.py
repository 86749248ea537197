"""Results of heavy reads, kept per process until the data changes.

The PMR and the dashboard aggregate over every incident of a month or every
review; the answers change only when someone changes a record. Each commit
that changes a record (anything but reminders, login failures and the audit
trail that accompanies every change) adds one to a counter in the database,
in the same transaction; a cached answer is used only while the counter is
where it was when the answer was computed. So every process (each web worker,
the scheduler, the CLI) sees a change as soon as it is committed, and the
cost of a cached page no longer grows with the data.

Whole pages are kept too (``cached_page``), per user and per UK day, so a page
that counts days (overdue actions, deadlines) is never older than today; the
CSRF token, which differs per session, is put back into each copy served, and a
page showing one-time messages is never kept.
"""
from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import current_app, has_request_context, request, session
from flask.globals import request_ctx
from flask_login import current_user
from flask_wtf.csrf import generate_csrf
from markupsafe import Markup
from sqlalchemy import event
from sqlalchemy.orm import Session

from incidents.extensions import db
from incidents.timeutil import local_date, utcnow

T = TypeVar("T")
# Tables whose changes never alter a cached answer.
UNTRACKED = frozenset({"reminder", "login_failure", "audit_entry"})
MAX_ENTRIES = 256

version_table = sa.Table(
    "data_version", db.metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("counter", sa.BigInteger, nullable=False),
)

_lock = threading.Lock()
_installed = False


_REQUEST_KEY = "incidents.data_version"


def data_version() -> int:
    """Return the change counter (read once per request)."""
    if has_request_context() and _REQUEST_KEY in request.environ:
        return int(request.environ[_REQUEST_KEY])
    value = int(db.session.scalar(sa.select(version_table.c.counter).where(version_table.c.id == 1)) or 0)
    if has_request_context():
        request.environ[_REQUEST_KEY] = value
    return value


def version_column() -> sa.ScalarSelect[Any]:
    """The counter as a column, for a query a request runs anyway (loading its user) to fetch it too."""
    return sa.select(version_table.c.counter).where(version_table.c.id == 1).scalar_subquery()


def remember_version(value: int | None) -> None:
    """Keep the counter a request's own query fetched (see version_column), so data_version needs no query."""
    if has_request_context():
        request.environ[_REQUEST_KEY] = int(value or 0)


def cached(key: Hashable, compute: Callable[[], T], *, keep: Callable[[], bool] | None = None) -> T:
    """Return ``compute()``, reusing this process's answer while no record has changed since.

    ``keep``, when given, is asked after computing whether the answer may be kept.
    """
    store: OrderedDict[Any, Any] = current_app.extensions.setdefault("incidents.cache", OrderedDict())
    # The counter is read before the data the answer is computed from (at the latest, here), so an answer is
    # never older than the counter it is filed under.
    full_key = (key, data_version())
    with _lock:
        if full_key in store:
            store.move_to_end(full_key)
            return store[full_key]  # type: ignore[no-any-return]
    value = compute()
    if keep is not None and not keep():
        return value
    with _lock:
        store[full_key] = value
        while len(store) > current_app.config["CACHE_ENTRIES"]:
            store.popitem(last=False)
    return value


# Cached HTML holds this where a form carries the session's CSRF token; each request puts its own back.
TOKEN_PLACEHOLDER = "csrf-token-placeholder-4b1f0c"
_PLACEHOLDER_BYTES = TOKEN_PLACEHOLDER.encode()


def cached_with_token(key: Hashable, render: Callable[[], str]) -> Markup:
    """HTML the same for every session but for its CSRF token, kept until a record changes."""
    token = generate_csrf()
    html = cached(key, lambda: render().replace(token, TOKEN_PLACEHOLDER))
    return Markup(html.replace(TOKEN_PLACEHOLDER, token))


def cached_page(key: Hashable, render: Callable[[], str]) -> bytes:
    """A whole page for the signed-in user, kept (encoded, ready to send) until a record changes or the UK day ends.

    ``key`` names what the page shows (its own arguments); the user and the day are added here.
    A page with one-time messages (flashes) is rendered afresh and not kept: they show once.
    """
    if "_flashes" in session:
        return render().encode()
    user = current_user._get_current_object()
    token = generate_csrf()
    page = cached(("page", user.id, local_date(utcnow()), key),
                  lambda: render().replace(token, TOKEN_PLACEHOLDER).encode(), keep=lambda: not request_ctx.flashes)
    return page.replace(_PLACEHOLDER_BYTES, token.encode())


def _note_changes(session: Session, flush_context: Any, instances: Any) -> None:
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(obj, "__tablename__", None)
        if table not in UNTRACKED and (obj in session.new or obj in session.deleted or session.is_modified(obj)):
            session.info["cache.changed"] = True
            return


def _bump(session: Session) -> None:
    if session.in_nested_transaction():
        return
    session.flush()  # before_commit runs before the commit's own flush
    if session.info.pop("cache.changed", False):
        bumped = session.execute(sa.update(version_table).where(version_table.c.id == 1)
                                 .values(counter=version_table.c.counter + 1))
        if bumped.rowcount == 0:  # a database made without the migrations' first row
            session.execute(sa.insert(version_table).values(id=1, counter=1))
        if has_request_context():
            request.environ.pop(_REQUEST_KEY, None)


def _forget(session: Session, *args: Any) -> None:
    session.info.pop("cache.changed", None)


def install() -> None:
    """Listen on the app's session (once per process): note changes at flush, count them at commit."""
    global _installed
    if _installed:
        return
    event.listen(db.session, "before_flush", _note_changes)
    event.listen(db.session, "before_commit", _bump)
    event.listen(db.session, "after_rollback", _forget)
    _installed = True
