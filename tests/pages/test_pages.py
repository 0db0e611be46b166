import re
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from accounts import totp
from accounts.models import User
from core import clock
from passkeys.models import Passkey
from tests.notify import NotifyStub
from tests.pages.conftest import screenshot
from tests.support import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_PASSWORD = "a fresh passphrase 2024"


def sign_in(page: Page, email: str, password: str = PASSWORD, next_url: str = "") -> None:
    page.goto(f"/login{next_url}")
    page.fill("#email", email)
    page.fill("#password", password)
    page.click("#password-login button[type=submit]")


def sign_out(page: Page) -> None:
    page.click("#logout")
    expect(page).to_have_url(re.compile(r"/login$"))


@pytest.mark.parametrize(
    ("locale", "heading", "inbox"), [("de-DE", "Dein Konto", "Schau in dein Postfach"), ("en-US", "Your account", "Check your inbox")]
)
def test_register_verify_and_sign_in(open_page, notify: NotifyStub, locale: str, heading: str, inbox: str) -> None:
    page = open_page(locale=locale)
    page.goto("/register")
    page.fill("#name", "Nora")
    page.fill("#email", "nora@example.com")
    page.fill("#password", "a sturdy passphrase 42")
    page.click("main button[type=submit]")
    expect(page.locator("h1")).to_have_text(inbox)

    [mail] = notify.to("nora@example.com")
    assert ("Bitte bestätige" in mail.body["subject"]) == (locale == "de-DE")
    page.goto(re.search(r"(http://\S+/verify-email\?token=\S+)", mail.body["text"]).group(1))  # type: ignore[union-attr]
    page.click("main button[type=submit]")
    expect(page).to_have_url(re.compile(r"/account$"))
    expect(page.locator("h1")).to_have_text(heading)

    sign_out(page)
    sign_in(page, "nora@example.com", "a sturdy passphrase 42")
    expect(page).to_have_url(re.compile(r"/account$"))
    expect(page.locator("#account-email")).to_have_text("nora@example.com")


def test_passkey_add_sign_in_by_button_and_autofill_rename_delete(open_page, alice: User) -> None:
    page = open_page()
    cdp = page.context.new_cdp_session(page)
    cdp.send("WebAuthn.enable")
    cdp.send(
        "WebAuthn.addVirtualAuthenticator",
        {"options": {"protocol": "ctap2", "transport": "internal", "hasResidentKey": True, "hasUserVerification": True,
                     "isUserVerified": True, "automaticPresenceSimulation": True}},
    )  # fmt: skip
    sign_in(page, alice.email)
    page.fill("#new-passkey-name", "Test laptop")
    page.click("#add-passkey")
    expect(page.locator("#passkey-list li[data-passkey]")).to_have_count(1)
    assert Passkey.objects.get(user=alice).name == "Test laptop"

    sign_out(page)
    page.click("#passkey-button")
    expect(page).to_have_url(re.compile(r"/account$"))

    sign_out(page)
    # Autofill: reaching the email field starts the conditional request; Chromium's virtual
    # authenticator, simulating presence, picks the one passkey as a person would from the list.
    page.goto("/login")
    page.focus("#email")
    expect(page).to_have_url(re.compile(r"/account$"))
    assert Passkey.objects.get(user=alice).sign_count >= 2

    page.fill("[data-passkey] input[name=name]", "Renamed laptop")
    page.click("[data-passkey] form[action$=rename] button")
    expect(page.locator("#notice")).to_contain_text("Passkey renamed.")
    assert Passkey.objects.get(user=alice).name == "Renamed laptop"
    page.click("[data-passkey] form[action$=delete] button")
    expect(page.locator("#passkey-list li[data-passkey]")).to_have_count(0)
    assert not Passkey.objects.filter(user=alice).exists()


def test_two_factor_enable_and_sign_in_through_the_second_step(open_page, alice: User, monkeypatch) -> None:
    now = {"t": 1_800_000_015.0}
    monkeypatch.setattr(clock, "timestamp", lambda: now["t"])
    page = open_page()
    sign_in(page, alice.email)
    page.fill("#enable_password", PASSWORD)
    page.click("form[action$='two-factor/enable'] button")
    secret = page.locator("#secret").inner_text().strip()
    expect(page.locator("#backup-codes li")).to_have_count(10)
    expect(page.locator(".qr svg")).to_be_visible()
    page.fill("#code", totp.code_at(secret, now["t"]))
    page.click("form[action$='two-factor/confirm'] button")
    expect(page.locator("#two-factor-state")).to_have_text("On")

    sign_out(page)
    sign_in(page, alice.email)
    expect(page).to_have_url(re.compile(r"/two-factor$"))
    page.fill("#code", "000000")
    page.click("main button[type=submit]")
    expect(page.locator("#error")).to_contain_text("The code is wrong.")
    now["t"] += 30
    page.fill("#code", totp.code_at(secret, now["t"]))
    page.click("main button[type=submit]")
    expect(page).to_have_url(re.compile(r"/account$"))


def test_forgot_and_reset_password_through_the_mailed_link(open_page, alice: User, notify: NotifyStub) -> None:
    page = open_page()
    page.goto("/forgot-password")
    page.fill("#email", alice.email)
    page.click("main button[type=submit]")
    expect(page.locator("h1")).to_have_text("Check your inbox")
    link = re.search(r"(http://\S+/reset-password\?token=\S+)", notify.to(alice.email)[-1].body["text"]).group(1)  # type: ignore[union-attr]
    page.goto(link)
    page.fill("#password", NEW_PASSWORD)
    page.click("main button[type=submit]")
    expect(page.locator("h1")).to_have_text("Password changed")

    sign_in(page, alice.email, PASSWORD)
    expect(page.locator("#error")).to_contain_text("Email or password is wrong.")
    sign_in(page, alice.email, NEW_PASSWORD)
    expect(page).to_have_url(re.compile(r"/account$"))


def test_the_lockout_message_says_how_long_to_wait(open_page, alice: User) -> None:
    page = open_page()
    for _ in range(5):
        sign_in(page, alice.email, "not the password")
        expect(page.locator("#error")).to_contain_text("Email or password is wrong.")
    sign_in(page, alice.email, PASSWORD)
    expect(page.locator("#error")).to_contain_text("signing in with a password is paused")
    expect(page.locator("#error")).to_contain_text("Try again in 30 minutes.")


def test_an_open_redirect_lands_on_the_default_page(open_page, alice: User) -> None:
    page = open_page()
    sign_in(page, alice.email, next_url="?next=https://evil.example/steal")
    expect(page).to_have_url(re.compile(r"^http://localhost:\d+/account$"))


@pytest.mark.parametrize("scheme", ["light", "dark"])
def test_screenshots_of_login_and_account(open_page, alice: User, scheme: str) -> None:
    page = open_page(color_scheme=scheme)
    page.goto("/login")
    background = page.evaluate("getComputedStyle(document.body).backgroundColor")
    assert (background == "rgb(255, 255, 255)") == (scheme == "light")
    screenshot(page, f"login-{scheme}")
    sign_in(page, alice.email)
    expect(page).to_have_url(re.compile(r"/account$"))
    screenshot(page, f"account-{scheme}")


def test_the_theme_toggle_persists(open_page, alice: User) -> None:
    page = open_page(color_scheme="light")
    page.goto("/login")
    page.click("#theme-toggle")
    page.reload()
    assert page.evaluate("document.documentElement.dataset.theme") == "dark"
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != "rgb(255, 255, 255)"


def test_pages_answer_with_a_strict_csp(open_page: Any) -> None:
    page = open_page()
    response = page.goto("/login")
    assert response is not None
    policy = response.headers["content-security-policy"]
    assert "default-src 'self'" in policy
    assert "unsafe-inline" not in policy


def test_the_api_docs_render_under_the_strict_csp(open_page: Any) -> None:
    page = open_page()
    page.goto("/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("mana-auth")
    expect(page.locator(".opblock").first).to_be_visible()
