"""Drives one scenario: N connections, each looping over its scenario step for warm-up + duration
seconds; only requests that start after the warm-up count."""

import asyncio
import resource
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from bench.client import Connection, HttpError, Response
from bench.server import Gunicorn, machine_cpu

MAX_ERROR_SAMPLES = 5


@dataclass
class Tally:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    untimed_requests: int = 0

    def error(self, message: str) -> None:
        self.errors += 1
        if len(self.error_samples) < MAX_ERROR_SAMPLES and message not in self.error_samples:
            self.error_samples.append(message)


class Client:
    """A load connection as a scenario step sees it: `timed` is the request the scenario measures,
    `untimed` one it needs first (a passkey challenge, say)."""

    def __init__(self, connection: Connection, tally: Tally, measure_from: float) -> None:
        self.connection = connection
        self.tally = tally
        self.measure_from = measure_from

    @property
    def measuring(self) -> bool:
        return time.perf_counter() >= self.measure_from

    async def timed(self, method: str, path: str, **options: Any) -> Response:
        measuring = self.measuring
        started = time.perf_counter()
        response = await self.connection.request(method, path, **options)
        if measuring:
            self.tally.latencies.append(time.perf_counter() - started)
        return response

    async def untimed(self, method: str, path: str, **options: Any) -> Response:
        if self.measuring:
            self.tally.untimed_requests += 1
        return await self.connection.request(method, path, **options)


Step = Callable[[Client], Awaitable[None]]


@dataclass(frozen=True)
class Measurement:
    duration_s: float
    tally: Tally
    client_cpu_cores: float
    server_cpu_cores: float
    machine_cpu_cores: float


async def drive(steps: list[Step], *, server: Gunicorn, host_header: str, warmup_s: float, duration_s: float) -> Measurement:
    tally = Tally()
    start = time.perf_counter()
    measure_from = start + warmup_s
    until = measure_from + duration_s
    connections = [Connection("127.0.0.1", server.port, host_header=host_header) for _ in steps]

    async def loop(step: Step, connection: Connection) -> None:
        client = Client(connection, tally, measure_from)
        while time.perf_counter() < until:
            try:
                await step(client)
            except (HttpError, KeyError, ValueError) as exc:  # KeyError, ValueError: an answer without the expected fields
                if client.measuring:
                    tally.error(f"{type(exc).__name__}: {exc}")
                else:
                    await asyncio.sleep(0.01)  # a failing warm-up must not spin; its errors surface once measuring

    async def snapshot_at_measure_start() -> tuple[float, float, float, float]:
        await asyncio.sleep(max(0.0, measure_from - time.perf_counter()))
        return _client_cpu(), server.cpu_seconds(), *machine_cpu()

    snapshot = asyncio.create_task(snapshot_at_measure_start())
    await asyncio.gather(*(loop(step, connection) for step, connection in zip(steps, connections, strict=True)))
    ended = time.perf_counter()
    client_cpu, server_cpu, machine_busy, _ = await snapshot
    elapsed = ended - measure_from
    for connection in connections:
        connection.close()
    return Measurement(
        duration_s=elapsed,
        tally=tally,
        client_cpu_cores=(_client_cpu() - client_cpu) / elapsed,
        server_cpu_cores=(server.cpu_seconds() - server_cpu) / elapsed,
        machine_cpu_cores=(machine_cpu()[0] - machine_busy) / elapsed,
    )


def combined(parts: Sequence[Measurement]) -> Measurement:
    """Slices of one scenario's measurement as one: their requests and errors together, their CPU
    weighted by how long each lasted."""
    tally = Tally()
    for part in parts:
        tally.latencies.extend(part.tally.latencies)
        tally.untimed_requests += part.tally.untimed_requests
        tally.errors += part.tally.errors
        new_samples = [sample for sample in part.tally.error_samples if sample not in tally.error_samples]
        tally.error_samples.extend(new_samples[: MAX_ERROR_SAMPLES - len(tally.error_samples)])
    duration = sum(part.duration_s for part in parts)

    def cores(of: Callable[[Measurement], float]) -> float:
        return sum(of(part) * part.duration_s for part in parts) / duration

    return Measurement(
        duration_s=duration,
        tally=tally,
        client_cpu_cores=cores(lambda part: part.client_cpu_cores),
        server_cpu_cores=cores(lambda part: part.server_cpu_cores),
        machine_cpu_cores=cores(lambda part: part.machine_cpu_cores),
    )


def _client_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime
