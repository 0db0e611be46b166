"""The software authenticator against py_webauthn's real verification, with no service in between:
if these pass, a failing passkey test of the service points at the service, not at the authenticator."""

import json
from typing import Any

import pytest
import webauthn
from webauthn.helpers.exceptions import InvalidAuthenticationResponse, InvalidBackupFlags, InvalidRegistrationResponse
from webauthn.helpers.structs import AttestationFormat, CredentialDeviceType, PublicKeyCredentialDescriptor
from webauthn.registration.verify_registration_response import VerifiedRegistration

from tests.passkeys.authenticator import SoftAuthenticator, b64url_decode, b64url_encode

RP_ID = "localhost"
ORIGIN = "http://localhost:8000"
USER_ID = b"alice-user-handle"


def registration_options() -> tuple[Any, dict[str, Any]]:
    options = webauthn.generate_registration_options(rp_id=RP_ID, rp_name="Mana", user_name="alice@example.com", user_id=USER_ID)
    return options, json.loads(webauthn.options_to_json(options))


def authentication_options(allow: list[bytes] | None = None) -> tuple[Any, dict[str, Any]]:
    descriptors = [PublicKeyCredentialDescriptor(id=credential_id) for credential_id in allow or []]
    options = webauthn.generate_authentication_options(rp_id=RP_ID, allow_credentials=descriptors)
    return options, json.loads(webauthn.options_to_json(options))


def verify_registration(response: dict[str, Any], challenge: bytes) -> VerifiedRegistration:
    return webauthn.verify_registration_response(
        credential=response, expected_challenge=challenge, expected_rp_id=RP_ID, expected_origin=ORIGIN, require_user_verification=True
    )


def register(authenticator: SoftAuthenticator) -> VerifiedRegistration:
    options, options_json = registration_options()
    return verify_registration(authenticator.create(options=options_json, origin=ORIGIN), options.challenge)


def verify_authentication(response: dict[str, Any], challenge: bytes, registered: VerifiedRegistration, current_sign_count: int = 0) -> Any:
    return webauthn.verify_authentication_response(
        credential=response,
        expected_challenge=challenge,
        expected_rp_id=RP_ID,
        expected_origin=ORIGIN,
        credential_public_key=registered.credential_public_key,
        credential_current_sign_count=current_sign_count,
        require_user_verification=True,
    )


def test_registration_verifies() -> None:
    authenticator = SoftAuthenticator()
    options, options_json = registration_options()
    response = authenticator.create(options=options_json, origin=ORIGIN)

    verified = verify_registration(response, options.challenge)

    assert b64url_encode(verified.credential_id) == response["id"] == authenticator.credentials[0].credential_id
    assert verified.fmt == AttestationFormat.NONE
    assert verified.user_verified is True
    assert verified.sign_count == 0
    assert verified.aaguid == "00000000-0000-0000-0000-000000000000"
    assert verified.credential_device_type == CredentialDeviceType.SINGLE_DEVICE
    assert verified.credential_backed_up is False
    assert b64url_decode(authenticator.credentials[0].user_handle) == USER_ID


def test_authentication_verifies_and_counts() -> None:
    authenticator = SoftAuthenticator()
    registered = register(authenticator)
    options, options_json = authentication_options([registered.credential_id])

    response = authenticator.get(options=options_json, origin=ORIGIN)
    verified = verify_authentication(response, options.challenge, registered)

    assert verified.new_sign_count == 1
    assert verified.credential_id == registered.credential_id
    assert verified.user_verified is True
    assert b64url_decode(response["response"]["userHandle"]) == USER_ID

    # The next sign-in counts on from the stored count.
    options, options_json = authentication_options([registered.credential_id])
    verified = verify_authentication(authenticator.get(options=options_json, origin=ORIGIN), options.challenge, registered, 1)
    assert verified.new_sign_count == 2


def test_discoverable_sign_in_picks_the_credential_for_the_rp() -> None:
    authenticator = SoftAuthenticator()
    authenticator.create(options=registration_options()[1], origin="https://other.example", rp_id="other.example")
    registered = register(authenticator)
    options, options_json = authentication_options()
    assert options_json["allowCredentials"] == []

    response = authenticator.get(options=options_json, origin=ORIGIN)

    assert b64url_decode(response["rawId"]) == registered.credential_id
    assert verify_authentication(response, options.challenge, registered).new_sign_count == 1


@pytest.mark.parametrize(
    ("origin", "rp_id", "same_challenge"),
    [("http://evil.example", None, True), (ORIGIN, "evil.example", True), (ORIGIN, None, False)],
    ids=["wrong origin", "wrong rp id", "other challenge"],
)
def test_registration_rejects(origin: str, rp_id: str | None, same_challenge: bool) -> None:
    options, options_json = registration_options()
    response = SoftAuthenticator().create(options=options_json, origin=origin, rp_id=rp_id)
    challenge = options.challenge if same_challenge else registration_options()[0].challenge

    with pytest.raises(InvalidRegistrationResponse):
        verify_registration(response, challenge)


@pytest.mark.parametrize(
    ("origin", "rp_id", "same_challenge"),
    [("http://evil.example", None, True), (ORIGIN, "evil.example", True), (ORIGIN, None, False)],
    ids=["wrong origin", "wrong rp id", "other challenge"],
)
def test_authentication_rejects(origin: str, rp_id: str | None, same_challenge: bool) -> None:
    authenticator = SoftAuthenticator()
    registered = register(authenticator)
    options, options_json = authentication_options([registered.credential_id])
    response = authenticator.get(options=options_json, origin=origin, rp_id=rp_id)
    challenge = options.challenge if same_challenge else authentication_options()[0].challenge

    with pytest.raises(InvalidAuthenticationResponse):
        verify_authentication(response, challenge, registered)


def test_signature_by_another_key_is_rejected() -> None:
    authenticator = SoftAuthenticator()
    registered = register(authenticator)
    options, options_json = authentication_options([registered.credential_id])
    response = authenticator.get(options=options_json, origin=ORIGIN)
    forged = authenticator.sign_with_other_key(response)
    assert forged["response"]["signature"] != response["response"]["signature"]

    with pytest.raises(InvalidAuthenticationResponse, match="signature"):
        verify_authentication(forged, options.challenge, registered)
    # The untouched response still verifies: only the signature made the difference.
    assert verify_authentication(response, options.challenge, registered).new_sign_count == 1


def test_user_not_verified_is_rejected_when_required() -> None:
    authenticator = SoftAuthenticator()
    options, options_json = registration_options()
    with pytest.raises(InvalidRegistrationResponse, match="verification"):
        verify_registration(authenticator.create(options=options_json, origin=ORIGIN, user_verified=False), options.challenge)


def test_replayed_sign_count_is_rejected() -> None:
    authenticator = SoftAuthenticator()
    registered = register(authenticator)
    authenticator.set_sign_count(authenticator.credentials[0].credential_id, 4)
    options, options_json = authentication_options([registered.credential_id])

    # The authenticator reports 5, the service has seen 5 already: a clone or a replay.
    with pytest.raises(InvalidAuthenticationResponse, match="sign count"):
        verify_authentication(authenticator.get(options=options_json, origin=ORIGIN), options.challenge, registered, 5)


def test_synced_passkey_reports_zero_and_backup_state() -> None:
    authenticator = SoftAuthenticator(sign_count_step=0, backup_eligible=True, backed_up=True)
    registered = register(authenticator)
    assert registered.credential_device_type == CredentialDeviceType.MULTI_DEVICE
    assert registered.credential_backed_up is True

    for _ in range(2):
        options, options_json = authentication_options([registered.credential_id])
        verified = verify_authentication(authenticator.get(options=options_json, origin=ORIGIN), options.challenge, registered)
        assert verified.new_sign_count == 0
        assert verified.credential_device_type == CredentialDeviceType.MULTI_DEVICE
        assert verified.credential_backed_up is True


def test_backed_up_without_eligibility_is_not_an_invalid_registration_response() -> None:
    # A spec violation py_webauthn reports with InvalidBackupFlags, a sibling of
    # InvalidRegistrationResponse: code that catches only the latter lets it escape.
    with pytest.raises(InvalidBackupFlags):
        register(SoftAuthenticator(backed_up=True))
