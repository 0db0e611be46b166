"""The one module that talks to py_webauthn. The rest of the app deals in plain values and the
two errors below, so the library could be swapped without touching services or views."""

import base64
import binascii
import json
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    options_to_json,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, parse_authenticator_data
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AttestationConveyancePreference,
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

OPTIONS_TIMEOUT_MS = 300_000


class MalformedResponseError(Exception):
    """The client sent something that is not a WebAuthn response at all (→ VALIDATION)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


class VerificationFailedError(Exception):
    """A well-formed response that does not verify (→ PASSKEY_VERIFICATION_FAILED)."""


@dataclass(frozen=True)
class Options:
    challenge: str  # base64url
    json: dict[str, Any]


@dataclass(frozen=True)
class NewCredential:
    credential_id: str
    public_key: bytes
    sign_count: int
    aaguid: str
    device_type: str
    backed_up: bool
    transports: list[str]


@dataclass(frozen=True)
class Assertion:
    new_sign_count: int
    backed_up: bool
    device_type: str
    user_verified: bool  # the UV flag: the authenticator checked a PIN or biometric, not just presence


def rp_id() -> str:
    return str(settings.WEBAUTHN_RP_ID)


def credential_id_text(raw: bytes) -> str:
    """A credential id as the JSON and the database spell it (base64url, unpadded)."""
    return bytes_to_base64url(raw)


def _descriptor(credential_id: str, transports: list[str]) -> PublicKeyCredentialDescriptor:
    known = {transport.value for transport in AuthenticatorTransport}
    return PublicKeyCredentialDescriptor(
        id=base64url_to_bytes(credential_id), transports=[AuthenticatorTransport(t) for t in transports if t in known]
    )


def registration_options(*, user_id: str, user_name: str, display_name: str, exclude: list[tuple[str, list[str]]]) -> Options:
    options = generate_registration_options(
        rp_id=rp_id(),
        rp_name=settings.WEBAUTHN_RP_NAME,
        user_id=user_id.encode(),
        user_name=user_name,
        user_display_name=display_name,
        timeout=OPTIONS_TIMEOUT_MS,
        attestation=AttestationConveyancePreference.NONE,
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.PREFERRED, user_verification=UserVerificationRequirement.PREFERRED
        ),
        exclude_credentials=[_descriptor(credential_id, transports) for credential_id, transports in exclude],
    )
    return Options(challenge=bytes_to_base64url(options.challenge), json=json.loads(options_to_json(options)))


def authentication_options(*, allow: list[tuple[str, list[str]]]) -> Options:
    options = generate_authentication_options(
        rp_id=rp_id(),
        timeout=OPTIONS_TIMEOUT_MS,
        allow_credentials=[_descriptor(credential_id, transports) for credential_id, transports in allow],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    return Options(challenge=bytes_to_base64url(options.challenge), json=json.loads(options_to_json(options)))


def _require(response: Any, *fields: str) -> dict[str, Any]:
    if not isinstance(response, dict):
        raise MalformedResponseError("response", "Expected a WebAuthn credential object.")
    if not isinstance(response.get("id"), str) or not response["id"]:
        raise MalformedResponseError("response.id", "Expected the credential id.")
    inner = response.get("response")
    if not isinstance(inner, dict):
        raise MalformedResponseError("response.response", "Expected the authenticator response.")
    for name in fields:
        if not isinstance(inner.get(name), str) or not inner[name]:
            raise MalformedResponseError(f"response.response.{name}", "This field is required.")
        try:
            base64url_to_bytes(inner[name])
        except (binascii.Error, ValueError) as exc:
            raise MalformedResponseError(f"response.response.{name}", "Expected base64url.") from exc
    return response


def client_data(response: dict[str, Any]) -> dict[str, Any]:
    """The decoded clientDataJSON: REST clients have no cookie, so the challenge is found here."""
    try:
        data = json.loads(base64url_to_bytes(response["response"]["clientDataJSON"]))
    except (ValueError, binascii.Error) as exc:
        raise MalformedResponseError("response.response.clientDataJSON", "Expected base64url-encoded JSON.") from exc
    if not isinstance(data, dict) or not isinstance(data.get("challenge"), str):
        raise MalformedResponseError("response.response.clientDataJSON", "The client data has no challenge.")
    return data


def parse_registration(response: Any) -> dict[str, Any]:
    return _require(response, "clientDataJSON", "attestationObject")


def parse_assertion(response: Any) -> dict[str, Any]:
    return _require(response, "clientDataJSON", "authenticatorData", "signature")


def asserted_sign_count(response: dict[str, Any]) -> int:
    try:
        return int(parse_authenticator_data(base64url_to_bytes(response["response"]["authenticatorData"])).sign_count)
    except Exception as exc:
        raise VerificationFailedError("unreadable authenticator data") from exc


def verify_registration(*, response: dict[str, Any], challenge: str) -> NewCredential:
    try:
        verified = verify_registration_response(
            credential=response,
            expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=rp_id(),
            expected_origin=list(settings.WEBAUTHN_ORIGINS),
        )
    # Every library failure (backup flags, key structure, CBOR…) is a failed verification, never a 500.
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise VerificationFailedError(str(exc)) from exc
    transports = response["response"].get("transports") or []
    return NewCredential(
        credential_id=bytes_to_base64url(verified.credential_id),
        public_key=verified.credential_public_key,
        sign_count=verified.sign_count,
        aaguid=verified.aaguid,
        device_type=verified.credential_device_type.value,
        backed_up=verified.credential_backed_up,
        transports=[str(t) for t in transports if isinstance(t, str)][:10],
    )


def verify_assertion(*, response: dict[str, Any], challenge: str, public_key: bytes, sign_count: int) -> Assertion:
    try:
        verified = verify_authentication_response(
            credential=response,
            expected_challenge=base64url_to_bytes(challenge),
            expected_rp_id=rp_id(),
            expected_origin=list(settings.WEBAUTHN_ORIGINS),
            credential_public_key=public_key,
            credential_current_sign_count=sign_count,
        )
    except (WebAuthnException, ValueError, KeyError, TypeError) as exc:
        raise VerificationFailedError(str(exc)) from exc
    return Assertion(
        new_sign_count=verified.new_sign_count,
        backed_up=verified.credential_backed_up,
        device_type=verified.credential_device_type.value,
        user_verified=verified.user_verified,
    )


def user_handle(response: dict[str, Any]) -> str | None:
    handle = response["response"].get("userHandle")
    if not isinstance(handle, str) or not handle:
        return None
    try:
        return base64.urlsafe_b64decode(handle + "=" * (-len(handle) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None
