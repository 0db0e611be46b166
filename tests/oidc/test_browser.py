"""The consent page in Chromium: signed in through /login, German and English, light and dark, with
no console error and no CSP violation, and its forms allowed to lead to the client's callback.

Each test drives its own Chromium in a thread of its own: the pages' browser fixture keeps
Playwright's loop running in the main thread for the whole session, and a second sync Playwright
cannot start beside it there."""

import os
import re
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from playwright.sync_api import Browser, Page, Route, expect, sync_playwright

from accounts.models import User
from oidc.models import Consent
from tests.conftest import CHROMIUM
from tests.oidc.conftest import CALLBACK, Client, authorize_query, pkce
from tests.pages.conftest import CHROMIUM_FLAGS, screenshot
from tests.support import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def in_chromium(provider: str, scenario: Callable[[Callable[..., Page]], None]) -> None:
    """Runs `scenario(open_page)` against the live server in a Chromium of its own; fails on any
    console error or page error (a CSP violation is a console error: "Refused to …")."""
    problems: list[str] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            with sync_playwright() as playwright:
                browser: Browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)

                def open_page(locale: str = "en-US", color_scheme: Any = "light") -> Page:
                    page = browser.new_context(locale=locale, color_scheme=color_scheme, base_url=provider).new_page()
                    page.on("console", lambda message: problems.append(message.text) if message.type == "error" else None)
                    page.on("pageerror", lambda error: problems.append(str(error)))
                    page.route(re.compile(r"^https://rp\.example/.*"), the_client_answers)
                    return page

                scenario(open_page)
                browser.close()
        except BaseException as exc:  # handed to the test's thread below
            failure.append(exc)
        finally:
            connection.close()

    before = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # Playwright's loop runs in that thread; the ORM calls stay synchronous
    try:
        thread = threading.Thread(target=run)
        thread.start()
        thread.join()
    finally:
        if before is None:  # the pages' browser fixture may have set it for the whole session
            del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]
    if failure:
        raise failure[0]
    assert problems == []


def the_client_answers(route: Route) -> None:
    route.fulfill(status=200, content_type="text/plain", body="signed in")  # the relying party is not a real site


def sign_in_for(page: Page, client: Client, user: User) -> None:
    page.goto(f"/oauth/authorize?{authorize_query(client, challenge=pkce()[1])}")
    expect(page).to_have_url(re.compile(r"/login\?next="))
    page.fill("#email", user.email)
    page.fill("#password", PASSWORD)
    page.click("#password-login button[type=submit]")


@pytest.mark.parametrize(
    ("locale", "scheme", "heading"),
    [("de-DE", "dark", "Bei Grafana mit Mana anmelden?"), ("en-US", "light", "Sign in to Grafana with Mana?")],
)
def test_consent_in_the_browser_then_straight_through_the_next_time(
    provider: str, confidential: Client, alice: User, locale: str, scheme: str, heading: str
) -> None:
    def scenario(open_page: Callable[..., Page]) -> None:
        page = open_page(locale=locale, color_scheme=scheme)
        sign_in_for(page, confidential, alice)
        expect(page.locator("#consent-title")).to_have_text(heading)
        expect(page.locator("#consent-scopes li")).to_have_count(4)
        screenshot(page, f"oidc-consent-{locale}-{scheme}")
        page.click("#consent-allow")
        expect(page).to_have_url(re.compile(rf"^{re.escape(CALLBACK)}\?code=[^&]+&state=st-1"))
        # A new browser signs in again and is not asked again: /login's form leads to the callback.
        again = open_page(locale=locale, color_scheme=scheme)
        sign_in_for(again, confidential, alice)
        expect(again).to_have_url(re.compile(rf"^{re.escape(CALLBACK)}\?code="))

    in_chromium(provider, scenario)
    assert Consent.objects.filter(user=alice, application=confidential.application).count() == 1


def test_revoking_a_connected_app_on_the_account_page(provider: str, confidential: Client, alice: User) -> None:
    def scenario(open_page: Callable[..., Page]) -> None:
        page = open_page()
        sign_in_for(page, confidential, alice)
        page.click("#consent-allow")
        expect(page).to_have_url(re.compile(rf"^{re.escape(CALLBACK)}"))
        page.goto("/account")
        expect(page.locator("#consent-list li[data-consent]")).to_have_count(1)
        page.click("#consent-list button.danger")
        expect(page.locator("#notice")).to_contain_text("revoked")
        expect(page.locator("#consent-list li[data-consent]")).to_have_count(0)

    in_chromium(provider, scenario)
    assert not Consent.objects.active().exists()
