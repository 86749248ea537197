"""The first answer to each idempotency key, kept so that the same request sent again is answered the same."""
from __future__ import annotations

from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column

from incidents.extensions import Base
from incidents.timeutil import UTCDateTime, utcnow


class IdempotencyKey(Base):
    """One request under a client's key: what it asked (a fingerprint) and what it was answered.

    The row is written in the same transaction as the change the request made,
    and the key is unique per user: of two requests under one key at the same
    instant, the database makes the second wait for the first's commit and
    then refuses its row, so it replays the first answer instead.
    """

    __tablename__ = "idempotency_key"
    __table_args__ = (sa.UniqueConstraint("user_id", "key", name="uq_idempotency_key_user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(sa.String(255))
    # SHA-256 of the method, path and body: the same key with another request is refused, never replayed.
    fingerprint: Mapped[str] = mapped_column(sa.String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    status: Mapped[int | None] = mapped_column()
    content_type: Mapped[str | None] = mapped_column(sa.String(100))
    location: Mapped[str | None] = mapped_column(sa.String(2000))
    etag: Mapped[str | None] = mapped_column(sa.String(200))
    # The answer's body (an API answer), or the message a form flashed (a page).
    body: Mapped[str | None] = mapped_column(sa.Text)
