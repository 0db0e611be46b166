"""Master keys: 32 random bytes, wrapped by the KEK keyring and bound to their user and format."""

import os

from core.keyring import Keyring, Wrapped, get_keyring

MASTER_KEY_BYTES = 32
FORMAT_VERSION = 1


def _aad(user_id: str, format_version: int) -> bytes:
    # Binding the wrap to its user: a wrapped key copied into another user's row does not unwrap.
    return f"mana-vault:{user_id}:v{format_version}".encode()


def new_master_key() -> bytes:
    return os.urandom(MASTER_KEY_BYTES)


def wrap_master_key(master_key: bytes, *, user_id: str, keyring: Keyring | None = None) -> Wrapped:
    return (keyring or get_keyring()).wrap(master_key, aad=_aad(user_id, FORMAT_VERSION))


def unwrap_master_key(wrapped: Wrapped, *, user_id: str, format_version: int) -> bytes:
    return get_keyring().unwrap(wrapped, aad=_aad(user_id, format_version))
