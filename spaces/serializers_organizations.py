"""The Better Auth organization shapes (PLATFORM.md §4) of the same spaces, members and
invitations that /api/v1/spaces answers in API.md's shapes."""

from typing import Any

from rest_framework import serializers

from accounts.models import User
from spaces.models import Invitation, MemberRole, Membership, Space, SpaceType
from spaces.serializers import SLUG_FIELD


def organization_metadata(space: Space) -> dict[str, Any]:
    """Always an object naming the type; a personal space also carries its owner's tier, which
    the clients read there."""
    metadata: dict[str, Any] = {**space.metadata, "type": space.type}
    if space.type == SpaceType.PERSONAL and space.personal_owner is not None:
        metadata["tier"] = space.personal_owner.tier
    return metadata


class OrganizationSerializer(serializers.ModelSerializer[Space]):
    logo = serializers.SerializerMethodField()
    metadata = serializers.SerializerMethodField()
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Space
        fields = ("id", "name", "slug", "logo", "metadata", "createdAt")

    def get_logo(self, space: Space) -> str | None:
        return space.logo or None

    def get_metadata(self, space: Space) -> dict[str, Any]:
        return organization_metadata(space)


class _OrganizationFields(serializers.Serializer[Any]):
    """The fields of OrganizationSerializer, declared for the schema of answers read from a membership."""

    id = serializers.CharField()
    name = serializers.CharField()
    slug = serializers.CharField()
    logo = serializers.CharField(allow_null=True)
    metadata = serializers.DictField()
    createdAt = serializers.DateTimeField()


class OrganizationWithRoleSerializer(_OrganizationFields):
    """One entry of /list, read from a membership: the space and the caller's role in it."""

    role = serializers.ChoiceField(choices=MemberRole.choices)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return {**OrganizationSerializer(instance.space).data, "role": instance.role}


class MemberUserSerializer(serializers.ModelSerializer[User]):
    image = serializers.SerializerMethodField()

    class Meta:
        model = User
        fields = ("id", "email", "name", "image")

    def get_image(self, user: User) -> str | None:
        return user.image or None


class OrganizationMemberSerializer(serializers.ModelSerializer[Membership]):
    id = serializers.CharField(source="pk")
    organizationId = serializers.CharField(source="space_id")
    userId = serializers.CharField(source="user_id")
    createdAt = serializers.DateTimeField(source="created_at")
    user = MemberUserSerializer()

    class Meta:
        model = Membership
        fields: tuple[str, ...] = ("id", "organizationId", "userId", "role", "createdAt", "user")


class ActiveOrganizationSerializer(serializers.ModelSerializer[Space]):
    metadata = serializers.SerializerMethodField()

    class Meta:
        model = Space
        fields = ("id", "slug", "name", "metadata")

    def get_metadata(self, space: Space) -> dict[str, Any]:
        return organization_metadata(space)


class ActiveMemberSerializer(OrganizationMemberSerializer):
    organization = ActiveOrganizationSerializer(source="space")

    class Meta(OrganizationMemberSerializer.Meta):
        fields = (*OrganizationMemberSerializer.Meta.fields, "organization")


class OrganizationCreatedSerializer(_OrganizationFields):
    """The new space with its (one) member: the creator; read from the creator's membership."""

    members = OrganizationMemberSerializer(many=True)

    def to_representation(self, instance: Any) -> dict[str, Any]:
        return {**OrganizationSerializer(instance.space).data, "members": [OrganizationMemberSerializer(instance).data]}


class OrganizationMemberListSerializer(serializers.Serializer[Any]):
    members = OrganizationMemberSerializer(many=True)
    total = serializers.IntegerField()


class OrganizationMemberEnvelopeSerializer(serializers.Serializer[Any]):
    member = OrganizationMemberSerializer()


class OrganizationInvitationSerializer(serializers.ModelSerializer[Invitation]):
    organizationId = serializers.CharField(source="space_id")
    inviterId = serializers.CharField(source="inviter_id", allow_null=True)
    expiresAt = serializers.DateTimeField(source="expires_at")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Invitation
        fields: tuple[str, ...] = ("id", "email", "role", "status", "expiresAt", "organizationId", "inviterId", "createdAt")


class InvitationDetailSerializer(OrganizationInvitationSerializer):
    """What the invitee sees before answering."""

    organizationName = serializers.CharField(source="space.name")
    organizationSlug = serializers.CharField(source="space.slug")
    inviterEmail = serializers.EmailField(source="inviter.email", allow_null=True, default=None)
    organizationMetadata = serializers.SerializerMethodField()

    class Meta(OrganizationInvitationSerializer.Meta):
        fields = (
            *OrganizationInvitationSerializer.Meta.fields,
            "organizationName",
            "organizationSlug",
            "inviterEmail",
            "organizationMetadata",
        )

    def get_organizationMetadata(self, invitation: Invitation) -> dict[str, Any]:  # noqa: N802 - DRF names it after the field
        return organization_metadata(invitation.space)


class InvitationAnswerSerializer(serializers.Serializer[Any]):
    invitation = OrganizationInvitationSerializer()
    member = OrganizationMemberSerializer(allow_null=True)


# --- inputs ---------------------------------------------------------------------------------------
# Writes name their space, as the clients do; reads default to the session's active one.
NAMED = serializers.CharField(max_length=36)
OPTIONAL = serializers.CharField(max_length=36, required=False, allow_null=True, default=None)


class OrganizationCreateInput(serializers.Serializer[Any]):
    name = serializers.CharField(min_length=1, max_length=120)
    slug = SLUG_FIELD
    logo = serializers.CharField(max_length=65536, required=False, allow_blank=True, allow_null=True)
    # Checked by the service, which answers SPACE_METADATA_INVALID for anything but a known type.
    metadata = serializers.JSONField(required=False)


class SetActiveInput(serializers.Serializer[Any]):
    organizationId = OPTIONAL  # null clears


class OrganizationQuery(serializers.Serializer[Any]):
    organizationId = OPTIONAL


class InvitationQuery(serializers.Serializer[Any]):
    id = serializers.CharField(max_length=100)


class InviteMemberInput(serializers.Serializer[Any]):
    email = serializers.EmailField(max_length=254)
    role = serializers.ChoiceField(choices=MemberRole.choices, default=MemberRole.MEMBER)
    organizationId = NAMED


class InvitationIdInput(serializers.Serializer[Any]):
    invitationId = serializers.CharField(max_length=100)


class RemoveMemberInput(serializers.Serializer[Any]):
    memberIdOrEmail = serializers.CharField(max_length=254)
    organizationId = NAMED


class OrganizationUpdateInput(serializers.Serializer[Any]):
    metadata = serializers.JSONField()
