from typing import Any

from rest_framework import serializers

from accounts.serializers import PASSWORD_FIELD_MAX
from spaces.models import ApiKey, Invitation, MemberRole, Membership, SpaceType
from spaces.modules import ALL_MODULES, ALLOWLIST
from spaces.services_api_keys import API_KEY_DEFAULT_RATE_LIMIT, API_KEY_DEFAULT_SCOPES, API_KEY_PREFIX


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
    organizationId = serializers.CharField()
    spaceId = serializers.CharField()
    role = serializers.CharField()


class MembershipsLookupSerializer(serializers.Serializer[Any]):
    userId = serializers.CharField()
    memberships = MembershipItemSerializer(many=True)


class ApiKeySerializer(serializers.ModelSerializer[ApiKey]):
    """PLATFORM.md §5. Never the key, never its hash: the prefix is what people recognise it by."""

    keyPrefix = serializers.SerializerMethodField(help_text="`sk_live_` and the key's first 8 hex digits")
    rateLimitRequests = serializers.IntegerField(source="rate_limit")
    createdAt = serializers.DateTimeField(source="created_at")
    lastUsedAt = serializers.DateTimeField(source="last_used_at", allow_null=True)
    revokedAt = serializers.DateTimeField(source="revoked_at", allow_null=True)

    class Meta:
        model = ApiKey
        fields: tuple[str, ...] = ("id", "name", "keyPrefix", "scopes", "rateLimitRequests", "createdAt", "lastUsedAt", "revokedAt")

    def get_keyPrefix(self, key: ApiKey) -> str:  # noqa: N802 - the wire name
        return API_KEY_PREFIX + key.prefix


class ApiKeyCreatedSerializer(ApiKeySerializer):
    """The row, flat, plus the secret: shown this once."""

    key = serializers.CharField()

    class Meta(ApiKeySerializer.Meta):
        fields = (*ApiKeySerializer.Meta.fields, "key")


class ApiKeyCreateInput(serializers.Serializer[Any]):
    name = serializers.CharField(min_length=1, max_length=100)
    scopes = serializers.ListField(
        child=serializers.ChoiceField(choices=API_KEY_DEFAULT_SCOPES), required=False, min_length=1, max_length=len(API_KEY_DEFAULT_SCOPES)
    )
    rateLimitRequests = serializers.IntegerField(required=False, min_value=1, max_value=100_000, default=API_KEY_DEFAULT_RATE_LIMIT)
    spaceId = serializers.CharField(required=False, max_length=36)
    # The current password or a TOTP code: the key then outlives the session that created it.
    password = serializers.CharField(required=False, max_length=PASSWORD_FIELD_MAX, trim_whitespace=False, write_only=True)
    code = serializers.CharField(required=False, max_length=16, write_only=True)


class ApiKeyValidateInput(serializers.Serializer[Any]):
    apiKey = serializers.CharField(max_length=200)
    scope = serializers.CharField(required=False, max_length=50)


class ApiKeyValidationSerializer(serializers.Serializer[Any]):
    valid = serializers.BooleanField()
    error = serializers.CharField(required=False, help_text="invalid, revoked, scope_denied or rate_limited")
    userId = serializers.CharField(required=False)
    spaceId = serializers.CharField(required=False, allow_null=True)
    scopes = serializers.ListField(child=serializers.CharField(), required=False)
    rateLimit = serializers.DictField(required=False, help_text="{requests, window (seconds), remaining}")
    retryAfterSec = serializers.IntegerField(required=False)
