from django.db.models import QuerySet

from accounts.models import User
from spaces.models import ApiKey, Invitation, Membership


def memberships_of(*, actor: User) -> QuerySet[Membership]:
    return Membership.objects.filter(user=actor).select_related("space").order_by("space__created_at")


def members_of_space(*, space_id: str) -> QuerySet[Membership]:
    return Membership.objects.filter(space_id=space_id).select_related("user").order_by("created_at", "pk")


def invitations_of_space(*, space_id: str) -> QuerySet[Invitation]:
    return Invitation.objects.filter(space_id=space_id).order_by("-created_at", "pk")


def api_keys_of(*, actor: User) -> QuerySet[ApiKey]:
    return ApiKey.objects.filter(user=actor).order_by("-created_at")


def membership_lookup(*, space_id: str, user_id: str) -> Membership | None:
    """For sibling services: one indexed query."""
    return Membership.objects.filter(space_id=space_id, user_id=user_id).only("role").first()


def memberships_lookup(*, user_id: str) -> list[dict[str, str]]:
    """`organizationId` is what the sync service reads (PLATFORM.md §7); `spaceId` is API.md's name."""
    return [
        {"organizationId": space_id, "spaceId": space_id, "role": role}
        for space_id, role in Membership.objects.filter(user_id=user_id).values_list("space_id", "role")
    ]
