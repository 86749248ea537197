"""Fixtures for reminder tests: a loopback SMTP server the app sends to (helpers live in ``helpers``)."""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.reminder.helpers import SmtpServer


@pytest.fixture()
def smtp() -> Iterator[SmtpServer]:
    """A running SMTP server on 127.0.0.1 that records what it accepts."""
    server = SmtpServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture()
def app_config(smtp: SmtpServer) -> dict[str, Any]:
    """Send reminders to the loopback server, quickly failing when it is down."""
    return {"MAIL_SERVER": "127.0.0.1", "MAIL_PORT": smtp.port, "MAIL_TIMEOUT": 5}
