from typing import Any

from rest_framework import serializers

from passkeys.models import Passkey
from passkeys.services import NAME_MAX


class PasskeySerializer(serializers.ModelSerializer[Passkey]):
    createdAt = serializers.DateTimeField(source="created_at")
    lastUsedAt = serializers.DateTimeField(source="last_used_at", allow_null=True)
    deviceType = serializers.CharField(source="device_type")
    backedUp = serializers.BooleanField(source="backed_up")

    class Meta:
        model = Passkey
        fields = ("id", "name", "createdAt", "lastUsedAt", "deviceType", "backedUp", "transports", "aaguid")
        read_only_fields = fields


class PasskeyEnvelopeSerializer(serializers.Serializer[Any]):
    passkey = PasskeySerializer()


class PasskeyListSerializer(serializers.Serializer[Any]):
    passkeys = PasskeySerializer(many=True)


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
    name = serializers.CharField(required=False, min_length=1, max_length=NAME_MAX)


class AuthenticateOptionsInput(serializers.Serializer[Any]):
    email = serializers.CharField(required=False, allow_blank=True, max_length=254)


class RenameInput(serializers.Serializer[Any]):
    name = serializers.CharField(required=False, min_length=1, max_length=NAME_MAX)
    friendlyName = serializers.CharField(required=False, min_length=1, max_length=NAME_MAX)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        name = attrs.get("name") or attrs.get("friendlyName")
        if not name:
            raise serializers.ValidationError({"name": ["This field is required."]})
        return {"name": name}
