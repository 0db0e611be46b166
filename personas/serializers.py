from typing import Any

from rest_framework import serializers

from personas.models import ActionResult, Persona, TickCadence


class PersonaUpsertInput(serializers.Serializer[Any]):
    email = serializers.EmailField(max_length=254)
    name = serializers.CharField(max_length=200)
    password = serializers.CharField(trim_whitespace=False, max_length=1024)
    archetype = serializers.CharField(max_length=100)
    systemPrompt = serializers.CharField(max_length=20000, trim_whitespace=False)
    moduleMix = serializers.DictField(child=serializers.FloatField(min_value=0))
    tickCadence = serializers.ChoiceField(choices=TickCadence.choices, required=False)


class PersonaUpsertedSerializer(serializers.Serializer[Any]):
    ok = serializers.BooleanField()
    userId = serializers.CharField()
    email = serializers.EmailField()


class PersonaSerializer(serializers.ModelSerializer[Persona]):
    """A persona as the operator's list shows it."""

    userId = serializers.CharField(source="user_id")
    email = serializers.EmailField(source="user.email")
    name = serializers.CharField(source="user.name")
    moduleMix = serializers.JSONField(source="module_mix")
    tickCadence = serializers.CharField(source="tick_cadence")
    lastActiveAt = serializers.DateTimeField(source="last_active_at")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = Persona
        fields = ("userId", "email", "name", "archetype", "moduleMix", "tickCadence", "lastActiveAt", "createdAt")


class PersonaListSerializer(serializers.Serializer[Any]):
    personas = PersonaSerializer(many=True)


class DuePersonaSerializer(serializers.ModelSerializer[Persona]):
    """What the runner needs to play one tick of the persona."""

    userId = serializers.CharField(source="user_id")
    email = serializers.EmailField(source="user.email")
    systemPrompt = serializers.CharField(source="system_prompt")
    moduleMix = serializers.JSONField(source="module_mix")
    tickCadence = serializers.CharField(source="tick_cadence")
    lastActiveAt = serializers.DateTimeField(source="last_active_at")

    class Meta:
        model = Persona
        fields = ("userId", "email", "archetype", "systemPrompt", "moduleMix", "tickCadence", "lastActiveAt")


class DuePersonasSerializer(serializers.Serializer[Any]):
    personas = DuePersonaSerializer(many=True)
    serverTime = serializers.DateTimeField()


class ActionInput(serializers.Serializer[Any]):
    tickId = serializers.CharField(max_length=100)
    toolName = serializers.CharField(max_length=100)
    inputHash = serializers.CharField(max_length=128, required=False, allow_blank=True, allow_null=True)
    result = serializers.ChoiceField(choices=ActionResult.choices)
    errorMessage = serializers.CharField(required=False, allow_blank=True, allow_null=True, trim_whitespace=False)
    latencyMs = serializers.IntegerField(min_value=0, max_value=2**31 - 1, required=False, allow_null=True)


class ActionsInput(serializers.Serializer[Any]):
    # The bounds (1 to 500) are the service's, so one rule answers for every caller.
    actions = ActionInput(many=True, allow_empty=True)


class FeedbackInput(serializers.Serializer[Any]):
    tickId = serializers.CharField(max_length=100)
    module = serializers.CharField(max_length=64)
    rating = serializers.IntegerField(min_value=1, max_value=5)
    notes = serializers.CharField(max_length=4000, required=False, allow_blank=True, allow_null=True)


class FeedbackListInput(serializers.Serializer[Any]):
    feedback = FeedbackInput(many=True, allow_empty=True)


class PersonaWrittenSerializer(serializers.Serializer[Any]):
    ok = serializers.BooleanField()
    written = serializers.IntegerField()
