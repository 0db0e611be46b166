import base64
import io
import time
from datetime import timedelta
from types import SimpleNamespace

import jwt as pyjwt
import pytest
from django.core.management import call_command
from django.db.models import F
from rest_framework.test import APIClient

from accounts import jwt
from accounts.models import SigningKey, User
from core.keyring import get_keyring
from tests.support import sign_in

pytestmark = pytest.mark.django_db


def verify_with_jwks(token: str, jwks: dict) -> dict:
    """What a sibling service does: pick the key by kid from the JWKS document alone."""
    kid = pyjwt.get_unverified_header(token)["kid"]
    [jwk] = [key for key in jwks["keys"] if key["kid"] == kid]
    public_key = pyjwt.PyJWK(jwk).key
    return pyjwt.decode(token, public_key, algorithms=["EdDSA"], audience="mana", issuer="http://localhost:8000")


def test_access_token_verifies_against_the_jwks_alone(api: APIClient, alice: User) -> None:
    token = sign_in(api, alice.email)["accessToken"]
    jwks = api.get("/api/v1/auth/jwks").json()
    assert jwks == api.get("/.well-known/jwks.json").json()
    [key] = jwks["keys"]
    assert (key["kty"], key["crv"], key["alg"], key["use"]) == ("OKP", "Ed25519", "EdDSA", "sig")
    assert pyjwt.get_unverified_header(token) == {"alg": "EdDSA", "kid": key["kid"], "typ": "JWT"}
    claims = verify_with_jwks(token, jwks)
    assert claims["sub"] == alice.id
    assert (claims["email"], claims["role"], claims["tier"]) == ("alice@example.com", "user", "public")
    assert claims["exp"] - claims["iat"] == 900
    assert claims["sid"]


def test_a_token_for_another_audience_or_issuer_is_refused(api: APIClient, alice: User) -> None:
    token = sign_in(api, alice.email)["accessToken"]
    jwks = api.get("/api/v1/auth/jwks").json()
    public_key = pyjwt.PyJWK(jwks["keys"][0]).key
    with pytest.raises(pyjwt.InvalidAudienceError):
        pyjwt.decode(token, public_key, algorithms=["EdDSA"], audience="other")
    with pytest.raises(pyjwt.InvalidIssuerError):
        pyjwt.decode(token, public_key, algorithms=["EdDSA"], audience="mana", issuer="https://evil.example")


def test_rotation_keeps_old_tokens_valid_and_signs_new_ones_with_the_new_key(api: APIClient, alice: User) -> None:
    old_token = sign_in(api, alice.email)["accessToken"]
    old_kid = pyjwt.get_unverified_header(old_token)["kid"]
    call_command("rotate_jwt_key", stdout=io.StringIO())
    new_token = sign_in(api, alice.email)["accessToken"]
    new_kid = pyjwt.get_unverified_header(new_token)["kid"]
    assert new_kid != old_kid
    jwks = api.get("/api/v1/auth/jwks").json()
    assert {key["kid"] for key in jwks["keys"]} == {old_kid, new_kid}
    assert verify_with_jwks(old_token, jwks)["sub"] == alice.id
    assert verify_with_jwks(new_token, jwks)["sub"] == alice.id
    assert api.get("/api/v1/auth/profile", HTTP_AUTHORIZATION=f"Bearer {old_token}").status_code == 200
    assert api.post("/api/v1/auth/validate", {"token": old_token}, format="json").json()["valid"] is True


def test_a_retired_key_leaves_the_jwks_once_its_tokens_have_expired(api: APIClient, alice: User) -> None:
    sign_in(api, alice.email)
    call_command("rotate_jwt_key", stdout=io.StringIO())
    retired = SigningKey.objects.get(active=False)
    SigningKey.objects.filter(pk=retired.pk).update(retired_at=F("retired_at") - timedelta(minutes=20))
    assert retired.kid not in {key["kid"] for key in api.get("/api/v1/auth/jwks").json()["keys"]}


def test_private_keys_are_wrapped_at_rest(api: APIClient, alice: User) -> None:
    sign_in(api, alice.email)
    row = SigningKey.objects.get(active=True)
    assert row.private_key_wrapped.startswith(f"kw1:{get_keyring().active_id}:")
    raw = get_keyring().unwrap_text(row.private_key_wrapped, aad=f"jwt-signing-key:{row.kid}".encode())
    assert len(raw) == 32
    assert base64.b64encode(raw).decode() not in row.private_key_wrapped
    assert api.get("/api/v1/auth/jwks").content.decode().count(row.public_key) == 1


def test_tampered_expired_and_foreign_tokens_are_rejected(api: APIClient, alice: User) -> None:
    token = sign_in(api, alice.email)["accessToken"]
    header, payload, signature = token.split(".")
    tampered = f"{header}.{payload}.{signature[:-4]}AAAA"
    assert api.post("/api/v1/auth/validate", {"token": tampered}, format="json").json() == {"valid": False, "reason": "invalid"}
    # A fresh client: sign-in left a session cookie on `api`, and a valid cookie wins over a bad Bearer.
    response = APIClient().get("/api/v1/auth/profile", HTTP_AUTHORIZATION=f"Bearer {tampered}")
    assert response.status_code == 401
    assert response.json()["error"] == "UNAUTHORIZED"
    assert response["WWW-Authenticate"].startswith("Bearer")
    hs256 = pyjwt.encode(
        {"sub": alice.id, "sid": "x"},
        "a-shared-secret-of-thirty-two-bytes!",
        algorithm="HS256",
        headers={"kid": pyjwt.get_unverified_header(token)["kid"]},
    )
    assert api.post("/api/v1/auth/validate", {"token": hs256}, format="json").json()["valid"] is False


def test_an_expired_token_says_so(api: APIClient, alice: User, monkeypatch) -> None:
    monkeypatch.setattr(jwt, "ACCESS_TOKEN_LIFETIME", timedelta(seconds=-5))  # issue one that expired already
    token = sign_in(api, alice.email)["accessToken"]
    assert api.post("/api/v1/auth/validate", {"token": token}, format="json").json() == {"valid": False, "reason": "expired"}
    response = APIClient().get("/api/v1/auth/profile", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 401
    assert response.json()["error"] == "TOKEN_EXPIRED"


def test_a_token_is_verified_once_per_process_and_still_expires(api: APIClient, alice: User, monkeypatch) -> None:
    token = sign_in(api, alice.email)["accessToken"]
    verified: list[str] = []
    decode = jwt.LoadedKey.decode

    def counted(self: jwt.LoadedKey, raw: str) -> dict:
        verified.append(raw)
        return decode(self, raw)

    monkeypatch.setattr(jwt.LoadedKey, "decode", counted)
    first = jwt.decode_access_token(token)
    first["sub"] = "someone else"  # a caller's change stays with its copy
    second = jwt.decode_access_token(token)
    assert verified == [token] and second["sub"] == alice.id
    tampered = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    for _ in range(2):  # a failure is never kept: checked in full each time
        with pytest.raises(jwt.TokenInvalidError):
            jwt.decode_access_token(tampered)
    assert verified == [token, tampered, tampered]
    monkeypatch.setattr(jwt, "time", SimpleNamespace(time=lambda: float(second["exp"]), monotonic=time.monotonic))
    with pytest.raises(jwt.TokenExpiredError):
        jwt.decode_access_token(token)
    assert api.post("/api/v1/auth/validate", {"token": token}, format="json").json() == {"valid": False, "reason": "expired"}
