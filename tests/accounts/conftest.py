"""Fixtures shared by the account tests."""

import pytest

from tests.support import Clock


@pytest.fixture
def steps(monkeypatch: pytest.MonkeyPatch) -> Clock:
    """The services' clock, held still and moved in whole TOTP steps."""
    return Clock(monkeypatch)
