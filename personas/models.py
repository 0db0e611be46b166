"""Personas: synthetic users the persona runner drives through the product on a cadence, with the
log of what they did and what they thought of each module."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone


class TickCadence(models.TextChoices):
    DAILY = "daily"
    WEEKDAYS = "weekdays"
    HOURLY = "hourly"


class ActionResult(models.TextChoices):
    OK = "ok"
    ERROR = "error"


class Persona(models.Model):
    # The user is the persona: its id is the userId every route speaks of, and the cascade removes
    # the persona with its user.
    user = models.OneToOneField(settings.AUTH_USER_MODEL, primary_key=True, on_delete=models.CASCADE, related_name="persona")
    archetype = models.CharField(max_length=100)
    system_prompt = models.TextField()
    module_mix = models.JSONField(default=dict)  # {module: weight}
    tick_cadence = models.CharField(max_length=16, choices=TickCadence.choices, default=TickCadence.DAILY)
    # Set only by the runner's action and feedback reports; null until the first tick.
    last_active_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(tick_cadence__in=TickCadence.values), name="personas_cadence_valid")]
        indexes = [models.Index(fields=["last_active_at"], name="personas_last_active")]

    def __str__(self) -> str:
        return f"persona {self.user_id}"


class PersonaAction(models.Model):
    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="actions", db_index=False)
    tick_id = models.CharField(max_length=100)
    position = models.PositiveIntegerField()  # the index in the reported list: with tick and tool, the replay key
    tool_name = models.CharField(max_length=100)
    input_hash = models.CharField(max_length=128, blank=True, default="")
    result = models.CharField(max_length=8, choices=ActionResult.choices)
    error_message = models.TextField(blank=True, default="")
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["persona", "tick_id", "position", "tool_name"], name="personas_action_once"),
            models.CheckConstraint(condition=Q(result__in=ActionResult.values), name="personas_action_result_valid"),
        ]

    def __str__(self) -> str:
        return f"{self.tool_name} in {self.tick_id}"


class PersonaFeedback(models.Model):
    persona = models.ForeignKey(Persona, on_delete=models.CASCADE, related_name="feedback", db_index=False)
    tick_id = models.CharField(max_length=100)
    module = models.CharField(max_length=64)
    rating = models.PositiveSmallIntegerField()
    notes = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["persona", "tick_id", "module"], name="personas_feedback_once"),
            models.CheckConstraint(condition=Q(rating__gte=1, rating__lte=5), name="personas_rating_1_to_5"),
        ]

    def __str__(self) -> str:
        return f"{self.module} rated {self.rating} in {self.tick_id}"
