import base64
import os

import pytest
from django.core.exceptions import ImproperlyConfigured

from core.keyring import Keyring, KeyringError, Wrapped, get_keyring, parse_kek, parse_retired_keks

KEK_A = os.urandom(32)
KEK_B = os.urandom(32)


def test_round_trip_records_the_kek_id() -> None:
    keyring = Keyring("a", {"a": KEK_A})
    wrapped = keyring.wrap(b"secret bytes", aad=b"user-1")
    assert wrapped.kek_id == "a" and len(wrapped.iv) == 12
    assert b"secret bytes" not in wrapped.ciphertext
    assert keyring.unwrap(wrapped, aad=b"user-1") == b"secret bytes"
    text = keyring.wrap_text(b"other")
    assert text.startswith("kw1:a:")
    assert keyring.unwrap_text(text) == b"other"


def test_each_wrap_uses_a_fresh_iv() -> None:
    keyring = Keyring("a", {"a": KEK_A})
    assert keyring.wrap(b"x").iv != keyring.wrap(b"x").iv


def test_tampered_ciphertext_is_refused() -> None:
    keyring = Keyring("a", {"a": KEK_A})
    wrapped = keyring.wrap(b"secret")
    flipped = bytes([wrapped.ciphertext[0] ^ 1]) + wrapped.ciphertext[1:]
    with pytest.raises(KeyringError):
        keyring.unwrap(Wrapped("a", wrapped.iv, flipped))


def test_wrong_aad_is_refused() -> None:
    keyring = Keyring("a", {"a": KEK_A})
    with pytest.raises(KeyringError):
        keyring.unwrap(keyring.wrap(b"secret", aad=b"alice"), aad=b"bob")


def test_wrong_iv_length_is_refused() -> None:
    keyring = Keyring("a", {"a": KEK_A})
    wrapped = keyring.wrap(b"secret")
    with pytest.raises(KeyringError):
        keyring.unwrap(Wrapped("a", wrapped.iv + b"\0", wrapped.ciphertext))


def test_wrong_kek_is_refused() -> None:
    wrapped = Keyring("a", {"a": KEK_A}).wrap(b"secret")
    with pytest.raises(KeyringError):
        Keyring("a", {"a": KEK_B}).unwrap(wrapped)
    with pytest.raises(KeyringError):
        Keyring("b", {"b": KEK_B}).unwrap(wrapped)


def test_retired_kek_still_unwraps_and_new_wraps_use_the_active_one() -> None:
    old = Keyring("a", {"a": KEK_A}).wrap(b"secret")
    rotated = Keyring("b", {"b": KEK_B, "a": KEK_A})
    assert rotated.unwrap(old) == b"secret"
    assert rotated.wrap(b"secret").kek_id == "b"


def test_garbled_text_is_refused() -> None:
    keyring = Keyring("a", {"a": KEK_A})
    for text in ("", "kw1:a:nope", "kw2:a:AAAA:AAAA", "kw1:a:%%%:AAAA"):
        with pytest.raises(KeyringError):
            keyring.unwrap_text(text)


@pytest.mark.parametrize("value", ["not base64!", base64.b64encode(b"short").decode(), base64.b64encode(bytes(33)).decode()])
def test_malformed_kek_is_refused(value: str) -> None:
    with pytest.raises(ImproperlyConfigured, match="MANA_AUTH_KEK"):
        parse_kek("MANA_AUTH_KEK", value)


def test_retired_keks_parse() -> None:
    encoded = base64.b64encode(KEK_A).decode()
    assert parse_retired_keks(f"old-1:{encoded}, old-2:{encoded}") == {"old-1": KEK_A, "old-2": KEK_A}
    assert parse_retired_keks("") == {}
    with pytest.raises(ImproperlyConfigured):
        parse_retired_keks("missing-colon")


def test_keyring_follows_settings(settings) -> None:
    settings.MANA_AUTH_KEK = base64.b64encode(KEK_A).decode()
    settings.MANA_AUTH_KEK_ID = "kek-a"
    wrapped = get_keyring().wrap(b"v")
    settings.MANA_AUTH_KEK = base64.b64encode(KEK_B).decode()
    settings.MANA_AUTH_KEK_ID = "kek-b"
    settings.MANA_AUTH_OLD_KEKS = f"kek-a:{base64.b64encode(KEK_A).decode()}"
    assert get_keyring().active_id == "kek-b"
    assert get_keyring().unwrap(wrapped) == b"v"
