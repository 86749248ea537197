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

On PostgreSQL a web process need not even read the counter: every count is
announced (NOTIFY, signed with the app's secret key) as it commits, and each
process listens (``Listener``), so a kept page, its user included
(``kept_row``), is served with no query. A process hears another's change when
the database tells it, microseconds after the commit; its own changes at once.
A person who has just changed something gets the counter read from the
database, on any process, for ``CACHE_CONFIRM_SECONDS`` (their session says
until when), so they see their own change wherever their next request lands.
The database has the last word: each process reads the counter at least every
``CACHE_CONFIRM_SECONDS`` and when its listening connection fails, so a lost
announcement delays a change by that much at most; kept user rows are read
again then; and a counter that went back (a restore) drops everything kept.
"""
from __future__ import annotations

import functools
import hashlib
import hmac
import os
import select
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import current_app, has_request_context, request
from flask import session as web_session
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
# Until when (Unix time) a person who has just changed something gets the counter read from the database.
FRESH_KEY = "read_counter_until"
# Where each count is announced on PostgreSQL (see ``announcement``).
CHANNEL = "incidents_data_version"


def data_version() -> int:
    """Return the change counter (once per request: heard, or read from the database)."""
    if not has_request_context():
        return _read_version()
    if _REQUEST_KEY in request.environ:
        return int(request.environ[_REQUEST_KEY])
    value = known_version()
    if value is None:
        value = _read_version()
        confirm_version(value)
    request.environ[_REQUEST_KEY] = value
    return value


def _counter() -> sa.Select[Any]:
    return sa.select(version_table.c.counter).where(version_table.c.id == 1)


def _read_version() -> int:
    return int(db.session.scalar(_counter()) or 0)


def version_column() -> sa.ScalarSelect[Any]:
    """The counter as a column, for a query a request runs anyway (loading its user) to fetch it too."""
    return _counter().scalar_subquery()


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
    if "_flashes" in web_session:
        return render().encode()
    user = current_user._get_current_object()
    token = generate_csrf()
    page = cached(("page", user.id, local_date(utcnow()), key),
                  lambda: render().replace(token, TOKEN_PLACEHOLDER).encode(), keep=lambda: not request_ctx.flashes)
    return page.replace(_PLACEHOLDER_BYTES, token.encode())


def known_version() -> int | None:
    """The counter as this process last heard it, or None when it must be read from the database.

    None when nothing is listening (SQLite, ``CACHE_LISTEN`` off, the connection lost), when the counter has
    not been confirmed for ``CACHE_CONFIRM_SECONDS``, and just after the signed-in person changed something.
    """
    listener = _listener()
    if listener is None:
        return None
    if has_request_context():
        fresh_until = web_session.get(FRESH_KEY, 0)
        if isinstance(fresh_until, int | float) and fresh_until > time.time():
            return None
    return listener.version()


def confirm_version(counter: int) -> None:
    """Tell the listener what the database said the counter is, after known_version() gave None."""
    listener = _listener()
    if listener is not None:
        listener.confirm(counter)


def kept_row(key: Hashable, version: int, read: Callable[[], T | None]) -> T | None:
    """``read()``, kept while the counter stays at ``version`` (a heard one); an answer of None is not kept.

    For the row a request loads its user from: every change to a user or a token moves the counter.
    """
    store: dict[Any, Any] = current_app.extensions.setdefault("incidents.rows", {})
    with _lock:
        if store.get("version") != version or len(store) > current_app.config["CACHE_ENTRIES"] * 4:
            store.clear()
            store["version"] = version
        if key in store:
            return store[key]  # type: ignore[no-any-return]
    value = read()
    if value is not None:
        with _lock:
            if store.get("version") == version:
                store[key] = value
    return value


def count_change(connection: sa.Connection) -> int:
    """Add one to the counter in ``connection``'s transaction and announce it on commit; return the new value.

    Every change to a record goes through here (the session hook below); so must any other writer.
    """
    columns = [version_table.c.counter]
    if connection.dialect.name == "postgresql":
        columns.append(sa.literal_column("tableoid"))  # names the counter's table in the announcement
    row = connection.execute(sa.update(version_table).where(version_table.c.id == 1)
                             .values(counter=version_table.c.counter + 1).returning(*columns)).first()
    if row is None:  # a database made without the migrations' first row
        row = connection.execute(sa.insert(version_table).values(id=1, counter=1).returning(*columns)).first()
    assert row is not None
    if connection.dialect.name == "postgresql":
        # Delivered to every listener when (and only if) the transaction commits.
        connection.execute(sa.select(sa.func.pg_notify(
            CHANNEL, announcement(current_app.config["SECRET_KEY"], int(row.tableoid), int(row.counter)))))
    return int(row.counter)


def announcement(secret: str | bytes, table: int, counter: int) -> str:
    """What a count is announced as: "<table oid>:<counter>:<signature>". The table's oid tells one database's
    counter from another schema's (they share the channel); the signature, with the app's secret key, stops
    anyone else who can connect (NOTIFY needs no privilege) from moving a process's counter."""
    body = f"{table}:{counter}"
    key = secret.encode() if isinstance(secret, str) else secret
    return f"{body}:{hmac.new(key, body.encode(), hashlib.sha256).hexdigest()[:32]}"


class Listener:
    """This process's ear on the database's announcements of the change counter (PostgreSQL LISTEN).

    It listens on a connection of its own, taken from the engine's pool and detached from it, and takes in what
    has arrived without waiting, when a request asks (a poll of the socket; no thread). The database has the
    last word: each confirmation takes its counter, even a lower one (a restored database), and then ``forget``
    is called to drop what was kept (``pages=True`` when the counter went back). ``clock`` is the time source of
    the confirmation interval.
    """

    def __init__(self, engine: sa.Engine, *, secret: str | bytes, confirm_seconds: float,
                 forget: Callable[..., None], clock: Callable[[], float] = time.monotonic):
        self.engine = engine
        self.secret = secret
        self.confirm_seconds = confirm_seconds
        self.forget = forget
        self.clock = clock
        self.lock = threading.Lock()
        self.known = 0
        self.table = 0
        self._raw: Any = None  # the pool's proxy of the connection, detached
        self._poll: Any = None
        self._pid = 0
        self._confirmed_at = 0.0
        self._retry_at = 0.0
        self._backoff = 1.0
        self._orphans: list[Any] = []  # a parent process's connection: never closed (nor collected) in a child
        event.listen(engine, "engine_disposed", lambda _engine: self.close())

    def version(self) -> int | None:
        """The counter heard last; None when the database must be asked (see ``known_version``)."""
        with self.lock:
            if not self._listening() or not self._drain():
                return None
            if self.clock() - self._confirmed_at > self.confirm_seconds:
                return None
            return self.known

    def confirm(self, counter: int) -> None:
        """The database says the counter is ``counter``.

        Newer than heard, and not heard within a moment: the connection missed an announcement, so it listens
        afresh. Older than heard: the database went back (a restore) or an announcement lied; what was kept under
        counters it will reach again is dropped.
        """
        with self.lock:
            if not self._owned():
                return
            if counter > self.known and not self._drain(wait=0.1, until=counter):
                self._close()
                return
            went_back = counter < self.known
            self.known = counter
            self._confirmed_at = self.clock()
        # Kept user rows are read again at least this often, so a change made outside the app (SQL by hand,
        # uncounted) to an account or a token holds within the interval too.
        self.forget(pages=went_back)

    def heard(self, counter: int) -> None:
        """This process committed ``counter``."""
        with self.lock:
            if self._owned():
                self.known = max(self.known, counter)

    def close(self) -> None:
        """Stop listening (the engine was disposed); the next request listens afresh."""
        with self.lock:
            self._close()

    @property
    def connection(self) -> Any:
        """The listening DBAPI connection, if any."""
        return self._raw.dbapi_connection if self._owned() else None

    def _owned(self) -> bool:
        return self._raw is not None and self._pid == os.getpid()

    def _listening(self) -> bool:
        if self._owned():
            return True
        if self._raw is not None:  # forked: the connection is the parent's
            self._orphans.append(self._raw)
            self._raw = None
        if time.monotonic() < self._retry_at:
            return False
        raw = None
        try:
            raw = self.engine.raw_connection()
            raw.detach()
            conn = raw.dbapi_connection
            conn.autocommit = True
            conn.execute(f"LISTEN {CHANNEL}")
            # Listening first, then reading: a count committed in between is both read and heard.
            table, counter = conn.execute(
                "SELECT 'data_version'::regclass::oid::bigint, (SELECT counter FROM data_version WHERE id = 1)"
            ).fetchone()
            before, self.known = self.known, int(counter or 0)
            self._raw, self._pid, self.table = raw, os.getpid(), int(table)
            self._poll = select.poll()
            self._poll.register(conn.fileno(), select.POLLIN)
            self._take_in()  # what arrived while the statements ran is held by the driver, not on the socket
        except Exception:  # noqa: BLE001  (any failure: the database is asked instead, which reports it)
            if raw is not None:
                _quietly_close(raw)
            self._raw = None
            self._retry_at, self._backoff = time.monotonic() + self._backoff, min(self._backoff * 2, 30.0)
            return False
        self._backoff = 1.0
        self._confirmed_at = self.clock()
        if self.known < before:
            self.forget(pages=True)
        return True

    def _drain(self, *, wait: float = 0.0, until: int = 0) -> bool:
        """Take in what has arrived (waiting up to ``wait`` s for the counter to reach ``until``); False when
        the connection has failed (and is closed) or the wait ran out."""
        deadline = time.monotonic() + wait
        try:
            for _ in range(100):  # bounded: a flood of announcements is taken in over several requests
                timeout = max(0.0, deadline - time.monotonic()) if self.known < until else 0.0
                if not self._poll.poll(timeout * 1000):
                    break
                # Readable with nothing to take in is a message of the server's own: its closing, say, after
                # which the next read raises.
                self._take_in()
        except Exception:  # noqa: BLE001  (a broken connection, whatever the driver calls it)
            self._close()
            return False
        return self.known >= until

    def _take_in(self) -> None:
        for note in self._raw.dbapi_connection.notifies(timeout=0):
            table, _, counter = note.payload.partition(":")
            counter = counter.partition(":")[0]
            if (table == str(self.table) and counter.isdigit()
                    and hmac.compare_digest(note.payload, announcement(self.secret, self.table, int(counter)))):
                self.known = max(self.known, int(counter))

    def _close(self) -> None:
        if self._owned():
            _quietly_close(self._raw)
        elif self._raw is not None:
            self._orphans.append(self._raw)
        self._raw = self._poll = None


def _quietly_close(raw: Any) -> None:
    try:
        raw.close()
    except Exception:  # noqa: BLE001, S110  (closing a connection that is already gone)
        pass


def _listener() -> Listener | None:
    """The app's listener, started on first use; None when not listening (SQLite, or CACHE_LISTEN off)."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    listener = app.extensions.get("incidents.listener")
    if listener is None:
        with _lock:
            listener = app.extensions.get("incidents.listener")
            if listener is None:
                engine = db.engine
                listening = engine.dialect.name == "postgresql" and _switched_on(app.config["CACHE_LISTEN"])
                listener = app.extensions["incidents.listener"] = Listener(
                    engine, secret=app.config["SECRET_KEY"], confirm_seconds=float(app.config["CACHE_CONFIRM_SECONDS"]),
                    forget=functools.partial(_drop_kept, app)) if listening else False
    return listener or None


def _switched_on(value: Any) -> bool:
    """A yes/no setting, also as the environment gives it (``false``, ``False``, ``0``, ``off``)."""
    return value if isinstance(value, bool) else str(value).strip().lower() not in {"", "0", "false", "no", "off"}


def _drop_kept(app: Any, *, pages: bool) -> None:
    """Drop the user rows this process keeps, and with ``pages`` every kept answer and page too."""
    with _lock:
        app.extensions.pop("incidents.rows", None)
        if pages:
            app.extensions.pop("incidents.cache", None)


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
        session.info["cache.counted"] = count_change(session.connection())
        if has_request_context():
            request.environ.pop(_REQUEST_KEY, None)


def _committed(session: Session) -> None:
    counter = session.info.pop("cache.counted", None)
    if counter is None:
        return
    listener = current_app.extensions.get("incidents.listener")
    if listener:
        listener.heard(counter)
    if has_request_context() and "_user_id" in web_session:
        # Other processes hear of it a moment from now; until then this person's requests read the counter.
        web_session[FRESH_KEY] = round(time.time() + float(current_app.config["CACHE_CONFIRM_SECONDS"]), 3)


def _forget(session: Session, *args: Any) -> None:
    session.info.pop("cache.changed", None)
    session.info.pop("cache.counted", None)


def install() -> None:
    """Listen on the app's session (once per process): note changes at flush, count them at commit."""
    global _installed
    if _installed:
        return
    event.listen(db.session, "before_flush", _note_changes)
    event.listen(db.session, "before_commit", _bump)
    event.listen(db.session, "after_commit", _committed)
    event.listen(db.session, "after_rollback", _forget)
    _installed = True
