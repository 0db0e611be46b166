from rest_framework import serializers


class ErrorEnvelopeSerializer(serializers.Serializer):
    """The one error body of the API (documentation only; core.errors builds it)."""

    def get_fields(self) -> dict[str, serializers.Field]:
        # Declared here because a field called `fields` would shadow Serializer.fields.
        return {
            "error": serializers.CharField(),
            "code": serializers.CharField(help_text="The same as `error`: what the platform's clients switch on."),
            "message": serializers.CharField(),
            "status": serializers.IntegerField(),
            "fields": serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False),
            "retryAfterSec": serializers.IntegerField(required=False),
        }


class HealthSerializer(serializers.Serializer):
    status = serializers.CharField()
    service = serializers.CharField()
    timestamp = serializers.DateTimeField()


class SuccessSerializer(serializers.Serializer):
    success = serializers.BooleanField()
