from typing import Any

from rest_framework import serializers

from accounts.serializers import PASSWORD_FIELD_MAX
from passkeys.models import Passkey
from passkeys.services import NAME_MAX


class PasskeySerializer(serializers.ModelSerializer[Passkey]):
    """PLATFORM.md §2: `friendlyName` is the name people gave it."""

    friendlyName = serializers.CharField(source="name")
    deviceType = serializers.CharField(source="device_type")
    backedUp = serializers.BooleanField(source="backed_up")
    createdAt = serializers.DateTimeField(source="created_at")
    lastUsedAt = serializers.DateTimeField(source="last_used_at", allow_null=True)

    class Meta:
        model = Passkey
        fields = ("id", "friendlyName", "deviceType", "backedUp", "createdAt", "lastUsedAt", "transports", "aaguid")
        read_only_fields = fields


class PasskeyEnvelopeSerializer(serializers.Serializer[Any]):
    passkey = PasskeySerializer()


class CapabilitySerializer(serializers.Serializer[Any]):
    enabled = serializers.BooleanField()
    conditionalUIAvailable = serializers.BooleanField()
    rpId = serializers.CharField()


class CeremonyInput(serializers.Serializer[Any]):
    """A WebAuthn response, or word from the client that the user cancelled the ceremony
    (`{"cancelled": true}` or the DOMException name, `{"error": "NotAllowedError"}`)."""

    response = serializers.JSONField(required=False)
    cancelled = serializers.BooleanField(required=False, default=False)
    error = serializers.CharField(required=False, max_length=64)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs["cancelled"] = attrs["cancelled"] or attrs.get("error") in {"NotAllowedError", "AbortError"}
        if not attrs["cancelled"] and "response" not in attrs:
            raise serializers.ValidationError({"response": ["This field is required."]})
        return attrs


class RegisterVerifyInput(CeremonyInput):
    """`password` or `code` (TOTP) prove more than the token: the passkey then outlives the session."""

    name = serializers.CharField(required=False, min_length=1, max_length=NAME_MAX)
    password = serializers.CharField(required=False, max_length=PASSWORD_FIELD_MAX, trim_whitespace=False, write_only=True)
    code = serializers.CharField(required=False, max_length=16, write_only=True)


class AuthenticateOptionsInput(serializers.Serializer[Any]):
    email = serializers.CharField(required=False, allow_blank=True, max_length=254)


class RenameInput(serializers.Serializer[Any]):
    name = serializers.CharField(required=False, min_length=1, max_length=NAME_MAX)
    friendlyName = serializers.CharField(required=False, min_length=1, max_length=NAME_MAX)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        name = attrs.get("friendlyName") or attrs.get("name")
        if not name:
            raise serializers.ValidationError({"friendlyName": ["This field is required."]})
        return {"name": name}
