from typing import Any

from rest_framework import serializers

from spaces.models import ApiKey, Invitation, MemberRole, Membership, SpaceType
from spaces.modules import ALL_MODULES, ALLOWLIST


class SpaceSerializer(serializers.ModelSerializer[Membership]):
    """A space as its member sees it, with the member's role."""

    id = serializers.CharField(source="space.id")
    name = serializers.CharField(source="space.name")
    slug = serializers.CharField(source="space.slug")
    type = serializers.CharField(source="space.type")
    metadata = serializers.JSONField(source="space.metadata")
    createdAt = serializers.DateTimeField(source="space.created_at")

    class Meta:
        model = Membership
        fields = ("id", "name", "slug", "type", "metadata", "role", "createdAt")


class SpaceEnvelopeSerializer(serializers.Serializer[Any]):
    space = SpaceSerializer()


class SpaceListSerializer(serializers.Serializer[Any]):
    spaces = SpaceSerializer(many=True)


class MemberSerializer(serializers.ModelSerializer[Membership]):
    userId = serializers.CharField(source="user_id")
    email = serializers.EmailField(source="user.email")
    name = serializers.CharField(source="user.name")

    class Meta:
        model = Membership
        fields = ("id", "userId", "email", "name", "role")


class MemberEnvelopeSerializer(serializers.Serializer[Any]):
    member = MemberSerializer()


class MemberListSerializer(serializers.Serializer[Any]):
    members = MemberSerializer(many=True)


class InvitationSerializer(serializers.ModelSerializer[Invitation]):
    spaceId = serializers.CharField(source="space_id")
    createdAt = serializers.DateTimeField(source="created_at")
    expiresAt = serializers.DateTimeField(source="expires_at")

    class Meta:
        model = Invitation
        fields = ("id", "spaceId", "email", "role", "status", "createdAt", "expiresAt")


class InvitationEnvelopeSerializer(serializers.Serializer[Any]):
    invitation = InvitationSerializer()


class SpaceTypeSerializer(serializers.Serializer[Any]):
    type = serializers.CharField()
    modules = serializers.ListField(child=serializers.CharField())


class SpaceTypesSerializer(serializers.Serializer[Any]):
    types = SpaceTypeSerializer(many=True)


def space_types() -> list[dict[str, Any]]:
    return [{"type": name, "modules": [ALL_MODULES] if allowed == ALL_MODULES else list(allowed)} for name, allowed in ALLOWLIST.items()]


class ModuleAllowedSerializer(serializers.Serializer[Any]):
    allowed = serializers.BooleanField()


SLUG_FIELD = serializers.RegexField(r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$", max_length=50, required=False)


class SpaceCreateInput(serializers.Serializer[Any]):
    name = serializers.CharField(min_length=1, max_length=120)
    type = serializers.ChoiceField(choices=SpaceType.choices)
    slug = SLUG_FIELD
    metadata = serializers.JSONField(required=False)


class SpaceUpdateInput(serializers.Serializer[Any]):
    name = serializers.CharField(min_length=1, max_length=120, required=False)
    slug = SLUG_FIELD
    type = serializers.CharField(required=False)
    metadata = serializers.JSONField(required=False)


class InvitationInput(serializers.Serializer[Any]):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=MemberRole.choices, default=MemberRole.MEMBER)


class RoleInput(serializers.Serializer[Any]):
    role = serializers.ChoiceField(choices=MemberRole.choices)


class MembershipLookupSerializer(serializers.Serializer[Any]):
    isMember = serializers.BooleanField()
    role = serializers.CharField(allow_null=True)


class MembershipItemSerializer(serializers.Serializer[Any]):
    spaceId = serializers.CharField()
    role = serializers.CharField()


class MembershipsLookupSerializer(serializers.Serializer[Any]):
    userId = serializers.CharField()
    memberships = MembershipItemSerializer(many=True)


class ApiKeySerializer(serializers.ModelSerializer[ApiKey]):
    """Never the key, never its hash: the prefix is what people recognise it by."""

    spaceId = serializers.CharField(source="space_id", allow_null=True)
    rateLimit = serializers.IntegerField(source="rate_limit")
    createdAt = serializers.DateTimeField(source="created_at")
    lastUsedAt = serializers.DateTimeField(source="last_used_at", allow_null=True)
    revokedAt = serializers.DateTimeField(source="revoked_at", allow_null=True)

    class Meta:
        model = ApiKey
        fields = ("id", "name", "prefix", "scopes", "spaceId", "rateLimit", "createdAt", "lastUsedAt", "revokedAt")


class ApiKeyListSerializer(serializers.Serializer[Any]):
    apiKeys = ApiKeySerializer(many=True)


class ApiKeyCreatedSerializer(serializers.Serializer[Any]):
    apiKey = ApiKeySerializer()
    key = serializers.CharField()


class ApiKeyCreateInput(serializers.Serializer[Any]):
    name = serializers.CharField(min_length=1, max_length=100)
    scopes = serializers.ListField(child=serializers.RegexField(r"^[a-z0-9:_-]{1,50}$"), required=False, max_length=50)
    spaceId = serializers.CharField(required=False, max_length=36)


class ApiKeyValidateInput(serializers.Serializer[Any]):
    apiKey = serializers.CharField(max_length=200)
    scope = serializers.CharField(required=False, max_length=50)


class ApiKeyValidationSerializer(serializers.Serializer[Any]):
    valid = serializers.BooleanField()
    reason = serializers.CharField(required=False)
    userId = serializers.CharField(required=False)
    spaceId = serializers.CharField(required=False, allow_null=True)
    scopes = serializers.ListField(child=serializers.CharField(), required=False)
    rateLimit = serializers.DictField(required=False)
