"""Helpers for reminder tests: UK wall-clock times, a real SMTP server on loopback, a sweep on a given day.

The server is aiosmtpd on 127.0.0.1 with a free port; its handler keeps every
message it accepted, so tests count what really went over SMTP. Nothing here
can reach a mail server outside this machine.
"""
from __future__ import annotations

import asyncio
import email
import email.parser
import email.policy
import socket
import threading
from collections import Counter
from datetime import date, datetime, time
from email.message import EmailMessage
from typing import Any
from zoneinfo import ZoneInfo

from aiosmtpd.controller import Controller

from incidents.reminder import jobs
from incidents.timeutil import UTC

LONDON = ZoneInfo("Europe/London")


def uk(day: date, hour: int = 9, minute: int = 0) -> datetime:
    """Return UK wall-clock time on ``day`` as aware UTC."""
    return datetime.combine(day, time(hour, minute), tzinfo=LONDON).astimezone(UTC)


def free_port() -> int:
    """Return a TCP port on loopback that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Recorder:
    """aiosmtpd handler that keeps each accepted message (as bytes: parsing waits until a test asks)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.raw: list[bytes] = []
        self._refusals = 0
        # Answer QUIT with an error, as a server may when it closes after accepting a message.
        self.bad_quit = False
        # The client address of each accepted message: one per connection.
        self.peers: list[Any] = []
        # Close the connection after accepting the message with this number (1 = the first), as a server
        # that drops idle or long-lived connections does.
        self.drop_after: set[int] = set()
        # Seconds to take over each message before answering, as a slow relay does (other connections go on).
        self.delay = 0.0

    def refuse(self, count: int) -> None:
        """Answer the next ``count`` messages with a temporary failure (451)."""
        with self.lock:
            self._refusals = count

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        """Keep the message, then accept it (or refuse it, when asked to)."""
        if self.delay:
            await asyncio.sleep(self.delay)
        with self.lock:
            if self._refusals:
                self._refusals -= 1
                return "451 4.3.0 Mailbox busy, try again later"
            self.raw.append(bytes(envelope.content))
            self.peers.append(session.peer)
            if len(self.raw) in self.drop_after:
                asyncio.get_running_loop().call_soon(server.transport.close)
        return "250 Message accepted"

    async def handle_QUIT(self, server: Any, session: Any, envelope: Any) -> str:
        """Say goodbye, or fail to, when asked to."""
        return "421 4.3.0 Closing after an internal error" if self.bad_quit else "221 Bye"


class SmtpServer:
    """A loopback SMTP server that can be stopped (port closed) and started again on the same port."""

    def __init__(self) -> None:
        self.port = free_port()
        self.recorder = Recorder()
        self._controller: Controller | None = None

    def start(self) -> None:
        """Listen on the port (a new controller each time: a stopped one cannot restart)."""
        self._controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port,
                                      server_hostname="smtp.test", ready_timeout=5)
        self._controller.start()

    def stop(self) -> None:
        """Close the port; connections are refused until ``start`` again."""
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    @property
    def messages(self) -> list[EmailMessage]:
        """Return every accepted message, parsed, in arrival order."""
        with self.recorder.lock:
            raw = list(self.recorder.raw)
        return [email.message_from_bytes(data, policy=email.policy.default) for data in raw]  # type: ignore[misc]

    def count(self) -> int:
        """Return how many messages were accepted."""
        with self.recorder.lock:
            return len(self.recorder.raw)

    def ids(self) -> Counter[str]:
        """Count the accepted messages by Message-ID (headers only, which is quick)."""
        with self.recorder.lock:
            raw = list(self.recorder.raw)
        parser = email.parser.BytesHeaderParser(policy=email.policy.compat32)
        return Counter(str(parser.parsebytes(data)["Message-ID"]).strip() for data in raw)

    def subjects(self, start: int = 0) -> list[str]:
        """Return the accepted subjects from message ``start`` on, unfolded as a mail client shows them."""
        with self.recorder.lock:
            raw = self.recorder.raw[start:]
        parser = email.parser.BytesHeaderParser(policy=email.policy.default)
        # Python folds a long Subject right after the colon and its parser then keeps the
        # leading space of the continuation line; mail clients drop it.
        return [str(parser.parsebytes(data)["Subject"]).strip() for data in raw]


def sweep_on(day: date, *, worker: str = "test-sweep", hour: int = 9, minute: int = 0) -> jobs.SweepResult:
    """Run one sweep at ``hour:minute`` UK time on ``day``."""
    return jobs.sweep(now=uk(day, hour, minute), worker=worker)
