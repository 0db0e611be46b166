import uuid
from typing import Any, ClassVar

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone

from core.text import normalise_email


def new_id() -> str:
    return str(uuid.uuid4())


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
