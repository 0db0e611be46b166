from typing import Any

from rest_framework import serializers

from grants.models import DecryptAudit, DecryptStatus, Grant

MAX_RECORDS = 1000
MAX_AUDIT_ENTRIES = 500


class GrantInput(serializers.Serializer[Any]):
    missionId = serializers.CharField(min_length=1, max_length=200, trim_whitespace=False)
    tables = serializers.ListField(child=serializers.RegexField(r"^[a-z0-9_-]+$", max_length=100), min_length=1, max_length=100)
    recordIds = serializers.ListField(
        child=serializers.CharField(max_length=300, trim_whitespace=False), min_length=1, max_length=MAX_RECORDS
    )
    ttlMs = serializers.IntegerField(required=False, min_value=1, max_value=10**15)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        tables = set(attrs["tables"])
        stray = [record for record in attrs["recordIds"] if record.partition(":")[0] not in tables or not record.partition(":")[2]]
        if stray:
            raise serializers.ValidationError({"recordIds": [f"Each id must be '<table>:<id>' with a listed table: {stray[0][:60]!r}."]})
        return attrs


class DerivationSerializer(serializers.Serializer[Any]):
    version = serializers.CharField()
    missionId = serializers.CharField()
    tables = serializers.ListField(child=serializers.CharField())
    recordIds = serializers.ListField(child=serializers.CharField())


class IssuedGrantSerializer(serializers.Serializer[Any]):
    grantId = serializers.CharField()
    wrappedKey = serializers.CharField()
    derivation = DerivationSerializer()
    issuedAt = serializers.DateTimeField()
    expiresAt = serializers.DateTimeField()


class GrantSerializer(serializers.ModelSerializer[Grant]):
    grantId = serializers.CharField(source="id")
    missionId = serializers.CharField(source="mission_id")
    issuedAt = serializers.DateTimeField(source="issued_at")
    expiresAt = serializers.DateTimeField(source="expires_at")
    revokedAt = serializers.DateTimeField(source="revoked_at", allow_null=True)

    class Meta:
        model = Grant
        fields = ("grantId", "missionId", "issuedAt", "expiresAt", "revokedAt")


class GrantListSerializer(serializers.Serializer[Any]):
    grants = GrantSerializer(many=True)


class GrantStateSerializer(serializers.Serializer[Any]):
    active = serializers.BooleanField()
    expiresAt = serializers.DateTimeField()
    revokedAt = serializers.DateTimeField(allow_null=True)


class AuditQuery(serializers.Serializer[Any]):
    missionId = serializers.CharField(required=False, max_length=200)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=1000, default=200)


class DecryptAuditEntrySerializer(serializers.ModelSerializer[DecryptAudit]):
    missionId = serializers.CharField(source="mission_id")
    iterationId = serializers.CharField(source="iteration_id")
    tableName = serializers.CharField(source="table_name")
    recordId = serializers.CharField(source="record_id")
    ts = serializers.DateTimeField(source="created_at")

    class Meta:
        model = DecryptAudit
        fields = ("missionId", "iterationId", "tableName", "recordId", "status", "reason", "ts")


class DecryptAuditListSerializer(serializers.Serializer[Any]):
    entries = DecryptAuditEntrySerializer(many=True)


class DecryptAuditEntryInput(serializers.Serializer[Any]):
    tableName = serializers.CharField(max_length=100)
    recordId = serializers.CharField(max_length=300)
    status = serializers.ChoiceField(choices=DecryptStatus.choices)
    reason = serializers.CharField(required=False, allow_blank=True, max_length=500)


class DecryptAuditInput(serializers.Serializer[Any]):
    userId = serializers.CharField(max_length=36)
    missionId = serializers.CharField(max_length=200)
    iterationId = serializers.CharField(max_length=200)
    entries = serializers.ListField(child=DecryptAuditEntryInput(), min_length=1, max_length=MAX_AUDIT_ENTRIES)
    batchId = serializers.CharField(required=False, max_length=100)


class WrittenSerializer(serializers.Serializer[Any]):
    written = serializers.IntegerField()
