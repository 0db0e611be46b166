"""The server under test, set up as production runs it: a fresh PostgreSQL database for the
benchmark's role, Redis when it answers, `manage.py migrate`, then gunicorn with several sync
workers and the access log on, as docker-entrypoint.sh starts it.
"""

import base64
import ctypes
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import psycopg
import redis
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from psycopg import sql

REPO = Path(__file__).resolve().parent.parent
DEFAULT_POSTGRES = "postgres://mana_auth_test@127.0.0.1:5432/postgres"
PR_SET_PDEATHSIG = 1
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
ACCESS_LOG_PREFIX = "127.0.0.1 - "  # gunicorn's access log lines start with the client address


@dataclass(frozen=True)
class Database:
    url: str
    role: str
    server_version: str


@contextmanager
def fresh_database(admin_url: str, name: str) -> Iterator[Database]:
    """A new, empty database owned by the role of `admin_url`, dropped again afterwards."""
    try:
        admin_connection = psycopg.connect(admin_url, autocommit=True)
    except psycopg.OperationalError as exc:
        # On a fresh machine the role is missing until `bash .ci/run` has created it.
        raise SystemExit(
            f"cannot connect to PostgreSQL as {urlsplit(admin_url).username}: {exc}\n"
            "run `bash .ci/run` once (it creates the role and its database), or pass --postgres URL"
        ) from exc
    with admin_connection as admin:
        row = admin.execute(
            "SELECT current_user, rolsuper OR rolbypassrls, current_setting('server_version') FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        if row is None:
            raise RuntimeError("the connected role is missing from pg_roles")
        role, privileged, version = row
        if privileged:
            print(f"warning: {role} is superuser or BYPASSRLS; row-level security costs nothing here, unlike production")
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield Database(url=urlsplit(admin_url)._replace(path=f"/{name}").geturl(), role=role, server_version=version)
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))


def redis_ready(url: str) -> bool:
    """Ping and empty the benchmark's own Redis database, so no rate-limit bucket of an earlier run counts."""
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1, socket_timeout=2)
        client.ping()
        client.flushdb()
    except redis.RedisError:
        return False
    return True


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ai_public_key_pem() -> str:
    """A fresh RSA-3072 public key for MANA_AI_PUBLIC_KEY_PEM, as `manage.py generate_ai_keypair` makes one."""
    private = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    return private.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def production_env(*, database_url: str, redis_url: str | None, base_url: str, service_key: str) -> dict[str, str]:
    """Production settings with local values. Built from nothing but PATH, so no variable of the
    caller (a test run's DJANGO_SETTINGS_MODULE, say) leaks into the server."""
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "LANG": "C.UTF-8",
        "DJANGO_ENV": "production",
        "DJANGO_SETTINGS_MODULE": "config.settings.production",
        "DJANGO_SECRET_KEY": base64.b64encode(os.urandom(48)).decode(),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "SECURE_SSL_REDIRECT": "false",  # plain HTTP on loopback; the TLS proxy is not part of the benchmark
        "DATABASE_URL": database_url,
        "MANA_AUTH_KEK": base64.b64encode(os.urandom(32)).decode(),
        "MANA_SERVICE_KEY": service_key,
        "MANA_NOTIFY_URL": "http://127.0.0.1:9",  # closed port: mail waits in the outbox, and no scenario sends any
        "CORS_ORIGINS": base_url,  # production requires it; the benchmark has no web app
        "MANA_AI_PUBLIC_KEY_PEM": ai_public_key_pem(),
        "BASE_URL": base_url,
        # As behind the production proxy: each simulated client has its own address in X-Forwarded-For,
        # so the per-address limits (30 logins a minute) apply per client, not to all of loopback.
        "TRUSTED_PROXY_COUNT": "1",
    }
    if redis_url:
        env["REDIS_URL"] = redis_url
    return env


def manage(env: dict[str, str], *args: str) -> None:
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "manage.py", *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{result.stdout}{result.stderr}")


def seed(env: dict[str, str], *, users: int, slots: int, bound_seconds: float, out: Path) -> None:
    _seed_step(env, "--users", str(users), "--slots", str(slots), "--bound-seconds", str(bound_seconds), "--out", str(out))


def hash_bound(env: dict[str, str], *, seconds: float, scratch: Path) -> float:
    """Verifications per second with all cores verifying at once, measured now (the server idle)."""
    out = scratch / "bound.json"
    _seed_step(env, "--bound-only", "--bound-seconds", str(seconds), "--out", str(out))
    return float(json.loads(out.read_text())["parallel_rps"])


def _seed_step(env: dict[str, str], *args: str) -> None:
    command = [sys.executable, "-m", "bench.seed", *args]
    result = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, timeout=600, check=False)  # noqa: S603
    if result.returncode != 0:
        raise RuntimeError(f"bench.seed {' '.join(args)} failed:\n{result.stdout}{result.stderr}")


def _die_with_parent() -> None:
    # If the harness is killed outright (SIGKILL, a test's timeout), the kernel stops gunicorn too.
    ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Gunicorn:
    env: dict[str, str]
    port: int
    workers: int
    log_path: Path
    process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        command = [
            sys.executable, "-m", "gunicorn", "config.wsgi:application",
            "--bind", f"127.0.0.1:{self.port}",
            "--workers", str(self.workers),
            "--access-logfile", "-",
            "--logger-class", "config.gunicorn_logging.AccessLogger",
            "--forwarded-allow-ips", "127.0.0.1",
            "--timeout", "30",
        ]  # fmt: skip
        with self.log_path.open("wb") as log:
            self.process = subprocess.Popen(  # noqa: S603 - our own interpreter
                command, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_die_with_parent
            )

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until /health/ready answers 200 (database and cache reachable) and every worker has started."""
        deadline = time.monotonic() + timeout
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}/health/ready", headers={"Host": "localhost"})
        while True:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited early:\n{self.log_tail()}")
            try:
                with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310 - loopback
                    if response.status == 200 and len(self.worker_pids()) == self.workers:
                        return
            except (urllib.error.URLError, OSError):  # refused, reset, or a worker still starting (timeout)
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn was not ready within {timeout:.0f} s:\n{self.log_tail()}")
            time.sleep(0.3)

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.terminate()  # gunicorn's graceful shutdown: workers finish their request and exit
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def worker_pids(self) -> list[int]:
        if self.process is None:
            return []
        return [pid for pid, parent in _processes() if parent == self.process.pid]

    def cpu_seconds(self) -> float:
        """User and system time of master and workers so far (workers that exited are not counted)."""
        pids = self.worker_pids() + ([self.process.pid] if self.process else [])
        return sum(_cpu_seconds(pid) for pid in pids)

    def worker_rss_mb(self) -> list[float]:
        return [_rss_mb(pid) for pid in self.worker_pids()]

    def log_tail(self, lines: int = 40, *, access: bool = True) -> str:
        """The last lines of gunicorn's output; without the access log's lines if `access` is false."""
        kept = [line for line in self.log_path.read_text(errors="replace").splitlines() if access or not line.startswith(ACCESS_LOG_PREFIX)]
        return "\n".join(kept[-lines:])


def _processes() -> Iterator[tuple[int, int]]:
    """(pid, parent pid) of every process."""
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue  # gone meanwhile
            # The command name may hold spaces and parentheses; the fields after its last ")" do not.
            yield int(entry), int(stat.rsplit(")", 1)[1].split()[1])


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS  # utime, stime


def _rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError(f"no VmRSS for process {pid}")


def machine_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    ticks = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    total = sum(ticks[:8])  # guest time is already inside user time
    return (total - idle) / CLOCK_TICKS, total / CLOCK_TICKS
