import pytest
from rest_framework.test import APIClient

from accounts.models import User
from core.models import SecurityEvent
from mail.models import OutboxMessage
from tests.notify import NotifyStub

pytestmark = pytest.mark.django_db

PASSWORD = "a sturdy passphrase 42"


def test_register_mails_a_link_that_verifies_and_signs_in(api: APIClient, notify: NotifyStub, django_capture_on_commit_callbacks) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post("/api/v1/auth/register", {"email": "New@Example.com", "password": PASSWORD, "name": "Nora"}, format="json")
    assert response.status_code == 201
    user = response.json()["user"]
    assert (user["email"], user["name"], user["emailVerified"]) == ("new@example.com", "Nora", False)
    assert set(user) == {"id", "email", "name", "image", "emailVerified", "role", "tier", "twoFactorEnabled", "createdAt"}

    [delivery] = notify.deliveries
    assert delivery.path == "/api/v1/notifications/send"
    assert delivery.headers["x-service-key"] == "notify-test-service-key"
    assert delivery.headers["content-type"] == "application/json"
    assert set(delivery.body) == {"channel", "appId", "recipient", "subject", "body", "text"}
    assert (delivery.body["channel"], delivery.body["appId"], delivery.body["recipient"]) == ("email", "mana-auth", "new@example.com")
    assert "<a href=" in delivery.body["body"]
    token = delivery.link_token("verify-email")
    assert OutboxMessage.objects.get().status == OutboxMessage.Status.SENT
    assert OutboxMessage.objects.get().body_wrapped == ""

    login_before = api.post("/api/v1/auth/login", {"email": "new@example.com", "password": PASSWORD}, format="json")
    assert login_before.status_code == 403
    assert login_before.json()["error"] == "EMAIL_NOT_VERIFIED"

    verified = api.post("/api/v1/auth/verify-email", {"token": token}, format="json")
    assert verified.status_code == 200
    body = verified.json()
    assert body["user"]["emailVerified"] is True
    assert set(body) == {"user", "accessToken", "refreshToken", "token", "tokenType", "expiresIn", "deviceToken"}
    assert User.objects.get(email="new@example.com").email_verified
    assert set(SecurityEvent.objects.filter(user__email="new@example.com").values_list("type", flat=True)) >= {
        "REGISTER",
        "EMAIL_VERIFIED",
        "LOGIN_SUCCESS",
    }

    again = api.post("/api/v1/auth/verify-email", {"token": token}, format="json")
    assert again.status_code == 400
    assert again.json()["error"] == "TOKEN_INVALID"

    login = api.post("/api/v1/auth/login", {"email": "NEW@example.com", "password": PASSWORD}, format="json")
    assert login.status_code == 200
    profile = api.get("/api/v1/auth/profile", HTTP_AUTHORIZATION=f"Bearer {login.json()['accessToken']}")
    assert profile.json()["email"] == "new@example.com"
