import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.support import REPO, clean_env, free_port, manage


def test_development_server_serves_health_on_a_fresh_sqlite_database(tmp_path: Path) -> None:
    """What `make run` does after installing: migrate the embedded database, then serve."""
    env = clean_env(DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.sqlite3'}")
    migrated = manage("migrate", "--noinput", env=env)
    assert migrated.returncode == 0, migrated.stderr
    port = free_port()
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "manage.py", "runserver", "--noreload", f"127.0.0.1:{port}"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as response:
                    status, body = response.status, json.load(response)
                break
            except OSError:
                assert time.monotonic() < deadline, "the development server did not answer within 30 s"
                time.sleep(0.2)
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert status == 200
    assert body["status"] == "ok" and body["service"] == "mana-auth"
