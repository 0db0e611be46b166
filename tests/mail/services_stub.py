"""A real HTTP server on loopback standing in for a sibling service (credits, mail): it records
every request, answers with a set status and JSON, and can be taken down and brought back on the
same port."""

import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any  # the decoded JSON, None without a body


@dataclass
class ServiceStub:
    received: list[Received] = field(default_factory=list)
    status: int = 200
    answers: dict[tuple[str, str], bytes] = field(default_factory=dict)  # (method, path) → raw answer body; else `{}`
    delay: float = 0.0  # seconds before answering: a slow service
    location: str = ""  # sent as `Location` (with a 3xx status: a redirect)
    server: ThreadingHTTPServer | None = None
    port: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def answer(self, method: str, path: str, body: Any) -> None:
        self.answers[(method, path)] = json.dumps(body).encode()

    def start(self) -> None:
        stub = self

        class Handler(BaseHTTPRequestHandler):
            def handle_any(self) -> None:
                time.sleep(stub.delay)
                length = int(self.headers.get("Content-Length", "0"))
                raw = self.rfile.read(length) if length else b""
                headers = {k.lower(): v for k, v in self.headers.items()}
                stub.received.append(Received(self.command, self.path, headers, json.loads(raw) if raw else None))
                answer = stub.answers.get((self.command, self.path), b"{}")
                self.send_response(stub.status)
                self.send_header("Content-Type", "application/json")
                if stub.location:
                    self.send_header("Location", stub.location)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            do_GET = do_POST = do_DELETE = handle_any

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        """Down: the port refuses connections."""
        if self.server is not None:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def requests(self, method: str, path: str) -> list[Received]:
        return [request for request in self.received if (request.method, request.path) == (method, path)]
