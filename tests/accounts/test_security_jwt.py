import base64

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from rest_framework.test import APIClient

from accounts import jwt
from accounts.models import SigningKey, User
from core.keyring import get_keyring
from tests.support import sign_in

pytestmark = pytest.mark.django_db


def resign_without_exp(token: str) -> str:
    """The same claims, signed by our own active key the way accounts/jwt.py signs, minus `exp`."""
    row = SigningKey.objects.get(active=True)
    raw = get_keyring().unwrap_text(row.private_key_wrapped, aad=f"jwt-signing-key:{row.kid}".encode())
    private = Ed25519PrivateKey.from_private_bytes(raw)
    claims = pyjwt.decode(token, options={"verify_signature": False})
    del claims["exp"]
    return pyjwt.encode(claims, private, algorithm="EdDSA", headers={"kid": row.kid})


def test_attack_token_without_exp_is_refused(api: APIClient, alice: User) -> None:
    token = sign_in(api, alice.email)["accessToken"]
    forever = resign_without_exp(token)
    assert pyjwt.get_unverified_header(forever)["kid"] == pyjwt.get_unverified_header(token)["kid"]
    assert api.post("/api/v1/auth/validate", {"token": forever}, format="json").json() == {"valid": False, "reason": "invalid"}
    response = APIClient().get("/api/v1/auth/profile", HTTP_AUTHORIZATION=f"Bearer {forever}")
    assert response.status_code == 401
    assert response.json()["error"] == "UNAUTHORIZED"
    # The genuine token, same key and claims plus exp, still works: only the missing claim is refused.
    assert APIClient().get("/api/v1/auth/profile", HTTP_AUTHORIZATION=f"Bearer {token}").status_code == 200


@pytest.mark.parametrize(
    "header",
    [
        b"[" * 2500,  # unterminated, as deep as the 4096 characters a token may have allow
        b'["not", "an", "object"]',
        b"\xff\xfe not utf-8",
        b'{"alg": "EdDSA", "kid": 7}',
    ],
    ids=["unterminated", "array", "bytes", "kid-not-text"],
)
def test_attack_a_malformed_header_is_an_invalid_token_not_an_error(api: APIClient, alice: User, header: bytes) -> None:
    token = sign_in(api, alice.email)["accessToken"]
    forged = ".".join([base64.urlsafe_b64encode(header).rstrip(b"=").decode(), *token.split(".")[1:]])
    assert api.post("/api/v1/auth/validate", {"token": forged}, format="json").json() == {"valid": False, "reason": "invalid"}
    response = APIClient().get("/api/v1/auth/profile", HTTP_AUTHORIZATION=f"Bearer {forged}")
    assert response.status_code == 401
    assert response.json()["error"] == "UNAUTHORIZED"


def test_attack_a_header_of_non_ascii_text_is_an_invalid_token(api: APIClient, alice: User) -> None:
    token = sign_in(api, alice.email)["accessToken"]
    forged = "ä" + token
    assert api.post("/api/v1/auth/validate", {"token": forged}, format="json").json() == {"valid": False, "reason": "invalid"}


def test_attack_a_header_nested_past_the_parsers_limit_is_invalid() -> None:
    # Longer than any route lets through (a token field holds 4096 characters, a header line
    # 8190 bytes), but the decoder is not to rely on that.
    header = base64.urlsafe_b64encode(b"[" * 30_000).rstrip(b"=").decode()
    with pytest.raises(jwt.TokenInvalidError):
        jwt.decode_access_token(f"{header}.e30.c2ln")
