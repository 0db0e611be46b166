"""The RS256 keys: KEK-wrapped at rest, published in the one JWKS after the EdDSA keys, rotated by
rotate_jwt_key with them, re-wrapped after a KEK rotation."""

import io
from datetime import timedelta
from typing import Any

import pytest
from django.core.management import call_command
from django.db.models import F
from django.test import Client as DjangoClient
from joserfc import jwt
from joserfc.jwk import KeySet

from accounts.models import User
from core.keyring import get_keyring
from oidc import keys
from oidc.models import RsaSigningKey
from tests.oidc.conftest import Client
from tests.oidc.support import code_for, exchange

pytestmark = pytest.mark.django_db

NEW_KEK = "MTExMTExMTExMTExMTExMTExMTExMTExMTExMTExMTE="  # base64 of 32 bytes of "1"


def jwks() -> list[Any]:
    return list(DjangoClient().get("/.well-known/jwks.json").json()["keys"])


def id_token_of(user: User, client: Client) -> str:
    code, verifier = code_for(user, client)
    return str(exchange(client, code, verifier).json()["id_token"])


def verifies(id_token: str) -> bool:
    return bool(jwt.decode(id_token, KeySet.import_key_set({"keys": jwks()}), algorithms=["RS256"]).claims["sub"])


def test_without_a_client_the_jwks_holds_the_eddsa_keys_alone(db: None) -> None:
    assert [key["kty"] for key in jwks()] == ["OKP"]
    assert not RsaSigningKey.objects.exists()


def test_the_first_client_publishes_the_rs256_key_after_the_eddsa_keys(confidential: Client) -> None:
    published = jwks()
    assert [(key["kty"], key["alg"]) for key in published] == [("OKP", "EdDSA"), ("RSA", "RS256")]
    rsa = published[1]
    assert rsa["kid"] == RsaSigningKey.objects.get(active=True).kid
    assert set(rsa) == {"kty", "kid", "alg", "use", "n", "e"}  # the public half only


def test_the_private_half_is_wrapped_by_the_kek(confidential: Client) -> None:
    row = RsaSigningKey.objects.get(active=True)
    assert row.private_key_wrapped.startswith(f"kw1:{get_keyring().active_id}:")
    pem = get_keyring().unwrap_text(row.private_key_wrapped, aad=f"oidc-signing-key:{row.kid}".encode())
    assert pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert pem.split(b"\n")[1].decode() not in row.private_key_wrapped
    with pytest.raises(Exception, match="authentication"):
        get_keyring().unwrap_text(row.private_key_wrapped, aad=b"oidc-signing-key:another-kid")


def test_rotate_jwt_key_rotates_both_and_old_id_tokens_still_verify(alice: User, confidential: Client) -> None:
    old_token = id_token_of(alice, confidential)
    old_kid = RsaSigningKey.objects.get(active=True).kid
    out = io.StringIO()
    call_command("rotate_jwt_key", stdout=out)
    new_kid = RsaSigningKey.objects.get(active=True).kid
    assert new_kid != old_kid
    assert f"New OpenID Connect signing key {new_kid} (RS256) is active" in out.getvalue()
    assert [key["kid"] for key in jwks() if key["kty"] == "RSA"] == [new_kid, old_kid]
    new_token = id_token_of(alice, confidential)
    assert jwt.decode(new_token, KeySet.import_key_set({"keys": jwks()})).header["kid"] == new_kid
    assert verifies(old_token)
    assert verifies(new_token)


def test_a_retired_key_leaves_the_jwks_once_its_id_tokens_have_expired(confidential: Client) -> None:
    call_command("rotate_jwt_key", stdout=io.StringIO())
    retired = RsaSigningKey.objects.get(active=False)
    RsaSigningKey.objects.filter(pk=retired.pk).update(retired_at=F("retired_at") - keys.publish_after_retirement() - timedelta(seconds=1))
    assert retired.kid not in {key["kid"] for key in jwks()}


def test_rotate_jwt_key_before_any_client_makes_no_rs256_key(db: None) -> None:
    out = io.StringIO()
    call_command("rotate_jwt_key", stdout=out)
    assert "No OpenID Connect signing key yet" in out.getvalue()
    assert not RsaSigningKey.objects.exists()


def test_after_a_kek_rotation_rewrap_moves_the_keys_and_signing_goes_on(alice: User, confidential: Client, settings) -> None:
    settings.MANA_AUTH_OLD_KEKS = f"{settings.MANA_AUTH_KEK_ID}:{settings.MANA_AUTH_KEK}"
    settings.MANA_AUTH_KEK, settings.MANA_AUTH_KEK_ID = NEW_KEK, "v2"
    keys.clear_key_cache()
    assert keys.signing_keys_rewrap().rewrapped == 1
    assert RsaSigningKey.objects.get(active=True).private_key_wrapped.startswith("kw1:v2:")
    assert keys.signing_keys_rewrap().rewrapped == 0  # idempotent
    keys.clear_key_cache()
    assert verifies(id_token_of(alice, confidential))
