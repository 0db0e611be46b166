from typing import Any

from django.core.validators import URLValidator
from rest_framework import serializers

from accounts.models import Session, User
from core.models import SecurityEvent
from core.text import EMAIL_MAX_LENGTH, validate_visible

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


class ProfileSerializer(serializers.ModelSerializer[User]):
    """GET /profile, flat (PLATFORM.md §1)."""

    image = serializers.CharField(help_text="An https URL, or empty")
    emailVerified = serializers.BooleanField(source="email_verified")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = User
        fields = ("id", "name", "email", "emailVerified", "image", "role", "createdAt")
        read_only_fields = fields


class TokenPairSerializer(serializers.Serializer[Any]):
    accessToken = serializers.CharField()
    refreshToken = serializers.CharField()
    tokenType = serializers.CharField(default="Bearer")
    expiresIn = serializers.IntegerField()


class SignInSerializer(TokenPairSerializer):
    user = UserSerializer()
    deviceToken = serializers.CharField()


class SessionSerializer(serializers.ModelSerializer[Session]):
    """An item of the bare /sessions array (PLATFORM.md §1); `id` is the JWT's `sid`."""

    ipAddress = serializers.IPAddressField(source="ip_address", allow_null=True)
    userAgent = serializers.CharField(source="user_agent")
    deviceId = serializers.CharField(source="device_id")
    deviceName = serializers.CharField(source="device_name")
    lastActivityAt = serializers.DateTimeField(source="last_seen_at")
    createdAt = serializers.DateTimeField(source="created_at")
    expiresAt = serializers.DateTimeField(source="expires_at")
    current = serializers.SerializerMethodField()

    class Meta:
        model = Session
        fields = ("id", "ipAddress", "userAgent", "deviceId", "deviceName", "lastActivityAt", "createdAt", "expiresAt", "current")

    def get_current(self, session: Session) -> bool:
        return session.id == self.context.get("current_session_id")


def event_type_label(event: SecurityEvent) -> str:
    """The lowercase names the platform's security page labels (PLATFORM.md §1): our types
    lowercased, except a passkey sign-in, which we record as a LOGIN_SUCCESS with its method."""
    method = event.metadata.get("method") if isinstance(event.metadata, dict) else None
    if event.type == "LOGIN_SUCCESS" and method in ("passkey", "passkey_no_uv"):
        return "passkey_login_success"
    return event.type.lower()


class SecurityEventSerializer(serializers.ModelSerializer[SecurityEvent]):
    eventType = serializers.SerializerMethodField()
    ipAddress = serializers.IPAddressField(source="ip_address", allow_null=True)
    userAgent = serializers.CharField(source="user_agent")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = SecurityEvent
        fields = ("id", "eventType", "ipAddress", "userAgent", "metadata", "createdAt")

    def get_eventType(self, event: SecurityEvent) -> str:  # noqa: N802 - the wire name
        return event_type_label(event)


class SecurityEventsQuery(serializers.Serializer[Any]):
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=50)


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
    email = serializers.EmailField(max_length=EMAIL_MAX_LENGTH, validators=[validate_visible])
    password = serializers.CharField(max_length=PASSWORD_FIELD_MAX, trim_whitespace=False)
    name = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    # Where the verification link returns to (a trusted origin, else the web app).
    sourceAppUrl = serializers.CharField(max_length=2048, required=False, allow_blank=True)


class LoginInput(serializers.Serializer[Any]):
    email = serializers.CharField(max_length=254)
    password = serializers.CharField(max_length=PASSWORD_FIELD_MAX, trim_whitespace=False)
    deviceToken = serializers.CharField(max_length=200, required=False, allow_blank=True)
    # What the platform's clients name the device with; shown in the session list.
    deviceId = serializers.CharField(max_length=128, required=False, allow_blank=True)
    deviceName = serializers.CharField(max_length=200, required=False, allow_blank=True)


class TokenInput(serializers.Serializer[Any]):
    token = serializers.CharField(max_length=4096)


class RefreshInput(serializers.Serializer[Any]):
    refreshToken = serializers.CharField(max_length=200)


class LogoutInput(serializers.Serializer[Any]):
    refreshToken = serializers.CharField(max_length=200, required=False)


class EmailInput(serializers.Serializer[Any]):
    email = serializers.EmailField(max_length=254)
    # The platform's return targets: resend-verification's sourceAppUrl, forgot-password's redirectTo.
    sourceAppUrl = serializers.CharField(max_length=2048, required=False, allow_blank=True)
    redirectTo = serializers.CharField(max_length=2048, required=False, allow_blank=True)


class ResetPasswordInput(serializers.Serializer[Any]):
    token = serializers.CharField(max_length=200)
    newPassword = serializers.CharField(max_length=PASSWORD_FIELD_MAX, trim_whitespace=False)


class ProfileInput(serializers.Serializer[Any]):
    name = serializers.CharField(max_length=200, required=False, allow_blank=True)
    image = serializers.URLField(max_length=2048, required=False, allow_blank=True, validators=[URLValidator(schemes=["https"])])


class ChangeEmailInput(serializers.Serializer[Any]):
    newEmail = serializers.EmailField(max_length=EMAIL_MAX_LENGTH, validators=[validate_visible])
    # Optional (the web app sends none): without it a fresh sign-in confirms (PLATFORM.md §13).
    password = serializers.CharField(max_length=PASSWORD_FIELD_MAX, trim_whitespace=False, required=False)


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
    loginSuccess7d = serializers.IntegerField()
    loginFailed7d = serializers.IntegerField()
    generatedAt = serializers.DateTimeField()


class AdminUserSerializer(serializers.ModelSerializer[User]):
    createdAt = serializers.DateTimeField(source="created_at")
    lastActiveAt = serializers.DateTimeField(source="last_active_at", allow_null=True, help_text="The newest session activity")

    class Meta:
        model = User
        fields = ("id", "email", "name", "role", "createdAt", "lastActiveAt")
        read_only_fields = fields


class AdminUserListSerializer(serializers.Serializer[Any]):
    users = AdminUserSerializer(many=True)
    page = serializers.IntegerField()
    limit = serializers.IntegerField()
    total = serializers.IntegerField()


class UserListQuery(serializers.Serializer[Any]):
    page = serializers.IntegerField(required=False, min_value=1, max_value=10**6, default=1)
    limit = serializers.IntegerField(required=False, min_value=1, max_value=100, default=20)
    search = serializers.CharField(required=False, allow_blank=True, max_length=254, default="")


class SummaryUserSerializer(serializers.ModelSerializer[User]):
    emailVerified = serializers.BooleanField(source="email_verified")
    createdAt = serializers.DateTimeField(source="created_at")

    class Meta:
        model = User
        fields = ("id", "email", "name", "role", "emailVerified", "createdAt")
        read_only_fields = fields


class SummaryAuthSerializer(serializers.Serializer[Any]):
    sessionsCount = serializers.IntegerField()
    accountsCount = serializers.IntegerField(help_text="1 when the user has a password (the only kind of account here)")
    has2FA = serializers.BooleanField()
    lastLoginAt = serializers.DateTimeField(allow_null=True)
    feedbackShowRealName = serializers.BooleanField()
    feedbackKarma = serializers.IntegerField(help_text="Always 0: this service keeps no feedback karma")


class SummaryCreditsSerializer(serializers.Serializer[Any]):
    balance = serializers.IntegerField()
    totalEarned = serializers.IntegerField()
    totalSpent = serializers.IntegerField()
    transactionsCount = serializers.IntegerField()


class SummaryTotalsSerializer(serializers.Serializer[Any]):
    totalEntities = serializers.IntegerField()
    projectsWithData = serializers.IntegerField()


class DataSummarySerializer(serializers.Serializer[Any]):
    """GET /api/v1/me/data and the operators' /users/{id}/data (PLATFORM.md §5)."""

    user = SummaryUserSerializer()
    auth = SummaryAuthSerializer()
    credits = SummaryCreditsSerializer()
    projects = serializers.ListField(child=serializers.DictField(), help_text="Per wired data source; none is wired yet")
    totals = SummaryTotalsSerializer()


class DeletedFromAuthSerializer(serializers.Serializer[Any]):
    sessions = serializers.IntegerField()
    accounts = serializers.IntegerField()
    credits = serializers.IntegerField()
    user = serializers.BooleanField()


class DataDeletionSerializer(serializers.Serializer[Any]):
    success = serializers.BooleanField()
    deletedFromProjects = serializers.ListField(child=serializers.DictField())
    deletedFromAuth = DeletedFromAuthSerializer()
    totalDeleted = serializers.IntegerField()


class AccountDeleteInput(serializers.Serializer[Any]):
    password = serializers.CharField(max_length=PASSWORD_FIELD_MAX, trim_whitespace=False)
    reason = serializers.CharField(max_length=1000, required=False, allow_blank=True)


class EraseInput(serializers.Serializer[Any]):
    password = serializers.CharField(max_length=PASSWORD_FIELD_MAX, trim_whitespace=False, required=False, allow_blank=True)


class MeProfileInput(serializers.Serializer[Any]):
    name = serializers.CharField(min_length=1, max_length=80, required=False)
    image = serializers.URLField(max_length=2048, required=False, allow_blank=True, validators=[URLValidator(schemes=["https"])])
    feedbackShowRealName = serializers.BooleanField(required=False)


class MeProfileSerializer(serializers.ModelSerializer[User]):
    image = serializers.CharField(help_text="An https URL, or empty")
    feedbackShowRealName = serializers.BooleanField(source="feedback_show_real_name")

    class Meta:
        model = User
        fields = ("name", "image", "feedbackShowRealName")
        read_only_fields = fields


class OnboardingSerializer(serializers.Serializer[Any]):
    completedAt = serializers.DateTimeField(allow_null=True)


SETTINGS_KEY = r"^[A-Za-z0-9._-]{1,64}$"


class SettingsSerializer(serializers.Serializer[Any]):
    """What every /api/v1/settings read and write answers (PLATFORM.md §5)."""

    success = serializers.BooleanField()
    globalSettings = serializers.DictField()
    appOverrides = serializers.DictField(help_text="{<appId>: {…}}")
    deviceSettings = serializers.DictField(help_text="{<deviceId>: {deviceName, deviceType, lastSeen, apps: {<appId>: {…}}}}")


class DeviceSummarySerializer(serializers.Serializer[Any]):
    deviceId = serializers.CharField()
    deviceName = serializers.CharField()
    deviceType = serializers.CharField()
    lastSeen = serializers.DateTimeField(allow_null=True)
    appCount = serializers.IntegerField()


class DeviceListSerializer(serializers.Serializer[Any]):
    success = serializers.BooleanField()
    devices = DeviceSummarySerializer(many=True)


class DeviceSettingsInput(serializers.Serializer[Any]):
    deviceName = serializers.CharField(max_length=200, required=False, allow_blank=True)
    deviceType = serializers.CharField(max_length=50, required=False, allow_blank=True)
    settings = serializers.DictField(required=False, default=dict)


class SettingsDocumentInput(serializers.Serializer[Any]):
    """Any JSON object; its size and depth are checked by the service."""

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        if not isinstance(data, dict):
            raise serializers.ValidationError({"nonFieldErrors": ["Expected a JSON object."]})
        return data
