from django.db.models import QuerySet

from accounts.models import User
from passkeys.models import Passkey


def passkeys_of(*, actor: User) -> QuerySet[Passkey]:
    return Passkey.objects.filter(user=actor).order_by("created_at")
