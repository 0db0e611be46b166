from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client

from accounts.models import User
from tests.mail.services_stub import ServiceStub
from tests.support import PASSWORD

SERVICE_KEY = "sibling-test-service-key"


def _running(settings: Any, url_setting: str) -> Iterator[ServiceStub]:
    stub = ServiceStub()
    stub.start()
    setattr(settings, url_setting, stub.url)
    settings.MANA_SERVICE_KEY = SERVICE_KEY
    yield stub
    stub.stop()


@pytest.fixture
def credits_service(settings: Any) -> Iterator[ServiceStub]:
    """The credits service, running for real on loopback (MANA_CREDITS_URL points at it)."""
    yield from _running(settings, "MANA_CREDITS_URL")


@pytest.fixture
def mail_service(settings: Any) -> Iterator[ServiceStub]:
    """The mail service, running for real on loopback (MANA_MAIL_URL points at it)."""
    yield from _running(settings, "MANA_MAIL_URL")


@pytest.fixture
def operator_client(make_user: Callable[..., User]) -> Client:
    """The admin, signed in through the login page by an operator."""
    operator = make_user("ops@example.com", name="Ops", is_staff=True, is_superuser=True, role="admin")
    client = Client()
    response = client.post("/login", {"email": operator.email, "password": PASSWORD, "next": "/admin/"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 302
    return client
