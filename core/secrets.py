"""Opaque secrets handed to clients (refresh, device, mail tokens, API keys): random, and stored
only as their SHA-256 (DESIGN.md rule 4). A lookup hashes the presented value and finds the row
by its unique hash, so no comparison of secrets happens in Python at all."""

import hashlib
import secrets


def new_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()
