"""Cross-origin SSO in Chromium (PLATFORM.md §9): sign in on this service's page, then a web app
on another origin asks for the session and trades it for tokens with credentials: include."""

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import jwt as pyjwt
import pytest
from playwright.sync_api import Browser, expect

from accounts.models import User
from core.models import SecurityEvent
from tests.support import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CALL = """async ([base, path, method]) => {
  try {
    const response = await fetch(base + path, {method, credentials: "include"});
    return {status: response.status, body: await response.text()};
  } catch (error) {
    return {status: 0, body: String(error)};
  }
}"""


class _AppPage(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = b"<!doctype html><title>web app</title><p>a platform web app</p>"
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture
def other_origins() -> Iterator[tuple[str, str]]:
    """Two web apps on other origins of the same site (localhost, other ports)."""
    servers = [ThreadingHTTPServer(("127.0.0.1", 0), _AppPage) for _ in range(2)]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    yield tuple(f"http://localhost:{server.server_address[1]}" for server in servers)  # type: ignore[misc]
    for server in servers:
        server.shutdown()
        server.server_close()


def test_a_trusted_web_app_picks_up_the_sign_in_and_an_untrusted_one_is_refused(
    browser: Browser, site: str, settings: Any, alice: User, other_origins: tuple[str, str]
) -> None:
    trusted, untrusted = other_origins
    settings.CORS_ORIGINS = [trusted]
    context = browser.new_context(base_url=site)
    page = context.new_page()
    page.goto("/login")
    page.fill("#email", alice.email)
    page.fill("#password", PASSWORD)
    page.click("#password-login button[type=submit]")
    expect(page).to_have_url(f"{site}/account")

    page.goto(f"{trusted}/")
    session = page.evaluate(CALL, [site, "/api/auth/get-session", "GET"])
    handed = page.evaluate(CALL, [site, "/api/v1/auth/session-to-token", "POST"])

    assert session["status"] == 200
    assert json.loads(session["body"])["user"]["id"] == alice.id
    assert handed["status"] == 200, handed
    token = pyjwt.decode(json.loads(handed["body"])["accessToken"], options={"verify_signature": False})
    assert token["sub"] == alice.id
    assert SecurityEvent.objects.filter(user=alice, type="SSO_TOKEN_EXCHANGE").count() == 1

    page.goto(f"{untrusted}/")
    assert page.evaluate(CALL, [site, "/api/auth/get-session", "GET"])["status"] == 0  # CORS: nothing to read
    assert page.evaluate(CALL, [site, "/api/v1/auth/session-to-token", "POST"])["status"] == 0
    assert SecurityEvent.objects.filter(user=alice, type="SSO_TOKEN_EXCHANGE").count() == 1  # refused before anything was done
    context.close()
