from typing import Any

from django.core.validators import URLValidator
from rest_framework import serializers

from accounts.models import Session, User
from core.models import SecurityEvent

# --- output -----------------------------------------------------------------------------------


class UserSerializer(serializers.ModelSerializer[User]):
    image = serializers.CharField(help_text="An https URL, or empty")  # the model's URLField would promise format: uri
    emailVerified = serializers.BooleanField(source="email_verified")
    twoFactorEnabled = serializers.BooleanField(source="two_factor_enabled")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = User
        fields = ("id", "email", "name", "image", "emailVerified", "role", "tier", "twoFactorEnabled", "createdAt")
        read_only_fields = fields


class UserEnvelopeSerializer(serializers.Serializer[Any]):
    user = UserSerializer()


class TokenPairSerializer(serializers.Serializer[Any]):
    accessToken = serializers.CharField()
    refreshToken = serializers.CharField()
    tokenType = serializers.CharField(default="Bearer")
    expiresIn = serializers.IntegerField()


class SignInSerializer(TokenPairSerializer):
    user = UserSerializer()
    deviceToken = serializers.CharField()


class SessionSerializer(serializers.ModelSerializer[Session]):
    createdAt = serializers.DateTimeField(source="created_at")
    lastSeenAt = serializers.DateTimeField(source="last_seen_at")
    ipAddress = serializers.IPAddressField(source="ip_address", allow_null=True)
    userAgent = serializers.CharField(source="user_agent")
    current = serializers.SerializerMethodField()

    class Meta:
        model = Session
        fields = ("id", "createdAt", "lastSeenAt", "ipAddress", "userAgent", "current")

    def get_current(self, session: Session) -> bool:
        return session.id == self.context.get("current_session_id")


class SessionListSerializer(serializers.Serializer[Any]):
    sessions = SessionSerializer(many=True)


class SecurityEventSerializer(serializers.ModelSerializer[SecurityEvent]):
    createdAt = serializers.DateTimeField(source="created_at")
    ipAddress = serializers.IPAddressField(source="ip_address", allow_null=True)
    userAgent = serializers.CharField(source="user_agent")

    class Meta:
        model = SecurityEvent
        fields = ("id", "type", "createdAt", "ipAddress", "userAgent", "metadata")


class SecurityEventListSerializer(serializers.Serializer[Any]):
    events = SecurityEventSerializer(many=True)


class SignupStatusSerializer(serializers.Serializer[Any]):
    registrationOpen = serializers.BooleanField()
    spotsRemaining = serializers.IntegerField(allow_null=True)
    totalToday = serializers.IntegerField()
    limit = serializers.IntegerField(allow_null=True)
    resetsAt = serializers.DateTimeField()


class ValidateResultSerializer(serializers.Serializer[Any]):
    valid = serializers.BooleanField()
    payload = serializers.DictField(required=False)
    reason = serializers.CharField(required=False)


class JwkSerializer(serializers.Serializer[Any]):
    kty = serializers.CharField()
    crv = serializers.CharField()
    x = serializers.CharField()
    kid = serializers.CharField()
    alg = serializers.CharField()
    use = serializers.CharField()


class JwksSerializer(serializers.Serializer[Any]):
    keys = JwkSerializer(many=True)


class MessageSerializer(serializers.Serializer[Any]):
    success = serializers.BooleanField()
    message = serializers.CharField()


# --- input ------------------------------------------------------------------------------------
# Passwords are length-capped before hashing so nobody can make the server hash megabytes.
PASSWORD_FIELD_MAX = 1024


class RegisterInput(serializers.Serializer[Any]):
    email = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=PASSWORD_FIELD_MAX, trim_whitespace=False)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class LoginInput(serializers.Serializer[Any]):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=PASSWORD_FIELD_MAX, trim_whitespace=False)
    deviceToken = serializers.CharField(max_length=200, required=False, allow_blank=True)


class TokenInput(serializers.Serializer[Any]):
    token = serializers.CharField(max_length=4096)


class RefreshInput(serializers.Serializer[Any]):
    refreshToken = serializers.CharField(max_length=200)


class LogoutInput(serializers.Serializer[Any]):
    refreshToken = serializers.CharField(max_length=200, required=False)


class EmailInput(serializers.Serializer[Any]):
    email = serializers.EmailField(max_length=254)


class ResetPasswordInput(serializers.Serializer[Any]):
    token = serializers.CharField(max_length=200)
    newPassword = serializers.CharField(max_length=PASSWORD_FIELD_MAX, trim_whitespace=False)


class ProfileInput(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    image = serializers.URLField(max_length=2048, required=False, allow_blank=True, validators=[URLValidator(schemes=["https"])])


class ChangeEmailInput(serializers.Serializer[Any]):
    newEmail = serializers.EmailField(max_length=254)
    password = serializers.CharField(max_length=PASSWORD_FIELD_MAX, trim_whitespace=False)


class ChangePasswordInput(serializers.Serializer[Any]):
    currentPassword = serializers.CharField(max_length=PASSWORD_FIELD_MAX, trim_whitespace=False)
    newPassword = serializers.CharField(max_length=PASSWORD_FIELD_MAX, trim_whitespace=False)


class PasswordInput(serializers.Serializer[Any]):
    password = serializers.CharField(max_length=PASSWORD_FIELD_MAX, trim_whitespace=False)


class TwoFactorVerifyInput(serializers.Serializer[Any]):
    twoFactorToken = serializers.CharField(max_length=200)
    code = serializers.RegexField(r"^\s*\d{6}\s*$", required=False)
    backupCode = serializers.CharField(required=False, max_length=32)
    deviceToken = serializers.CharField(max_length=200, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("code")) == bool(attrs.get("backupCode")):
            raise serializers.ValidationError({"code": ["Send either a code or a backup code."]})
        return attrs


class TwoFactorCodeInput(serializers.Serializer[Any]):
    code = serializers.RegexField(r"^\s*\d{6}\s*$")


class TwoFactorEnrollmentSerializer(serializers.Serializer[Any]):
    totpUri = serializers.CharField()
    secret = serializers.CharField()
    backupCodes = serializers.ListField(child=serializers.CharField())


class BackupCodesSerializer(serializers.Serializer[Any]):
    backupCodes = serializers.ListField(child=serializers.CharField())


class MagicLinkVerifyInput(serializers.Serializer[Any]):
    token = serializers.CharField(max_length=200)
    deviceToken = serializers.CharField(max_length=200, required=False, allow_blank=True)


class AdminStatsSerializer(serializers.Serializer[Any]):
    totalUsers = serializers.IntegerField()
    newUsers7d = serializers.IntegerField()
    newUsers30d = serializers.IntegerField()
    activeSessions = serializers.IntegerField()
    uniqueUsers24h = serializers.IntegerField()
    loginSuccesses7d = serializers.IntegerField()
    loginFailures7d = serializers.IntegerField()


class AdminUserListSerializer(serializers.Serializer[Any]):
    users = UserSerializer(many=True)
    page = serializers.IntegerField()
    limit = serializers.IntegerField()
    total = serializers.IntegerField()


class UserListQuery(serializers.Serializer[Any]):
    page = serializers.IntegerField(required=False, min_value=1, max_value=10**6, default=1)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=20)
    search = serializers.CharField(required=False, allow_blank=True, max_length=254, default="")


class VaultSummarySerializer(serializers.Serializer[Any]):
    exists = serializers.BooleanField()
    zeroKnowledge = serializers.BooleanField()
    recoverySet = serializers.BooleanField()


class DataSummarySerializer(serializers.Serializer[Any]):
    user = UserSerializer()
    sessions = serializers.IntegerField()
    passkeys = serializers.IntegerField()
    spaces = serializers.IntegerField()
    apiKeys = serializers.IntegerField()
    securityEvents = serializers.IntegerField()
    grants = serializers.IntegerField()
    vault = VaultSummarySerializer()


class EraseInput(serializers.Serializer[Any]):
    password = serializers.CharField(max_length=PASSWORD_FIELD_MAX, trim_whitespace=False, required=False, allow_blank=True)


class MeProfileInput(serializers.Serializer[Any]):
    name = serializers.CharField(min_length=1, max_length=80, required=False)
    image = serializers.URLField(max_length=2048, required=False, allow_blank=True, validators=[URLValidator(schemes=["https"])])


class OnboardingSerializer(serializers.Serializer[Any]):
    completedAt = serializers.DateTimeField(allow_null=True)


SETTINGS_KEY = r"^[A-Za-z0-9._-]{1,64}$"


class SettingsDocumentInput(serializers.Serializer[Any]):
    """Any JSON object; its size and depth are checked by the service."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise serializers.ValidationError({"nonFieldErrors": ["Expected a JSON object."]})
        return data
