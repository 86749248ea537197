"""Fixtures for notification tests: a loopback SMTP server, a loopback webhook receiver, API tokens per role."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from incidents.extensions import db
from incidents.user import service as user_service
from tests.notification.receiver import Receiver
from tests.reminder.helpers import SmtpServer


@pytest.fixture()
def smtp() -> Iterator[SmtpServer]:
    """A running SMTP server on 127.0.0.1 that records what it accepts."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture()
def receiver() -> Iterator[Receiver]:
    """A webhook receiver on 127.0.0.1 that checks each delivery's signature."""
    found = Receiver()
    found.start()
    yield found
    found.stop()


@pytest.fixture()
def app_config(smtp: SmtpServer) -> dict[str, Any]:
    """Send email to the loopback server, quickly failing when it is down."""
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port, "MAIL_TIMEOUT": 5}


@pytest.fixture()
def tokens(users: dict[str, Any]) -> dict[str, str]:
    """One committed API token per role."""
    made = {role: user_service.issue_token(user=user) for role, user in users.items()}
    db.session.commit()
    return made


@pytest.fixture()
def principles(app: Any) -> None:
    """The default exclusion principles."""
    from incidents.principle import service as principle_service

    principle_service.seed_defaults()
    db.session.commit()
