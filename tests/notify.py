"""A real HTTP server on loopback standing in for the notification service: it records what it
is sent, and can be taken down and brought back."""

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    def link_token(self, page: str) -> str:
        match = re.search(rf"/{page}\?token=([A-Za-z0-9_\-]+)", self.body["text"])
        assert match, f"no /{page} link in the mail"
        return match.group(1)


@dataclass
class NotifyStub:
    deliveries: list[Delivery] = field(default_factory=list)
    status: int = 200
    delay: float = 0.0  # seconds before answering: a slow notification service
    server: ThreadingHTTPServer | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                time.sleep(stub.delay)
                length = int(self.headers.get("Content-Length", "0"))
                body = json.loads(self.rfile.read(length) or b"{}")
                if stub.status < 300:
                    stub.deliveries.append(Delivery(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                self.send_response(stub.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(b"{}")

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        """Down: the port refuses connections."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def to(self, recipient: str) -> list[Delivery]:
        return [delivery for delivery in self.deliveries if delivery.body["recipient"] == recipient]
