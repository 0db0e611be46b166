from typing import Any

from rest_framework import serializers


class VaultStatusSerializer(serializers.Serializer[Any]):
    vaultExists = serializers.BooleanField()
    hasRecoveryWrap = serializers.BooleanField()
    zeroKnowledge = serializers.BooleanField()
    recoverySetAt = serializers.DateTimeField(allow_null=True)


class KeySerializer(serializers.Serializer[Any]):
    """Server mode: masterKey, formatVersion, kekId. Zero-knowledge mode: requiresRecoveryCode,
    recoveryWrappedMk, recoveryIv, formatVersion."""

    masterKey = serializers.CharField(required=False)
    kekId = serializers.CharField(required=False)
    formatVersion = serializers.IntegerField()
    requiresRecoveryCode = serializers.BooleanField(required=False)
    recoveryWrappedMk = serializers.CharField(required=False)
    recoveryIv = serializers.CharField(required=False)


class OkSerializer(serializers.Serializer[Any]):
    ok = serializers.BooleanField()


class ZeroKnowledgeResultSerializer(OkSerializer):
    zeroKnowledge = serializers.BooleanField()


class RecoveryWrapInput(serializers.Serializer[Any]):
    recoveryWrappedMk = serializers.CharField(max_length=200)
    recoveryIv = serializers.CharField(max_length=64)


class ZeroKnowledgeInput(serializers.Serializer[Any]):
    enable = serializers.BooleanField()
    masterKey = serializers.CharField(required=False, max_length=200)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if not attrs["enable"] and not attrs.get("masterKey"):
            raise serializers.ValidationError({"masterKey": ["Required to leave zero-knowledge mode."]})
        return attrs
