import json
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests.support import REPO, free_port, manage, production_env


def test_gunicorn_serves_health_in_production_mode(tmp_path: Path) -> None:
    """The container's command (docker-entrypoint.sh) on loopback, with production settings."""
    port = free_port()
    env = production_env(tmp_path, PORT=str(port), WEB_CONCURRENCY="1", MIGRATE_ON_START="1", DJANGO_ALLOWED_HOSTS="auth.example.com")
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"  # the image puts its virtualenv first
    server = subprocess.Popen(  # noqa: S603
        [str(REPO / "docker-entrypoint.sh")], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    try:
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/health", headers={"Host": "auth.example.com", "X-Forwarded-Proto": "https"}
        )
        deadline = time.monotonic() + 60
        while True:
            try:
                with urllib.request.urlopen(request, timeout=2) as response:  # noqa: S310 - loopback
                    status, body, headers = response.status, json.load(response), response.headers
                break
            except (urllib.error.URLError, OSError):  # refused, reset, or a worker still starting (timeout)
                assert server.poll() is None, "gunicorn exited early"
                assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
                time.sleep(0.3)
        assert status == 200
        assert body["service"] == "mana-auth"
        assert headers["Strict-Transport-Security"].startswith("max-age=31536000")
        wrong_host = urllib.request.Request(f"http://127.0.0.1:{port}/health", headers={"Host": "evil.example"})
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(wrong_host, timeout=5)  # noqa: S310
        assert refused.value.code == 400
        assert json.load(refused.value)["error"] == "VALIDATION"
    finally:
        server.terminate()
        server.wait(timeout=15)
    assert manage("showmigrations", "--plan", env=env).stdout.count("[X]") > 0  # MIGRATE_ON_START=1 migrated
