"""People who use the tool, their roles and their API tokens."""
from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from flask import current_app, has_app_context
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from incidents.extensions import Base
from incidents.timeutil import UTCDateTime, utcnow


class Role(str, enum.Enum):
    """What a person may do; each maps to an organisation in the domain."""

    DCC = "dcc"
    SECAS = "secas"
    OPSG = "opsg"
    PARTY = "party"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        """Return the role's name for people."""
        return ROLE_LABELS[self]

    @property
    def organisation(self) -> str:
        """Return the organisation a person in this role speaks for (DCC, SECAS, the group: as configured)."""
        if has_app_context():
            # The organisations that own actions and receive reminders are named in one place, the configuration.
            named = current_app.config.get("ORGANISATIONS", {}).get(self.value)
            if named:
                return str(named)
        return ROLE_ORGANISATIONS[self]


ROLE_LABELS = {
    Role.DCC: "DCC incident manager",
    Role.SECAS: "SECAS reviewer",
    Role.OPSG: "OPSG member",
    Role.PARTY: "SEC Party",
    Role.ADMIN: "Administrator",
}
# Where a person works, shown beside their name ("Dana Clarke (DCC)"): the tool keeps no organisation per person,
# so it follows from the role. The configured ORGANISATIONS name the DCC, SECAS and the group; these are the
# words outside an application (and for the roles that are no organisation of their own).
ROLE_ORGANISATIONS = {
    Role.DCC: "DCC",
    Role.SECAS: "SECAS",
    Role.OPSG: "Operations Group",
    Role.PARTY: "SEC Party",
    Role.ADMIN: "Administrator",
}


class User(UserMixin, Base):
    """A person who logs in."""

    __tablename__ = "user"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    name: Mapped[str] = mapped_column(sa.String(120), default="")
    role: Mapped[Role] = mapped_column(sa.Enum(Role, native_enum=False, length=16,
                                               values_callable=lambda e: [m.value for m in e]))
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    # SHA-256 of the secret part of the user's iCalendar feed URL (deadlines in their own calendar); the link
    # itself is shown once, when it is made, as an API token is.
    calendar_token_hash: Mapped[str | None] = mapped_column(sa.String(64), unique=True)

    tokens: Mapped[list[ApiToken]] = relationship(back_populates="user", cascade="all, delete-orphan")

    @property
    def display_name(self) -> str:
        """Return the name, or the email when no name is set."""
        return self.name or self.email

    @property
    def person(self) -> str:
        """Return the name and organisation, as people are shown everywhere: "Dana Clarke (DCC)"."""
        return f"{self.display_name} ({self.role.organisation})"


class ApiToken(Base):
    """A bearer token for the JSON API; only its SHA-256 hash is stored."""

    __tablename__ = "api_token"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    prefix: Mapped[str] = mapped_column(sa.String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    user: Mapped[User] = relationship(back_populates="tokens")

    @property
    def is_revoked(self) -> bool:
        """Tell whether the token was revoked."""
        return self.revoked_at is not None
