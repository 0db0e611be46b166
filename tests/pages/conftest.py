"""Browser tests: Debian's Chromium driven by Playwright against a live server on loopback.
Every page a test opens is watched for console errors and CSP violations."""

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.conftest import CHROMIUM
from tests.notify import NotifyStub
from tests.support import REPO

ARTIFACTS = Path(REPO) / "test-artifacts"
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    # While Playwright's sync API lives, its event loop sits in this thread; the ORM calls tests
    # make between page actions are still plain synchronous calls.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS, headless=True)
        yield launched
        launched.close()
    del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def site(live_server: Any, settings: Any, notify: NotifyStub) -> str:
    """The live server as the service's public origin, relying party and mail link base."""
    url = str(live_server.url)
    settings.BASE_URL = url
    settings.WEBAUTHN_RP_ID = "localhost"
    settings.WEBAUTHN_ORIGINS = [url]
    settings.CORS_ORIGINS = []
    return url


@pytest.fixture
def open_page(browser: Browser, site: str) -> Iterator[Callable[..., Page]]:
    contexts: list[BrowserContext] = []
    problems: list[str] = []

    def make(locale: str = "en-US", color_scheme: str = "light") -> Page:
        context = browser.new_context(locale=locale, color_scheme=color_scheme, base_url=site)  # type: ignore[arg-type]
        contexts.append(context)
        page = context.new_page()
        page.on("console", lambda message: problems.append(f"console {message.type}: {message.text}") if message.type == "error" else None)
        page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
        return page

    yield make
    for context in contexts:
        context.close()
    # CSP violations surface as console errors ("Refused to …"), so this covers both.
    assert problems == []


def screenshot(page: Page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
