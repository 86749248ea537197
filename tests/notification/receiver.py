"""A webhook receiver on loopback that checks the Standard Webhooks signature of each delivery itself.

It verifies as a receiver written from the specification would: the secret's base64 part decoded is the
HMAC-SHA256 key, the signed text is "webhook-id.webhook-timestamp.body", and any "v1," signature in the
space-separated header may match (compared in constant time). It can be told to fail the next few requests.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


def verify(secret: str, headers: dict[str, str], body: bytes) -> bool:
    """Tell whether a delivery's signature header holds a valid v1 signature of its id, timestamp and body."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    signed = f"{headers['webhook-id']}.{headers['webhook-timestamp']}.".encode() + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    for candidate in headers.get("webhook-signature", "").split(" "):
        version, _, value = candidate.partition(",")
        if version == "v1" and hmac.compare_digest(value, expected):
            return True
    return False


@dataclass
class Delivery:
    """One request the receiver answered."""

    headers: dict[str, str]
    body: bytes
    status: int
    is_valid: bool

    @property
    def json(self) -> Any:
        """Return the body parsed."""
        return json.loads(self.body)


class Receiver:
    """A threaded HTTP server on 127.0.0.1 recording every POST; 2xx for a valid signature, else 401."""

    def __init__(self) -> None:
        self.secret = ""
        self.fail_next = 0
        self.requests: list[Delivery] = []
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                headers = {name.lower(): value for name, value in self.headers.items()}
                is_valid = bool(outer.secret) and "webhook-id" in headers and verify(outer.secret, headers, body)
                with outer.lock:
                    if outer.fail_next:
                        outer.fail_next -= 1
                        status = 500
                    else:
                        status = 204 if is_valid else 401
                    outer.requests.append(Delivery(headers, body, status, is_valid))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        """Return the receiver's URL."""
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/incidents"

    def start(self) -> None:
        """Start answering."""
        self._thread.start()

    def stop(self) -> None:
        """Stop answering and close the port."""
        self._server.shutdown()
        self._server.server_close()

    def accepted(self) -> list[Delivery]:
        """Return the deliveries answered with 2xx."""
        with self.lock:
            return [found for found in self.requests if 200 <= found.status < 300]
