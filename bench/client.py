"""A minimal HTTP/1.1 client on asyncio streams: the load generator.

Standard library only, so the benchmark adds no dependency. A connection is kept alive for as
long as the server allows; gunicorn's sync workers (what production runs) answer every request
with `Connection: close`, so in practice each request pays one loopback TCP connect, exactly as a
proxy in front of sync workers does.
"""

import asyncio
import json
from dataclasses import dataclass
from typing import Any

HEAD_LIMIT = 64 * 1024


class HttpError(Exception):
    """An answer a scenario did not expect, or none at all (refused, broken framing, timeout)."""


@dataclass(frozen=True)
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class Connection:
    """One client connection; requests on it are sequential."""

    def __init__(self, host: str, port: int, *, host_header: str, timeout: float = 10.0) -> None:
        self.host = host
        self.port = port
        self.host_header = host_header
        self.timeout = timeout
        self._streams: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None

    async def request(
        self, method: str, path: str, *, body: Any = None, headers: dict[str, str] | None = None, expect: int = 200
    ) -> Response:
        payload = b"" if body is None else json.dumps(body, separators=(",", ":")).encode()
        lines = [f"{method} {path} HTTP/1.1", f"Host: {self.host_header}", f"Content-Length: {len(payload)}"]
        if body is not None:
            lines.append("Content-Type: application/json")
        lines.extend(f"{name}: {value}" for name, value in (headers or {}).items())
        raw = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload
        try:
            response = await asyncio.wait_for(self._exchange(raw), self.timeout)
        except (OSError, EOFError, ValueError, TimeoutError) as exc:  # IncompleteReadError is an EOFError, LimitOverrun a ValueError
            self.close()
            raise HttpError(f"{method} {path}: {type(exc).__name__} {exc}".strip()) from exc
        if response.status != expect:
            raise HttpError(f"{method} {path}: {response.status} {response.body[:200]!r}")
        return response

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
            self._streams = None

    async def _exchange(self, raw: bytes) -> Response:
        if self._streams is None:
            self._streams = await asyncio.open_connection(self.host, self.port, limit=HEAD_LIMIT)
        reader, writer = self._streams
        writer.write(raw)
        await writer.drain()
        status_line, *header_lines = (await reader.readuntil(b"\r\n\r\n"))[:-4].decode("latin-1").split("\r\n")
        status = int(status_line.split(" ", 2)[1])
        headers: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            body = await reader.readexactly(int(headers["content-length"]))
        elif headers.get("transfer-encoding", "").lower() == "chunked":
            body = await _read_chunked(reader)
        else:
            raise ValueError("response has neither Content-Length nor chunked encoding")
        if headers.get("connection", "").lower() == "close":
            self.close()
        return Response(status, headers, body)


async def _read_chunked(reader: asyncio.StreamReader) -> bytes:
    chunks: list[bytes] = []
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";", 1)[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")  # no trailers from our server: just the final CRLF
            return b"".join(chunks)
        chunks.append(await reader.readexactly(size))
        await reader.readexactly(2)
