"""Existing personal spaces get the non-identifying slug new ones get: their old slugs (the
address's local part) keep the `POST /spaces {slug}` probe open for every existing account.
Nothing addresses a space by its slug (the platform uses ids), so no link breaks. Keys bound to
a space their owner has already left end too, as they would have had the removal ended them."""

import secrets
from typing import Any

from django.db import migrations
from django.db.models import Exists, OuterRef
from django.utils import timezone


def forwards(apps: Any, schema_editor: Any) -> None:
    space_model = apps.get_model("spaces", "Space")
    for space in space_model.objects.filter(type="personal").exclude(slug__startswith="personal-").only("pk"):
        space_model.objects.filter(pk=space.pk).update(slug=f"personal-{secrets.token_hex(6)}")
    membership = apps.get_model("spaces", "Membership").objects.filter(space_id=OuterRef("space_id"), user_id=OuterRef("user_id"))
    apps.get_model("spaces", "ApiKey").objects.filter(space__isnull=False, revoked_at__isnull=True).exclude(Exists(membership)).update(
        revoked_at=timezone.now()
    )


class Migration(migrations.Migration):
    dependencies = [("spaces", "0003_singletonbootstrap")]

    operations = [migrations.RunPython(forwards, migrations.RunPython.noop)]
