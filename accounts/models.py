from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from core.ids import new_id
from core.models import RevocableQuerySet
from core.text import normalise_email


class Role(models.TextChoices):
    USER = "user"
    ADMIN = "admin"
    SERVICE = "service"


class Tier(models.TextChoices):
    GUEST = "guest"
    PUBLIC = "public"
    BETA = "beta"
    ALPHA = "alpha"
    FOUNDER = "founder"


class Kind(models.TextChoices):
    HUMAN = "human"
    PERSONA = "persona"
    SYSTEM = "system"


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def create_user(self, email: str, password: str | None = None, **fields: Any) -> "User":
        user = self.model(email=normalise_email(email), **fields)
        if password:
            user.set_password(password)
        else:
            user.set_unusable_password()
        user.save(using=self._db)
        return user

    def create_superuser(self, email: str, password: str | None = None, **fields: Any) -> "User":
        fields.update(is_staff=True, is_superuser=True, role=Role.ADMIN, email_verified=True)
        return self.create_user(email, password, **fields)

    def get_by_natural_key(self, username: str | None) -> "User":
        return self.get(email=normalise_email(username or ""))


class User(AbstractBaseUser, PermissionsMixin):
    Role = Role
    Tier = Tier
    Kind = Kind

    id = models.CharField(primary_key=True, max_length=36, default=new_id, editable=False)
    # Room for the old identity service's hashes (161 characters plus our prefix; Django's is 128).
    password = models.CharField("password", max_length=256)
    # Stored normalised (NFKC, lower case; a CHECK holds the case), so the unique index is
    # case-insensitive and every lookup is an index hit.
    email = models.EmailField(max_length=254, unique=True)
    name = models.CharField(max_length=200, blank=True, default="")
    image = models.URLField(max_length=2048, blank=True, default="")
    email_verified = models.BooleanField(default=False)
    role = models.CharField(max_length=16, choices=Role.choices, default=Role.USER)
    tier = models.CharField(max_length=16, choices=Tier.choices, default=Tier.PUBLIC)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.HUMAN)
    locale = models.CharField(max_length=8, default="de")
    two_factor_enabled = models.BooleanField(default=False)
    onboarding_completed_at = models.DateTimeField(null=True, blank=True)
    # Whether the platform's feedback board shows this person's name instead of a pseudonym.
    feedback_show_real_name = models.BooleanField(default=False)
    deleted_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)
    is_staff = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    objects: ClassVar[UserManager] = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: ClassVar[list[str]] = []

    class Meta:
        constraints = [
            models.CheckConstraint(condition=models.Q(email=Lower("email")), name="accounts_user_email_lowercase"),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="accounts_user_role_valid"),
            models.CheckConstraint(condition=models.Q(tier__in=Tier.values), name="accounts_user_tier_valid"),
            models.CheckConstraint(condition=models.Q(kind__in=Kind.values), name="accounts_user_kind_valid"),
        ]

    def __str__(self) -> str:
        return self.email

    def clean(self) -> None:
        super().clean()
        self.email = normalise_email(self.email)


# Sign-ins that proved more than a password: a user-verified passkey ("passkey"; one without
# user verification is "passkey_no_uv", possession only), or any first step plus TOTP.
STRONG_SIGN_IN_METHODS = frozenset({"passkey", "password+totp", "magic_link+totp", "passkey_no_uv+totp"})


class Session(models.Model):
    """A sign-in. Its id is the `sid` claim of every access token issued for it."""

    id = models.CharField(primary_key=True, max_length=36, default=new_id, editable=False)
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="sessions", db_index=False)
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=512, blank=True, default="")
    method = models.CharField(max_length=32, default="password")
    # The browser cookie bound to this sign-in (PLATFORM.md §9), stored as its SHA-256 only.
    cookie_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)
    # The space the caller chose with organization/set-active; ids only, the spaces app sits above.
    active_space_id = models.CharField(max_length=36, blank=True, default="")
    device_id = models.CharField(max_length=128, blank=True, default="")
    device_name = models.CharField(max_length=200, blank=True, default="")

    objects = RevocableQuerySet.as_manager()

    class Meta:
        indexes = [models.Index(fields=["user", "-created_at"], name="accounts_session_user_time")]

    def __str__(self) -> str:
        return f"session {self.id}"


class RefreshToken(models.Model):
    """Opaque, single use; only its SHA-256 is stored. `used_at` marks it rotated."""

    session = models.ForeignKey(Session, on_delete=models.CASCADE, related_name="refresh_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"refresh token of {self.session_id}"


class SigningKey(models.Model):
    """An Ed25519 JWT signing key. The private half is wrapped by the KEK keyring."""

    kid = models.CharField(primary_key=True, max_length=64)
    private_key_wrapped = models.TextField()
    public_key = models.CharField(max_length=64)  # base64url of the 32 raw bytes, as in the JWK
    created_at = models.DateTimeField(default=timezone.now)
    active = models.BooleanField(default=False)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["active"], condition=models.Q(active=True), name="accounts_one_active_signing_key")]

    def __str__(self) -> str:
        return self.kid


class DeviceToken(models.Model):
    """Proof that a client has signed in before; it keeps the lockout from locking that client out."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="device_tokens")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    last_used_at = models.DateTimeField(default=timezone.now)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = RevocableQuerySet.as_manager()

    def __str__(self) -> str:
        return f"device token {self.pk}"


class LoginAttempt(models.Model):
    """Every password sign-in attempt, durably: the lockout is computed from these rows."""

    class Outcome(models.TextChoices):
        SUCCESS = "success"
        FAILURE = "failure"  # a credential failure (counts)
        BLOCKED = "blocked"  # refused by the lock; never extends it

    email = models.CharField(max_length=254)
    method = models.CharField(max_length=32, default="password")
    ip_address = models.GenericIPAddressField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    # Set when the attempt presented a valid device token: it then counts against that device only.
    device_token = models.ForeignKey(DeviceToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="attempts", db_index=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["email", "-created_at"], name="accounts_attempt_email_time"),
            models.Index(fields=["device_token", "-created_at"], name="accounts_attempt_device_time"),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.outcome}"


class LockoutState(models.Model):
    """One row per email that has been attempted: the row lock serialises concurrent attempts for
    one email, so the lock cannot be raced past, and it remembers the current lock."""

    email = models.CharField(primary_key=True, max_length=254)
    # Failures before this instant no longer count (a success or a reset cleared them).
    cleared_at = models.DateTimeField(null=True, blank=True)
    locked_at = models.DateTimeField(null=True, blank=True)
    locked_until = models.DateTimeField(null=True, blank=True)
    # The account of the address, if it has one: a join, no column and no constraint (the row is
    # made for addresses without an account too, and outlives one), so that a sign-in reads both
    # in one statement.
    user = models.ForeignObject(User, on_delete=models.DO_NOTHING, from_fields=["email"], to_fields=["email"], null=True, related_name="+")

    def __str__(self) -> str:
        return self.email


class EmailToken(models.Model):
    """Single-use tokens sent by mail; only the SHA-256 of the token is stored."""

    class Purpose(models.TextChoices):
        VERIFY_EMAIL = "verify_email"
        RESET_PASSWORD = "reset_password"  # noqa: S105 - a purpose, not a password
        CHANGE_EMAIL = "change_email"
        MAGIC_LINK = "magic_link"

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="email_tokens", db_index=False)
    purpose = models.CharField(max_length=32, choices=Purpose.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    new_email = models.EmailField(max_length=254, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "purpose"], name="accounts_emailtoken_user_purp")]

    def __str__(self) -> str:
        return f"{self.purpose} token"


class SignupDay(models.Model):
    """Registrations per UTC day, counted under a row lock so MAX_DAILY_SIGNUPS holds exactly."""

    day = models.DateField(primary_key=True)
    count = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.day}: {self.count}"


class TwoFactor(models.Model):
    """A user's TOTP secret, KEK-wrapped. Pending until the first code confirms it."""

    user = models.OneToOneField(User, primary_key=True, on_delete=models.CASCADE, related_name="two_factor")
    secret_wrapped = models.TextField()
    confirmed_at = models.DateTimeField(null=True, blank=True)
    # The newest time step accepted: a code of that step or older is refused (replay protection
    # that holds across processes, because it lives in this row).
    last_used_step = models.BigIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"two-factor of {self.user_id}"


class BackupCode(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="backup_codes")
    code_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"backup code of {self.user_id}"


class TwoFactorChallenge(models.Model):
    """The `twoFactorToken` handed over from the first factor to the second: single use, short."""

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="two_factor_challenges")
    token_hash = models.CharField(max_length=64, unique=True)
    device_token = models.ForeignKey(DeviceToken, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    method = models.CharField(max_length=32)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"two-factor challenge of {self.user_id}"


class UserSettings(models.Model):
    """Preferences: one global document, one per app, one per device and app (JSON, size- and
    depth-limited by the service)."""

    user = models.OneToOneField(User, primary_key=True, on_delete=models.CASCADE, related_name="settings")
    global_settings = models.JSONField(default=dict)
    app_settings = models.JSONField(default=dict)
    device_settings = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"settings of {self.user_id}"
