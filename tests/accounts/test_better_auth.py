"""The Better Auth-style door (/api/auth/*) and the session cookie, replayed as the platform's
clients call them (PLATFORM.md §3, §8, §9)."""

import re
from typing import Any

import jwt as pyjwt
import pytest
from rest_framework.test import APIClient

from accounts import totp
from accounts.models import Session, User
from accounts.session_cookie import cookie_name
from core.models import SecurityEvent
from tests.notify import NotifyStub
from tests.support import PASSWORD, Capture, Clock, enable, sign_in

pytestmark = pytest.mark.django_db

WEB = "http://localhost:5173"  # the web app's origin, one of CORS_ORIGINS
EVIL = "https://evil.example"


def web_browser() -> APIClient:
    return APIClient(HTTP_ORIGIN=WEB)


def web_password_login(browser: APIClient, email: str) -> dict[str, Any]:
    """The web app's password sign-in: /login for the tokens, then sign-in/email with the fresh
    Bearer to plant the cookie on that session."""
    tokens = sign_in(APIClient(), email)
    response = browser.post(
        "/api/auth/sign-in/email",
        {"email": email, "password": PASSWORD},
        format="json",
        HTTP_AUTHORIZATION=f"Bearer {tokens['accessToken']}",
    )
    assert response.status_code == 200, response.content
    return tokens


def sid(access_token: str) -> str:
    return str(pyjwt.decode(access_token, options={"verify_signature": False})["sid"])


def test_web_password_login_plants_the_cookie_on_the_bearers_session(alice: User) -> None:
    browser = web_browser()
    tokens = web_password_login(browser, alice.email)

    assert Session.objects.filter(user=alice, revoked_at__isnull=True).count() == 1
    cookie = browser.cookies[cookie_name()]
    assert cookie["httponly"] and cookie["samesite"] == "Lax" and cookie["path"] == "/"
    session = browser.get("/api/auth/get-session").json()
    assert session["session"]["id"] == sid(tokens["accessToken"])
    assert session["user"] == {
        "id": alice.id,
        "email": alice.email,
        "name": "Alice",
        "image": "",
        "emailVerified": True,
        "createdAt": session["user"]["createdAt"],
    }


def test_sign_in_email_answers_better_auths_shape(alice: User) -> None:
    browser = web_browser()
    response = browser.post("/api/auth/sign-in/email", {"email": alice.email, "password": PASSWORD}, format="json")
    body = response.json()
    assert (body["redirect"], body["url"], body["user"]["id"]) == (False, None, alice.id)
    assert sid(body["token"]) == browser.get("/api/auth/get-session").json()["session"]["id"]


def test_sign_in_email_keeps_the_lockout_and_its_codes(alice: User) -> None:
    browser = web_browser()
    wrong = browser.post("/api/auth/sign-in/email", {"email": alice.email, "password": "wrong password"}, format="json")
    assert (wrong.status_code, wrong.json()["code"]) == (401, "INVALID_CREDENTIALS")
    assert cookie_name() not in browser.cookies


def test_an_app_booting_without_a_jwt_gets_null_without_a_cookie() -> None:
    response = web_browser().get("/api/auth/get-session")
    assert (response.status_code, response.content) == (200, b"null")


def test_sso_hand_off_gives_tokens_of_the_cookies_session(alice: User, api: APIClient) -> None:
    browser = web_browser()
    tokens = web_password_login(browser, alice.email)

    handed = browser.post("/api/v1/auth/session-to-token")

    assert handed.status_code == 200
    body = handed.json()
    assert body["user"]["id"] == alice.id
    assert sid(body["accessToken"]) == sid(tokens["accessToken"])
    assert api.post("/api/v1/auth/refresh", {"refreshToken": body["refreshToken"]}, format="json").status_code == 200
    assert SecurityEvent.objects.filter(user=alice, type="SSO_TOKEN_EXCHANGE").count() == 1


def test_revoking_the_session_ends_its_cookie_its_refresh_token_and_the_hand_off(alice: User, api: APIClient) -> None:
    browser = web_browser()
    tokens = web_password_login(browser, alice.email)
    other = sign_in(APIClient(), alice.email)

    revoked = APIClient().delete(f"/api/v1/auth/sessions/{sid(tokens['accessToken'])}", HTTP_AUTHORIZATION=f"Bearer {other['accessToken']}")

    assert revoked.status_code == 200
    assert browser.get("/api/auth/get-session").content == b"null"
    assert browser.post("/api/v1/auth/session-to-token").status_code == 401
    assert api.post("/api/v1/auth/refresh", {"refreshToken": tokens["refreshToken"]}, format="json").status_code == 401
    assert APIClient().get("/api/v1/auth/profile", HTTP_AUTHORIZATION=f"Bearer {tokens['accessToken']}").status_code == 401


def test_logout_with_the_refresh_token_ends_the_cookie_too(alice: User) -> None:
    browser = web_browser()
    tokens = web_password_login(browser, alice.email)

    assert APIClient().post("/api/v1/auth/logout", {"refreshToken": tokens["refreshToken"]}, format="json").status_code == 200

    assert browser.get("/api/auth/get-session").content == b"null"


def test_a_cookie_post_from_an_untrusted_origin_is_refused_and_changes_nothing(alice: User) -> None:
    browser = web_browser()
    tokens = web_password_login(browser, alice.email)

    headers_tried: list[dict[str, Any]] = [{"HTTP_ORIGIN": EVIL}, {"HTTP_ORIGIN": "", "HTTP_REFERER": f"{EVIL}/page"}]
    for headers in headers_tried:
        refused = browser.post("/api/v1/auth/logout", {}, format="json", **headers)
        assert (refused.status_code, refused.json()["code"]) == (403, "FORBIDDEN")
        assert browser.post("/api/v1/auth/session-to-token", **headers).status_code == 403
    assert Session.objects.get(pk=sid(tokens["accessToken"])).revoked_at is None
    assert browser.post("/api/v1/auth/logout", {}, format="json").status_code == 200
    assert Session.objects.get(pk=sid(tokens["accessToken"])).revoked_at is not None


def test_login_sets_the_cookie_and_answers_token_for_the_persona_runner(api: APIClient, alice: User) -> None:
    response = api.post(
        "/api/v1/auth/login",
        {"email": alice.email, "password": PASSWORD, "deviceId": "dev-1", "deviceName": "Persona browser"},
        format="json",
    )
    body = response.json()
    assert body["token"] == body["accessToken"]
    assert cookie_name() in response.cookies
    session = Session.objects.get(pk=sid(body["accessToken"]))
    assert (session.device_id, session.device_name) == ("dev-1", "Persona browser")
    assert api.get("/api/auth/get-session").json()["session"]["id"] == session.id


def test_web_two_factor_setup_is_on_at_once_and_signs_in_with_the_pending_cookie(alice: User, monkeypatch: pytest.MonkeyPatch) -> None:
    steps = Clock(monkeypatch)
    browser = web_browser()
    web_password_login(browser, alice.email)

    enabled = browser.post("/api/auth/two-factor/enable", {"password": PASSWORD}, format="json").json()

    assert len(enabled["backupCodes"]) == 10
    match = re.fullmatch(r"otpauth://totp/Mana:alice%40example\.com\?secret=([A-Z2-7]+)&issuer=Mana", enabled["totpURI"])
    assert match, enabled["totpURI"]
    assert User.objects.get(pk=alice.pk).two_factor_enabled
    fresh = web_browser()
    pending = fresh.post("/api/auth/sign-in/email", {"email": alice.email, "password": PASSWORD}, format="json")
    assert pending.json() == {"twoFactorRedirect": True}
    assert cookie_name() not in fresh.cookies
    steps.step()
    verified = fresh.post("/api/auth/two-factor/verify-totp", {"code": totp.code_at(match.group(1), steps.now)}, format="json")
    assert verified.status_code == 200
    assert verified.json()["user"]["id"] == alice.id
    assert fresh.get("/api/auth/get-session").json()["user"]["id"] == alice.id
    backup = web_browser()
    backup.post("/api/auth/sign-in/email", {"email": alice.email, "password": PASSWORD}, format="json")
    code = enabled["backupCodes"][0]
    assert backup.post("/api/auth/two-factor/verify-backup-code", {"code": code}, format="json").status_code == 200
    again = web_browser()
    again.post("/api/auth/sign-in/email", {"email": alice.email, "password": PASSWORD}, format="json")
    assert again.post("/api/auth/two-factor/verify-backup-code", {"code": code}, format="json").status_code == 401


def test_web_settings_regenerate_backup_codes_and_switch_two_factor_off(alice: User, monkeypatch: pytest.MonkeyPatch) -> None:
    steps = Clock(monkeypatch)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {sign_in(client, alice.email)['accessToken']}")
    enable(client, steps)

    regenerated = client.post("/api/auth/two-factor/generate-backup-codes", {"password": PASSWORD}, format="json").json()
    assert (regenerated["status"], len(regenerated["backupCodes"])) == (True, 10)
    assert client.post("/api/auth/two-factor/disable", {"password": PASSWORD}, format="json").json() == {"status": True}
    assert not User.objects.get(pk=alice.pk).two_factor_enabled


@pytest.mark.parametrize("path", ["/api/auth/magic-link/send-magic-link", "/api/auth/sign-in/magic-link"])
def test_shared_login_ui_magic_link_signs_in_and_returns_to_the_callback(
    alice: User, notify: NotifyStub, django_capture_on_commit_callbacks: Capture, path: str
) -> None:
    browser = web_browser()
    with django_capture_on_commit_callbacks(execute=True):
        sent = browser.post(path, {"email": alice.email, "callbackURL": f"{WEB}/home"}, format="json")
        unknown = browser.post(path, {"email": "nobody@example.com"}, format="json")
    assert sent.json() == unknown.json() == {"status": True}
    link = re.search(r"http://\S+/api/auth/magic-link/verify\?\S+", notify.to(alice.email)[-1].body["text"])
    assert link, notify.to(alice.email)[-1].body["text"]

    landed = browser.get(link.group(0).replace("http://localhost:8000", ""))

    assert (landed.status_code, landed["Location"]) == (302, f"{WEB}/home")
    assert browser.get("/api/auth/get-session").json()["user"]["id"] == alice.id
    reused = web_browser().get(link.group(0).replace("http://localhost:8000", ""))
    assert reused["Location"] == f"{WEB}/home?error=INVALID_TOKEN"


def test_a_magic_link_callback_on_an_untrusted_origin_goes_to_the_web_app(
    alice: User, notify: NotifyStub, django_capture_on_commit_callbacks: Capture, settings: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        web_browser().post("/api/auth/magic-link/send-magic-link", {"email": alice.email, "callbackURL": f"{EVIL}/steal"}, format="json")
    link = re.search(r"http://\S+/api/auth/magic-link/verify\?\S+", notify.to(alice.email)[-1].body["text"])
    assert link
    assert EVIL.replace("https://", "") not in link.group(0)
    landed = APIClient().get(link.group(0).replace("http://localhost:8000", ""))
    assert landed["Location"] == settings.WEB_APP_URL


# --- §8: what the verifiers check ---------------------------------------------------------------
def test_the_jwks_is_identical_on_all_three_paths(api: APIClient, alice: User) -> None:
    sign_in(api, alice.email)
    documents = [api.get(path).json() for path in ("/api/auth/jwks", "/api/v1/auth/jwks", "/.well-known/jwks.json")]
    assert documents[0] == documents[1] == documents[2]
    assert all(set(key) >= {"kty", "crv", "x", "kid", "alg", "use"} for key in documents[0]["keys"])


def go_verifier(token: str, jwks: dict[str, Any]) -> dict[str, Any]:
    """The sync service's rules: EdDSA only, a kid required, only OKP/Ed25519 keys of the JWKS,
    exp and sub checked (aud `mana` as the shared middleware sets it)."""
    header = pyjwt.get_unverified_header(token)
    assert header["alg"] == "EdDSA"
    assert header.get("kid")
    keys = {key["kid"]: key for key in jwks["keys"] if key.get("kty") == "OKP" and key.get("crv") == "Ed25519"}
    key = pyjwt.PyJWK(keys[header["kid"]])
    claims = pyjwt.decode(token, key, algorithms=["EdDSA"], audience="mana", options={"require": ["exp", "sub"]})
    return dict(claims)


def test_a_sign_in_token_passes_the_go_and_typescript_verifiers(api: APIClient, alice: User, settings: Any) -> None:
    settings.JWT_ISSUER = "http://mana-auth.internal:3001"
    token = sign_in(api, alice.email)["accessToken"]
    jwks = api.get("/api/auth/jwks").json()

    claims = go_verifier(token, jwks)

    assert claims["sub"] == alice.id
    assert claims["exp"] - claims["iat"] == 900
    assert (claims["role"], claims["tier"], claims["twoFactorEnabled"]) == ("user", "public", False)
    # The Hono services: issuer pinned to the internal URL, audience, subject and tier.
    hono = pyjwt.decode(token, pyjwt.PyJWK(jwks["keys"][0]), algorithms=["EdDSA"], audience="mana", issuer=settings.JWT_ISSUER)
    assert hono["tier"] == "public"
    assert api.post("/api/v1/auth/validate", {"token": token}, format="json").json()["valid"] is True


# --- §1 and §3: links that return to the platform's apps ------------------------------------------
def mailed_link(notify: NotifyStub, email: str) -> str:
    found = re.search(r"https?://\S+", notify.to(email)[-1].body["text"])
    assert found
    return found.group(0)


def test_web_sign_up_verification_link_returns_to_the_source_app_signed_in(
    api: APIClient, notify: NotifyStub, django_capture_on_commit_callbacks: Capture
) -> None:
    body = {"email": "nora@example.com", "password": "a sturdy passphrase 42", "name": "Nora", "sourceAppUrl": f"{WEB}/welcome"}
    with django_capture_on_commit_callbacks(execute=True):
        assert api.post("/api/v1/auth/register", body, format="json").status_code == 201
    link = mailed_link(notify, "nora@example.com")
    assert "/api/auth/verify-email?" in link

    browser = web_browser()
    landed = browser.get(link.replace("http://localhost:8000", ""))

    assert (landed.status_code, landed["Location"]) == (302, f"{WEB}/welcome")
    assert User.objects.get(email="nora@example.com").email_verified
    assert browser.get("/api/auth/get-session").json()["user"]["email"] == "nora@example.com"
    assert web_browser().get(link.replace("http://localhost:8000", ""))["Location"] == f"{WEB}/welcome?error=INVALID_TOKEN"


@pytest.mark.parametrize(
    ("redirect_to", "page"),
    [(WEB, f"{WEB}/reset-password?token="), (f"{WEB}/auth/reset", f"{WEB}/auth/reset?token="), (f"{EVIL}", "/reset-password?token=")],
)
def test_web_forgot_password_link_ends_on_the_callers_reset_page(
    api: APIClient, alice: User, notify: NotifyStub, django_capture_on_commit_callbacks: Capture, settings: Any, redirect_to: str, page: str
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        answer = api.post("/api/v1/auth/forgot-password", {"email": alice.email, "redirectTo": redirect_to}, format="json")
    assert answer.json() == {"success": True}
    link = mailed_link(notify, alice.email)
    expected = page if page.startswith("http") else f"{settings.WEB_APP_URL}{page}"
    assert link.startswith(expected), link
    token = link.split("token=", 1)[1]
    reset = api.post("/api/v1/auth/reset-password", {"token": token, "newPassword": "another sturdy passphrase 7"}, format="json")
    assert reset.status_code == 200


def test_better_auths_reset_link_forwards_the_token_to_the_callers_page(api: APIClient) -> None:
    response = api.get("/api/auth/reset-password/tok123", {"callbackURL": f"{WEB}/reset"})
    assert (response.status_code, response["Location"]) == (302, f"{WEB}/reset?token=tok123")


def test_the_web_app_may_send_and_read_what_it_needs_across_origins(api: APIClient) -> None:
    preflight = api.options(
        "/api/v1/me/data/export", HTTP_ORIGIN=WEB, HTTP_ACCESS_CONTROL_REQUEST_METHOD="PUT", HTTP_ACCESS_CONTROL_REQUEST_HEADERS="x-app-id"
    )
    assert preflight.status_code == 204
    assert preflight["Access-Control-Allow-Methods"] == "GET, POST, PUT, PATCH, DELETE, OPTIONS"
    assert preflight["Access-Control-Allow-Headers"] == "Authorization, Content-Type, X-Service-Key, X-App-Id, X-Request-Id"
    answer = api.get("/api/v1/auth/signup-status", HTTP_ORIGIN=WEB)
    assert answer["Access-Control-Expose-Headers"] == "Content-Disposition, Retry-After, X-Request-Id"
    assert answer["Vary"].endswith("Origin")


def test_on_a_shared_domain_over_https_the_cookie_is_secure_cross_site(api: APIClient, alice: User, settings: Any) -> None:
    settings.BASE_URL, settings.COOKIE_DOMAIN = "https://auth.mana.how", ".mana.how"
    response = api.post("/api/v1/auth/login", {"email": alice.email, "password": PASSWORD}, format="json", secure=True)
    cookie = response.cookies["__Secure-mana.session_token"]
    assert (cookie["domain"], cookie["samesite"], cookie["secure"], cookie["httponly"]) == (".mana.how", "None", True, True)
    assert cookie["max-age"] == 604800


def test_shared_client_refresh_failure_reads_as_final_not_as_a_network_error(api: APIClient) -> None:
    response = api.post("/api/v1/auth/refresh", {"refreshToken": "not-a-token"}, format="json")
    body = response.json()
    assert (response.status_code, body["code"], body["message"]) == (401, "TOKEN_INVALID", "Invalid refresh token")
    assert not re.search(r"network|fetch|connection|timeout", body["message"], re.IGNORECASE)
