"""A test client that behaves like separate requests in production."""
from __future__ import annotations

from typing import Any

from tests.auth.isolated_client import IsolatedClient


class Browser(IsolatedClient):
    """A client whose requests each get their own application context, read to the end inside it.

    The test's own application context would otherwise be reused by every
    request, sharing ``g`` (and so the logged-in user) and the database
    session between clients and requests.
    """

    def open(self, *args: Any, **kwargs: Any) -> Any:
        """Buffer the body, so a streamed answer (CSV exports) is produced inside the request's context."""
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)
