import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="Persona",
            fields=[
                (
                    "user",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="persona",
                        serialize=False,
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                ("archetype", models.CharField(max_length=100)),
                ("system_prompt", models.TextField()),
                ("module_mix", models.JSONField(default=dict)),
                (
                    "tick_cadence",
                    models.CharField(
                        choices=[("daily", "Daily"), ("weekdays", "Weekdays"), ("hourly", "Hourly")], default="daily", max_length=16
                    ),
                ),
                ("last_active_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "indexes": [models.Index(fields=["last_active_at"], name="personas_last_active")],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("tick_cadence__in", ["daily", "weekdays", "hourly"])), name="personas_cadence_valid"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="PersonaAction",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("tick_id", models.CharField(max_length=100)),
                ("position", models.PositiveIntegerField()),
                ("tool_name", models.CharField(max_length=100)),
                ("input_hash", models.CharField(blank=True, default="", max_length=128)),
                ("result", models.CharField(choices=[("ok", "Ok"), ("error", "Error")], max_length=8)),
                ("error_message", models.TextField(blank=True, default="")),
                ("latency_ms", models.PositiveIntegerField(blank=True, null=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("persona", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="actions", to="personas.persona")),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("persona", "tick_id", "position", "tool_name"), name="personas_action_once"),
                    models.CheckConstraint(condition=models.Q(("result__in", ["ok", "error"])), name="personas_action_result_valid"),
                ],
            },
        ),
        migrations.CreateModel(
            name="PersonaFeedback",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("tick_id", models.CharField(max_length=100)),
                ("module", models.CharField(max_length=64)),
                ("rating", models.PositiveSmallIntegerField()),
                ("notes", models.TextField(blank=True, default="")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("persona", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="feedback", to="personas.persona")),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("persona", "tick_id", "module"), name="personas_feedback_once"),
                    models.CheckConstraint(condition=models.Q(("rating__gte", 1), ("rating__lte", 5)), name="personas_rating_1_to_5"),
                ],
            },
        ),
    ]
