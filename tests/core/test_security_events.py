import pytest
from django.test import RequestFactory

from accounts.models import User
from core.models import AppendOnlyError, SecurityEvent
from core.origin import Origin
from core.services import security_event_record

pytestmark = pytest.mark.django_db


def test_an_event_records_user_ip_agent_and_metadata(settings) -> None:
    user = User.objects.create_user("Alice@Example.com", "a-long-password-1")
    request = RequestFactory().post("/api/v1/auth/login", REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT="pytest-agent")
    event = security_event_record(type="LOGIN_SUCCESS", user_id=user.id, origin=Origin.of(request), metadata={"method": "password"})
    stored = SecurityEvent.objects.get(pk=event.pk)
    assert (stored.user_id, stored.type, stored.ip_address, stored.user_agent, stored.metadata) == (
        user.id,
        "LOGIN_SUCCESS",
        "203.0.113.7",
        "pytest-agent",
        {"method": "password"},
    )


def test_events_are_append_only() -> None:
    event = security_event_record(type="LOGIN_FAILURE")
    event.type = "LOGIN_SUCCESS"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    assert SecurityEvent.objects.get(pk=event.pk).type == "LOGIN_FAILURE"


def test_events_outlive_their_user() -> None:
    user = User.objects.create_user("bob@example.com", "a-long-password-1")
    event = security_event_record(type="ACCOUNT_DELETED", user_id=user.id)
    user.delete()
    assert SecurityEvent.objects.get(pk=event.pk).user_id is None


@pytest.mark.parametrize(
    ("proxies", "forwarded", "remote", "expected"),
    [
        (0, "198.51.100.1", "10.0.0.1", "10.0.0.1"),  # no trusted proxy: the header is ignored
        (1, "198.51.100.1", "10.0.0.1", "198.51.100.1"),
        (1, "6.6.6.6, 198.51.100.1", "10.0.0.1", "198.51.100.1"),  # the client's forged entry is left of it
        (2, "6.6.6.6, 198.51.100.1, 10.0.0.2", "10.0.0.1", "198.51.100.1"),
        (2, "198.51.100.1", "10.0.0.1", "10.0.0.1"),  # fewer hops than proxies: not trusted
    ],
)
def test_client_ip_trusts_only_the_configured_proxies(settings, proxies: int, forwarded: str, remote: str, expected: str) -> None:
    from core.origin import client_ip

    settings.TRUSTED_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=forwarded)
    assert client_ip(request) == expected
