"""Attack: reading the logs for link tokens (issue 18). The production server (the container's
command) logs every request; neither the access log nor Django's own lines may hold a token."""

import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from core.logging import scrub_secrets
from tests.support import REPO, free_port, production_env

SECRET = "s3cr3t-link-token-value"
REQUESTS = [
    f"/reset-password?token={SECRET}",
    f"/verify-email?token={SECRET}&callbackURL=/x",
    f"/api/auth/reset-password/{SECRET}",
    f"/api/auth/reset-password/{SECRET}?callbackURL=https://app.example.com/",
    f"/api/v1/spaces/invitations/{SECRET}/accept",
    f"/accept-invitation?id={SECRET}",
]


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args: object, **kwargs: object) -> None:
        return None


_opener = urllib.request.build_opener(_NoRedirects)


def _get(port: int, path: str) -> int:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        headers={
            "Host": "auth.example.com",
            "X-Forwarded-Proto": "https",
            "Referer": f"https://auth.example.com/magic-link?token={SECRET}",
        },
    )
    try:
        with _opener.open(request, timeout=5) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_attack_link_tokens_never_reach_the_access_log_or_django_log(tmp_path: Path) -> None:
    port = free_port()
    env = production_env(tmp_path, PORT=str(port), WEB_CONCURRENCY="1", MIGRATE_ON_START="1", DJANGO_ALLOWED_HOSTS="auth.example.com")
    env["PATH"] = f"{Path(sys.executable).parent}:{env['PATH']}"
    log_path = tmp_path / "server.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen([str(REPO / "docker-entrypoint.sh")], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                assert _get(port, "/health") == 200
                break
            except (urllib.error.URLError, ConnectionError):
                assert server.poll() is None, "gunicorn exited early"
                assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
                time.sleep(0.3)
        for path in REQUESTS:
            _get(port, path)
        time.sleep(0.5)  # the access log line is written after the answer
    finally:
        server.terminate()
        server.wait(timeout=15)
    text = log_path.read_text()
    assert SECRET not in text
    access = [line for line in text.splitlines() if line.startswith("127.0.0.1 - ")]
    assert any('"GET /reset-password HTTP/1.1"' in line for line in access), access  # logged, without the query
    assert any('"GET /api/auth/reset-password/[redacted] HTTP/1.1"' in line for line in access), access
    assert any("/api/v1/spaces/invitations/[redacted]/accept" in line for line in access), access


def test_scrubbing_keeps_what_is_no_secret() -> None:
    assert scrub_secrets("Not Found: /api/auth/reset-password/abc") == "Not Found: /api/auth/reset-password/[redacted]"
    assert scrub_secrets("/verify-email?token=abc&callbackURL=/x") == "/verify-email?token=[redacted]&callbackURL=/x"
    assert scrub_secrets("/api/v1/spaces/123/members") == "/api/v1/spaces/123/members"
