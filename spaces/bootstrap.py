"""The bootstrap of the sync singletons (PLATFORM.md §10). The old service wrote starter documents
into the sync service's database; this one writes into no other service's database and only
records, per user and per space, that the bootstrap happened. The web app creates a missing
`userContext` or `kontextDoc` itself on first use."""

from typing import Any

from django.db import transaction

from accounts.models import User
from spaces.models import Membership, SingletonBootstrap


def singletons_bootstrap(*, actor: User) -> dict[str, Any]:
    """True for what this call provisioned, false for what was done before: the caller's own
    userContext and the kontextDoc of every space the caller belongs to."""
    with transaction.atomic():
        # get_or_create settles a concurrent call on the unique index: one of them gets true.
        _, user_context = SingletonBootstrap.objects.get_or_create(user=actor)
        space_ids = Membership.objects.filter(user=actor).order_by("created_at", "pk").values_list("space_id", flat=True)
        spaces = {space_id: SingletonBootstrap.objects.get_or_create(space_id=space_id)[1] for space_id in space_ids}
    return {"userContext": user_context, "spaces": spaces}
