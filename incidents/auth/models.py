"""Failed logins, kept briefly to throttle password guessing."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from incidents.extensions import Base
from incidents.timeutil import UTCDateTime, utcnow


class LoginFailure(Base):
    """One failed login: when, from where, for which account (hashed)."""

    __tablename__ = "login_failure"
    __table_args__ = (sa.Index("ix_login_failure_ip_at", "ip", "at"),
                      sa.Index("ix_login_failure_ip_email_at", "ip", "email_hash", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    ip: Mapped[str] = mapped_column(sa.String(64))
    email_hash: Mapped[str] = mapped_column(sa.String(64))
