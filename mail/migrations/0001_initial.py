"""The outbox moves from accounts to mail: the table (accounts_outboxmessage) and its rows stay
where they are, only Django's idea of which app owns the model changes."""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


def move_content_type(apps, schema_editor):
    content_types = apps.get_model("contenttypes", "ContentType")
    if content_types.objects.filter(app_label="mail", model="outboxmessage").exists():
        return
    content_types.objects.filter(app_label="accounts", model="outboxmessage").update(app_label="mail")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("accounts", "0003_usersettings"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="OutboxMessage",
                    fields=[
                        ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                        ("recipient", models.EmailField(max_length=254)),
                        ("subject", models.CharField(max_length=300)),
                        ("template", models.CharField(max_length=64)),
                        ("body_wrapped", models.TextField(blank=True, default="")),
                        (
                            "status",
                            models.CharField(
                                choices=[("pending", "Pending"), ("sent", "Sent"), ("failed", "Failed")], default="pending", max_length=16
                            ),
                        ),
                        ("attempts", models.PositiveSmallIntegerField(default=0)),
                        ("last_error", models.CharField(blank=True, default="", max_length=500)),
                        ("next_attempt_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                        ("sent_at", models.DateTimeField(blank=True, null=True)),
                        (
                            "user",
                            models.ForeignKey(
                                blank=True,
                                null=True,
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="outbox_messages",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "accounts_outboxmessage",
                        "indexes": [models.Index(fields=["status", "next_attempt_at"], name="accounts_outbox_due")],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(move_content_type, migrations.RunPython.noop),
    ]
