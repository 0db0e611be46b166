from typing import Any

from django.db.models import Q

from accounts.models import User
from core.personal_data import eraser, erasure_blocker, exporter, on_user_created, summary
from spaces.models import ApiKey, Invitation, Membership, SingletonBootstrap, Space
from spaces.services import personal_space_create, spaces_blocking_deletion, spaces_release


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


@exporter("singletonsBootstrappedAt", SingletonBootstrap)
def singletons_bootstrapped_at(user: User) -> Any:
    row = SingletonBootstrap.objects.filter(user=user).first()
    return row.created_at if row else None


@summary
def counts(user: User) -> dict[str, Any]:
    return {"spaces": Membership.objects.filter(user=user).count(), "apiKeys": ApiKey.objects.active().filter(user=user).count()}


@on_user_created
def personal_space(user: User) -> None:
    personal_space_create(user=user)


@erasure_blocker
def last_owner(user: User) -> str | None:
    blocking = spaces_blocking_deletion(user=user)
    if not blocking:
        return None
    names = ", ".join(space.name for space in blocking)
    return f"The last owner of spaces with other members must hand them over first: {names}."


@eraser
def memberships_and_invitations(user: User) -> None:
    spaces_release(user=user)
    Invitation.objects.filter(email=user.email).delete()
