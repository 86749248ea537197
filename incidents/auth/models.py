"""Failed logins (kept briefly to throttle password guessing), login sessions, and secrets waiting to be shown."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.extensions import Base
from incidents.timeutil import UTCDateTime, utcnow
from incidents.user.models import User


class LoginFailure(Base):
    """One failed login: when, from where, for which account (hashed)."""

    __tablename__ = "login_failure"
    __table_args__ = (sa.Index("ix_login_failure_ip_at", "ip", "at"),
                      sa.Index("ix_login_failure_ip_email_at", "ip", "email_hash", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ip: Mapped[str] = mapped_column(sa.String(64))
    email_hash: Mapped[str] = mapped_column(sa.String(64))


class LoginSession(Base):
    """A logged-in browser session, held on the server; the cookie carries only its random key.

    The key itself is never stored, only its SHA-256 (as API tokens are), so a copy of the database opens no
    session. Ending a session deletes its row: the cookie that names it opens nothing any more.
    """

    __tablename__ = "login_session"

    id: Mapped[int] = mapped_column(primary_key=True)
    key_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    # Written at most once a minute, so a request reads its session without writing it.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime())
    user_agent: Mapped[str] = mapped_column(sa.String(255), default="")
    address: Mapped[str] = mapped_column(sa.String(64), default="")
    # The configured identity provider the session was signed in with (None: a password), for its logout.
    provider: Mapped[str | None] = mapped_column(sa.String(40))

    user: Mapped[User] = relationship()


class IssuedSecret(Base):
    """A just-issued API token or calendar link waiting to be shown once, to the session that asked for it.

    Sealed with the session's key, which only the browser's cookie holds (the table keeps its hash): the
    database alone never gives the secret, and the cookie never carries it. Deleted when shown, when its session
    ends, or after SHOWN_ONCE_MINUTES.
    """

    __tablename__ = "issued_secret"
    __table_args__ = (sa.UniqueConstraint("login_session_id", "purpose"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    login_session_id: Mapped[int] = mapped_column(sa.ForeignKey("login_session.id", ondelete="CASCADE"))
    # What it is and for whom: "api_token:<user id>", "calendar_link".
    purpose: Mapped[str] = mapped_column(sa.String(40))
    nonce: Mapped[str] = mapped_column(sa.String(32))
    sealed: Mapped[str] = mapped_column(sa.String(128))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class IdentityLink(Base):
    """An account's identity at an OpenID Connect provider: the (issuer, subject) pair its ID tokens carry.

    A person is recognised by this pair, never by email alone: an address can be reassigned, a subject cannot.
    """

    __tablename__ = "identity_link"
    __table_args__ = (sa.UniqueConstraint("issuer", "subject"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    # The configured provider's name when the link was made (the issuer is what identifies it).
    provider: Mapped[str] = mapped_column(sa.String(40))
    issuer: Mapped[str] = mapped_column(sa.String(255))
    subject: Mapped[str] = mapped_column(sa.String(255))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_sign_in_at: Mapped[datetime] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship()
