from django.apps.registry import Apps
from django.db import migrations, models
from django.db.backends.base.schema import BaseDatabaseSchemaEditor


def revoked_to_canceled(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    # The organization API names a withdrawn invitation "canceled" (PLATFORM.md §4).
    apps.get_model("spaces", "Invitation").objects.filter(status="revoked").update(status="canceled")


def canceled_to_revoked(apps: Apps, schema_editor: BaseDatabaseSchemaEditor) -> None:
    apps.get_model("spaces", "Invitation").objects.filter(status__in=["canceled", "rejected"]).update(status="revoked")


class Migration(migrations.Migration):
    dependencies = [
        ("spaces", "0001_initial"),
    ]

    operations = [
        migrations.AddField(
            model_name="space",
            name="logo",
            field=models.TextField(blank=True, default=""),
        ),
        migrations.AlterField(
            model_name="invitation",
            name="status",
            field=models.CharField(
                choices=[("pending", "Pending"), ("accepted", "Accepted"), ("rejected", "Rejected"), ("canceled", "Canceled")],
                default="pending",
                max_length=16,
            ),
        ),
        migrations.AlterField(
            model_name="invitation",
            name="token_hash",
            field=models.CharField(blank=True, max_length=64, null=True, unique=True),
        ),
        migrations.RunPython(revoked_to_canceled, canceled_to_revoked),
    ]
