from typing import Any

from django.db.models import Q

from accounts.models import User
from core.exports import exporter
from spaces.models import ApiKey, Invitation, Membership, Space


@exporter("spaces", Space, Membership)
def spaces(user: User) -> list[Any]:
    return [
        {
            "id": membership.space.id,
            "name": membership.space.name,
            "slug": membership.space.slug,
            "type": membership.space.type,
            "metadata": membership.space.metadata,
            "role": membership.role,
            "joinedAt": membership.created_at,
        }
        for membership in Membership.objects.filter(user=user).select_related("space").order_by("created_at")
    ]


@exporter("invitations", Invitation)
def invitations(user: User) -> list[Any]:
    mine = Q(inviter=user) | Q(email=user.email) | Q(accepted_by=user)
    return list(
        Invitation.objects.filter(mine)
        .order_by("created_at")
        .values("space_id", "email", "role", "status", "created_at", "expires_at", "accepted_at")
    )


@exporter("apiKeys", ApiKey)
def api_keys(user: User) -> list[Any]:
    return list(
        ApiKey.objects.filter(user=user)
        .order_by("created_at")
        .values("name", "prefix", "scopes", "space_id", "created_at", "last_used_at", "revoked_at")
    )
