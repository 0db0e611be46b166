"""Benchmark mana-auth against a production-mode server on this machine.

    python -m bench.run [--quick] [--users N] [--connections 16] [--duration S] [--scenarios health,validate] [--out DIR]

Creates a fresh PostgreSQL database, migrates it, seeds users (bench/seed.py), starts gunicorn as
docker-entrypoint.sh does, drives every scenario for a fixed time after a warm-up, and writes
DIR/latest.json and DIR/latest.png (with matplotlib). Exits 1 if any request failed.
"""

import argparse
import asyncio
import os
import platform
import secrets
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType
from typing import Any

from bench import report
from bench.client import Connection
from bench.load import Measurement, Step, combined, drive
from bench.scenarios import HASH_BOUND, HEALTH, SCENARIOS, Context, Seeded
from bench.server import (
    DEFAULT_POSTGRES,
    REPO,
    Gunicorn,
    free_port,
    fresh_database,
    hash_bound,
    machine_cpu,
    manage,
    production_env,
    redis_ready,
    seed,
)

CORES = os.process_cpu_count() or 1  # what `nproc` says: the CPUs this process may use
BUSY_MACHINE_CORES = 0.2
FULL = {"duration": 20.0, "warmup": 3.0}
QUICK = {"duration": 5.0, "warmup": 1.0}
# A VM's speed drifts during a run (its neighbours): within one run here, 6-second health runs
# gave 1004 to 1743 req/s minutes apart. So each scenario measured against health is measured in
# slices, each followed by a slice of health (`settle` seconds unmeasured, after the switch), and
# its ratio compares the two over the same half minute; the hash bound is measured again right
# before login.
INTERLEAVED = {"slices": 4, "health_s": 2.0, "settle_s": 0.5}
ADJACENT_BOUND_S = 5.0


def scenario_list(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    unknown = [name for name in names if name not in SCENARIOS]
    if unknown:
        raise argparse.ArgumentTypeError(f"unknown scenario {', '.join(unknown)}; choose from {', '.join(SCENARIOS)}")
    # health is the yardstick of every other ratio, so it always runs, first.
    return [HEALTH, *(name for name in SCENARIOS if name in names and name != HEALTH)]


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description="Load benchmark of mana-auth (see README.md, Benchmarks).")
    parser.add_argument("--quick", action="store_true", help=f"{QUICK['duration']:g} s per scenario after {QUICK['warmup']:g} s warm-up")
    parser.add_argument("--users", type=int, default=1000, help="seeded users; login rotates through all of them (default 1000)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent connections (default 16)")
    parser.add_argument("--duration", type=float, help=f"measured seconds per scenario (default {FULL['duration']:g})")
    parser.add_argument("--warmup", type=float, help=f"unmeasured seconds before each scenario (default {FULL['warmup']:g})")
    parser.add_argument("--workers", type=int, default=2 * CORES, help=f"gunicorn workers (default 2 x nproc = {2 * CORES})")
    parser.add_argument(
        "--scenarios",
        type=scenario_list,
        default=list(SCENARIOS),
        help=f"comma-separated subset of {','.join(SCENARIOS)}; health always runs",
    )
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results", help="where latest.json and latest.png go")
    parser.add_argument(
        "--postgres",
        default=os.environ["DATABASE_URL"] if os.environ.get("DATABASE_URL", "").startswith("postgres") else DEFAULT_POSTGRES,
        help="server and role (not superuser) that create the benchmark database (default $DATABASE_URL if PostgreSQL, else %(default)s)",
    )
    parser.add_argument(
        "--database", default="mana_auth_bench", help="benchmark database; dropped and created afresh (default %(default)s)"
    )
    parser.add_argument(
        "--redis", default="redis://127.0.0.1:6379/14", help="Redis database of the benchmark, emptied first (default %(default)s)"
    )
    args = parser.parse_args(argv)
    preset = QUICK if args.quick else FULL
    args.duration = preset["duration"] if args.duration is None else args.duration
    args.warmup = preset["warmup"] if args.warmup is None else args.warmup
    return args


def background_cpu_cores(seconds: float = 2.0) -> float:
    """CPU in use on the machine with nothing of ours running: the benchmark assumes an otherwise idle machine."""
    busy_before, _ = machine_cpu()
    time.sleep(seconds)
    return (machine_cpu()[0] - busy_before) / seconds


def revision() -> str:
    """The commit measured, and whether the working tree differed from it."""

    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, check=False).stdout.strip()  # noqa: S603, S607

    return f"{git('rev-parse', '--short', 'HEAD') or 'unknown'}{' + uncommitted changes' if git('status', '--porcelain') else ''}"


def machine() -> dict[str, Any]:
    cpuinfo = Path("/proc/cpuinfo").read_text()
    model = next((line.split(":", 1)[1].strip() for line in cpuinfo.splitlines() if line.startswith("model name")), platform.processor())
    memory = next(line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines() if line.startswith("MemTotal:"))
    return {
        "nproc": CORES,
        "cpu_model": model,
        "memory_mb": int(memory) // 1024,
        "kernel": platform.release(),
        "python": platform.python_version(),
    }


async def measure(
    args: argparse.Namespace, context: Context, server: Gunicorn, host_header: str, scratch: Path
) -> dict[str, dict[str, Any]]:
    figures: dict[str, dict[str, Any]] = {}
    setup = Connection("127.0.0.1", server.port, host_header=host_header)
    for name in args.scenarios:
        scenario = SCENARIOS[name](context)
        await scenario.prepare(setup, args.connections)
        steps = scenario.steps(args.connections)  # one set for all slices: a token chain goes on where it stopped
        bound = None
        if scenario.limit == HASH_BOUND:
            seconds = min(args.duration, ADJACENT_BOUND_S)
            print(f"{name}: the hash bound right before it, {seconds:g} s …", flush=True)
            bound = hash_bound(server.env, seconds=seconds, scratch=scratch)
        if scenario.limit == HEALTH and name != HEALTH:
            measurement, health = await interleaved(args, context, name, steps, server, host_header)
        else:
            print(f"{name}: {args.warmup:g} s warm-up, {args.duration:g} s measured …", flush=True)
            measurement = await drive(steps, server=server, host_header=host_header, warmup_s=args.warmup, duration_s=args.duration)
            health = None
        figures[name] = report.scenario_figures(scenario, measurement)
        if health is not None:
            figures[name]["interleaved_health"] = {"rps": health["rps"], "errors": health["errors"], "slices": INTERLEAVED["slices"]}
        if bound is not None:
            figures[name]["adjacent_bound"] = {"rps": bound}
        # Largest worker after each scenario: shows which one grows the memory, and whether it keeps growing.
        figures[name]["worker_rss_mb_after"] = max(server.worker_rss_mb())
    setup.close()
    return figures


async def interleaved(
    args: argparse.Namespace, context: Context, name: str, steps: list[Step], server: Gunicorn, host_header: str
) -> tuple[Measurement, dict[str, Any]]:
    """The scenario's measured seconds in slices, each followed by a slice of health: the
    scenario's measurement, its slices together, and the figures of health's."""
    slices, settle = int(INTERLEAVED["slices"]), INTERLEAVED["settle_s"]
    part_s = args.duration / slices
    health_s = min(INTERLEAVED["health_s"], part_s)
    print(
        f"{name}: {args.warmup:g} s warm-up, {args.duration:g} s measured in {slices} slices, each followed by {health_s:g} s of health …",
        flush=True,
    )
    health = SCENARIOS[HEALTH](context)
    health_steps = health.steps(args.connections)
    parts, yardsticks = [], []
    for index in range(slices):
        warmup = args.warmup if index == 0 else settle
        parts.append(await drive(steps, server=server, host_header=host_header, warmup_s=warmup, duration_s=part_s))
        yardsticks.append(await drive(health_steps, server=server, host_header=host_header, warmup_s=settle, duration_s=health_s))
    return combined(parts), report.scenario_figures(health, combined(yardsticks))


def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="mana-bench-") as scratch, fresh_database(args.postgres, args.database) as database:
        redis_url = args.redis if redis_ready(args.redis) else None
        if redis_url is None and "passkey-verify" in args.scenarios:
            # Without a shared cache a challenge made by one worker is unknown to the next.
            print(f"Redis at {args.redis} does not answer: skipping passkey-verify, caches are per worker")
            args.scenarios.remove("passkey-verify")
        port = free_port()
        host_header = f"localhost:{port}"
        base_url = f"http://{host_header}"
        service_key = secrets.token_urlsafe(24)
        env = production_env(database_url=database.url, redis_url=redis_url, base_url=base_url, service_key=service_key)
        print(f"migrating {args.database} …", flush=True)
        manage(env, "migrate", "--noinput")
        print(f"seeding {args.users} users, timing one password verification …", flush=True)
        seed_path = Path(scratch) / "seed.json"
        seed(env, users=args.users, slots=args.connections, bound_seconds=min(args.duration, 3.0), out=seed_path)
        seeded = Seeded.load(seed_path)
        background = background_cpu_cores()
        if background > BUSY_MACHINE_CORES:
            print(f"warning: {background:.2f} cores busy before the server started; other work on this machine skews the figures")
        server = Gunicorn(env=env, port=port, workers=args.workers, log_path=Path(scratch) / "gunicorn.log")
        try:
            server.start()
            server.wait_ready()
            rss_after_start = server.worker_rss_mb()
            context = Context(seeded=seeded, service_key=service_key, origin=base_url)
            scenarios = asyncio.run(measure(args, context, server, host_header, Path(scratch)))
            rss_after_run = server.worker_rss_mb()
            if any(report.errors_of(figures) for figures in scenarios.values()):
                print("server log (without the access log), last lines:\n" + server.log_tail(lines=30, access=False))
        finally:
            server.stop()
    hashing = {
        "hasher": seeded.hash["hasher"],
        "verify_s": seeded.hash["verify_s"],
        "single_rps": 1 / seeded.hash["verify_s"],
        "processes": seeded.hash["processes"],
        "bound_rps": seeded.hash["parallel_rps"],
    }
    report.add_ratios(scenarios, hashing["bound_rps"])
    return {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "revision": revision(),
        "config": {
            "users": args.users,
            "connections": args.connections,
            "workers": args.workers,
            "warmup_s": args.warmup,
            "duration_s": args.duration,
            "quick": args.quick,
            "server": "gunicorn sync workers, DJANGO_ENV=production, access log on",
            "postgres": f"{database.server_version}, role {database.role}",
            "redis": redis_url is not None,
            "load_generator": "bench/client.py: asyncio HTTP/1.1, in this process",
        },
        "background_cpu_cores": background,
        "hash": hashing,
        "scenarios": scenarios,
        "worker_rss_mb": {"after_start": rss_after_start, "after_run": rss_after_run},
        "targets": report.targets(scenarios, rss_after_run),
    }


def _terminate(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(128 + signum)  # unwinds through the finally blocks that stop gunicorn and drop the database


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    signal.signal(signal.SIGTERM, _terminate)
    results = run(args)
    report.write_json(results, args.out / "latest.json")
    print(report.table(results))
    print(f"wrote {args.out / 'latest.json'}")
    if report.plot(results, args.out / "latest.png"):
        print(f"wrote {args.out / 'latest.png'}")
    else:
        print("plot skipped: matplotlib is not installed (make bench installs it)")
    return 1 if any(report.errors_of(figures) for figures in results["scenarios"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
