"""A software WebAuthn authenticator (plus the browser's part of the ceremony) for tests.

It holds a real P-256 key per credential and answers `navigator.credentials.create()` / `.get()` with
the JSON a browser's `PublicKeyCredential.toJSON()` produces, so the service's real py_webauthn
verification runs against it: nothing about verification is mocked. Attestation is "none", as
synced passkeys and most browsers deliver it.
"""

import base64
import hashlib
import json
import secrets
import struct
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import cbor2
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

ES256 = -7

# Authenticator data flag bits (WebAuthn §6.1).
FLAG_UP = 0x01
FLAG_UV = 0x04
FLAG_BE = 0x08
FLAG_BS = 0x10
FLAG_AT = 0x40


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass
class SoftCredential:
    """One credential the authenticator holds. Ids and the user handle are base64url, as in the JSON."""

    credential_id: str
    user_handle: str
    rp_id: str
    sign_count: int
    private_key: ec.EllipticCurvePrivateKey = field(repr=False, compare=False)

    def cose_public_key(self) -> bytes:
        numbers = self.private_key.public_key().public_numbers()
        # COSE_Key for EC2/P-256/ES256, keys in CTAP2 canonical order: kty, alg, crv, x, y.
        return cbor2.dumps({1: 2, 3: ES256, -1: 1, -2: numbers.x.to_bytes(32, "big"), -3: numbers.y.to_bytes(32, "big")})


class SoftAuthenticator:
    """A platform authenticator with discoverable ES256 credentials.

    `sign_count_step=0` behaves like a synced passkey provider, which always reports a sign count of 0.
    """

    def __init__(
        self,
        *,
        aaguid: bytes = bytes(16),
        sign_count_step: int = 1,
        backup_eligible: bool = False,
        backed_up: bool = False,
    ) -> None:
        if len(aaguid) != 16:
            raise ValueError("an AAGUID is 16 bytes")
        if sign_count_step < 0:
            raise ValueError("sign_count_step must not be negative")
        # backed_up without backup_eligible is left allowed on purpose: the spec forbids it, and
        # py_webauthn rejects it (InvalidBackupFlags), which tests may want to provoke.
        self.aaguid = aaguid
        self.sign_count_step = sign_count_step
        self.backup_eligible = backup_eligible
        self.backed_up = backed_up
        self.credentials: list[SoftCredential] = []

    # Ceremonies

    def create(self, *, options: dict[str, Any], origin: str, user_verified: bool = True, rp_id: str | None = None) -> dict[str, Any]:
        """Answer PublicKeyCredentialCreationOptionsJSON with a RegistrationResponseJSON.

        `rp_id` replaces the options' RP ID in the authenticator data, to forge a response for
        another relying party. excludeCredentials is ignored so tests can register twice.
        """
        params = options.get("pubKeyCredParams") or []
        # An empty list means "the defaults", which include ES256 (WebAuthn §5.1.3 step 10).
        if params and not any(param.get("alg") == ES256 for param in params):
            raise ValueError("the relying party does not accept ES256, the only algorithm this authenticator has")
        effective_rp_id = rp_id if rp_id is not None else self._rp_id(options.get("rp", {}).get("id"), origin)

        credential = SoftCredential(
            credential_id=b64url_encode(secrets.token_bytes(32)),
            user_handle=b64url_encode(b64url_decode(options["user"]["id"])),
            rp_id=effective_rp_id,
            sign_count=0,
            private_key=ec.generate_private_key(ec.SECP256R1()),
        )
        self.credentials.append(credential)

        raw_id = b64url_decode(credential.credential_id)
        attested_credential_data = self.aaguid + struct.pack(">H", len(raw_id)) + raw_id + credential.cose_public_key()
        auth_data = self._authenticator_data(effective_rp_id, credential.sign_count, user_verified, FLAG_AT) + attested_credential_data
        # CTAP2 canonical key order (shortest key first), as real authenticators encode it.
        attestation_object = cbor2.dumps({"fmt": "none", "attStmt": {}, "authData": auth_data})
        client_data = self._client_data("webauthn.create", options["challenge"], origin)

        return {
            "id": credential.credential_id,
            "rawId": credential.credential_id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url_encode(client_data),
                "attestationObject": b64url_encode(attestation_object),
                "transports": ["internal"],
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    def get(
        self,
        *,
        options: dict[str, Any],
        origin: str,
        credential_id: str | None = None,
        user_verified: bool = True,
        rp_id: str | None = None,
    ) -> dict[str, Any]:
        """Answer PublicKeyCredentialRequestOptionsJSON with an AuthenticationResponseJSON.

        The credential is `credential_id` if given, else the first of allowCredentials this
        authenticator holds, else (discoverable sign-in, empty allowCredentials) its first
        credential for the RP. `rp_id` replaces the RP ID in the signed authenticator data only.
        """
        options_rp_id = self._rp_id(options.get("rpId"), origin)
        credential = self._pick(options, options_rp_id, credential_id)
        credential.sign_count += self.sign_count_step

        auth_data = self._authenticator_data(rp_id if rp_id is not None else options_rp_id, credential.sign_count, user_verified, 0)
        client_data = self._client_data("webauthn.get", options["challenge"], origin)
        signature = _sign(credential.private_key, auth_data, client_data)

        return {
            "id": credential.credential_id,
            "rawId": credential.credential_id,
            "type": "public-key",
            "response": {
                "clientDataJSON": b64url_encode(client_data),
                "authenticatorData": b64url_encode(auth_data),
                "signature": b64url_encode(signature),
                "userHandle": credential.user_handle,
            },
            "clientExtensionResults": {},
            "authenticatorAttachment": "platform",
        }

    # Helpers for negative tests

    def sign_with_other_key(self, response: dict[str, Any]) -> dict[str, Any]:
        """A copy of an AuthenticationResponseJSON whose signature is over the same data, but by an
        unrelated key: everything else is valid, so only the signature check can reject it."""
        auth_data = b64url_decode(response["response"]["authenticatorData"])
        client_data = b64url_decode(response["response"]["clientDataJSON"])
        signature = _sign(ec.generate_private_key(ec.SECP256R1()), auth_data, client_data)
        return {**response, "response": {**response["response"], "signature": b64url_encode(signature)}}

    def set_sign_count(self, credential_id: str, value: int) -> None:
        """Set the stored counter, e.g. to replay an old count or simulate a cloned authenticator."""
        self._find(credential_id).sign_count = value

    # Internals

    def _find(self, credential_id: str) -> SoftCredential:
        for credential in self.credentials:
            if credential.credential_id == credential_id:
                return credential
        raise LookupError(f"this authenticator holds no credential {credential_id}")

    def _pick(self, options: dict[str, Any], rp_id: str, credential_id: str | None) -> SoftCredential:
        if credential_id is not None:
            return self._find(credential_id)
        allowed = [descriptor["id"] for descriptor in options.get("allowCredentials") or []]
        if allowed:
            for credential in self.credentials:
                if credential.credential_id in allowed:
                    return credential
            raise LookupError("this authenticator holds none of allowCredentials")
        for credential in self.credentials:
            if credential.rp_id == rp_id:
                return credential
        raise LookupError(f"this authenticator holds no credential for {rp_id}")

    @staticmethod
    def _rp_id(rp_id: str | None, origin: str) -> str:
        # Browsers default the RP ID to the origin's host when the options leave it out.
        if rp_id:
            return rp_id
        host = urlsplit(origin).hostname
        if not host:
            raise ValueError(f"no RP ID in the options and no host in origin {origin!r}")
        return host

    def _authenticator_data(self, rp_id: str, sign_count: int, user_verified: bool, extra_flags: int) -> bytes:
        flags = FLAG_UP | extra_flags
        if user_verified:
            flags |= FLAG_UV
        if self.backup_eligible:
            flags |= FLAG_BE
        if self.backed_up:
            flags |= FLAG_BS
        return hashlib.sha256(rp_id.encode()).digest() + bytes([flags]) + struct.pack(">I", sign_count)

    @staticmethod
    def _client_data(ceremony: str, challenge: str, origin: str) -> bytes:
        # Re-encoded, as a browser does: it decodes the challenge to bytes and encodes it again unpadded.
        data = {"type": ceremony, "challenge": b64url_encode(b64url_decode(challenge)), "origin": origin, "crossOrigin": False}
        return json.dumps(data, separators=(",", ":")).encode()


def _sign(private_key: ec.EllipticCurvePrivateKey, auth_data: bytes, client_data: bytes) -> bytes:
    # WebAuthn §6.3.3: the signature covers authenticatorData || SHA-256(clientDataJSON); DER-encoded.
    return private_key.sign(auth_data + hashlib.sha256(client_data).digest(), ec.ECDSA(hashes.SHA256()))
